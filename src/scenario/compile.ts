/**
 * From a schema-valid scenario to model values: sizes, node lists, addresses, symbolic
 * syscall arguments, the machine (with presets), cgroups and tasks, and every check a
 * schema cannot express. Errors name the field; the loader adds file, line and column.
 */

import { dirname, resolve } from "node:path";
import { designIds, getDesign } from "../designs/index.js";
import {
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAX_NUMNODES,
  MPOL_MF_MOVE,
  MPOL_MF_MOVE_ALL,
  MPOL_MF_STRICT,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SYMBOLS,
} from "../kernel/constants.js";
import { GFP_SYMBOLS } from "../kernel/gfp.js";
import { MODELLED_ADVICE, VALID_ADVICE } from "../kernel/madvise.js";
import { parseList } from "../kernel/nodemask.js";
import type { MachineSpec, NodeSpec } from "../kernel/topology.js";
import { importMachine, TopologyImportError } from "../topology-io/import.js";
import { getPreset, presetIds } from "../topology-io/presets.js";
import type { ExpectInput, ScenarioInput, StepInput } from "./schema.js";
import type {
  AddrExpr,
  CgroupSpec,
  Expectation,
  NodesExpr,
  PidExpr,
  Scenario,
  Step,
  TaskSpec,
} from "./types.js";

export type Path = (string | number)[];

/** A problem in a scenario, with the path of the field at fault. */
export class FieldError extends Error {
  readonly path: Path;
  constructor(path: Path, message: string) {
    super(message);
    this.path = path;
  }
}

const UNITS: Record<string, bigint> = {
  "": 1n,
  B: 1n,
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  PiB: 1024n ** 5n,
  p: BigInt(PAGE_SIZE),
};

/** Parse a size: an integer of bytes, a number with a binary unit, or pages ("16p"). */
export function parseSize(v: number | string, path: Path): bigint {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) throw new FieldError(path, `${v} is not a size in bytes`);
    return BigInt(v);
  }
  const m = /^\s*(0x[0-9a-fA-F]+|\d+)\s*(B|KiB|MiB|GiB|TiB|PiB|p)?\s*$/.exec(v);
  if (!m) {
    throw new FieldError(
      path,
      `"${v}" is not a size (bytes such as 4096, a unit such as 64KiB or 2GiB, or pages such as 16p)`,
    );
  }
  const size = BigInt(m[1]!) * UNITS[m[2] ?? ""]!;
  if (size >= 1n << 64n) throw new FieldError(path, `${v} does not fit in 64 bits`);
  return size;
}

function parseIds(v: string | number[], path: Path, limit: number, what: string): number[] {
  if (Array.isArray(v)) {
    for (const [i, id] of v.entries()) {
      if (id >= limit)
        throw new FieldError([...path, i], `${what} ${id} is out of range (the limit is ${limit - 1})`);
    }
    return [...new Set(v)].sort((a, b) => a - b);
  }
  try {
    return parseList(v, limit);
  } catch (e) {
    throw new FieldError(path, `"${v}" is not a ${what} list: ${(e as Error).message}`);
  }
}

/** Resolve a flag argument: names from the tables, raw integers, or lists OR-ed together. */
export function parseFlags(
  v: string | number | (string | number)[],
  path: Path,
  table: Record<string, number>,
): number {
  const parts: (string | number)[] = Array.isArray(v) ? v : typeof v === "string" ? v.split("|") : [v];
  let out = 0;
  for (const [i, p] of parts.entries()) {
    const at = Array.isArray(v) ? [...path, i] : path;
    if (typeof p === "number") {
      out |= p;
      continue;
    }
    const name = p.trim();
    if (/^-?(0x[0-9a-fA-F]+|\d+)$/.test(name)) {
      out |= Number(name);
      continue;
    }
    const val = table[name];
    if (val === undefined) {
      const near = closest(name, Object.keys(table));
      throw new FieldError(at, `unknown name "${name}"${near ? ` (did you mean ${near}?)` : ""}`);
    }
    out |= val;
  }
  return out;
}

