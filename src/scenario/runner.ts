/**
 * Running a scenario on the model: build the machine, cgroups and tasks, execute the steps
 * in order, check expectations, and produce the result of docs/scenario-format.md.
 */

import { getDesign } from "../designs/index.js";
import { cgroupAttach, cgroupCreate, cgroupWrite } from "../kernel/cgroupfs.js";
import { PAGE_SHIFT, PAGE_SIZE } from "../kernel/constants.js";
import type { Design } from "../kernel/design.js";
import {
  dropCaches,
  filePagesByNode,
  sysFilePlacement,
  sysMeminfo,
  sysReadFile,
  sysSync,
  sysWriteFile,
} from "../kernel/filesys.js";
import { deviceMigrate } from "../kernel/hmm.js";
import {
  AUTO_ONLINE_PATH,
  autoOnlineRead,
  autoOnlineWrite,
  gpuDriverLoad,
  memoryOffline,
  memoryOnline,
  NV_NUMA_STATUS,
} from "../kernel/hotplug.js";
import { HPAGE_SIZE, hugetlbWrite, isHugetlbPath, MAP_HUGETLB } from "../kernel/hugetlb.js";
import {
  type AllocEvent,
  Kernel,
  type KernelEvent,
  type KernelOptions,
  NUMASTAT_FIELDS,
  type NumaStat,
  type ReclaimEvent,
  type Task,
} from "../kernel/kernel.js";
import { madvise } from "../kernel/madvise.js";
import { memoryTiersOut } from "../kernel/memory-tiers.js";
import { getTaskPolicy, mpolToStr } from "../kernel/mempolicy.js";
import { migratePages, movePages } from "../kernel/migrate.js";
import { Nodemask } from "../kernel/nodemask.js";
import { numaMaps, readSysNode } from "../kernel/procfs.js";
import {
  pagesOut,
  residentPages,
  type SysResult,
  sysExit,
  sysFork,
  sysGetMempolicy,
  sysKalloc,
  sysMbind,
  sysMmap,
  sysMunmap,
  sysSchedSetaffinity,
  sysSetMempolicy,
  sysSetMempolicyHomeNode,
  sysSysfsWrite,
  sysTouch,
  type UserNodemask,
  u64,
} from "../kernel/syscalls.js";
import { type Mismatch, recordExpectation } from "./expect.js";
import type { AddrExpr, NodesExpr, PidExpr, Scenario, Step } from "./types.js";

export interface StepResult {
  index: number;
  task: string;
  op: string;
  ret: number | null;
  errno: string | null;
  out?: Record<string, unknown>;
  /** the task was killed by the OOM killer during this step */
  oom?: true;
  /** the task was dead before this step */
  skipped?: true;
  expect?: "pass" | "fail";
  mismatches?: Mismatch[];
}

export interface MappingResult {
  start: string;
  length: number;
  policy: string;
  pages: Record<string, number>;
}

export interface FileResult {
  /** bytes */
  size: number;
  /** resident page-cache pages per node */
  pages: Record<string, number>;
}

export interface ResultJson {
  format: "cdmsim-result/1";
  scenario: string;
  design: string;
  engine: string;
  kernel: string;
  steps: StepResult[];
  mappings: Record<string, MappingResult>;
  /** page-cache pages of each file of the disk file system at the end (present when the scenario uses files) */
  files?: Record<string, FileResult>;
  events: KernelEvent[];
  ok: boolean;
  numastat: Record<string, NumaStat>;
  fallback_order: string[];
}

/**
 * Pages in use on each node over a run, for charts: after boot and after every step, the
 * node's MemTotal − MemFree (node_read_meminfo(): managed minus free pages of its zones), so
 * anonymous memory, page cache, hugetlb pools, page tables and the kernel's own pages all
 * count. Read from the zones' counters: the cost grows with steps × nodes, not with pages.
 */
export interface NodeUsage {
  /** the nodes of the machine with memory, in id order */
  nodes: number[];
  /** pages[0]: after boot; pages[i + 1]: after step i; pages[t][j] is the count for nodes[j] */
  pages: number[][];
}

export interface RunOutput {
  result: ResultJson;
  /** pages in use per node after boot and after each step, when the run was asked for them */
  usage?: NodeUsage;
  /** allocation decisions, when run with explain */
  decisions: Array<AllocEvent | ReclaimEvent>;
  /** the final state, for reports */
  kernel: Kernel;
  scenario: Scenario;
}

