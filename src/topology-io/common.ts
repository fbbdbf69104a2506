/**
 * What every importer of a real machine shares: the error users see, the bounds on what a
 * file may describe, and the final check that turns parsed nodes into a MachineSpec.
 */
import { MAX_NUMNODES, PAGE_SIZE } from "../kernel/constants.js";
import type { MachineSpec, NodeSpec } from "../kernel/topology.js";

/** An import source larger than this is refused. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** A tarball may unpack to at most this much. */
export const MAX_UNPACKED_BYTES = 256 * 1024 * 1024;
/** NR_CPUS of the largest distribution kernels (CONFIG_NR_CPUS=8192). */
export const MAX_CPUS = 8192;
/** The memory of one node (the scenario format's bound). */
export const MAX_NODE_BYTES = 64n * 1024n ** 4n;
/** SLIT entries are one byte (ACPI 6.5, 5.2.17). */
export const MAX_DISTANCE = 255;

export type ImportFormat = "hwloc-xml" | "sysfs" | "sysfs-tar" | "numactl";

export interface ImportResult {
  machine: MachineSpec;
  format: ImportFormat;
  /** What the importer chose where the file was silent, one sentence each. */
  notes?: string[];
}

/**
 * A machine file that cannot be imported: `file: where: what was expected`. Exit status 2,
 * like an invalid scenario.
 */
export class TopologyImportError extends Error {
  readonly file: string;
  readonly where: string;
  readonly exitCode = 2;

  constructor(file: string, where: string, message: string) {
    super(`${file}${where ? `: ${where}` : ""}: ${message}`);
    this.file = file;
    this.where = where;
  }
}

/** A node as an importer collects it, before the machine-wide checks. */
export interface ImportedNode extends NodeSpec {
  /** where the node was described, for error messages */
  where: string;
}

/** Parse a decimal integer that must lie in [min, max]; `what` names it in the error. */
export function parseIntIn(
  text: string,
  min: number,
  max: number,
  file: string,
  where: string,
  what: string,
): number {
  const t = text.trim();
  if (!/^\d+$/.test(t))
    throw new TopologyImportError(file, where, `${what}: expected an integer, got "${clip(t)}"`);
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new TopologyImportError(file, where, `${what} ${clip(t)} is out of range (${min}-${max})`);
  }
  return n;
}

/** Bytes of memory (as a decimal string or bigint) checked against the per-node bound, in whole pages. */
export function memoryBytes(bytes: bigint, file: string, where: string): number {
  if (bytes < 0n) throw new TopologyImportError(file, where, "memory size is negative");
  if (bytes > MAX_NODE_BYTES) {
    throw new TopologyImportError(
      file,
      where,
      `memory size ${bytes} bytes is above the 64 TiB limit of a node`,
    );
  }
  return Number(bytes - (bytes % BigInt(PAGE_SIZE)));
}

/** Shorten a value quoted in an error message. */
export function clip(s: string, n = 40): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > n ? `${one.slice(0, n)}...` : one;
}

/** The SLIT of 10 for a node to itself and 20 between nodes, as Linux assumes without a table. */
export function defaultDistances(ids: readonly number[]): number[][] {
  return ids.map((a) => ids.map((b) => (a === b ? 10 : 20)));
}

/**
 * The machine-wide checks every importer ends with: node count and ids, CPUs each in one
 * node and within NR_CPUS, a square distance table of bytes, a boot node and a CPU. Nodes
 * come out sorted by id, with the table rows and columns in the same order.
 */
export function finishMachine(
  nodes: readonly ImportedNode[],
  distances: readonly (readonly number[])[],
  file: string,
  where: { distances: string },
): MachineSpec {
  if (nodes.length === 0) throw new TopologyImportError(file, "", "no NUMA node found");
  if (nodes.length > MAX_NUMNODES) {
    throw new TopologyImportError(file, "", `${nodes.length} nodes; at most ${MAX_NUMNODES} are supported`);
  }
  const seen = new Set<number>();
  const cpuOwner = new Map<number, number>();
  for (const n of nodes) {
    if (!Number.isInteger(n.id) || n.id < 0 || n.id >= MAX_NUMNODES) {
      throw new TopologyImportError(file, n.where, `node id ${n.id} is out of range (0-${MAX_NUMNODES - 1})`);
    }
    if (seen.has(n.id)) throw new TopologyImportError(file, n.where, `node ${n.id} is described twice`);
    seen.add(n.id);
    for (const c of n.cpus) {
      if (!Number.isInteger(c) || c < 0 || c >= MAX_CPUS) {
        throw new TopologyImportError(file, n.where, `cpu ${c} is out of range (0-${MAX_CPUS - 1})`);
      }
      const other = cpuOwner.get(c);
      if (other !== undefined) {
        throw new TopologyImportError(file, n.where, `cpu ${c} is in node ${other} and in node ${n.id}`);
      }
      cpuOwner.set(c, n.id);
    }
  }
  if (distances.length !== nodes.length) {
    throw new TopologyImportError(
      file,
      where.distances,
      `the distance table has ${distances.length} rows for ${nodes.length} nodes (it must be square)`,
    );
  }
  distances.forEach((row, i) => {
    if (row.length !== nodes.length) {
      throw new TopologyImportError(
        file,
        where.distances,
        `row ${i} of the distance table has ${row.length} entries for ${nodes.length} nodes (it must be square)`,
      );
    }
    for (const d of row) {
      if (!Number.isInteger(d) || d < 0 || d > MAX_DISTANCE) {
        throw new TopologyImportError(
          file,
          where.distances,
          `distance ${d} is out of range (0-${MAX_DISTANCE})`,
        );
      }
    }
  });
  if (cpuOwner.size === 0) throw new TopologyImportError(file, "", "no node has CPUs");
  if (!nodes.some((n) => !n.movable && n.memoryBytes > 0)) {
    throw new TopologyImportError(
      file,
      "",
      "no node has memory that is not movable (Linux boots from such a node)",
    );
  }
  const order = nodes.map((n, i) => ({ n, i })).sort((a, b) => a.n.id - b.n.id);
  return {
    nodes: order.map(({ n }) => {
      const { where: _where, ...spec } = n;
      return { ...spec, cpus: [...n.cpus].sort((a, b) => a - b) };
    }),
    distances: order.map(({ i }) => order.map(({ i: j }) => distances[i]![j]!)),
  };
}
