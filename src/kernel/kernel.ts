/**
 * The state of the modelled machine: nodes and their states, zones, zonelists, cpusets,
 * tasks, counters and the events the run produced. Operations live in their own modules
 * (syscalls, fault, oom); this file owns construction and shared lookups.
 */
import { MAX_NUMNODES, NUMA_NO_NODE, ZONE_MOVABLE, ZONE_NORMAL } from "./constants.js";
import { Cpuset, guaranteeOnlineMems, nearestHardwallAncestor, updateEffective } from "./cpuset.js";
import type { Design, DesignContext } from "./design.js";
import { ExtentMap, type PageTable } from "./extents.js";
import { HugePool } from "./hugetlb.js";
import { MEMTIER_ADISTANCE_DRAM, type MemoryTiers, memoryTiers } from "./memory-tiers.js";
import type { MemPolicy, PolicyTask } from "./mempolicy.js";
import { Mm, ShmemObject } from "./mm.js";
import { Nodemask } from "./nodemask.js";
import type { PassTrace } from "./page-alloc.js";
import { type AllocEnv, type AllocTask, firstZonesZonelist, type KswapdWake } from "./page-alloc.js";
import { kswapdHasWork, nodeDirtyRoom, PageCache, reclaimNode, SWAP_CLUSTER_MAX } from "./pagecache.js";
import { allocateRun } from "./policy-alloc.js";
import type { MachineSpec } from "./topology.js";
import { Topology } from "./topology.js";
import { KernelVersion } from "./version.js";
import { layoutZones, type Zone } from "./zone.js";
import { buildAllZonelists, fallbackOrderLine, type ZonelistInput, type Zonelists } from "./zonelist.js";

export interface NumaStat {
  numa_hit: number;
  numa_miss: number;
  numa_foreign: number;
  interleave_hit: number;
  local_node: number;
  other_node: number;
}

export const NUMASTAT_FIELDS = [
  "numa_hit",
  "numa_miss",
  "numa_foreign",
  "interleave_hit",
  "local_node",
  "other_node",
] as const;

/** How a run of pages is allocated (policy-alloc's allocateRun; tests substitute a page-by-page one). */
export type AllocateRun = typeof allocateRun;

export interface KernelOptions {
  version?: string;
  minFreeKbytes?: number;
  /** transparent_hugepage= at boot */
  thp?: "never" | "madvise" | "always";
  /** pages of the initrd reserved during boot (zone.ts INITRD_PAGES) */
  initrdPages?: number;
  /** weighted-interleave weights (node → 1..255) */
  weights?: ReadonlyMap<number, number>;
  design: Design;
  /** collect allocation decisions as events (for --explain) */
  explain?: boolean;
  /** page tables: ExtentMap unless a test substitutes another representation */
  pageTable?: () => PageTable;
  /** the run allocator: allocateRun unless a test substitutes another */
  allocator?: AllocateRun;
}

/** An allocation decision, as `--explain` shows it. */
export interface AllocEvent {
  kind: "alloc";
  step: number;
  task: string;
  /** what the pages are for: "app:buf", "kalloc", ... */
  target: string;
  /** what `first` counts: a virtual page number, a page index in a shared object, or nothing */
  space: "vpn" | "object" | "none";
  /** first page (vpn or object index) and how many pages took this decision */
  first: number;
  pages: number;
  gfp: string;
  policy: string;
  /** where the policy came from: vma, shared, task, default */
  policySource: string;
  preferredNid: number;
  nodemask: string | null;
  cpuset: string | null;
  passes: PassTrace[];
  /** the zone taken, or null */
  zone: string | null;
  node: number | null;
  design?: string;
}

export interface OomEvent {
  kind: "oom";
  step: number;
  /** the task whose allocation invoked the OOM killer */
  task: string;
  victim: string | null;
  constraint: "NONE" | "CPUSET" | "MEMORY_POLICY";
  nodemask: string | null;
  /** resident pages of the victim when it was killed (get_mm_rss) */
  victimRss: number;
  /** its page-table pages (mm_pgtables_bytes / PAGE_SIZE), which oom_badness() adds */
  victimPgtables: number;
}

export interface FailEvent {
  kind: "alloc_failure";
  step: number;
  task: string;
  reason: string;
}

/** Reclaim of page cache on a node (kswapd's or the allocating task's direct reclaim). */
export interface ReclaimEvent {
  kind: "reclaim";
  step: number;
  /** the task whose allocation asked for it */
  task: string;
  by: "kswapd" | "direct";
  node: number;
  /** clean page-cache pages freed */
  pages: number;
}

