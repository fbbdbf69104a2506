/**
 * Page migration by system call: move_pages(2) (mm/migrate.c kernel_move_pages, find_mm_struct, do_pages_move,
 * add_page_for_migration, do_pages_stat_array, move_pages_and_store_status).
 *
 * Checks in the kernel's order: flags, MPOL_MF_MOVE_ALL without CAP_SYS_NICE, the target
 * task (ESRCH), ptrace_may_access (EPERM). Query mode gives each page's node or an error.
 * Move mode walks the pages in order: a node outside N_MEMORY is ENODEV and one outside
 * the target's cpuset EACCES for the whole call (after migrating what was queued);
 * consecutive pages for one node are queued and migrated together when the node changes
 * or a page is not queued (already there, absent, the zero page, mapped more than once
 * without MPOL_MF_MOVE_ALL, queued twice); each such page gets its status at once. The
 * new pages come from the target node alone (GFP_HIGHUSER_MOVABLE | __GFP_THISNODE,
 * no OOM killer): when one cannot be had the call fails with ENOMEM, the pages migrated
 * before it stay moved and the batch's statuses are not written.
 */
import { MAX_NUMNODES, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL } from "./constants.js";
import { nodeAt, ZERO_PAGE } from "./extents.js";
import { __GFP_THISNODE, GFP_HIGHUSER_MOVABLE } from "./gfp.js";
import type { Kernel, Task } from "./kernel.js";
import type { Vma } from "./mm.js";
import { Nodemask } from "./nodemask.js";
import { type AllocPlan, nodeAllocPlan } from "./policy-alloc.js";
import { mapcountRuns, migrateMapped } from "./rmap.js";
import { getNodes, type UserNodemask } from "./syscalls.js";

const EFAULT = -14;
const ENOENT = -2;
const EACCES = -13;
const EBUSY = -16;

/** Pages of a task to migrate: [start, end) of one VMA, in the order given. */
export interface MigrateRange {
  start: number;
  end: number;
  vma: Vma;
}

/**
 * migrate_pages() with alloc_migration_target() for the node `nid`: a new page per old one,
 * in order, with GFP_HIGHUSER_MOVABLE | __GFP_THISNODE in the caller's context; every
 * mapping of an old page then maps the new one and the old page is freed. False when a
 * page could not be had: it and the rest stay (-ENOMEM), those before it moved.
 */
export function migrateToNode(
  k: Kernel,
  caller: Task,
  target: Task,
  ranges: readonly MigrateRange[],
  nid: number,
): boolean {
  return migrateRanges(
    k,
    caller,
    target,
    ranges,
    nodeAllocPlan(GFP_HIGHUSER_MOVABLE | __GFP_THISNODE, 0, nid),
  );
}

/** Migrate pages of a task to new pages that `plan` allocates, in order (see migrateToNode). */
export function migrateRanges(
  k: Kernel,
  caller: Task,
  target: Task,
  ranges: readonly MigrateRange[],
  plan: AllocPlan,
): boolean {
  const total = ranges.reduce((a, r) => a + r.end - r.start, 0);
  if (!total) return true;
  // allocation index → range: the ranges laid end to end
  const offsets: number[] = [];
  let acc = 0;
  for (const r of ranges) {
    offsets.push(acc);
    acc += r.end - r.start;
  }
  const r = k.allocate(k, caller, plan, total, "migrate", 0, "none", (first, seg) => {
    let i = first;
    const end = first + seg.count;
    let ri = upperBound(offsets, i) - 1;
    while (i < end) {
      const rg = ranges[ri]!;
      const from = rg.start + (i - offsets[ri]!);
      const n = Math.min(end - i, rg.end - from);
      const L = seg.zones.length;
      const off = (i - first) % L;
      const zones = off === 0 ? seg.zones : [...seg.zones.slice(off), ...seg.zones.slice(0, off)];
      k.freePages(migrateMapped(k, target, rg.vma, from, from + n, zones));
      i += n;
      ri++;
    }
  });
  return r.done === total;
}

