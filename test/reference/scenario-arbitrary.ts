/**
 * fast-check arbitraries for whole scenario files (docs/scenario-format.md), as the plain
 * objects a YAML or JSON file holds. The generator draws raw choices (small integers and
 * booleans) and a pure function turns them into a valid scenario, so that shrinking the
 * choices shrinks the scenario and every shrunk value is still a valid file.
 *
 * Memory pressure is the point: nodes are small (mostly 64-160 MiB, the first boot node
 * loses ~60 MiB to the kernel), mappings range from one page to more than the machine
 * holds, several tasks compete, and kernel allocations eat into the zones, so that
 * watermark crossings, zonelist fallback, PREFERRED_MANY's second pass and the OOM killer
 * all happen often.
 */
import fc from "fast-check";

const PAGE = 4096;
const MiB = 1024 * 1024;

// --- raw choices ----------------------------------------------------------------------

interface RawNode {
  /** CPUs on the node (0: CPU-less) */
  cpus: number;
  movable: boolean;
  /** a movable node's memory is offline at boot (online: false; rare) */
  offline: boolean;
  /** a CPU node without memory (rare) */
  memoryless: boolean;
  mib: number;
  /** gap to the previous node id (sparse ids) */
  idGap: number;
}

interface RawCgroup {
  nested: boolean;
  /** bit i: the i-th memory node is in cpuset.mems (0: mems not written) */
  mems: number;
  /** bit i: the i-th CPU is in cpuset.cpus (0: not written) */
  cpus: number;
  hardwall: boolean;
  /** with hardwall (cgroup v1): cpuset.memory_spread_page */
  spread: boolean;
}

interface RawTask {
  cgroup: number;
  cpu: number;
  privileged: boolean;
}

/** A node list argument: indices < 12 pick machine nodes, others name nodes that do not exist. */
type RawNodes = readonly number[] | null;

interface RawRange {
  /** where the range starts in the mapping, in thousandths */
  from: number;
  /** how long it is, in thousandths of the rest of the mapping */
  len: number;
  /** 0: the whole mapping (length omitted), 1: a sub-range, 2: past the end */
  kind: number;
  /** extra pages past the end */
  extra: number;
}

type RawStep =
  | { op: "mmap"; name: number; size: number; sizeKind: number; shared: boolean; fixed: number | null }
  | { op: "munmap"; map: number; range: RawRange }
  | { op: "touch"; map: number; range: RawRange; write: boolean }
  | {
      op: "mbind";
      map: number;
      range: RawRange;
      mode: string | number;
      modeFlags: readonly string[];
      nodes: RawNodes;
      flags: readonly string[];
    }
  | { op: "set_mempolicy"; mode: string | number; modeFlags: readonly string[]; nodes: RawNodes }
  | { op: "get_mempolicy"; map: number | null; offset: number; flags: readonly string[] }
  | { op: "placement"; map: number; range: RawRange }
  | { op: "numastat" }
  | { op: "kalloc"; gfp: string; thisnode: boolean; node: number | null; order: number; count: number }
  | { op: "sched_setaffinity"; cpu: number }
  | { op: "fork" }
  | { op: "exit" }
  | {
      op: "move_pages";
      map: number;
      range: RawRange;
      node: number | null;
      other: number | null;
      flags: number;
    }
  | { op: "migrate_pages"; from: RawNodes; to: RawNodes; other: number | null }
  | { op: "cgroup_write"; cgroup: number; mems: RawNodes; cpus: number | null; prs: number | null }
  | { op: "cgroup_attach"; cgroup: number }
  | { op: "madvise"; map: number; range: RawRange; advice: string }
  | { op: "memory_offline"; node: number }
  | { op: "memory_online"; node: number; normal: boolean }
  | { op: "write_file"; file: number; size: number; sizeKind: number; offset: number }
  | { op: "read_file"; file: number; whole: boolean; size: number; offset: number }
  | { op: "sync" }
  | { op: "drop_caches" }
  | { op: "hugetlb_pool"; file: number; node: number; count: number }
  | { op: "mmap_hugetlb"; name: number; huge: number; shared: boolean };

