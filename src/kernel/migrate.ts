/**
 * move_pages(2) (mm/migrate.c kernel_move_pages, find_mm_struct, do_pages_move,
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
import { nodeAllocPlan } from "./policy-alloc.js";
import { mapcountRuns, migrateMapped } from "./rmap.js";

const EFAULT = -14;
const ENOENT = -2;
const EACCES = -13;
const EBUSY = -16;

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
    const batch = queue;
    queue = [];
    queued.clear();
    const gfp = GFP_HIGHUSER_MOVABLE | __GFP_THISNODE;
    let at = 0;
    const r = k.allocate(
      k,
      caller,
      nodeAllocPlan(gfp, 0, current),
      batch.length,
      "migrate",
      0,
      "none",
      (first, seg) => {
        // the batch's pages, in order, take the segment's new pages
        for (let j = 0; j < seg.count; j++) {
          const q = batch[first + j]!;
          const zone = seg.zones[j % seg.zones.length]!;
          k.freePages(migrateMapped(k, target, q.vma, q.vpn, q.vpn + 1, [zone]));
        }
        at = first + seg.count;
      },
    );
    if (r.done < batch.length || at < batch.length) return "ENOMEM";
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