export interface RunOptions {
  /** run under this design instead of the scenario's */
  design?: string;
  explain?: boolean;
  /** record the pages in use per node after boot and after every step (`RunOutput.usage`) */
  usage?: boolean;
  /** substitute representations (the tests' page-by-page reference model) */
  pageTable?: KernelOptions["pageTable"];
  allocator?: KernelOptions["allocator"];
}

interface Mapping {
  start: bigint;
  length: bigint;
}

const MAP_FAILED = (1n << 64n) - 1n;

export function resolveDesign(id: string): Design {
  const d = getDesign(id);
  if (!d) throw new Error(`design "${id}" is not available`);
  return d;
}

/** Build the kernel, cgroups and tasks of a scenario (the state before step 0). */
export function bootScenario(sc: Scenario, opts: RunOptions = {}): Kernel {
  const k = new Kernel(sc.machine, {
    version: sc.kernel.version,
    minFreeKbytes: sc.kernel.minFreeKbytes,
    thp: sc.kernel.thp,
    weights: sc.kernel.weights,
    design: resolveDesign(opts.design ?? sc.design),
    explain: opts.explain,
    pageTable: opts.pageTable,
    allocator: opts.allocator,
  });
  for (const c of sc.cgroups) {
    const cs = k.createCgroup(c.path);
    if (c.cpus) cs.cpus = c.cpus;
    if (c.mems) cs.mems = Nodemask.from(c.mems);
    cs.memHardwall = c.memHardwall;
    cs.memExclusive = c.memExclusive;
    cs.memorySpreadPage = c.memorySpreadPage;
  }
  // files already on the disk: sparse, nothing cached
  for (const [name, size] of sc.files) k.pageCache.create(name, size);
  k.refreshCpusets();
  for (const t of sc.tasks) {
    if (!t.forkedBy) k.createTask(t.name, k.cgroups.get(t.cgroup)!, t.cpu, t.privileged);
  }
  return k;
}

/** Run a compiled scenario on the model. */
export function runScenario(sc: Scenario, opts: RunOptions = {}): RunOutput {
  const k = bootScenario(sc, opts);
  const admin = k.design.admin?.(k, {
    aware: new Set(sc.tasks.filter((t) => t.aware).map((t) => t.name)),
    hotplugDelay: sc.admin.hotplugDelay,
  });
  const maps = new Map<string, Map<string, Mapping>>(
    sc.tasks.filter((t) => !t.forkedBy).map((t) => [t.name, new Map()]),
  );
  const steps: StepResult[] = [];
  let ok = true;
  const usageNodes = sc.machine.nodes
    .filter((n) => n.memoryBytes > 0)
    .map((n) => n.id)
    .sort((a, b) => a - b);
  const used = () =>
    usageNodes.map((n) => {
      const m = k.nodeMeminfo(n);
      return m.total - m.free;
    });
  const usage: NodeUsage | undefined = opts.usage ? { nodes: usageNodes, pages: [used()] } : undefined;
  for (const step of sc.steps) {
    k.step = step.index;
    // a child whose fork did not happen (its parent was dead by then) never exists
    const task = k.tasks.get(step.task);
    let r: StepResult;
    if (!task?.alive) {
      r = { index: step.index, task: step.task, op: step.op, ret: null, errno: null, skipped: true };
    } else {
      const sys = execute(k, task, step, maps.get(step.task)!);
      // the child has the parent's mappings (its address space is a copy)
      if (step.op === "fork" && k.tasks.has(step.child)) maps.set(step.child, new Map(maps.get(step.task)));
      r = {
        index: step.index,
        task: step.task,
        op: step.op,
        ret: sys.killed ? null : sys.ret,
        errno: sys.errno,
      };
      if (sys.out) r.out = sys.out;
      if (sys.killed) r.oom = true;
    }
    if (!recordExpectation(step, r)) ok = false;
    steps.push(r);
    admin?.afterStep(step.index);
    usage?.pages.push(used());
  }
  const result: ResultJson = {
    format: "cdmsim-result/1",
    scenario: sc.name,
    design: k.design.id,
    engine: "model",
    kernel: k.version.toString(),
    steps,
    mappings: finalMappings(k, maps),
    events: k.events.filter((e) => e.kind !== "alloc"),
    ok,
    numastat: Object.fromEntries([...k.numastat].map(([n, s]) => [String(n), { ...s }])),
    fallback_order: k.fallbackOrderLines(),
  };
  if (k.pageCache.files.size) result.files = finalFiles(k);
  const decisions = k.events.filter(
    (e): e is AllocEvent | ReclaimEvent => e.kind === "alloc" || e.kind === "reclaim",
  );
  return { result, ...(usage ? { usage } : {}), decisions, kernel: k, scenario: sc };
}