/** The first index whose value is above x (the offsets are ascending). */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface MovePagesResult {
  ret: number;
  errno: string | null;
  /** per page: a node id, a negative errno, or null when the kernel did not write it */
  status: (number | null)[];
}

/** What the target's page at vpn is: a node, or the error its lookup gives. */
function lookupPage(k: Kernel, target: Task, vpn: number): { vma: Vma; node: number } | number {
  const vma = target.mm.vmaAt(vpn);
  if (!vma) return EFAULT; // vma_lookup() found nothing
  const e = target.mm.pte.lookup(vpn);
  // follow_page(FOLL_DUMP): no pte is EFAULT for anonymous memory, "no page" for shmem
  if (!e) return vma.object ? ENOENT : EFAULT;
  const zid = nodeAt(e, vpn);
  if (zid === ZERO_PAGE) return EFAULT; // a special page
  return { vma, node: k.zoneById[zid]!.node };
}

export function movePages(
  k: Kernel,
  caller: Task,
  target: Task | undefined,
  pages: readonly { vpn: number; node: number | null }[],
  query: boolean,
  flags: bigint,
): MovePagesResult {
  const status: (number | null)[] = new Array(pages.length).fill(null);
  const fail = (errno: string): MovePagesResult => ({ ret: -1, errno, status });
  if (flags & ~BigInt(MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)) return fail("EINVAL");
  const moveAll = (flags & BigInt(MPOL_MF_MOVE_ALL)) !== 0n;
  if (moveAll && !caller.privileged) return fail("EPERM");
  if (!target?.alive) return fail("ESRCH"); // find_task_by_vpid()
  // ptrace_may_access(PTRACE_MODE_READ_REALCREDS): another user's task needs CAP_SYS_PTRACE
  if (target !== caller && !caller.privileged && target.privileged) return fail("EPERM");

  if (query) {
    pages.forEach((p, i) => {
      const r = lookupPage(k, target, p.vpn);
      status[i] = typeof r === "number" ? r : r.node;
    });
    return { ret: 0, errno: null, status };
  }

  const taskNodes = target.memsAllowed; // cpuset_mems_allowed(task)
  let current = -1;
  let start = 0;
  let queue: { vpn: number; vma: Vma }[] = [];
  const queued = new Set<number>();

  /** move_pages_and_store_status(): migrate the batch [start, i) to `current` */
  const flush = (i: number): string | null => {
    if (!queue.length) return null;
    const batch = queue.map((q) => ({ start: q.vpn, end: q.vpn + 1, vma: q.vma }));
    queue = [];
    queued.clear();
    if (!migrateToNode(k, caller, target, batch, current)) return "ENOMEM";
    for (let j = start; j < i; j++) status[j] = current;
    return null;
  };

  let i = 0;
  let err: string | null = null;
  for (; i < pages.length; i++) {
    const node = pages[i]!.node!;
    if (node < 0 || node >= MAX_NUMNODES || !k.nMemory.has(node)) {
      err = "ENODEV";
      break;
    }
    if (!taskNodes.has(node)) {
      err = "EACCES";
      break;
    }
    if (current === -1) {
      current = node;
      start = i;
    } else if (node !== current) {
      const e = flush(i);
      if (e) return fail(e);
      start = i;
      current = node;
    }
    // add_page_for_migration()
    const vpn = pages[i]!.vpn;
    const r = lookupPage(k, target, vpn);
    let st: number;
    if (typeof r === "number") st = r;
    else if (r.node === current) st = current;
    else if (!moveAll && mapcountRuns(k, target, r.vma, vpn, vpn + 1)[0]!.count > 1) st = EACCES;
    else if (queued.has(vpn))
      st = EBUSY; // isolate_lru_page() fails: it is off the LRU
    else {
      queue.push({ vpn, vma: r.vma });
      queued.add(vpn);
      continue;
    }
    status[i] = st;
    const e = flush(i);
    if (e) return fail(e);
    current = -1;
  }
  // out_flush: what was queued moves, without hiding an earlier error
  const e = flush(i);
  if (err) return fail(err);
  if (e) return fail(e);
  return { ret: 0, errno: null, status };
}