/** The known name nearest to a misspelt one (edit distance at most 2), if any. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(name.toUpperCase(), k.toUpperCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function parseInt64(v: number | string, path: Path): bigint {
  try {
    return BigInt(v);
  } catch {
    throw new FieldError(path, `"${v}" is not an integer`);
  }
}

const MAPPING_NAME = /^([A-Za-z_][A-Za-z0-9_.-]*)(?:\s*\+\s*(.+))?$/;

export function parseAddr(v: string | number | null, path: Path): AddrExpr {
  if (v === null) return { kind: "null" };
  if (typeof v === "number") return { kind: "literal", value: BigInt(v) };
  const s = v.trim();
  if (s === "bad") return { kind: "bad" };
  if (s === "null" || s === "NULL") return { kind: "null" };
  if (/^-?(0x[0-9a-fA-F]+|\d+)$/.test(s)) return { kind: "literal", value: BigInt(s) };
  const m = MAPPING_NAME.exec(s);
  if (!m)
    throw new FieldError(
      path,
      `"${v}" is not an address (a mapping name, name+size, an integer, null or bad)`,
    );
  return { kind: "mapping", name: m[1]!, offset: m[2] === undefined ? 0n : parseSize(m[2], path) };
}

function parseNodesArg(v: string | number[] | null | undefined, path: Path): NodesExpr {
  if (v === undefined || v === null) return { kind: "null" };
  if (v === "bad") return { kind: "bad" };
  // user nodemasks may name bits up to the kernel's read limit (PAGE_SIZE * 8)
  return { kind: "bits", bits: parseIds(v, path, PAGE_SIZE * 8 + 64, "node") };
}

function compileExpect(e: ExpectInput | undefined, path: Path): Expectation | undefined {
  if (!e) return undefined;
  const { ret, errno, oom, ...rest } = e;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(rest)) {
    if (val === undefined) continue;
    if (k === "nodes") {
      out.nodes = parseIds(val as string | number[], [...path, "nodes"], MAX_NUMNODES, "node").join(",");
      continue;
    }
    out[k] = val;
  }
  return { ret, errno, oom, out };
}

/** `machine: {import: PATH}`: the machine of a real machine's file, PATH relative to the scenario. */
function importedMachine(input: ScenarioInput["machine"], fileName: string | undefined): MachineSpec {
  const other = (["preset", "nodes", "distances"] as const).find((k) => input[k] !== undefined);
  if (other) {
    throw new FieldError(
      ["machine", other],
      `\`${other}\` and \`import\` exclude each other: an imported machine comes whole from its file (\`cdm:\` may mark its nodes)`,
    );
  }
  const path = input.import!;
  const full = fileName ? resolve(dirname(fileName), path) : resolve(path);
  try {
    return importMachine(full, path).machine;
  } catch (e) {
    if (e instanceof TopologyImportError) throw new FieldError(["machine", "import"], e.message);
    throw e;
  }
}

