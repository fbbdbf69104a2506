/**
 * A machine written out in the forms `cdmsim topo --format` offers: `numactl --hardware`,
 * the kernel's fallback order lines, the `machine:` block of a scenario (YAML), the
 * MachineSpec as JSON, and a picture (SVG).
 */
import type { Kernel } from "../kernel/kernel.js";
import { formatNodeList } from "../kernel/nodemask.js";
import type { MachineSpec, NodeSpec } from "../kernel/topology.js";
import { numactlHardwareText } from "../report/machine.js";
import { NodeSchema } from "../scenario/schema.js";
import { machineSvg } from "./svg.js";

export const TOPO_FORMATS = ["numactl", "yaml", "json", "svg", "fallback"] as const;
export type TopoFormat = (typeof TOPO_FORMATS)[number];

export function isTopoFormat(f: string): f is TopoFormat {
  return (TOPO_FORMATS as readonly string[]).includes(f);
}

/** A size as the scenario format writes it: the largest binary unit that divides it, else pages, else bytes. */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`not a size: ${bytes}`);
  if (bytes === 0) return "0";
  const units: [string, number][] = [
    ["TiB", 1024 ** 4],
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ];
  for (const [name, size] of units) if (bytes % size === 0) return `${bytes / size}${name}`;
  return String(bytes);
}

type NodeField = keyof typeof NodeSchema.shape;

/**
 * How a NodeSpec field is written under a scenario key that differs from it in name or
 * form. Every other key of NodeSchema is the NodeSpec field of the same name, as is; so a
 * field added to both keeps the export an identity without a change here.
 */
const WRITE_AS: Partial<Record<NodeField, (n: NodeSpec) => unknown>> = {
  cpus: (n) => formatNodeList([...n.cpus].sort((a, b) => a - b)),
  memory: (n) => formatSize(n.memoryBytes),
  bandwidth_mbps: (n) => n.bandwidthMBps,
  latency_ns: (n) => n.latencyNs,
};

/** The scenario keys of a node with their values, in the order of NodeSchema. */
export function nodeInput(n: NodeSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(NodeSchema.shape) as NodeField[]) {
    const write = WRITE_AS[key];
    const v = write ? write(n) : (n as unknown as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** One YAML flow scalar: JSON's form of a string, number or boolean is valid YAML. */
function flow(v: unknown): string {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return JSON.stringify(v);
  throw new TypeError(`cannot write ${typeof v} in a machine block`);
}

/** The `machine:` block of a scenario that describes this machine node by node. */
export function machineYaml(m: MachineSpec): string {
  let s = "machine:\n  nodes:\n";
  for (const n of m.nodes) {
    const fields = Object.entries(nodeInput(n)).map(([k, v]) => `${k}: ${flow(v)}`);
    s += `    - { ${fields.join(", ")} }\n`;
  }
  s += "  distances:\n";
  for (const row of m.distances) s += `    - [${row.join(", ")}]\n`;
  return s;
}

export function machineJson(m: MachineSpec): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** The kernel's "Fallback order for Node N: ..." lines, as the boot log prints them. */
export function fallbackText(k: Kernel): string {
  return `${k.fallbackOrderLines().join("\n")}\n`;
}

/** The machine in one format; `k` is the machine booted (numactl and fallback read its state). */
export function exportTopology(
  format: TopoFormat,
  machine: MachineSpec,
  k: Kernel,
  opts: { title?: string } = {},
): string {
  switch (format) {
    case "numactl":
      return numactlHardwareText(k);
    case "fallback":
      return fallbackText(k);
    case "yaml":
      return machineYaml(machine);
    case "json":
      return machineJson(machine);
    case "svg":
      return machineSvg(machine, { title: opts.title });
  }
}