interface RawScenario {
  nodes: RawNode[];
  anchor: number;
  symmetric: boolean;
  distances: number[];
  weighted: boolean;
  weights: number[];
  minFreeKbytes: number | null;
  /** kernel.thp (never with weighted interleave, which needs 6.9: THP is modelled for 6.1) */
  thp: "never" | "madvise" | "always";
  /** pages of a file on the disk before the first step (0: none) */
  preFile: number;
  cgroups: RawCgroup[];
  tasks: RawTask[];
  steps: { task: number; step: RawStep }[];
}

const MODES = [
  "MPOL_DEFAULT",
  "MPOL_PREFERRED",
  "MPOL_BIND",
  "MPOL_INTERLEAVE",
  "MPOL_LOCAL",
  "MPOL_PREFERRED_MANY",
  "MPOL_WEIGHTED_INTERLEAVE",
] as const;

const rawNode: fc.Arbitrary<RawNode> = fc.record({
  cpus: fc.integer({ min: 0, max: 2 }),
  movable: fc.boolean(),
  offline: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
  memoryless: fc.integer({ min: 0, max: 11 }).map((x) => x === 0),
  mib: fc.oneof(
    { arbitrary: fc.integer({ min: 64, max: 160 }), weight: 5 },
    { arbitrary: fc.integer({ min: 161, max: 512 }), weight: 1 },
  ),
  idGap: fc.oneof(
    { arbitrary: fc.constant(0), weight: 3 },
    { arbitrary: fc.integer({ min: 1, max: 2 }), weight: 1 },
  ),
});

const rawNodes: fc.Arbitrary<RawNodes> = fc.oneof(
  { arbitrary: fc.uniqueArray(fc.integer({ min: 0, max: 14 }), { minLength: 1, maxLength: 4 }), weight: 12 },
  { arbitrary: fc.constant([]), weight: 2 },
  { arbitrary: fc.constant(null), weight: 1 },
);

/** Modes, weighted towards the ones that spread pages (interleave, PREFERRED_MANY, BIND). */
const MODE_WEIGHTS: Record<(typeof MODES)[number], number> = {
  MPOL_DEFAULT: 2,
  MPOL_PREFERRED: 3,
  MPOL_BIND: 4,
  MPOL_INTERLEAVE: 6,
  MPOL_LOCAL: 1,
  MPOL_PREFERRED_MANY: 4,
  MPOL_WEIGHTED_INTERLEAVE: 3,
};

const rawMode: fc.Arbitrary<string | number> = fc.oneof(
  ...MODES.map((m) => ({ arbitrary: fc.constant<string | number>(m), weight: MODE_WEIGHTS[m] })),
  { arbitrary: fc.constantFrom(7, -1, 32770), weight: 1 },
);