/** An administrator's action of a design (cpuset-admin): a write to the cgroup file system. */
export interface AdminEvent {
  kind: "admin";
  /** the step after which it ran; -1 before the first step */
  step: number;
  /** what was done, as a shell command under /sys/fs/cgroup */
  action: string;
  ret: number;
  errno: string | null;
  /** for an update after a hot-add: the nodes it added and the step that onlined them */
  hotAdd?: { nodes: number[]; onlineStep: number };
}

/** The values of auto_online_blocks (mhp_online_type_from_str). */
export const AUTO_ONLINE_TYPES = ["offline", "online", "online_kernel", "online_movable"] as const;
export type AutoOnline = (typeof AUTO_ONLINE_TYPES)[number];

export type KernelEvent = AllocEvent | OomEvent | FailEvent | ReclaimEvent | AdminEvent;

export class Task implements PolicyTask {
  readonly name: string;
  readonly pid: number;
  cpu: number;
  cpuset: Cpuset;
  readonly privileged: boolean;
  mempolicy: MemPolicy | null = null;
  ilPrev = MAX_NUMNODES - 1;
  ilWeight = 0;
  /** cpuset_mem_spread_rotor (NUMA_NO_NODE until the first spread allocation) */
  spreadRotor = NUMA_NO_NODE;
  memsAllowed: Nodemask = Nodemask.NONE;
  readonly mm: Mm;
  state: "running" | "killed" | "exited" = "running";
  private readonly kernel: Kernel;

  constructor(kernel: Kernel, name: string, pid: number, cpu: number, cpuset: Cpuset, privileged: boolean) {
    this.kernel = kernel;
    this.mm = new Mm(() => kernel.newPageTable());
    this.name = name;
    this.pid = pid;
    this.cpu = cpu;
    this.cpuset = cpuset;
    this.privileged = privileged;
  }

  /** numa_node_id() */
  get numaNodeId(): number {
    return this.kernel.topo.cpuToNode(this.cpu) ?? 0;
  }

  get alive(): boolean {
    return this.state === "running";
  }
}

export class Kernel {
  readonly topo: Topology;
  readonly version: KernelVersion;
  readonly design: Design;
  readonly designCtx: DesignContext;
  readonly explain: boolean;
  /** zones[node][type] */
  readonly zones: Map<number, Zone[]>;
  /** every zone by id (the value stored in page tables) */
  readonly zoneById: Zone[] = [];
  minFreeKbytes: number;
  /** user_min_free_kbytes: what the administrator wrote to vm.min_free_kbytes (-1: nothing) */
  readonly userMinFreeKbytes: number;
  /** transparent huge pages enabled (khugepaged keeps min_free_kbytes up) */
  readonly thpEnabled: boolean;
  /** /sys/kernel/mm/transparent_hugepage/enabled: transparent_hugepage= at boot, or never under 512 MiB */
  readonly thpMode: "never" | "madvise" | "always";
  /** zone of the huge zero page once a read fault allocated it (huge_zero_page), never freed */
  hugeZeroZone: number | undefined;
  readonly reservedPages: Map<number, number>;
  /** memory_block_size_bytes() in pages */
  readonly blockPages: number;
  /** node_states[] */
  online!: Nodemask;
  nMemory!: Nodemask;
  /** N_NORMAL_MEMORY (== N_HIGH_MEMORY on x86_64) */
  nNormalMemory!: Nodemask;
  nCpu!: Nodemask;
  zonelists!: Map<number, Zonelists>;
  policyZone!: 0 | 1 | 2 | 3;
  /**
   * /sys/devices/system/memory/auto_online_blocks (memhp_default_state): how memory a
   * driver adds is onlined. cdmsim's machines, like the oracle's guest, boot with
   * online_movable.
   */
  autoOnlineBlocks: AutoOnline = "online_movable";
  /** node_load[] as the last build_all_zonelists() left it */
  nodeLoad: ReadonlyMap<number, number> = new Map();
  readonly root: Cpuset;
  readonly cgroups = new Map<string, Cpuset>();
  /** cpusets_insane_config_key */
  cpusetsInsaneConfig = false;
  readonly tasks = new Map<string, Task>();
  readonly numastat = new Map<number, NumaStat>();
  /** the page cache of the disk file system */
  readonly pageCache = new PageCache();
  /** the pool of 2 MiB huge pages (default_hstate) */
  readonly hugetlb: HugePool;
  /** pgsteal per node: page-cache pages reclaimed since boot */
  readonly pgsteal = new Map<number, number>();
  /** iw_table (weighted interleave weights) */
  readonly weights: Map<number, number>;
  readonly events: KernelEvent[] = [];
  /** the decisions of the current stretch of events that later identical ones merge into */
  private readonly openDecisions = new Map<string, AllocEvent>();
  private openStep = -1;
  private readonly openReclaims = new Map<string, ReclaimEvent>();
  private openReclaimStep = -1;
  /** the step being executed, for events */
  step = -1;
  /** changes whenever zonelists, cpusets or weights change (cached plans are then rebuilt) */
  generation = 0;
  /** allocate a run of pages under a plan (see policy-alloc.ts) */
  readonly allocate: AllocateRun;
  private readonly pageTableFactory: () => PageTable;
  private nextPid = 100;
  private nextIno = 1;
  private nextAnonVma = 1;
  private nextCowGroup = 1;
  private allocEnvCache: AllocEnv | undefined;
  private readonly allocTaskCache = new Map<
    Task,
    { memsAllowed: Nodemask; numaNodeId: number; cpuset: Cpuset; at: AllocTask }
  >();