function finalFiles(k: Kernel): Record<string, FileResult> {
  const out: Record<string, FileResult> = {};
  for (const [name, f] of k.pageCache.files)
    out[name] = { size: Number(f.size), pages: pagesOut(filePagesByNode(k, name)!) };
  return out;
}

function finalMappings(k: Kernel, maps: Map<string, Map<string, Mapping>>): Record<string, MappingResult> {
  const out: Record<string, MappingResult> = {};
  for (const [tname, m] of maps) {
    const task = k.tasks.get(tname)!;
    if (!task.alive) continue;
    for (const [name, mp] of m) {
      const s = Number(mp.start >> BigInt(PAGE_SHIFT));
      const e = s + Number(mp.length >> BigInt(PAGE_SHIFT));
      const vmas = task.mm.vmasIn(s, e);
      if (vmas.length === 0) continue;
      const v0 = task.mm.vmaAt(s) ?? vmas[0]!;
      const pol = v0.object ? v0.object.policyAt(v0.indexOf(v0.start)) : v0.policy;
      out[`${tname}:${name}`] = {
        start: `0x${mp.start.toString(16)}`,
        length: Number(mp.length),
        policy: mpolToStr(pol ?? getTaskPolicy(task)),
        pages: pagesOut(residentPages(k, task.mm, s, e)),
      };
    }
  }
  return out;
}

function resolveAddr(a: AddrExpr, maps: Map<string, Mapping>): bigint {
  switch (a.kind) {
    case "null":
      return 0n;
    case "bad":
      return MAP_FAILED;
    case "literal":
      return u64(a.value);
    case "mapping": {
      const m = maps.get(a.name);
      return m ? u64(m.start + a.offset) : MAP_FAILED;
    }
  }
}

function resolveLength(a: AddrExpr, length: bigint | "mapping", maps: Map<string, Mapping>): bigint {
  if (length !== "mapping") return length;
  if (a.kind !== "mapping") return 0n;
  const m = maps.get(a.name);
  if (!m) return 0n;
  return m.length > a.offset ? m.length - a.offset : 0n;
}

function userNodes(n: NodesExpr): UserNodemask {
  return n.kind === "bits" ? { kind: "bits", bits: n.bits } : n;
}

/** The task a pid argument names: the caller, a task of the scenario, or none. */
function pidTask(k: Kernel, self: Task, pid: PidExpr): Task | undefined {
  return pid.kind === "self" ? self : pid.kind === "task" ? k.tasks.get(pid.name) : undefined;
}

/** The mapping of the task that holds a page, for event labels. */
function labelFor(task: Task, maps: Map<string, Mapping>, vpn: number): string {
  const addr = BigInt(vpn) << BigInt(PAGE_SHIFT);
  for (const [name, m] of maps)
    if (addr >= m.start && addr < m.start + m.length) return `${task.name}:${name}`;
  return `${task.name}:0x${addr.toString(16)}`;
}