const rawModeFlags: fc.Arbitrary<readonly string[]> = fc.oneof(
  { arbitrary: fc.constant([]), weight: 8 },
  { arbitrary: fc.constant(["MPOL_F_STATIC_NODES"]), weight: 2 },
  { arbitrary: fc.constant(["MPOL_F_RELATIVE_NODES"]), weight: 2 },
  { arbitrary: fc.constant(["MPOL_F_NUMA_BALANCING"]), weight: 1 },
  { arbitrary: fc.constant(["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]), weight: 1 },
);

const rawMbindFlags: fc.Arbitrary<readonly string[]> = fc.oneof(
  { arbitrary: fc.constant([]), weight: 6 },
  { arbitrary: fc.constant(["MPOL_MF_STRICT"]), weight: 2 },
  { arbitrary: fc.constant(["MPOL_MF_MOVE"]), weight: 3 },
  { arbitrary: fc.constant(["MPOL_MF_STRICT", "MPOL_MF_MOVE"]), weight: 2 },
  { arbitrary: fc.constant(["MPOL_MF_MOVE_ALL"]), weight: 1 },
  { arbitrary: fc.constant(["MPOL_MF_STRICT", "MPOL_MF_MOVE_ALL"]), weight: 1 },
  { arbitrary: fc.constant(["MPOL_MF_LAZY"]), weight: 1 },
);

const rawGetFlags: fc.Arbitrary<readonly string[]> = fc.oneof(
  { arbitrary: fc.constant([]), weight: 2 },
  { arbitrary: fc.constant(["MPOL_F_ADDR"]), weight: 2 },
  { arbitrary: fc.constant(["MPOL_F_NODE", "MPOL_F_ADDR"]), weight: 3 },
  { arbitrary: fc.constant(["MPOL_F_NODE"]), weight: 2 },
  { arbitrary: fc.constant(["MPOL_F_MEMS_ALLOWED"]), weight: 1 },
  { arbitrary: fc.constant(["MPOL_F_MEMS_ALLOWED", "MPOL_F_NODE"]), weight: 1 },
);

const rawRange: fc.Arbitrary<RawRange> = fc.record({
  from: fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 0, max: 999 }), weight: 3 },
  ),
  len: fc.integer({ min: 1, max: 1000 }),
  kind: fc.oneof(
    { arbitrary: fc.constant(0), weight: 5 },
    { arbitrary: fc.constant(1), weight: 4 },
    { arbitrary: fc.constant(2), weight: 1 },
  ),
  extra: fc.integer({ min: 1, max: 64 }),
});

const mapIdx = fc.integer({ min: 0, max: 7 });

const rawSetMempolicy = fc.record({
  op: fc.constant("set_mempolicy" as const),
  mode: rawMode,
  modeFlags: rawModeFlags,
  nodes: rawNodes,
});