  constructor(machine: MachineSpec, opts: KernelOptions) {
    this.topo = new Topology(machine);
    this.version = new KernelVersion(opts.version ?? "6.1");
    this.design = opts.design;
    this.explain = opts.explain ?? false;
    this.allocate = opts.allocator ?? allocateRun;
    this.pageTableFactory = opts.pageTable ?? (() => new ExtentMap());
    this.designCtx = { cdmNodes: new Set(machine.nodes.filter((n) => n.cdm).map((n) => n.id)) };
    const layout = layoutZones(this.topo, {
      minFreeKbytes: opts.minFreeKbytes,
      thp: opts.thp,
      initrdPages: opts.initrdPages,
    });
    this.zones = layout.zones;
    this.minFreeKbytes = layout.minFreeKbytes;
    this.reservedPages = layout.reservedPages;
    this.blockPages = layout.blockPages;
    this.userMinFreeKbytes = opts.minFreeKbytes ?? -1;
    // hugepage_init() may have turned THP off (a machine under 512 MiB)
    this.thpEnabled = layout.thp;
    this.thpMode = layout.thp ? (opts.thp ?? "never") : "never";
    for (const id of this.topo.nodeIds) {
      for (const z of this.zones.get(id)!) {
        z.id = this.zoneById.length;
        this.zoneById.push(z);
      }
      this.numastat.set(id, {
        numa_hit: 0,
        numa_miss: 0,
        numa_foreign: 0,
        interleave_hit: 0,
        local_node: 0,
        other_node: 0,
      });
    }
    this.weights = new Map(opts.weights ?? []);
    this.computeNodeStates();
    this.hugetlb = new HugePool(this.nMemory.first());
    this.buildZonelists();
    this.root = new Cpuset("/", null);
    this.root.cpus = this.topo.allCpus();
    // cpuset_bind() on cgroup v2: top_cpuset.mems_allowed = node_possible_map, what a
    // child's cpuset.mems may name (update_nodemask); its effective mems are N_MEMORY
    const hook = this.design.hooks.cpusetMems;
    this.root.mems = hook ? hook(this.topo.possible, this.designCtx) : this.topo.possible;
    this.root.effectiveCpus = this.root.cpus;
    this.root.effectiveMems = this.cpusetMemory;
    this.cgroups.set("/", this.root);
  }

  /** Node states from the zones (node_states_set_node, check_for_memory). */
  computeNodeStates(): void {
    const memory: number[] = [];
    const normal: number[] = [];
    const cpu: number[] = [];
    const online: number[] = [];
    for (const id of this.topo.nodeIds) {
      const zs = this.zones.get(id)!;
      const hasMem = zs.some((z) => z.populated);
      const hasNormal = zs.some((z) => z.populated && z.type <= ZONE_NORMAL);
      const hasCpu = this.topo.hasCpus(id);
      if (hasMem) memory.push(id);
      if (hasNormal) normal.push(id);
      if (hasCpu) cpu.push(id);
      // x86 onlines memoryless nodes that have CPUs (init_memory_less_node); a node whose
      // memory went offline stays online (only removing it would offline it), and so does
      // one whose memory was added but not onlined (add_memory_resource: __try_online_node)
      const added = this.topo.node(id).movable && this.topo.node(id).memoryBytes > 0;
      if (hasMem || hasCpu || added || this.online?.has(id)) online.push(id);
    }
    this.nMemory = Nodemask.from(memory);
    this.nNormalMemory = Nodemask.from(normal);
    this.nCpu = Nodemask.from(cpu);
    this.online = Nodemask.from(online);
  }