function compileMachine(input: ScenarioInput["machine"], fileName?: string): MachineSpec {
  let base: MachineSpec | undefined;
  if (input.import !== undefined) {
    base = importedMachine(input, fileName);
  } else if (input.preset !== undefined) {
    const p = getPreset(input.preset);
    if (!p) {
      throw new FieldError(
        ["machine", "preset"],
        `unknown preset "${input.preset}" (known: ${presetIds().join(", ")})`,
      );
    }
    base = p.machine;
  }
  let nodes: NodeSpec[];
  if (input.nodes) {
    nodes = input.nodes.map((n, i) => {
      const path: Path = ["machine", "nodes", i];
      const mem = n.memory === undefined ? 0n : parseSize(n.memory, [...path, "memory"]);
      if (mem % BigInt(PAGE_SIZE) !== 0n) {
        throw new FieldError([...path, "memory"], `memory must be a whole number of 4 KiB pages`);
      }
      if (mem > 64n * 1024n ** 4n)
        throw new FieldError([...path, "memory"], "memory of a node is limited to 64 TiB");
      if (n.cdm && n.movable === false) {
        throw new FieldError([...path, "movable"], "a cdm node is movable (cdm: true implies movable: true)");
      }
      return {
        id: n.id,
        cpus: n.cpus === undefined ? [] : parseIds(n.cpus, [...path, "cpus"], 8192, "cpu"),
        memoryBytes: Number(mem),
        movable: Boolean(n.movable || n.cdm),
        kind: n.kind ?? (n.cdm ? "gpu" : "dram"),
        cdm: Boolean(n.cdm),
        ...(n.online === false ? { online: false } : {}),
        ...(n.bandwidth_mbps !== undefined && { bandwidthMBps: n.bandwidth_mbps }),
        ...(n.latency_ns !== undefined && { latencyNs: n.latency_ns }),
        ...(n.adistance !== undefined && { adistance: n.adistance }),
      };
    });
  } else if (base) {
    nodes = [...base.nodes];
  } else {
    throw new FieldError(["machine"], "the machine needs `nodes`, a `preset` or an `import`");
  }
  if (input.cdm !== undefined) {
    // mark nodes (a preset's, typically) as coherent device memory: movable, as `cdm: true`
    const ids = parseIds(input.cdm, ["machine", "cdm"], MAX_NUMNODES, "node");
    for (const id of ids) {
      const n = nodes.find((x) => x.id === id);
      if (!n?.memoryBytes)
        throw new FieldError(["machine", "cdm"], `node ${id} is not a node with memory in the machine`);
    }
    nodes = nodes.map((n) => (ids.includes(n.id) ? { ...n, cdm: true, movable: true } : n));
  }
  if (input.offline !== undefined) {
    // hot-plugged memory a driver onlines later (a preset's nodes, typically), as `online: false`
    const ids = parseIds(input.offline, ["machine", "offline"], MAX_NUMNODES, "node");
    for (const id of ids)
      if (!nodes.some((x) => x.id === id))
        throw new FieldError(["machine", "offline"], `node ${id} is not in the machine`);
    nodes = nodes.map((n) => (ids.includes(n.id) ? { ...n, online: false } : n));
  }
  nodes.forEach((n, i) => {
    if (n.online === false && !(n.movable && n.memoryBytes > 0))
      throw new FieldError(
        input.nodes ? ["machine", "nodes", i, "online"] : ["machine", "offline"],
        `node ${n.id} is not hot-plugged memory (movable, with memory): only such memory can be offline at boot`,
      );
  });
  const seen = new Map<number, number>();
  const cpuOwner = new Map<number, number>();
  nodes.forEach((n, i) => {
    if (seen.has(n.id)) throw new FieldError(["machine", "nodes", i, "id"], `node ${n.id} is listed twice`);
    seen.set(n.id, i);
    for (const c of n.cpus) {
      if (cpuOwner.has(c)) {
        throw new FieldError(
          ["machine", "nodes", i, "cpus"],
          `cpu ${c} is already in node ${cpuOwner.get(c)}`,
        );
      }
      cpuOwner.set(c, n.id);
    }
  });
  if (!nodes.some((n) => !n.movable && n.memoryBytes > 0)) {
    throw new FieldError(
      ["machine", "nodes"],
      "at least one node needs memory that is not movable (Linux boots from it)",
    );
  }
  if (cpuOwner.size === 0) throw new FieldError(["machine", "nodes"], "at least one node needs CPUs");
  let distances: number[][];
  if (input.distances) {
    distances = input.distances;
    if (distances.length !== nodes.length) {
      throw new FieldError(
        ["machine", "distances"],
        `the SLIT has ${distances.length} rows for ${nodes.length} nodes`,
      );
    }
    distances.forEach((row, i) => {
      if (row.length !== nodes.length) {
        throw new FieldError(
          ["machine", "distances", i],
          `row ${i} has ${row.length} entries for ${nodes.length} nodes`,
        );
      }
      row.forEach((d, j) => {
        // numa_set_distance() refuses a table whose diagonal is not LOCAL_DISTANCE or whose other entries are not above it
        if (i === j ? d !== 10 : d <= 10) {
          throw new FieldError(
            ["machine", "distances", i, j],
            i === j
              ? "the distance of a node to itself is 10"
              : `the distance between two nodes is above 10 (got ${d})`,
          );
        }
      });
    });
  } else if (base && !input.nodes) {
    distances = base.distances.map((r) => [...r]);
  } else {
    distances = nodes.map((a) => nodes.map((b) => (a.id === b.id ? 10 : 20)));
  }
  return { nodes, distances };
}

/** A length, or "mapping" (to the end of the mapping the address names) when omitted. */
function defaultLength(length: number | string | undefined, path: Path, addr: AddrExpr): bigint | "mapping" {
  if (length !== undefined) return parseSize(length, path);
  if (addr.kind !== "mapping")
    throw new FieldError(path, "`length` is required when the address is not a mapping name");
  return "mapping";
}

const MODEL_ONLY = new Set(["kalloc", "numastat", "cat"]);

/** The scenario's design, which must be one the model has. */
function designOf(id: string | undefined): string {
  const d = id ?? "mainline";
  if (!getDesign(d))
    throw new FieldError(["design"], `design ${d} is not modelled yet (modelled: ${designIds().join(", ")})`);
  return d;
}

/** A cgroup that uses cgroup v1 cpuset flags. */
const isV1 = (c: CgroupSpec) => c.memHardwall || c.memExclusive || c.memorySpreadPage;

/** The largest file or file offset (bytes): ext4 with 4 KiB blocks, 16 TiB - 4 KiB. */
export const MAX_FILE_BYTES = (1n << 44n) - 4096n;