/**
 * migrate_pages(2) (mm/mempolicy.c kernel_migrate_pages): the masks are read first
 * (get_nodes), then the target (ESRCH) and ptrace_may_access (EPERM); nodes outside the
 * target's cpuset need CAP_SYS_NICE (EPERM); the new mask is cut to the caller's cpuset
 * and must keep a node (EINVAL). Pages move with MPOL_MF_MOVE_ALL when the caller has
 * CAP_SYS_NICE, else only pages mapped once. Returns the pages that could not move.
 */
export function migratePages(
  k: Kernel,
  caller: Task,
  target: Task | undefined,
  maxnode: bigint,
  oldNodes: UserNodemask,
  newNodes: UserNodemask,
): { ret: number; errno: string | null } {
  const fail = (errno: string) => ({ ret: -1, errno });
  const from = getNodes(oldNodes, maxnode);
  if (typeof from === "string") return fail(from);
  const to = getNodes(newNodes, maxnode);
  if (typeof to === "string") return fail(to);
  if (!target?.alive) return fail("ESRCH");
  if (target !== caller && !caller.privileged && target.privileged) return fail("EPERM");
  if (!to.isSubsetOf(target.memsAllowed) && !caller.privileged) return fail("EPERM");
  const dest = to.and(caller.memsAllowed);
  if (dest.isEmpty()) return fail("EINVAL");
  const ok = doMigratePages(k, caller, target, from, dest, caller.privileged);
  return ok ? { ret: 0, errno: null } : fail("ENOMEM");
}

/**
 * do_migrate_pages(): move the pages on each node of `from` to the node node_remap() gives
 * in `to`, choosing each time a source whose destination is not itself a source still to
 * be emptied, so that pages do not move twice. With masks of different weights a source
 * that is also in `to` stays. False when a migration ran out of memory (-ENOMEM).
 */
export function doMigratePages(
  k: Kernel,
  caller: Task,
  target: Task,
  from: Nodemask,
  to: Nodemask,
  moveAll: boolean,
): boolean {
  let tmp = from;
  while (!tmp.isEmpty()) {
    let source = -1;
    let dest = 0;
    for (const s of tmp.ids()) {
      if (from.weight() !== to.weight() && to.has(s)) continue;
      const d = Nodemask.nodeRemap(s, from, to);
      if (s === d) continue;
      source = s;
      dest = d;
      if (!tmp.has(dest)) break;
    }
    if (source === -1) break;
    tmp = tmp.without(source);
    if (!migrateToNode(k, caller, target, pagesOnNode(k, target, source, moveAll), dest)) return false;
  }
  return true;
}

/**
 * queue_pages_range() over the whole address space with the nodemask {node}: the pages on
 * that node, in address order; without MPOL_MF_MOVE_ALL only those mapped once.
 */
export function pagesOnNode(k: Kernel, task: Task, node: number, moveAll: boolean): MigrateRange[] {
  const out: MigrateRange[] = [];
  const add = (vma: Vma, start: number, end: number) => {
    const last = out[out.length - 1];
    if (last && last.vma === vma && last.end === start) last.end = end;
    else out.push({ start, end, vma });
  };
  for (const vma of task.mm.vmas) {
    for (const e of task.mm.pte.range(vma.start, vma.end)) {
      const onNode = (zid: number) => zid !== ZERO_PAGE && k.zoneById[zid]!.node === node;
      if (!e.pattern.some(onNode)) continue;
      const runs =
        moveAll || (!e.share && !vma.object)
          ? [{ start: e.start, end: e.start + e.count, count: 1 }]
          : mapcountRuns(k, task, vma, e.start, e.start + e.count);
      for (const r of runs) {
        if (r.count > 1) continue;
        if (e.pattern.every(onNode)) add(vma, r.start, r.end);
        else for (let v = r.start; v < r.end; v++) if (onNode(nodeAt(e, v))) add(vma, v, v + 1);
      }
    }
  }
  return out;
}