  /** What the zonelist functions read: the possible nodes, N_MEMORY, distances, CPUs, zones. */
  private zonelistInput(): ZonelistInput {
    return {
      possible: this.topo.nodeIds,
      memory: this.nMemory,
      distance: (a, b) => this.topo.distance(a, b),
      hasCpus: (n) => this.topo.hasCpus(n),
      zonesOf: (n) => this.zones.get(n) ?? [],
    };
  }

  /** build_all_zonelists() */
  buildZonelists(): void {
    const hook = this.design.hooks.zonelistSkip;
    const built = buildAllZonelists(
      this.zonelistInput(),
      hook ? (local, node) => hook(local, node, this.designCtx) : undefined,
    );
    this.zonelists = built.lists;
    this.policyZone = built.policyZone;
    this.nodeLoad = built.nodeLoad;
    this.allocEnvCache = undefined;
  }

  /**
   * The memory tiers and demotion targets (mm/memory-tiers.c), as the last hotplug event
   * left them: a function of N_MEMORY, the nodes' memory types and node_load[].
   */
  memoryTiers(): MemoryTiers {
    return memoryTiers(
      this.zonelistInput(),
      (n) => this.topo.node(n).adistance ?? MEMTIER_ADISTANCE_DRAM,
      this.nodeLoad,
    );
  }

  /** The kernel's last "Fallback order for Node N:" lines. */
  fallbackOrderLines(): string[] {
    return this.topo.nodeIds.map((id) => fallbackOrderLine(id, this.zonelists.get(id)!.order));
  }

  zone(node: number, type: number): Zone {
    return this.zones.get(node)![type]!;
  }

  /** The memory nodes cpusets hand out (N_MEMORY unless the design says otherwise). */
  get cpusetMemory(): Nodemask {
    const hook = this.design.hooks.cpusetMems;
    return hook ? hook(this.nMemory, this.designCtx) : this.nMemory;
  }

  /** The nodes HugeTLB pools use by default (N_MEMORY unless the design says otherwise). */
  get hugetlbMemory(): Nodemask {
    const hook = this.design.hooks.hugetlbMems;
    return hook ? hook(this.nMemory, this.designCtx) : this.nMemory;
  }

  /** Whether /sys/devices/system/node/nodeN/hugepages exists (hugetlb_register_all_nodes). */
  hasHugetlbNodeDir(id: number): boolean {
    return this.online.has(id) && !(this.nMemory.has(id) && !this.hugetlbMemory.has(id));
  }

  /** Nodes a policy may name whatever the cpuset (the design's; none in mainline). */
  get policyExtraNodes(): Nodemask {
    return this.design.hooks.policyExtraNodes?.(this.designCtx) ?? Nodemask.NONE;
  }

  /** cpusets_enabled(): any cpuset besides the root */
  get cpusetsEnabled(): boolean {
    return this.cgroups.size > 1;
  }

  /**
   * Record an event. A decision identical to one already recorded in the same step (same
   * target, request, zone walk and outcome; only the free counts differ) adds its pages to
   * that one, so a run of a million pages that alternates page tables and data pages
   * explains itself in a few lines. Any other event closes the stretch.
   */
  pushEvent(e: KernelEvent): void {
    if (e.kind === "reclaim") {
      // the reclaim of a step on a node, by kswapd or by a task, is one event
      const key = `${e.step}|${e.task}|${e.by}|${e.node}`;
      if (this.openReclaimStep !== e.step) {
        this.openReclaims.clear();
        this.openReclaimStep = e.step;
      }
      const open = this.openReclaims.get(key);
      if (open) open.pages += e.pages;
      else {
        this.openReclaims.set(key, e);
        this.events.push(e);
      }
      return;
    }
    if (e.kind !== "alloc" || e.pages === 0) {
      this.openDecisions.clear();
      this.events.push(e);
      return;
    }
    if (e.step !== this.openStep) {
      this.openDecisions.clear();
      this.openStep = e.step;
    }
    const key = decisionKey(e);
    const open = this.openDecisions.get(key);
    if (open) {
      open.pages += e.pages;
      return;
    }
    this.openDecisions.set(key, e);
    this.events.push(e);
  }