function fileSize(v: number | string, at: Path): bigint {
  const n = parseSize(v, at);
  if (n > MAX_FILE_BYTES)
    throw new FieldError(at, `at most 16 TiB - 4 KiB (${MAX_FILE_BYTES} bytes), the largest ext4 file`);
  return n;
}

export function compileScenario(input: ScenarioInput, fileName?: string): Scenario {
  const machine = compileMachine(input.machine, fileName);
  const memNodes = new Set(machine.nodes.filter((n) => n.memoryBytes > 0).map((n) => n.id));
  const allCpus = new Set(machine.nodes.flatMap((n) => n.cpus));

  const weights = new Map<number, number>();
  for (const [k, v] of Object.entries(input.kernel?.weighted_interleave ?? {})) {
    const id = Number(k);
    if (!machine.nodes.some((n) => n.id === id)) {
      throw new FieldError(["kernel", "weighted_interleave", k], `node ${id} is not in the machine`);
    }
    weights.set(id, v);
  }

  // cgroups: parents before children; intermediate cgroups are created empty
  const cgroups: CgroupSpec[] = [];
  const byPath = new Map<string, CgroupSpec>();
  for (const [path, c] of Object.entries(input.cgroups ?? {})) {
    const at: Path = ["cgroups", path];
    if (path === "/")
      throw new FieldError(at, "the root cpuset cannot be configured (writing its mems is EACCES)");
    const spec: CgroupSpec = {
      path,
      memHardwall: Boolean(c.mem_hardwall),
      memExclusive: Boolean(c.mem_exclusive),
      memorySpreadPage: Boolean(c.memory_spread_page),
    };
    if (c.cpus !== undefined) {
      spec.cpus = parseIds(c.cpus, [...at, "cpus"], 8192, "cpu");
      const bad = spec.cpus.find((x) => !allCpus.has(x));
      if (bad !== undefined)
        throw new FieldError(
          [...at, "cpus"],
          `cpu ${bad} is not in the machine (writing it would be EINVAL)`,
        );
    }
    if (c.mems !== undefined) {
      spec.mems = parseIds(c.mems, [...at, "mems"], MAX_NUMNODES, "node");
      const bad = spec.mems.find((x) => !memNodes.has(x));
      if (bad !== undefined) {
        throw new FieldError(
          [...at, "mems"],
          `node ${bad} has no memory (writing it to cpuset.mems would be EINVAL)`,
        );
      }
    }
    byPath.set(path, spec);
  }
  const ensure = (path: string) => {
    if (path === "/" || byPath.has(path)) return;
    byPath.set(path, { path, memHardwall: false, memExclusive: false, memorySpreadPage: false });
  };
  for (const path of [...byPath.keys()]) {
    const parts = path.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) ensure(`/${parts.slice(0, i).join("/")}`);
  }
  for (const path of [...byPath.keys()].sort(
    (a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b),
  )) {
    cgroups.push(byPath.get(path)!);
  }

  // effective CPUs on the default hierarchy: configured ∩ parent's, or the parent's when empty
  const effCpus = new Map<string, number[]>([["/", [...allCpus].sort((a, b) => a - b)]]);
  for (const c of cgroups) {
    const parent = effCpus.get(c.path.slice(0, c.path.lastIndexOf("/")) || "/")!;
    const mine = (c.cpus ?? []).filter((x) => parent.includes(x));
    effCpus.set(c.path, mine.length ? mine : parent);
  }

  const files = new Map<string, bigint>();
  for (const [name, size] of Object.entries(input.files ?? {})) {
    if (files.size >= 256) throw new FieldError(["files"], "at most 256 files");
    files.set(name, fileSize(size, ["files", name]));
  }

  const tasks: TaskSpec[] = [];
  const taskEntries = Object.entries(input.tasks ?? {});
  if (taskEntries.length > 256) throw new FieldError(["tasks"], "at most 256 tasks");
  for (const [name, t] of taskEntries) {
    const cg = t.cgroup ?? "/";
    if (cg !== "/" && !byPath.has(cg)) {
      throw new FieldError(["tasks", name, "cgroup"], `cgroup "${cg}" is not in the scenario's cgroups`);
    }
    const allowed = effCpus.get(cg)!;
    if (t.cpu !== undefined && !allowed.includes(t.cpu)) {
      throw new FieldError(
        ["tasks", name, "cpu"],
        allCpus.has(t.cpu)
          ? `cpu ${t.cpu} is not in the CPUs of cgroup ${cg} (${allowed.join(",")})`
          : `cpu ${t.cpu} is not in the machine`,
      );
    }
    // cgroup v2's no-internal-process rule (cgroup_migrate_vet_dst): a cgroup whose children
    // have the cpuset controller cannot take a task (EBUSY, or EOPNOTSUPP for a child of a
    // cgroup that holds tasks). cgroup v1 hierarchies (mem_hardwall, mem_exclusive) allow it.
    const v1 = cgroups.some((c) => isV1(c));
    if (cg !== "/" && !v1 && cgroups.some((c) => c.path.startsWith(`${cg}/`))) {
      throw new FieldError(
        ["tasks", name, "cgroup"],
        `cgroup "${cg}" has child cgroups: on cgroup v2 tasks live in leaf cgroups only (the no-internal-process rule)`,
      );
    }
    tasks.push({
      name,
      cgroup: cg,
      cpu: t.cpu ?? allowed[0]!,
      privileged: t.privileged ?? true,
      aware: t.aware ?? false,
    });
  }
  if (tasks.length === 0)
    tasks.push({ name: "main", cgroup: "/", cpu: effCpus.get("/")![0]!, privileged: true, aware: false });

  const steps: Step[] = [];
  const mappings = new Map<string, Set<string>>(tasks.map((t) => [t.name, new Set<string>()]));
  const modelOnly = new Set<string>();
  /** tasks that ran an `exit` step, by the step */
  const exited = new Map<string, number>();
  (input.steps ?? []).forEach((s, index) => {
    const path: Path = ["steps", index];
    let task = s.task;
    if (task === undefined) {
      if (tasks.length > 1)
        throw new FieldError([...path], "`task` is required when the scenario has several tasks");
      task = tasks[0]!.name;
    } else if (!tasks.some((t) => t.name === task)) {
      throw new FieldError(
        [...path, "task"],
        `no task "${task}" (tasks: ${tasks.map((t) => t.name).join(", ")}; a child exists from its fork step on)`,
      );
    }
    if (exited.has(task)) {
      throw new FieldError([...path, "task"], `task ${task} exited at step ${exited.get(task)}`);
    }
    if (s.op === "exit") exited.set(task, index);
    if (s.op === "fork") {
      if (tasks.some((t) => t.name === s.child))
        throw new FieldError([...path, "child"], `there is already a task "${s.child}"`);
      if (tasks.length >= 256) throw new FieldError([...path, "child"], "at most 256 tasks");
      const parent = tasks.find((t) => t.name === task)!;
      tasks.push({ ...parent, name: s.child, forkedBy: task });
      // the child has the parent's mappings, under the same names
      mappings.set(s.child, new Set(mappings.get(task)));
    }
    const known = mappings.get(task)!;
    const addr = (v: string | number | null | undefined, key: string): AddrExpr => {
      const a = parseAddr(v === undefined ? null : v, [...path, key]);
      if (a.kind === "mapping" && !known.has(a.name)) {
        throw new FieldError(
          [...path, key],
          `task ${task} has no mapping "${a.name}" mapped by an earlier step`,
        );
      }
      return a;
    };
    if (MODEL_ONLY.has(s.op)) modelOnly.add(s.op);
    if (s.op.startsWith("cgroup_") && cgroups.some((c) => isV1(c))) {
      throw new FieldError(
        [...path, "op"],
        "cgroup changes are modelled for cgroup v2 only; this scenario's cgroups use cgroup v1 flags (mem_hardwall, mem_exclusive, memory_spread_page)",
      );
    }
    if (s.op === "device_migrate" && (input.design ?? "mainline") !== "hmm-device") {
      throw new FieldError(
        [...path, "op"],
        "device_migrate stands for a device driver's migration into device-private memory: it exists under design hmm-device only",
      );
    }
    const base = { index, task, expect: compileExpect(s.expect, [...path, "expect"]), comment: s.comment };
    steps.push({ ...base, ...compileStep(s, path, addr, known, tasks, machine) } as Step);
  });

  if (input.kernel?.numa_balancing) {
    throw new FieldError(
      ["kernel", "numa_balancing"],
      "NUMA balancing is not modelled yet; remove the key or set it to false",
    );
  }
  // transparent huge pages: faults are modelled; what happens to a THP afterwards only
  // where Linux treats its 512 pages as the model does, the rest is refused
  const thp = input.kernel?.thp ?? "never";
  const madvisedHuge = steps.some((s) => s.op === "madvise" && s.advice === MADV_HUGEPAGE);
  if (thp === "always" || (thp === "madvise" && madvisedHuge)) {
    const version = input.kernel?.version ?? "6.1";
    if (!/^6\.1(\.|$)/.test(version)) {
      throw new FieldError(
        ["kernel", "thp"],
        `transparent huge page faults are modelled as Linux 6.1 allocates them (vma_alloc_folio); kernel.version ${version} with thp ${thp}${thp === "madvise" ? " and MADV_HUGEPAGE" : ""} is not modelled`,
      );
    }
    steps.forEach((s, i) => {
      const why =
        s.op === "fork"
          ? "fork (copy_huge_pmd)"
          : s.op === "migrate_pages" || (s.op === "move_pages" && !s.query)
            ? "migration (a THP moves as one order-9 folio)"
            : s.op === "mbind" && s.flags & BigInt(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL | MPOL_MF_STRICT)
              ? "mbind with MPOL_MF_STRICT or MPOL_MF_MOVE* (queue_pages_pmd)"
              : s.op === "munmap" &&
                  !(s.addr.kind === "mapping" && s.addr.offset === 0n && s.length === "mapping")
                ? "munmap of part of a mapping (a partly unmapped THP stays allocated until its deferred split; unmap whole mappings: `addr: <mapping>` without `length`)"
                : s.op === "madvise" &&
                    s.advice === MADV_DONTNEED &&
                    !(s.addr.kind === "mapping" && s.addr.offset === 0n && s.length === "mapping")
                  ? "MADV_DONTNEED of part of a mapping (a partly zapped THP stays allocated until its deferred split; advise whole mappings: `addr: <mapping>` without `length`)"
                  : s.op === "memory_offline"
                    ? "memory offline (migration of THPs)"
                    : s.op === "cgroup_attach" || (s.op === "cgroup_write" && s.file === "cpuset.mems")
                      ? "cpuset memory migration (THPs move as order-9 folios)"
                      : undefined;
      if (why)
        throw new FieldError(
          ["steps", i, "op"],
          `${why} is not modelled with transparent huge pages (kernel.thp ${thp}${thp === "madvise" ? " and MADV_HUGEPAGE" : ""})`,
        );
    });
  }

  // hugetlb mappings: what the model does not cover with them is refused, not ignored
  if (steps.some((s) => s.op === "mmap" && s.flags & SYMBOLS.MAP_HUGETLB!)) {
    steps.forEach((s, i) => {
      const why =
        s.op === "fork"
          ? "fork of hugetlb mappings (copy_hugetlb_page_range)"
          : s.op === "migrate_pages" || (s.op === "move_pages" && !s.query)
            ? "migration of huge pages"
            : s.op === "mbind" && s.flags & BigInt(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)
              ? "MPOL_MF_MOVE of huge pages"
              : s.op === "madvise"
                ? "madvise of hugetlb mappings"
                : s.op === "memory_offline" || s.op === "memory_online"
                  ? "memory hotplug with huge pages"
                  : undefined;
      if (why)
        throw new FieldError(
          ["steps", i, "op"],
          `${why} is not modelled in a scenario that maps MAP_HUGETLB memory`,
        );
    });
  }

  return {
    file: fileName,
    name:
      input.name ?? (fileName ? fileName.replace(/^.*\//, "").replace(/\.(ya?ml|json)$/, "") : "scenario"),
    description: input.description,
    design: designOf(input.design),
    kernel: {
      version: input.kernel?.version ?? "6.1",
      thp: input.kernel?.thp ?? "never",
      numaBalancing: input.kernel?.numa_balancing ?? false,
      minFreeKbytes: input.kernel?.min_free_kbytes,
      weights,
    },
    machine,
    cgroups,
    files,
    tasks,
    steps,
    admin: { hotplugDelay: input.admin?.hotplug_delay ?? 0 },
    modelOnlyOps: [...modelOnly],
  };
}

/** PID_MAX_LIMIT on 64-bit (include/linux/threads.h): no pid reaches it */
const PID_MAX_LIMIT = 4194304;

/** A pid argument: "self" or 0 (the caller), a task of the scenario by name, or a raw pid. */
function pidExpr(v: string | number | undefined, at: Path, tasks: readonly TaskSpec[]): PidExpr {
  if (v === undefined || v === "self" || v === 0) return { kind: "self" };
  if (typeof v === "number") {
    // a raw pid is for a process that does not exist: the real kernel's pids are not the model's
    if (v > 0 && v < PID_MAX_LIMIT)
      throw new FieldError(
        at,
        `a raw pid must be negative or at least ${PID_MAX_LIMIT} (no process has it); name a task instead`,
      );
    return { kind: "raw", value: v };
  }
  if (!tasks.some((t) => t.name === v)) {
    throw new FieldError(at, `no task "${v}" at this step (a pid is self, a task's name or an integer)`);
  }
  return { kind: "task", name: v };
}

type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Op = DistOmit<Step, "index" | "task" | "expect" | "comment" | "pos">;

function compileStep(
  s: StepInput,
  path: Path,
  addr: (v: string | number | null | undefined, key: string) => AddrExpr,
  known: Set<string>,
  tasks: readonly TaskSpec[],
  machine: MachineSpec,
): Op {
  const at = (k: string): Path => [...path, k];
  switch (s.op) {
    case "mmap": {
      const r: Op = {
        op: "mmap",
        name: s.name,
        length: parseSize(s.length, at("length")),
        flags:
          s.flags === undefined ? MAP_PRIVATE | MAP_ANONYMOUS : parseFlags(s.flags, at("flags"), SYMBOLS),
        prot: s.prot === undefined ? PROT_READ | PROT_WRITE : parseFlags(s.prot, at("prot"), SYMBOLS),
        addr: s.addr === undefined ? null : addr(s.addr, "addr"),
      };
      known.add(s.name);
      return r;
    }
    case "munmap": {
      const a = addr(s.addr, "addr");
      return { op: "munmap", addr: a, length: defaultLength(s.length, at("length"), a) };
    }
    case "touch": {
      const a = addr(s.addr, "addr");
      return {
        op: "touch",
        addr: a,
        length: defaultLength(s.length, at("length"), a),
        access: s.access ?? "write",
      };
    }
    case "mbind": {
      const a = addr(s.addr, "addr");
      return {
        op: "mbind",
        addr: a,
        length: defaultLength(s.length, at("length"), a),
        mode:
          parseFlags(s.mode, at("mode"), SYMBOLS) |
          (s.mode_flags === undefined ? 0 : parseFlags(s.mode_flags, at("mode_flags"), SYMBOLS)),
        nodes: parseNodesArg(s.nodes, at("nodes")),
        maxnode: s.maxnode === undefined ? BigInt(MAX_NUMNODES + 1) : parseInt64(s.maxnode, at("maxnode")),
        flags: s.flags === undefined ? 0n : BigInt(parseFlags(s.flags, at("flags"), SYMBOLS)),
      };
    }
    case "set_mempolicy":
      return {
        op: "set_mempolicy",
        mode:
          parseFlags(s.mode, at("mode"), SYMBOLS) |
          (s.mode_flags === undefined ? 0 : parseFlags(s.mode_flags, at("mode_flags"), SYMBOLS)),
        nodes: parseNodesArg(s.nodes, at("nodes")),
        maxnode: s.maxnode === undefined ? BigInt(MAX_NUMNODES + 1) : parseInt64(s.maxnode, at("maxnode")),
      };
    case "get_mempolicy":
      return {
        op: "get_mempolicy",
        addr: addr(s.addr, "addr"),
        flags: s.flags === undefined ? 0n : BigInt(parseFlags(s.flags, at("flags"), SYMBOLS)),
        maxnode: s.maxnode === undefined ? BigInt(MAX_NUMNODES + 1) : parseInt64(s.maxnode, at("maxnode")),
        nmaskNull: "nodes" in s && s.nodes === null,
      };
    case "set_mempolicy_home_node": {
      const a = addr(s.addr, "addr");
      return {
        op: "set_mempolicy_home_node",
        addr: a,
        length: defaultLength(s.length, at("length"), a),
        homeNode: parseInt64(s.home_node, at("home_node")),
        flags: s.flags === undefined ? 0n : BigInt(parseFlags(s.flags, at("flags"), SYMBOLS)),
      };
    }
    case "placement": {
      const a = addr(s.addr, "addr");
      return { op: "placement", addr: a, length: defaultLength(s.length, at("length"), a) };
    }
    case "numastat":
      return { op: "numastat" };
    case "kalloc":
      return {
        op: "kalloc",
        gfp: parseFlags(s.gfp, at("gfp"), GFP_SYMBOLS),
        node: s.node ?? null,
        order: s.order ?? 0,
        count: s.count ?? 1,
      };
    case "sched_setaffinity":
      return { op: "sched_setaffinity", cpu: s.cpu };
    case "sysfs_write":
      return { op: "sysfs_write", path: s.path, value: String(s.value) };
    case "cat":
      return { op: "cat", path: s.path };
    case "fallback_order":
      return { op: "fallback_order" };
    case "memory_tiers":
      return { op: "memory_tiers" };
    case "gpu_driver_load": {
      const n = machine.nodes.find((x) => x.id === s.node);
      if (n?.online !== false)
        throw new FieldError(
          at("node"),
          `node ${s.node} is not GPU memory that is offline at boot (online: false or machine.offline)`,
        );
      return { op: "gpu_driver_load", node: s.node };
    }
    case "fork":
      return { op: "fork", child: s.child };
    case "madvise": {
      const a = addr(s.addr, "addr");
      const advice = parseFlags(s.advice, at("advice"), SYMBOLS);
      // advice Linux accepts but cdmsim does not model would be silently wrong
      if (VALID_ADVICE.has(advice) && !MODELLED_ADVICE.has(advice)) {
        throw new FieldError(
          at("advice"),
          `advice ${advice} is not modelled (MADV_DONTNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE are)`,
        );
      }
      return { op: "madvise", addr: a, length: defaultLength(s.length, at("length"), a), advice };
    }
    case "memory_offline":
    case "memory_online": {
      const spec = machine.nodes.find((n) => n.id === s.node);
      if (!spec) throw new FieldError(at("node"), `node ${s.node} is not in the machine`);
      if (!spec.memoryBytes)
        throw new FieldError(at("node"), `node ${s.node} has no memory to online or offline`);
      return s.op === "memory_online"
        ? { op: "memory_online", node: s.node, zone: s.zone ?? "movable" }
        : { op: "memory_offline", node: s.node };
    }
    case "cgroup_create":
      return { op: "cgroup_create", cgroup: s.cgroup };
    case "cgroup_write":
      return { op: "cgroup_write", cgroup: s.cgroup, file: s.file, value: String(s.value) };
    case "cgroup_attach":
      return { op: "cgroup_attach", cgroup: s.cgroup };
    case "migrate_pages":
      return {
        op: "migrate_pages",
        pid: pidExpr(s.pid, at("pid"), tasks),
        from: parseNodesArg(s.from, at("from")),
        to: parseNodesArg(s.to, at("to")),
        maxnode: s.maxnode === undefined ? BigInt(MAX_NUMNODES + 1) : parseInt64(s.maxnode, at("maxnode")),
      };
    case "move_pages": {
      const nodes = s.nodes ?? null;
      const list = Array.isArray(s.pages);
      if (Array.isArray(nodes) && (!list || nodes.length !== (s.pages as unknown[]).length)) {
        throw new FieldError(
          at("nodes"),
          list
            ? `${nodes.length} nodes for ${(s.pages as unknown[]).length} pages: give one node per page, one node for all, or null`
            : "with pages {addr, count}, nodes is one node for all the pages or null",
        );
      }
      const nodeOf = (i: number) => (nodes === null ? null : Array.isArray(nodes) ? nodes[i]! : nodes);
      const runs = Array.isArray(s.pages)
        ? s.pages.map((a, i) => ({ addr: addr(a, `pages[${i}]`), count: 1, node: nodeOf(i) }))
        : [{ addr: addr(s.pages.addr, "pages"), count: s.pages.count, node: nodeOf(0) }];
      return {
        op: "move_pages",
        pid: pidExpr(s.pid, at("pid"), tasks),
        runs,
        query: nodes === null,
        flags: s.flags === undefined ? 0n : BigInt(parseFlags(s.flags, at("flags"), SYMBOLS)),
      };
    }
    case "exit":
      return { op: "exit" };
    case "write_file": {
      const length = fileSize(s.length, at("length"));
      const offset = s.offset === undefined ? 0n : fileSize(s.offset, at("offset"));
      if (offset + length > MAX_FILE_BYTES)
        throw new FieldError(at("length"), "the file would grow past 16 TiB - 4 KiB, the largest ext4 file");
      return { op: "write_file", file: s.file, length, offset };
    }
    case "read_file":
      return {
        op: "read_file",
        file: s.file,
        length: s.length === undefined ? "file" : fileSize(s.length, at("length")),
        offset: s.offset === undefined ? 0n : fileSize(s.offset, at("offset")),
      };
    case "sync":
      return { op: "sync" };
    case "file_placement":
      return { op: "file_placement", file: s.file };
    case "meminfo":
      return { op: "meminfo" };
    case "device_migrate": {
      const a = addr(s.addr, "addr");
      if (!machine.nodes.some((n) => n.id === s.node && n.cdm))
        throw new FieldError(
          at("node"),
          `node ${s.node} is not a device-memory node of the machine (cdm: true)`,
        );
      return {
        op: "device_migrate",
        addr: a,
        length: defaultLength(s.length, at("length"), a),
        node: s.node,
      };
    }
  }
}