const rawStep: fc.Arbitrary<RawStep> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("mmap" as const),
      name: fc.integer({ min: 0, max: 3 }),
      size: fc.integer({ min: 0, max: 1000 }),
      sizeKind: fc.oneof(
        { arbitrary: fc.constant(0), weight: 3 },
        { arbitrary: fc.constant(1), weight: 3 },
        { arbitrary: fc.constant(2), weight: 3 },
        { arbitrary: fc.constant(3), weight: 1 },
      ),
      shared: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
      fixed: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("munmap" as const), map: mapIdx, range: rawRange }) },
  {
    weight: 9,
    arbitrary: fc.record({
      op: fc.constant("touch" as const),
      map: mapIdx,
      range: rawRange,
      write: fc.integer({ min: 0, max: 3 }).map((x) => x !== 0),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("mbind" as const),
      map: mapIdx,
      range: rawRange,
      mode: rawMode,
      modeFlags: rawModeFlags,
      nodes: rawNodes,
      flags: rawMbindFlags,
    }),
  },
  { weight: 4, arbitrary: rawSetMempolicy },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("get_mempolicy" as const),
      map: fc.option(mapIdx, { freq: 2 }),
      offset: fc.integer({ min: 0, max: 999 }),
      flags: rawGetFlags,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("placement" as const), map: mapIdx, range: rawRange }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("numastat" as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("kalloc" as const),
      gfp: fc.constantFrom("GFP_KERNEL", "GFP_HIGHUSER_MOVABLE"),
      thisnode: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
      node: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 2 }),
      order: fc.oneof(
        { arbitrary: fc.constant(0), weight: 6 },
        { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 1 },
      ),
      count: fc.integer({ min: 1, max: 4000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("sched_setaffinity" as const),
      cpu: fc.integer({ min: 0, max: 7 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("fork" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("memory_offline" as const),
      node: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("memory_online" as const),
      node: fc.integer({ min: 0, max: 3 }),
      normal: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("madvise" as const),
      map: mapIdx,
      range: rawRange,
      advice: fc.constantFrom(
        "MADV_DONTNEED",
        "MADV_DONTNEED",
        "MADV_HUGEPAGE",
        "MADV_NOHUGEPAGE",
        "MADV_MERGEABLE",
        "MADV_UNMERGEABLE",
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("cgroup_write" as const),
      cgroup: fc.integer({ min: 0, max: 3 }),
      mems: rawNodes,
      cpus: fc.option(fc.integer({ min: 0, max: 255 }), { freq: 3 }),
      prs: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("cgroup_attach" as const),
      cgroup: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("migrate_pages" as const),
      from: rawNodes,
      to: rawNodes,
      other: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("move_pages" as const),
      map: mapIdx,
      range: rawRange,
      node: fc.option(fc.integer({ min: 0, max: 14 }), { freq: 4 }),
      other: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 3 }),
      flags: fc.constantFrom(0, 2, 2, 4, 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("exit" as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("write_file" as const),
      file: fc.integer({ min: 0, max: 3 }),
      size: fc.integer({ min: 1, max: 1000 }),
      sizeKind: fc.integer({ min: 0, max: 3 }),
      offset: fc.integer({ min: 0, max: 999 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("read_file" as const),
      file: fc.integer({ min: 0, max: 4 }),
      whole: fc.boolean(),
      size: fc.integer({ min: 1, max: 1000 }),
      offset: fc.integer({ min: 0, max: 999 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("sync" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("drop_caches" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("hugetlb_pool" as const),
      file: fc.integer({ min: 0, max: 3 }),
      node: fc.integer({ min: 0, max: 3 }),
      count: fc.integer({ min: 0, max: 80 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("mmap_hugetlb" as const),
      name: fc.integer({ min: 4, max: 7 }),
      huge: fc.integer({ min: 1, max: 40 }),
      shared: fc.boolean(),
    }),
  },
);

const rawScenario: fc.Arbitrary<RawScenario> = fc.record({
  nodes: fc.oneof(
    { arbitrary: fc.array(rawNode, { minLength: 1, maxLength: 1 }), weight: 1 },
    { arbitrary: fc.array(rawNode, { minLength: 2, maxLength: 4 }), weight: 5 },
  ),
  anchor: fc.integer({ min: 0, max: 3 }),
  symmetric: fc.boolean(),
  distances: fc.array(fc.integer({ min: 11, max: 80 }), { minLength: 16, maxLength: 16 }),
  weighted: fc.integer({ min: 0, max: 2 }).map((x) => x === 0),
  weights: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }),
  minFreeKbytes: fc.option(fc.integer({ min: 128, max: 16384 }), { freq: 5 }),
  thp: fc.constantFrom("never" as const, "never" as const, "madvise" as const, "always" as const),
  preFile: fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 200000 }), weight: 1 },
  ),
  cgroups: fc.array(
    fc.record({
      nested: fc.boolean(),
      mems: fc.integer({ min: 0, max: 15 }),
      cpus: fc.oneof(
        { arbitrary: fc.constant(0), weight: 3 },
        { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 1 },
      ),
      hardwall: fc.integer({ min: 0, max: 3 }).map((x) => x === 0),
      spread: fc.boolean(),
    }),
    { maxLength: 2 },
  ),
  tasks: fc.array(
    fc.record({
      cgroup: fc.integer({ min: 0, max: 2 }),
      cpu: fc.integer({ min: 0, max: 7 }),
      privileged: fc.boolean(),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  // task policies first now and then, so that later faults and kallocs run under them
  steps: fc
    .tuple(
      fc.array(fc.record({ task: fc.integer({ min: 0, max: 2 }), step: rawSetMempolicy }), { maxLength: 3 }),
      fc.array(fc.record({ task: fc.integer({ min: 0, max: 2 }), step: rawStep }), {
        minLength: 1,
        maxLength: 25,
        size: "max",
      }),
    )
    .map(([prologue, steps]) => [...prologue, ...steps].slice(0, 25)),
});

// --- from raw choices to a scenario file ------------------------------------------------

/** A scenario file as plain data (what YAML or JSON would hold). */
export type ScenarioFile = Record<string, unknown> & {
  machine: { nodes: Record<string, unknown>[]; distances: number[][] };
  steps: Record<string, unknown>[];
};

const pages = (n: number) => `${n}p`;

function build(raw: RawScenario): ScenarioFile {
  // machine
  const n = raw.nodes.length;
  const anchor = raw.anchor % n;
  const ids: number[] = [];
  let nextCpu = 0;
  const nodes: Record<string, unknown>[] = [];
  const memNodes: number[] = [];
  const cpus: number[] = [];
  let nodePagesMax = 0;
  let totalPages = 0;
  // THP needs 512 MiB of RAM (hugepage_init): with it on, the anchor node has enough
  const thp = raw.weighted ? "never" : raw.thp;
  raw.nodes.forEach((raw0, i) => {
    const rn = thp !== "never" && i === anchor ? { ...raw0, mib: Math.max(raw0.mib, 576) } : raw0;
    const id = i === 0 ? rn.idGap : ids[i - 1]! + 1 + rn.idGap;
    ids.push(id);
    // the anchor node has CPUs and boot memory, so that the machine boots
    const nCpus = i === anchor ? Math.max(1, rn.cpus) : rn.cpus;
    const movable = i !== anchor && nCpus === 0 && rn.movable;
    const memoryless = i !== anchor && nCpus > 0 && rn.memoryless;
    const node: Record<string, unknown> = { id };
    if (nCpus) {
      node.cpus = Array.from({ length: nCpus }, (_, j) => nextCpu + j);
      for (let j = 0; j < nCpus; j++) cpus.push(nextCpu + j);
      nextCpu += nCpus;
    }
    if (!memoryless) {
      node.memory = `${rn.mib}MiB`;
      memNodes.push(id);
      const p = (rn.mib * MiB) / PAGE;
      nodePagesMax = Math.max(nodePagesMax, p);
      totalPages += p;
    }
    if (movable) {
      node.movable = true;
      node.kind = "gpu";
      if (rn.offline) node.online = false;
    }
    nodes.push(node);
  });
  const distances = ids.map((_, i) =>
    ids.map((__, j) => {
      if (i === j) return 10;
      const [a, b] = raw.symmetric && i > j ? [j, i] : [i, j];
      return raw.distances[a * 4 + b]!;
    }),
  );
  const absentBase = ids[ids.length - 1]! + 1;
  const nodeList = (r: RawNodes): number[] | null =>
    r === null
      ? null
      : [...new Set(r.map((v) => (v < 12 ? ids[v % n]! : absentBase + (v - 12))))].sort((a, b) => a - b);

  const file: ScenarioFile = { name: "generated", machine: { nodes, distances }, steps: [] };
  const kernel: Record<string, unknown> = {};
  if (raw.weighted) {
    kernel.version = "6.9";
    kernel.weighted_interleave = Object.fromEntries(ids.map((id, i) => [String(id), raw.weights[i]!]));
  }
  if (raw.minFreeKbytes !== null) kernel.min_free_kbytes = raw.minFreeKbytes;
  if (thp !== "never") kernel.thp = thp;
  if (Object.keys(kernel).length) file.kernel = kernel;
  if (raw.preFile) file.files = { pre: pages(raw.preFile) };

  // cgroups: flat, or the second one nested in the first; effective CPUs as cgroup v2 computes them
  const cgPaths: string[] = ["/"];
  const effCpus = new Map<string, number[]>([["/", cpus]]);
  if (raw.cgroups.length) {
    const cgroups: Record<string, Record<string, unknown>> = {};
    raw.cgroups.forEach((rc, i) => {
      const path = i === 1 && rc.nested ? `${cgPaths[1]}/sub` : `/g${i}`;
      const spec: Record<string, unknown> = {};
      const mems = memNodes.filter((_, j) => rc.mems & (1 << j));
      if (mems.length) spec.mems = mems;
      const mine = cpus.filter((_, j) => rc.cpus & (1 << j));
      if (mine.length) spec.cpus = mine;
      if (rc.hardwall) spec.mem_hardwall = true;
      if (rc.hardwall && rc.spread) spec.memory_spread_page = true;
      cgroups[path] = spec;
      const parent = effCpus.get(path.slice(0, path.lastIndexOf("/")) || "/")!;
      const eff = mine.filter((c) => parent.includes(c));
      effCpus.set(path, eff.length ? eff : parent);
      cgPaths.push(path);
    });
    file.cgroups = cgroups;
  }

  // tasks
  const taskNames: string[] = [];
  const tasks: Record<string, Record<string, unknown>> = {};
  // on cgroup v2 (no mem_hardwall anywhere) tasks live in leaf cgroups only
  const v1 = raw.cgroups.some((rc) => rc.hardwall);
  // hugetlb mappings exclude fork, migration, madvise and hotplug (refused at load time):
  // such steps become a harmless numastat, and mbind/move_pages lose their moves
  const hugetlb = raw.steps.some((x) => x.step.op === "mmap_hugetlb");
  const NOT_WITH_HUGETLB = new Set(["fork", "migrate_pages", "madvise", "memory_offline", "memory_online"]);
  const taskCgs = cgPaths.filter((p) => v1 || p === "/" || !cgPaths.some((q) => q.startsWith(`${p}/`)));
  raw.tasks.forEach((rt, i) => {
    const name = `t${i}`;
    const cg = taskCgs[rt.cgroup % taskCgs.length]!;
    const allowed = effCpus.get(cg)!;
    tasks[name] = { cgroup: cg, cpu: allowed[rt.cpu % allowed.length]!, privileged: rt.privileged };
    taskNames.push(name);
  });
  file.tasks = tasks;

  // steps: mapping names are per task; a step that names a mapping picks one mmapped earlier
  const known = new Map<string, { name: string; pages: number }[]>(taskNames.map((t) => [t, []]));
  const mmapPages = (size: number, kind: number): number => {
    const f = size / 1000;
    switch (kind) {
      case 0:
        return 1 + Math.floor(f * 63);
      case 1:
        return 1 + Math.floor((f * nodePagesMax) / 2);
      case 2:
        return Math.max(1, Math.floor(nodePagesMax * (0.5 + f)));
      default:
        return Math.max(1, Math.floor(totalPages * (0.5 + f * 0.6)));
    }
  };
  /** An address and length for a range of a mapping (or an unmapped literal when the task has none). */
  const target = (task: string, m: number, r: RawRange): Record<string, unknown> => {
    const maps = known.get(task)!;
    if (!maps.length) return { addr: 0x7e8000000000, length: pages(1 + (r.extra % 8)) };
    const mp = maps[m % maps.length]!;
    if (r.kind === 0) return { addr: mp.name };
    const from = Math.floor((r.from / 1000) * mp.pages);
    const rest = mp.pages - from;
    const len = r.kind === 1 ? Math.max(1, Math.floor((r.len / 1000) * rest)) : rest + r.extra;
    return { addr: from ? `${mp.name}+${pages(from)}` : mp.name, length: pages(len) };
  };
  /** MPOL_DEFAULT and MPOL_LOCAL mostly get the empty mask they need */
  const policyNodes = (mode: string | number, r: RawNodes): number[] | null =>
    (mode === "MPOL_DEFAULT" || mode === "MPOL_LOCAL") && r && r[0]! % 4 !== 0 ? [] : nodeList(r);
  // the tasks that run steps: forks add children, exits remove tasks
  const live = [...taskNames];
  let forks = 0;
  // with THP in effect, the operations the model refuses on THPs become numastat steps
  const thpActive =
    thp === "always" ||
    (thp === "madvise" &&
      raw.steps.some(({ step }) => step.op === "madvise" && step.advice === "MADV_HUGEPAGE"));
  for (const { task: ti, step: s1 } of raw.steps) {
    if (!live.length) break;
    let task = live[ti % live.length]!;
    let s = thpActive ? thpCompatible(s1) : s1;
    if ("range" in s && !known.get(task)!.length) {
      // a step on a mapping goes to a task that has one, or becomes the mmap of one
      const other = live.find((t) => known.get(t)!.length);
      if (other) task = other;
      else s = { op: "mmap", name: 0, size: s.range.len, sizeKind: s.range.kind, shared: false, fixed: null };
    }
    const maps = known.get(task)!;
    if (hugetlb && NOT_WITH_HUGETLB.has(s.op)) s = { op: "numastat" };
    const out: Record<string, unknown> = { op: s.op, task };
    switch (s.op) {
      case "mmap": {
        const name = `m${s.name}`;
        const p = mmapPages(s.size, s.sizeKind);
        out.name = name;
        out.length = pages(p);
        if (s.shared) out.flags = ["MAP_SHARED", "MAP_ANONYMOUS"];
        // THP needs 2 MiB-aligned mappings: with it on, every mapping is at a fixed address
        const fixed = s.fixed ?? (thp !== "never" ? s.name % 4 : null);
        if (fixed !== null) out.addr = 0x7e0000000000 + fixed * 0x40000000;
        const i = maps.findIndex((x) => x.name === name);
        if (i >= 0) maps.splice(i, 1);
        maps.push({ name, pages: p });
        break;
      }
      case "munmap": {
        Object.assign(out, target(task, s.map, s.range));
        // a mapping unmapped whole is not named by later steps
        if (s.range.kind === 0) maps.splice(s.map % maps.length, 1);
        break;
      }
      case "placement":
        Object.assign(out, target(task, s.map, s.range));
        break;
      case "touch":
        Object.assign(out, target(task, s.map, s.range));
        out.access = s.write ? "write" : "read";
        break;
      case "mbind": {
        Object.assign(out, target(task, s.map, s.range));
        out.mode = s.mode;
        if (s.modeFlags.length) out.mode_flags = s.modeFlags;
        out.nodes = policyNodes(s.mode, s.nodes);
        const flags = hugetlb ? s.flags.filter((f) => !f.startsWith("MPOL_MF_MOVE")) : s.flags;
        if (flags.length) out.flags = flags;
        break;
      }
      case "set_mempolicy":
        out.mode = s.mode;
        if (s.modeFlags.length) out.mode_flags = s.modeFlags;
        out.nodes = policyNodes(s.mode, s.nodes);
        break;
      case "get_mempolicy": {
        if (s.map !== null && maps.length) {
          const mp = maps[s.map % maps.length]!;
          const off = Math.floor((s.offset / 1000) * mp.pages);
          out.addr = off ? `${mp.name}+${pages(off)}` : mp.name;
        }
        if (s.flags.length) out.flags = s.flags;
        break;
      }
      case "numastat":
        break;
      case "kalloc":
        out.gfp = s.thisnode ? [s.gfp, "__GFP_THISNODE"] : s.gfp;
        if (s.node !== null) out.node = ids[s.node % n]!;
        if (s.order) out.order = s.order;
        out.count = s.order ? Math.max(1, s.count >> s.order) : s.count;
        break;
      case "sched_setaffinity":
        out.cpu = cpus[s.cpu % cpus.length]!;
        break;
      case "fork": {
        const child = `f${forks++}`;
        out.child = child;
        known.set(
          child,
          maps.map((m) => ({ ...m })),
        );
        live.push(child);
        break;
      }
      case "exit":
        live.splice(live.indexOf(task), 1);
        break;
      case "memory_offline":
      case "memory_online": {
        // a node with memory (offlining boot memory fails with EBUSY)
        const withMem = ids.filter((id) => memNodes.includes(id));
        out.node = withMem[s.node % withMem.length]!;
        if (s.op === "memory_online") out.zone = s.normal ? "normal" : "movable";
        break;
      }
      case "madvise":
        Object.assign(out, target(task, s.map, s.range));
        out.advice = s.advice;
        break;
      case "cgroup_write":
        // cgroup v2 only: with cgroup v1 flags the step becomes a harmless numastat
        if (v1) {
          out.op = "numastat";
          break;
        }
        out.cgroup = cgPaths[s.cgroup % cgPaths.length]!;
        if (s.prs !== null) {
          out.file = "cpuset.cpus.partition";
          out.value = ["root", "member", "isolated", "bogus"][s.prs]!;
        } else if (s.cpus === null) {
          out.file = "cpuset.mems";
          out.value = (nodeList(s.mems) ?? []).join(",");
        } else {
          out.file = "cpuset.cpus";
          out.value = cpus.filter((_, j) => s.cpus! & (1 << j)).join(",");
        }
        break;
      case "cgroup_attach":
        if (v1) {
          out.op = "numastat";
          break;
        }
        out.cgroup = cgPaths[s.cgroup % cgPaths.length]!;
        break;
      case "migrate_pages":
        if (s.other !== null) out.pid = live[s.other % live.length]!;
        out.from = nodeList(s.from);
        out.to = nodeList(s.to);
        break;
      case "move_pages": {
        // pages of this task's mapping, or the same addresses of another live task
        const t = target(task, s.map, s.range);
        const count = Math.min(
          4096,
          Math.max(1, Math.floor(Number(String(t.length ?? "8p").replace("p", ""))) || 8),
        );
        out.pages = { addr: t.addr, count };
        if (s.other !== null) out.pid = live[s.other % live.length]!;
        out.nodes =
          s.node === null || hugetlb ? null : s.node < 12 ? ids[s.node % n]! : absentBase + (s.node - 12);
        if (s.flags) out.flags = s.flags;
        break;
      }
      case "write_file": {
        const p = mmapPages(s.size, s.sizeKind);
        out.file = `f${s.file}`;
        out.length = pages(p);
        // mostly from the start; sometimes at an offset inside or past the data
        if (s.offset % 3 === 0) out.offset = s.offset * 7 + (s.offset % 2) * 100;
        break;
      }
      case "read_file":
        // f4 never exists (ENOENT); "pre" exists on the disk from the start
        out.file = s.file === 4 ? (raw.preFile ? "pre" : "f4") : `f${s.file}`;
        if (!s.whole) out.length = pages(1 + s.size * 8);
        if (s.offset % 4 === 0) out.offset = pages(s.offset);
        break;
      case "sync":
        break;
      case "drop_caches":
        out.op = "sysfs_write";
        out.path = "/proc/sys/vm/drop_caches";
        out.value = "1";
        break;
      case "hugetlb_pool": {
        // the global pool, the mempolicy variant, or one node's pool
        out.op = "sysfs_write";
        const paths = [
          "/proc/sys/vm/nr_hugepages",
          "/proc/sys/vm/nr_hugepages_mempolicy",
          "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
          `/sys/devices/system/node/node${ids[s.node % n]}/hugepages/hugepages-2048kB/nr_hugepages`,
        ];
        out.path = paths[s.file]!;
        out.value = String(s.count);
        break;
      }
      case "mmap_hugetlb": {
        const name = `m${s.name}`;
        out.op = "mmap";
        out.name = name;
        out.length = pages(s.huge * 512);
        out.flags = [s.shared ? "MAP_SHARED" : "MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_HUGETLB"];
        const i = maps.findIndex((x) => x.name === name);
        if (i >= 0) maps.splice(i, 1);
        maps.push({ name, pages: s.huge * 512 });
        break;
      }
    }
    file.steps.push(out);
  }
  return file;
}

/** A step the model allows with transparent huge pages (see compile.ts), or a numastat step. */
function thpCompatible(s: RawStep): RawStep {
  switch (s.op) {
    case "munmap":
      // whole mappings only
      return s.range.kind === 0 ? s : { op: "numastat" };
    case "fork":
    case "migrate_pages":
    case "memory_offline":
    case "cgroup_attach":
      return { op: "numastat" };
    case "move_pages":
      return s.node === null ? s : { op: "numastat" };
    case "cgroup_write":
      return s.cpus === null ? { op: "numastat" } : s;
    case "madvise":
      // MADV_DONTNEED of whole mappings only
      return s.advice === "MADV_DONTNEED" && s.range.kind !== 0 ? { op: "numastat" } : s;
    case "mbind":
      return { ...s, flags: s.flags.filter((f) => f === "MPOL_MF_LAZY") };
    default:
      return s;
  }
}

/** Valid scenario files with frequent memory pressure. */
export const scenarioFile: fc.Arbitrary<ScenarioFile> = rawScenario.map(build);