  /** The allocator's view of the machine. */
  allocEnv(): AllocEnv {
    if (!this.allocEnvCache) {
      const filter = this.design.hooks.zoneFilter;
      this.allocEnvCache = {
        zonelists: this.zonelists,
        cpusetsEnabled: this.cpusetsEnabled,
        cpusetsInsaneConfig: this.cpusetsInsaneConfig,
        reclaimable: (z) => this.pageCache.reclaimable(z.id),
        kswapdWork: (node, highest) => kswapdHasWork(this, node, highest),
        dirtyRoom: (node) => nodeDirtyRoom(this, node),
        thisnodeIgnoresCpuset: this.design.hooks.thisnodeIgnoresCpuset === true,
        zoneFilter: filter ? (z, ac, f, gfp) => filter(z, ac, f, gfp, this.designCtx) : undefined,
      };
    }
    return this.allocEnvCache;
  }

  invalidateAllocEnv(): void {
    this.allocEnvCache = undefined;
    this.allocTaskCache.clear();
    this.generation++;
  }

  /** The allocator's view of a task (kept until the task's CPU or cpuset changes). */
  allocTask(t: Task): AllocTask {
    const c = this.allocTaskCache.get(t);
    if (c && c.memsAllowed === t.memsAllowed && c.numaNodeId === t.numaNodeId && c.cpuset === t.cpuset)
      return c.at;
    const hw = nearestHardwallAncestor(t.cpuset);
    const at: AllocTask = {
      memsAllowed: t.memsAllowed,
      hardwallMems: hw.isRoot ? this.cpusetMemory : hw.mems,
      oomVictim: false,
      numaNodeId: t.numaNodeId,
    };
    this.allocTaskCache.set(t, {
      memsAllowed: t.memsAllowed,
      numaNodeId: t.numaNodeId,
      cpuset: t.cpuset,
      at,
    });
    return at;
  }

  /** numa_mem_id(): the nearest node with memory for a CPU's node (local_memory_node) */
  numaMemId(node: number): number {
    const zl = this.zonelists.get(node);
    const z = zl ? firstZonesZonelist(zl.fallback, ZONE_NORMAL, null) : undefined;
    return z ? z.node : node;
  }

  // --- cgroups ---------------------------------------------------------------------------

  /** Create a cgroup with the cpuset controller (load time: the scenario's `cgroups`). */
  createCgroup(path: string): Cpuset {
    const existing = this.cgroups.get(path);
    if (existing) return existing;
    const parentPath = path.slice(0, path.lastIndexOf("/")) || "/";
    const parent = this.cgroups.get(parentPath) ?? this.createCgroup(parentPath);
    const cs = new Cpuset(path, parent);
    this.cgroups.set(path, cs);
    updateEffective(cs);
    this.invalidateAllocEnv();
    return cs;
  }

  /** Refresh effective masks below `cs` and the mems_allowed of tasks. */
  refreshCpusets(cs: Cpuset = this.root): void {
    updateEffective(cs);
    for (const t of this.tasks.values()) t.memsAllowed = guaranteeOnlineMems(t.cpuset, this.cpusetMemory);
    for (const c of this.cgroups.values()) {
      if (!c.isRoot && !c.mems.isEmpty() && this.movableOnly(c.mems)) this.cpusetsInsaneConfig = true;
    }
    this.invalidateAllocEnv();
  }

  /** movable_only_nodes(): no zone up to ZONE_NORMAL on the given nodes */
  movableOnly(nodes: Nodemask): boolean {
    if (nodes.isEmpty()) return false;
    const zl = this.zonelists.get(nodes.first());
    return !zl || !firstZonesZonelist(zl.fallback, ZONE_NORMAL, nodes);
  }

  // --- tasks -----------------------------------------------------------------------------

  private adminTask: Task | undefined;

  /**
   * The administrator that writes sysfs files (memory hotplug): root, in the root cpuset,
   * on the lowest CPU, with the default policy; not one of the scenario's tasks.
   */
  get admin(): Task {
    this.adminTask ??= new Task(this, "(admin)", 1, Math.min(...this.topo.allCpus()), this.root, true);
    this.adminTask.memsAllowed = guaranteeOnlineMems(this.root, this.cpusetMemory);
    return this.adminTask;
  }

