/**
 * Page faults over a range (mm/memory.c: handle_mm_fault, __handle_mm_fault,
 * do_anonymous_page, do_wp_page, __do_fault; mm/shmem.c: shmem_fault), as the `touch`
 * operation performs them: a write allocates, a read of untouched private anonymous memory
 * maps the shared zero page, a read of shared anonymous memory allocates.
 *
 * The first fault under a missing page table allocates it first (pud_alloc, pmd_alloc,
 * pte_alloc: GFP_PGTABLE_USER under the task's policy, so with an interleave task policy
 * every table advances il_prev), then the data page. Faults are processed in address
 * order, a run at a time: a stretch of whole 2 MiB regions that each need one PTE table is
 * a single cycle of requests (the table, then its 512 pages).
 */
import {
  MPOL_INTERLEAVE,
  MPOL_PREFERRED,
  MPOL_PREFERRED_MANY,
  NUMA_NO_NODE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "./constants.js";
import { type CowGroup, unmapPages } from "./cow.js";
import {
  type Extent,
  extentNodeCounts,
  makeExtent,
  type PageTable,
  PG_ANON,
  PG_DIRTY,
  PG_HUGE_ZERO,
  PG_THP_PMD,
  PTE_WRITE,
  ZERO_PAGE,
} from "./extents.js";
import {
  __GFP_ACCOUNT,
  __GFP_DIRECT_RECLAIM,
  __GFP_MOVABLE,
  __GFP_NORETRY,
  __GFP_THISNODE,
  __GFP_ZERO,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_TRANSHUGE,
  GFP_TRANSHUGE_LIGHT,
} from "./gfp.js";
import { hugetlbFault } from "./hugetlb.js";
import type { Kernel, Task } from "./kernel.js";
import { getTaskPolicy, type MemPolicy, policyNodemask } from "./mempolicy.js";
import type { Vma } from "./mm.js";
import { LEVELS, type Level, type PageTables, PTE_LEVEL } from "./pagetable.js";
import {
  type AllocPlan,
  advanceDynamicInterleave,
  type RunStop,
  type Segment,
  type SlotRequest,
  taskAllocPlan,
  vmaAllocPlan,
} from "./policy-alloc.js";

/** GFP_PGTABLE_USER (arch/x86/include/asm/pgalloc.h, include/asm-generic/pgalloc.h) */
export const GFP_PGTABLE_USER = GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT;

const PTE_PAGES = 2 ** LEVELS[PTE_LEVEL].shift;

export type Access = "read" | "write";

export interface TouchResult {
  /** pages that took a fault */
  faults: number;
  /** EFAULT: an address outside any mapping, or without the needed protection */
  efault?: boolean;
  /** a hugetlb fault found no huge page (SIGBUS) */
  sigbus?: boolean;
  stop?: RunStop;
}

/** A piece of [start, end): either an extent or a hole. */
interface Piece {
  start: number;
  end: number;
  ext?: Extent;
}

/** Split [start, end) into the map's extents and the holes between them. */
export function pieces(map: PageTable, start: number, end: number): Piece[] {
  const out: Piece[] = [];
  let cur = start;
  for (const e of map.range(start, end)) {
    if (e.start > cur) out.push({ start: cur, end: e.start });
    out.push({ start: e.start, end: e.start + e.count, ext: e });
    cur = e.start + e.count;
  }
  if (cur < end) out.push({ start: cur, end });
  return out;
}

/** get_vma_policy(): the shared policy at the index, the VMA's, or the task's. */
export function vmaPolicy(task: Task, vma: Vma, vpn: number): { pol: MemPolicy; source: string } {
  if (vma.object) {
    const sp = vma.object.policyAt(vma.indexOf(vpn));
    if (sp) return { pol: sp, source: "shared" };
  } else if (vma.policy) {
    return { pol: vma.policy, source: "vma" };
  }
  return { pol: getTaskPolicy(task), source: task.mempolicy ? "task" : "default" };
}

function accessAllowed(vma: Vma, access: Access): boolean {
  if (access === "write") return (vma.prot & PROT_WRITE) !== 0;
  return (vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0;
}

/**
 * Pages of one VMA that fault, in address order. `alloc` items get a new page under
 * `plan(vpn)` (the plan for a run starting at vpn) handed to `onData`; `map` items are
 * mapped to what exists (the zero page, a page of a shared object) by `onMap`.
 */
type FaultItem =
  | {
      kind: "alloc";
      start: number;
      end: number;
      plan: (vpn: number) => AllocPlan;
      /** the index events name for the page at vpn (vpn, or the object index) */
      index: (vpn: number) => number;
      space: "vpn" | "object";
      onData: (vpn: number, count: number, zones: readonly number[]) => void;
    }
  | {
      kind: "map";
      start: number;
      end: number;
      /** map [start, end); returns the faults taken (one per page unless it says otherwise) */
      onMap: (start: number, end: number) => number | undefined;
    };

/** The task-policy plan for page-table pages (alloc_pages(GFP_PGTABLE_USER, 0)). */
function tablePlan(k: Kernel, task: Task): AllocPlan {
  const pol = getTaskPolicy(task);
  return taskAllocPlan(k, task, pol, task.mempolicy ? "task" : "default", GFP_PGTABLE_USER, 0);
}

/**
 * Allocate `count` tables of a level, for table indices from `first` on, into `tables`
 * (the task's own, or a child's at fork), with the task's policy.
 */
export function allocTables(
  k: Kernel,
  task: Task,
  tables: PageTables,
  level: Level,
  first: number,
  count: number,
): { done: number; stop?: RunStop } {
  const label = `page table (${LEVELS[level].name})`;
  return k.allocate(k, task, tablePlan(k, task), count, label, first, "none", (i, seg) =>
    tables.add(level, i, seg.count, seg.zones),
  );
}

/** Allocate one missing table; false when the task was killed or the allocation failed. */
function allocTable(k: Kernel, task: Task, level: Level, vpn: number, stop: { s?: RunStop }): boolean {
  const r = allocTables(k, task, task.mm.tables, level, Math.floor(vpn / 2 ** LEVELS[level].shift), 1);
  if (r.stop) stop.s = r.stop;
  return r.done === 1;
}

function gcd(a: number, b: number): number {
  return b ? gcd(b, a % b) : a;
}

/**
 * A stretch of `chunks` whole 2 MiB regions from vpn `start`, each needing a PTE table:
 * one cycle of requests, the table then its 512 pages, per region.
 */
function allocStretch(
  k: Kernel,
  task: Task,
  item: Extract<FaultItem, { kind: "alloc" }>,
  start: number,
  chunks: number,
  label: string,
): { done: number; stop?: RunStop } {
  const pt = tablePlan(k, task);
  const data = item.plan(start);
  const nt = pt.slots.length;
  const nd = data.slots.length;
  const period = (a: number, b: number) => (a * b) / gcd(a, b);
  const C = period(nt, nd / gcd(nd, PTE_PAGES));
  const per = PTE_PAGES + 1;
  const slots: SlotRequest[] = [];
  for (let c = 0; c < C; c++) {
    slots.push({
      ...pt.slots[(pt.phase + c) % nt]!,
      policy: pt.policy,
      policySource: pt.policySource,
      label: "page table (PTE)",
    });
    for (let j = 0; j < PTE_PAGES; j++) slots.push(data.slots[(data.phase + c * PTE_PAGES + j) % nd]!);
  }
  const firstTable = Math.floor(start / PTE_PAGES);
  const isTable = (i: number) => i % per === 0;
  const vpnOf = (i: number) => start + Math.floor(i / per) * PTE_PAGES + (i % per) - 1;
  const plan: AllocPlan = {
    policy: data.policy,
    policySource: data.policySource,
    slots,
    phase: 0,
    locate: (i) =>
      isTable(i)
        ? { space: "none", first: firstTable + i / per }
        : { space: item.space, first: item.index(vpnOf(i)) },
  };
  const onSegment = (i0: number, seg: Segment) => {
    if (seg.count === 1) {
      if (isTable(i0)) task.mm.tables.add(PTE_LEVEL, firstTable + i0 / per, 1, seg.zones);
      else item.onData(vpnOf(i0), 1, seg.zones);
      return;
    }
    // a whole number of cycles: split the zones of one cycle into tables and pages
    const L = seg.zones.length;
    const tz: number[] = [];
    const dz: number[] = [];
    for (let j = 0; j < L; j++) (isTable(i0 + j) ? tz : dz).push(seg.zones[j]!);
    const tablesIn = (seg.count / L) * tz.length;
    const pagesIn = seg.count - tablesIn;
    const firstT = Math.ceil(i0 / per);
    let firstD = i0;
    while (isTable(firstD)) firstD++;
    if (tablesIn) task.mm.tables.add(PTE_LEVEL, firstTable + firstT, tablesIn, tz);
    if (pagesIn) item.onData(vpnOf(firstD), pagesIn, dz);
  };
  const r = k.allocate(k, task, plan, chunks * per, label, 0, "none", onSegment);
  // tables were allocated by alloc_pages(): each one moved il_prev
  const attempted = r.stop ? r.done + 1 : r.done;
  const tableCalls = Math.ceil(attempted / per);
  advanceDynamicInterleave(task, pt, tableCalls);
  const pages = r.done - Math.ceil(r.done / per);
  return { done: pages, stop: r.stop };
}

/** Run the fault items of one VMA in order: tables, then pages. Returns the faults taken. */
function runFaults(k: Kernel, task: Task, items: readonly FaultItem[], label: string): TouchResult {
  const tables = task.mm.tables;
  let faults = 0;
  for (const item of items) {
    let cur = item.start;
    while (cur < item.end) {
      const miss = tables.missing(cur);
      if (item.kind === "alloc" && miss.length === 1 && miss[0] === PTE_LEVEL && cur % PTE_PAGES === 0) {
        // whole regions up to the end of the item and of the plan's cycle
        const span = Math.min(item.end - cur, item.plan(cur).span ?? Number.POSITIVE_INFINITY);
        const chunks = tables.pteOnlyRegions(cur, Math.floor(span / PTE_PAGES));
        if (chunks >= 2) {
          const r = allocStretch(k, task, item, cur, chunks, label);
          faults += r.done;
          if (r.stop) return { faults, stop: r.stop };
          cur += chunks * PTE_PAGES;
          continue;
        }
      }
      const stop: { s?: RunStop } = {};
      for (const level of miss) {
        if (!allocTable(k, task, level, cur, stop))
          return { faults, stop: stop.s ?? { kind: "failed", reason: "page table" } };
      }
      // up to the next region without a PTE table (or the end of the item)
      let until = Math.min(item.end, (Math.floor(cur / PTE_PAGES) + 1) * PTE_PAGES);
      while (until < item.end && tables.missing(until).length === 0)
        until = Math.min(item.end, until + PTE_PAGES);
      if (item.kind === "map") {
        faults += item.onMap(cur, until) ?? until - cur;
      } else {
        // one run per plan: a plan's cycle may hold for fewer pages (its span)
        for (let at = cur; at < until; ) {
          const plan = item.plan(at);
          const count = Math.min(until - at, plan.span ?? until - at);
          const base = at;
          const r = k.allocate(k, task, plan, count, label, item.index(base), item.space, (i, seg) => {
            item.onData(base + (i - item.index(base)), seg.count, seg.zones);
          });
          faults += r.done;
          if (r.stop) return { faults, stop: r.stop };
          at += count;
        }
      }
      cur = until;
    }
  }
  return { faults };
}

/**
 * Fault `pages` pages from `vpn` on, in address order, the way a program touching each
 * page would.
 */
export function touchRange(
  k: Kernel,
  task: Task,
  vpn: number,
  pages: number,
  access: Access,
  label: (v: Vma) => string,
): TouchResult {
  let faults = 0;
  let cur = vpn;
  const end = vpn + pages;
  while (cur < end) {
    const vma = task.mm.vmaAt(cur);
    if (!vma || !accessAllowed(vma, access)) return { faults, efault: true };
    const segEnd = Math.min(end, vma.end);
    if (vma.huge) {
      const h = hugetlbFault(k, task, vma, cur, segEnd, access === "write");
      faults += h.faults;
      if (h.stop) return { faults, stop: h.stop };
      if (h.sigbus) return { faults, sigbus: true };
      cur = segEnd;
      continue;
    }
    const r = vma.object
      ? faultShared(k, task, vma, cur, segEnd, access, label(vma))
      : faultPrivate(k, task, vma, cur, segEnd, access, label(vma));
    faults += r.faults;
    if (r.stop) return { faults, stop: r.stop };
    cur = segEnd;
  }
  return { faults };
}

/** HPAGE_PMD_ORDER on x86_64: a PMD maps 2 MiB */
export const HPAGE_PMD_ORDER = 9;
const HPAGE_PMD_NR = 2 ** HPAGE_PMD_ORDER;

/**
 * hugepage_vma_check(vma, vm_flags, smaps=false, in_pf=true, enforce_sysfs=true) for the
 * VMAs of this model: private anonymous memory (not shmem, not hugetlb), not VM_NOHUGEPAGE,
 * with THP "always", or "madvise" and VM_HUGEPAGE.
 */
export function thpEligible(k: Kernel, vma: Vma): boolean {
  if (vma.object || vma.huge || vma.hugepage === "nohuge") return false;
  return k.thpMode === "always" || (k.thpMode === "madvise" && vma.hugepage === "huge");
}

/**
 * Private anonymous memory. Where THP applies, a fault on a 2 MiB region that lies inside
 * the VMA (transhuge_vma_suitable) and has no PTE table yet (pmd_none) goes to
 * do_huge_pmd_anonymous_page(); a region it falls back on, and every other page, takes
 * the 4 KiB path (faultPrivatePte).
 */
function faultPrivate(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
  access: Access,
  label: string,
): TouchResult {
  if (!thpEligible(k, vma)) return faultPrivatePte(k, task, vma, start, end, access, label);
  let faults = 0;
  let pending = start;
  const flush = (to: number): RunStop | undefined => {
    if (to > pending) {
      const r = faultPrivatePte(k, task, vma, pending, to, access, label);
      faults += r.faults;
      if (r.stop) return r.stop;
    }
    pending = to;
    return undefined;
  };
  for (let h = start - (start % HPAGE_PMD_NR); h < end; h += HPAGE_PMD_NR) {
    if (h < vma.start || h + HPAGE_PMD_NR > vma.end) continue;
    if (!task.mm.tables.missing(h).includes(PTE_LEVEL)) continue;
    const from = Math.max(h, start);
    const stop = flush(from);
    if (stop) return { faults, stop };
    const r = hugePmdAnonymousFault(k, task, vma, h, access, label);
    faults += r.faults;
    if (r.stop) return { faults, stop: r.stop };
    // THP_FAULT_FALLBACK: the 4 KiB path takes this fault and the rest of the region
    if (!r.fallback) pending = Math.min(end, h + HPAGE_PMD_NR);
  }
  const stop = flush(end);
  return stop ? { faults, stop } : { faults };
}

/** (GFP_TRANSHUGE | __GFP_ZERO) & ~__GFP_MOVABLE: get_huge_zero_page() */
const HUGE_ZERO_GFP = (GFP_TRANSHUGE | __GFP_ZERO) & ~__GFP_MOVABLE;

/** One allocation of a single request; the zone id, or null (or the stop when the task died). */
function allocOnce(
  k: Kernel,
  task: Task,
  plan: AllocPlan,
  label: string,
  first: number,
): { zone: number | null; stop?: RunStop } {
  const r = k.allocate(k, task, plan, 1, label, first, "vpn");
  if (r.done === 1) return { zone: r.segments[0]!.zones[0]! };
  return r.stop?.kind === "killed" ? { zone: null, stop: r.stop } : { zone: null };
}

/**
 * vma_alloc_folio(gfp, HPAGE_PMD_ORDER, vma, haddr, true) as Linux 6.1 has it: interleave
 * by huge page (interleave_nid with shift PAGE_SHIFT + order), PREFERRED_MANY by its two
 * passes; otherwise, when the policy's nodemask is NULL or holds hpage_node (the local
 * node, or the first preferred node), only that node without reclaim
 * (__GFP_THISNODE | __GFP_NORETRY), then, if the VMA is madvised (__GFP_DIRECT_RECLAIM),
 * hpage_node's zonelist within the nodemask; else the normal way.
 */
function allocThp(
  k: Kernel,
  task: Task,
  vma: Vma,
  haddr: number,
  gfp: number,
  label: string,
): { zone: number | null; stop?: RunStop } {
  const { pol, source } = vmaPolicy(task, vma, haddr);
  const order = HPAGE_PMD_ORDER;
  if (pol.mode === MPOL_INTERLEAVE || pol.mode === MPOL_PREFERRED_MANY) {
    const ilx = Math.floor(vma.pgoff / HPAGE_PMD_NR) + Math.floor((haddr - vma.start) / HPAGE_PMD_NR);
    return allocOnce(k, task, vmaAllocPlan(k, task, pol, source, gfp, order, ilx), label, haddr);
  }
  const single = (gfpMask: number, nid: number, nodemask: AllocPlan["slots"][0]["req"]["nodemask"]) => ({
    policy: pol,
    policySource: source,
    slots: [{ req: { gfp: gfpMask, order, nid, nodemask }, interleaveTarget: NUMA_NO_NODE }],
    phase: 0,
  });
  const hpageNode = pol.mode === MPOL_PREFERRED ? pol.nodes.first() : task.numaNodeId;
  const nmask = policyNodemask(gfp, pol, task.memsAllowed, k.policyZone, k.nNormalMemory, k.policyExtraNodes);
  if (!nmask || nmask.has(hpageNode)) {
    // __folio_alloc_node(gfp | __GFP_THISNODE | __GFP_NORETRY, order, hpage_node)
    const first = allocOnce(
      k,
      task,
      single(gfp | __GFP_THISNODE | __GFP_NORETRY, hpageNode, null),
      label,
      haddr,
    );
    if (first.zone !== null || first.stop || !(gfp & __GFP_DIRECT_RECLAIM)) return first;
    return allocOnce(k, task, single(gfp, hpageNode, nmask), label, haddr);
  }
  return allocOnce(k, task, vmaAllocPlan(k, task, pol, source, gfp, order, 0), label, haddr);
}

/**
 * do_huge_pmd_anonymous_page() for the 2 MiB region at `haddr` (the PUD and PMD tables are
 * allocated first, as __handle_mm_fault does). A read maps the huge zero page
 * (mm_get_huge_zero_page: allocated once, under the faulting task's policy) after the
 * table it deposits (pte_alloc_one); a write allocates an order-9 folio
 * (vma_thp_gfp_mask with defrag "madvise": GFP_TRANSHUGE_LIGHT, plus
 * __GFP_DIRECT_RECLAIM for a VM_HUGEPAGE VMA) and maps its 512 pages dirty, then
 * allocates the table it deposits (__do_huge_pmd_anonymous_page). `fallback`: the 4 KiB
 * path takes the fault (THP_FAULT_FALLBACK).
 */
function hugePmdAnonymousFault(
  k: Kernel,
  task: Task,
  vma: Vma,
  haddr: number,
  access: Access,
  label: string,
): { faults: number; fallback?: boolean; stop?: RunStop } {
  const tables = task.mm.tables;
  const pte = task.mm.pte;
  const stop: { s?: RunStop } = {};
  const failed = (): { faults: number; stop: RunStop } => ({
    faults: 0,
    stop: stop.s ?? { kind: "failed", reason: "page table" },
  });
  for (const level of tables.missing(haddr)) {
    if (level !== PTE_LEVEL && !allocTable(k, task, level, haddr, stop)) return failed();
  }
  task.mm.anonVmaPrepare(vma, () => k.newAnonVmaId());
  const tableIndex = Math.floor(haddr / PTE_PAGES);
  if (access === "read") {
    if (!allocTable(k, task, PTE_LEVEL, haddr, stop)) return failed();
    if (k.hugeZeroZone === undefined) {
      const pol = getTaskPolicy(task);
      const plan = taskAllocPlan(
        k,
        task,
        pol,
        task.mempolicy ? "task" : "default",
        HUGE_ZERO_GFP,
        HPAGE_PMD_ORDER,
      );
      const r = allocOnce(k, task, plan, "huge zero page", haddr);
      if (r.stop) return { faults: 0, stop: r.stop };
      if (r.zone === null) {
        // pte_free() of the table, then the 4 KiB path
        k.freePages(extentsZones(tables.remove(PTE_LEVEL, tableIndex, tableIndex + 1)));
        return { faults: 0, fallback: true };
      }
      k.hugeZeroZone = r.zone;
    }
    pte.insert(makeExtent(haddr, HPAGE_PMD_NR, [ZERO_PAGE], PG_HUGE_ZERO));
    return { faults: 1 };
  }
  const gfp = GFP_TRANSHUGE_LIGHT | (vma.hugepage === "huge" ? __GFP_DIRECT_RECLAIM : 0);
  const folio = allocThp(k, task, vma, haddr, gfp, `${label} (THP)`);
  if (folio.stop) return { faults: 0, stop: folio.stop };
  if (folio.zone === null) return { faults: 0, fallback: true };
  pte.insert(makeExtent(haddr, HPAGE_PMD_NR, [folio.zone], PTE_WRITE | PG_DIRTY | PG_ANON | PG_THP_PMD));
  if (!allocTable(k, task, PTE_LEVEL, haddr, stop)) {
    // VM_FAULT_OOM: the folio goes back
    k.freePages(extentsZones(pte.removeRange(haddr, haddr + HPAGE_PMD_NR)));
    return failed();
  }
  return { faults: 1 };
}

function extentsZones(exts: readonly Extent[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of exts) extentNodeCounts(e, m);
  return m;
}

/** Private anonymous memory: do_anonymous_page() and the zero page, do_wp_page() on it. */
function faultPrivatePte(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
  access: Access,
  label: string,
): TouchResult {
  const pte = task.mm.pte;
  if (access === "read") {
    const items: FaultItem[] = pieces(pte, start, end)
      .filter((p) => !p.ext)
      .map((p) => ({
        kind: "map",
        start: p.start,
        end: p.end,
        onMap: (s: number, e: number) => {
          pte.insert(makeExtent(s, e - s, [ZERO_PAGE], 0));
          return undefined;
        },
      }));
    return runFaults(k, task, items, label);
  }
  // A write to the huge zero page splits its PMD (do_huge_pmd_wp_page → fallback): the
  // region's entries become 4 KiB zero-page entries, and the fault goes on as below.
  for (const e of pte.range(start, end)) {
    if (!(e.flags & PG_HUGE_ZERO)) continue;
    for (let v = e.start; v < e.start + e.count; v += PTE_PAGES - (v % PTE_PAGES)) task.mm.splitHugePmd(v);
  }
  // Write: holes, zero-page entries and pages still shared copy-on-write need a new page
  // (do_anonymous_page, wp_page_copy); a shared page whose other mappers have copied it
  // already is reused in place (do_wp_page: the only reference). Adjacent needs of one
  // kind make one run.
  const runs: { start: number; end: number; reuse: boolean; mapped: boolean }[] = [];
  const need = (a: number, b: number, reuse: boolean, mapped: boolean) => {
    const last = runs[runs.length - 1];
    if (last && last.end === a && last.reuse === reuse) {
      last.end = b;
      last.mapped ||= mapped;
    } else runs.push({ start: a, end: b, reuse, mapped });
  };
  for (const p of pieces(pte, start, end)) {
    if (!p.ext) need(p.start, p.end, false, false);
    else if (p.ext.share) {
      for (const r of (p.ext.share as CowGroup).mapcounts(p.start, p.end))
        need(r.start, r.end, r.count === 1, true);
    } else if (p.ext.pattern.includes(ZERO_PAGE) || !(p.ext.flags & PTE_WRITE))
      need(p.start, p.end, false, true);
  }
  if (runs.length) task.mm.anonVmaPrepare(vma, () => k.newAnonVmaId());
  const { pol, source } = vmaPolicy(task, vma, start);
  const items: FaultItem[] = runs.map((run): FaultItem => {
    if (run.reuse) {
      // wp_page_reuse(): the page is the task's alone now, mapped writable and dirty
      return {
        kind: "map",
        start: run.start,
        end: run.end,
        onMap: (a: number, b: number) => {
          for (const e of pte.removeRange(a, b)) {
            (e.share as CowGroup).adjust(e.start, e.start + e.count, -1);
            pte.insert(makeExtent(e.start, e.count, e.pattern, e.flags | PTE_WRITE | PG_DIRTY));
          }
          return undefined;
        },
      };
    }
    return {
      kind: "alloc",
      start: run.start,
      end: run.end,
      plan: (vpn: number) => vmaAllocPlan(k, task, pol, source, GFP_HIGHUSER_MOVABLE, 0, vma.indexOf(vpn)),
      index: (vpn: number) => vpn,
      space: "vpn",
      onData: (vpn: number, count: number, zones: readonly number[]) => {
        // what was mapped goes: the zero page stays, a shared page loses a mapper
        if (run.mapped) k.freePages(unmapPages(pte.removeRange(vpn, vpn + count)));
        pte.insert(makeExtent(vpn, count, zones, PTE_WRITE | PG_DIRTY | PG_ANON));
      },
    };
  });
  return runFaults(k, task, items, label);
}

/**
 * Shared anonymous memory (shmem_fault): a page absent from the object is allocated
 * under the shared policy at its index (or the task policy), with the interleave index
 * biased by the inode number; a page present in the object is mapped. A page is mapped
 * with the VMA's vm_page_prot (do_read_fault -> finish_fault -> do_set_pte), which for a
 * writable shared mapping of shmem is writable (vma_wants_writenotify() is false: no
 * page_mkwrite, no writeback), so a later write takes no fault: the CPU sets the dirty
 * bit. A write to a page mapped read-only takes a write-protect fault.
 */
function faultShared(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
  access: Access,
  label: string,
): TouchResult {
  const pte = task.mm.pte;
  const obj = vma.object!;
  const write = access === "write";
  // the pte of a new mapping: vm_page_prot, dirty when written
  const mapFlags = (vma.prot & PROT_WRITE ? PTE_WRITE : 0) | (write ? PG_DIRTY : 0);
  let upgrades = 0;
  const items: FaultItem[] = [];
  for (const p of pieces(pte, start, end)) {
    if (p.ext) {
      if (write && !(p.ext.flags & PG_DIRTY)) {
        // a write-protect fault on a read-only pte; none on a writable one
        if (!(p.ext.flags & PTE_WRITE)) upgrades += p.end - p.start;
        markDirty(pte, p.start, p.end, PTE_WRITE);
        markDirty(obj.pages, vma.indexOf(p.start), vma.indexOf(p.end));
      }
      continue;
    }
    // Not mapped: map what the object has, allocate the rest (one shared-policy range at a time).
    for (const op of pieces(obj.pages, vma.indexOf(p.start), vma.indexOf(p.end))) {
      const vs = vma.start + (op.start - vma.pgoff);
      const ve = vma.start + (op.end - vma.pgoff);
      if (op.ext) {
        items.push({
          kind: "map",
          start: vs,
          end: ve,
          onMap: (s, e) => {
            if (!write) return readFaultAround(vma, pte, s, e, mapFlags);
            const i0 = vma.indexOf(s);
            markDirty(obj.pages, i0, vma.indexOf(e));
            for (const oe of obj.pages.range(i0, vma.indexOf(e))) {
              pte.insert(makeExtent(vma.start + (oe.start - vma.pgoff), oe.count, oe.pattern, mapFlags));
            }
            return undefined;
          },
        });
        continue;
      }
      let idx = op.start;
      while (idx < op.end) {
        const sp = obj.policyAt(idx);
        let runEnd = op.end;
        for (const r of obj.sharedPolicy) {
          if (r.start > idx && r.start < runEnd) runEnd = r.start;
          if (r.start <= idx && r.end > idx && r.end < runEnd) runEnd = r.end;
        }
        const pol = sp ?? getTaskPolicy(task);
        const source = sp ? "shared" : task.mempolicy ? "task" : "default";
        items.push({
          kind: "alloc",
          start: vma.start + (idx - vma.pgoff),
          end: vma.start + (runEnd - vma.pgoff),
          plan: (vpn: number) =>
            vmaAllocPlan(k, task, pol, source, GFP_HIGHUSER_MOVABLE, 0, obj.ino + vma.indexOf(vpn)),
          index: (vpn: number) => vma.indexOf(vpn),
          space: "object",
          onData: (vpn: number, count: number, zones: readonly number[]) => {
            obj.pages.insert(makeExtent(vma.indexOf(vpn), count, zones, write ? PG_DIRTY : 0));
            pte.insert(makeExtent(vpn, count, zones, mapFlags));
            // each of these read faults first mapped what its window had in memory
            if (!write) for (let v = vpn; v < vpn + count; v = faultAround(vma, pte, v, mapFlags));
          },
        });
        idx = runEnd;
      }
    }
  }
  const r = runFaults(k, task, items, label);
  return { ...r, faults: r.faults + upgrades };
}

/** fault_around_bytes (64 KiB) in pages */
const FAULT_AROUND_PAGES = 16;

/**
 * do_fault_around() -> filemap_map_pages() for a read fault at vpn of a shared mapping:
 * every page of the object already in memory and not yet mapped, in the window from the
 * 64 KiB-aligned address (or the VMA's start) over 16 pages, within the VMA and the page
 * table, is mapped. Returns the window's end.
 */
function faultAround(vma: Vma, pte: PageTable, vpn: number, flags: number): number {
  const from = Math.max(vpn - (vpn % FAULT_AROUND_PAGES), vma.start);
  const to = Math.min(from + FAULT_AROUND_PAGES, (Math.floor(from / PTE_PAGES) + 1) * PTE_PAGES, vma.end);
  const obj = vma.object!;
  for (const hole of pieces(pte, from, to)) {
    if (hole.ext) continue;
    for (const oe of obj.pages.range(vma.indexOf(hole.start), vma.indexOf(hole.end))) {
      pte.insert(makeExtent(vma.start + (oe.start - vma.pgoff), oe.count, oe.pattern, flags));
    }
  }
  return to;
}

/**
 * Read faults over [start, end) of a shared mapping where the object has every page: the
 * first unmapped page of a window faults, and its fault-around maps the rest of the
 * window. Returns the faults taken.
 */
function readFaultAround(vma: Vma, pte: PageTable, start: number, end: number, flags: number): number {
  let faults = 0;
  let cur = start;
  while (cur < end) {
    const hole = pieces(pte, cur, end).find((p) => !p.ext);
    if (!hole) break;
    faults++;
    cur = faultAround(vma, pte, hole.start, flags);
  }
  return faults;
}

/** Set PG_DIRTY (and `also`) on the entries of [from, to). */
function markDirty(map: PageTable, from: number, to: number, also = 0): void {
  for (const e of [...map.range(from, to)]) {
    const flags = e.flags | PG_DIRTY | also;
    if (flags === e.flags) continue;
    map.removeRange(e.start, e.start + e.count);
    map.insert(makeExtent(e.start, e.count, e.pattern, flags));
  }
}