function execute(k: Kernel, task: Task, step: Step, maps: Map<string, Mapping>): SysResult {
  switch (step.op) {
    case "mmap": {
      const r = sysMmap(
        k,
        task,
        step.addr ? resolveAddr(step.addr, maps) : null,
        step.length,
        step.prot,
        step.flags,
      );
      if (r.errno === null) {
        // a MAP_HUGETLB mapping is as long as its huge pages
        const unit = BigInt(step.flags & MAP_HUGETLB ? HPAGE_SIZE : PAGE_SIZE);
        const len = (step.length + unit - 1n) & ~(unit - 1n);
        maps.set(step.name, { start: BigInt(r.ret), length: len });
      } else {
        maps.delete(step.name);
      }
      return r;
    }
    case "munmap": {
      const a = resolveAddr(step.addr, maps);
      return sysMunmap(k, task, a, resolveLength(step.addr, step.length, maps));
    }
    case "touch": {
      const a = resolveAddr(step.addr, maps);
      return sysTouch(k, task, a, resolveLength(step.addr, step.length, maps), step.access, (v) =>
        labelFor(task, maps, v.start),
      );
    }
    case "mbind":
      return sysMbind(
        k,
        task,
        resolveAddr(step.addr, maps),
        resolveLength(step.addr, step.length, maps),
        step.mode,
        userNodes(step.nodes),
        step.maxnode,
        step.flags,
      );
    case "set_mempolicy":
      return sysSetMempolicy(k, task, step.mode, userNodes(step.nodes), step.maxnode);
    case "get_mempolicy":
      return sysGetMempolicy(k, task, step.nmaskNull, step.maxnode, resolveAddr(step.addr, maps), step.flags);
    case "set_mempolicy_home_node":
      return sysSetMempolicyHomeNode(
        k,
        task,
        resolveAddr(step.addr, maps),
        resolveLength(step.addr, step.length, maps),
        step.homeNode,
        step.flags,
      );
    case "placement": {
      const a = resolveAddr(step.addr, maps);
      const len = resolveLength(step.addr, step.length, maps);
      const s = Number(a >> BigInt(PAGE_SHIFT));
      const e = Number((a + len + BigInt(PAGE_SIZE - 1)) >> BigInt(PAGE_SHIFT));
      return { ret: 0, errno: null, out: { pages: pagesOut(residentPages(k, task.mm, s, e)) } };
    }
    case "numastat": {
      const out: Record<string, unknown> = {};
      for (const id of k.online.ids()) {
        const s = k.numastat.get(id)!;
        out[String(id)] = Object.fromEntries(NUMASTAT_FIELDS.map((f) => [f, s[f]]));
      }
      return { ret: 0, errno: null, out };
    }
    case "kalloc":
      return sysKalloc(k, task, step.gfp, step.node, step.order, step.count);
    case "sched_setaffinity":
      return sysSchedSetaffinity(k, task, step.cpu);
    case "sysfs_write":
      if (step.path === "/proc/sys/vm/drop_caches")
        return task.privileged ? dropCaches(k, step.value) : { ret: -1, errno: "EACCES" };
      if (isHugetlbPath(step.path)) return hugetlbWrite(k, task, step.path, step.value);
      if (step.path === AUTO_ONLINE_PATH) return autoOnlineWrite(k, task, step.value);
      return sysSysfsWrite(k, task, step.path, step.value);
    case "cat": {
      let text: string | undefined;
      if (step.path === "/proc/self/numa_maps") text = numaMaps(k, task);
      else if (step.path === "/proc/sys/vm/min_free_kbytes") text = `${k.minFreeKbytes}\n`;
      else text = autoOnlineRead(k, step.path) ?? readSysNode(k, step.path);
      return text === undefined ? { ret: -1, errno: "ENOENT" } : { ret: 0, errno: null, out: { text } };
    }
    case "fallback_order":
      return { ret: 0, errno: null, out: { lines: k.fallbackOrderLines() } };
    case "gpu_driver_load": {
      const { status } = gpuDriverLoad(k, step.node);
      return { ret: NV_NUMA_STATUS[status], errno: null, out: { numa_status: status } };
    }
    case "memory_tiers":
      return { ret: 0, errno: null, out: memoryTiersOut(k.memoryTiers()) };
    case "fork":
      return sysFork(k, task, step.child);
    case "exit":
      return sysExit(k, task);
    case "madvise":
      return madvise(
        k,
        task,
        resolveAddr(step.addr, maps),
        resolveLength(step.addr, step.length, maps),
        step.advice,
      );
    case "write_file":
      return sysWriteFile(k, task, step.file, step.offset, step.length);
    case "read_file":
      return sysReadFile(k, task, step.file, step.offset, step.length);
    case "sync":
      return sysSync(k);
    case "file_placement":
      return sysFilePlacement(k, step.file);
    case "meminfo":
      return sysMeminfo(k);
    case "device_migrate":
      return deviceMigrate(
        k,
        task,
        resolveAddr(step.addr, maps),
        resolveLength(step.addr, step.length, maps),
        step.node,
      );
    case "memory_offline":
      return memoryOffline(k, k.admin, step.node);
    case "memory_online":
      return memoryOnline(k, step.node, step.zone);
    case "cgroup_create":
      return cgroupCreate(k, step.cgroup);
    case "cgroup_write":
      return cgroupWrite(k, step.cgroup, step.file, step.value);
    case "cgroup_attach":
      return cgroupAttach(k, task, step.cgroup);
    case "migrate_pages":
      return migratePages(
        k,
        task,
        pidTask(k, task, step.pid),
        step.maxnode,
        userNodes(step.from),
        userNodes(step.to),
      );
    case "move_pages": {
      const target = pidTask(k, task, step.pid);
      const pages: { vpn: number; node: number | null }[] = [];
      for (const r of step.runs) {
        const vpn = Number(BigInt.asUintN(64, resolveAddr(r.addr, maps)) >> BigInt(PAGE_SHIFT));
        for (let j = 0; j < r.count; j++) pages.push({ vpn: vpn + j, node: r.node });
      }
      const r = movePages(k, task, target, pages, step.query, step.flags);
      return { ret: r.ret, errno: r.errno, out: { status: r.status } };
    }
  }
}