  /** A task in a cgroup: attached to it (at boot), or forked inside it. */
  createTask(name: string, cgroup: Cpuset, cpu: number, privileged: boolean, forked = false): Task {
    const t = new Task(this, name, this.nextPid++, cpu, cgroup, privileged);
    t.memsAllowed = guaranteeOnlineMems(cgroup, this.cpusetMemory);
    // cpuset_attach() sets old_mems_allowed; the root's is N_MEMORY (cpuset_init_smp)
    if (!forked) cgroup.oldMemsAllowed = cgroup.isRoot ? this.nMemory : cgroup.effectiveMems;
    this.tasks.set(name, t);
    return t;
  }

  newShmemObject(pages: number): ShmemObject {
    return new ShmemObject(this.nextIno++, pages, this.newPageTable());
  }

  newAnonVmaId(): number {
    return this.nextAnonVma++;
  }

  newCowGroupId(): number {
    return this.nextCowGroup++;
  }

  newPageTable(): PageTable {
    return this.pageTableFactory();
  }

  /** Count an allocation of `n` calls in zone z (zone_statistics) and interleave hits. */
  countAllocation(z: Zone, preferred: Zone, numaNodeId: number, n: number, interleaveTarget: number): void {
    const s = this.numastat.get(z.node)!;
    if (z.node === preferred.node) s.numa_hit += n;
    else {
      s.numa_miss += n;
      this.numastat.get(preferred.node)!.numa_foreign += n;
    }
    if (z.node === numaNodeId) s.local_node += n;
    else s.other_node += n;
    if (interleaveTarget !== NUMA_NO_NODE && z.node === interleaveTarget) s.interleave_hit += n;
  }

  /** kswapd of the woken nodes balances them (balance_pgdat), before the next allocation. */
  runKswapd(wake: KswapdWake, task: string): void {
    for (const node of wake.nodes) reclaimNode(this, node, wake.highest, "kswapd", task);
  }

  /**
   * Direct reclaim (try_to_free_pages): at least SWAP_CLUSTER_MAX pages from the eligible
   * nodes in zonelist order, each brought to balance as kswapd would. Returns pages freed.
   */
  directReclaim(wake: KswapdWake, task: string): number {
    let freed = 0;
    for (const node of wake.nodes)
      freed += reclaimNode(this, node, wake.highest, "direct", task, Math.max(0, SWAP_CLUSTER_MAX - freed));
    return freed;
  }

  /** Count pages reclaimed on a node (pgsteal) and, for --explain, say who reclaimed them. */
  noteReclaim(node: number, pages: number, by: ReclaimEvent["by"], task: string): void {
    this.pgsteal.set(node, (this.pgsteal.get(node) ?? 0) + pages);
    this.pushEvent({ kind: "reclaim", step: this.step, task, by, node, pages });
  }

  /** Give `pages` pages back to one zone. */
  freeZonePages(zid: number, pages: number): void {
    this.freePages(new Map([[zid, pages]]));
  }

  /** Give pages back to their zones. `zonePages` maps zone id → pages. */
  freePages(zonePages: Map<number, number>): void {
    for (const [zid, n] of zonePages) {
      if (zid < 0) continue;
      this.zoneById[zid]!.free += n;
    }
  }

  /** MemTotal / MemFree of a node in pages (node_read_meminfo). */
  nodeMeminfo(node: number): { total: number; free: number } {
    let total = 0;
    let free = 0;
    for (const z of this.zones.get(node) ?? []) {
      total += Math.max(0, z.managed);
      free += Math.max(0, z.free);
    }
    return { total, free };
  }

  hasMovableOnly(node: number): boolean {
    const zs = this.zones.get(node) ?? [];
    return zs[ZONE_MOVABLE]!.populated && !zs.some((z) => z.type < ZONE_MOVABLE && z.populated);
  }
}

/** What makes two decisions the same for `--explain`. */
function decisionKey(e: AllocEvent): string {
  const walk = e.passes.map(
    (p) => `${p.pass}/${p.watermark}/${p.zones.map((z) => `${z.zone}:${z.verdict}`).join(",")}`,
  );
  return [
    e.step,
    e.task,
    e.target,
    e.space,
    e.gfp,
    e.policySource,
    e.policy,
    e.preferredNid,
    e.nodemask,
    e.cpuset,
    e.zone,
    ...walk,
  ].join("|");
}
