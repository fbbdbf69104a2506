/**
 * Giving memory back: zap_page_range()/unmap_region() for munmap, free_pgtables() for the
 * page tables no VMA uses any more, exit_mmap() for a task that exits or is killed, and the
 * release of a shared memory object with its last mapping.
 */
import { unmapPages } from "./cow.js";
import { type Extent, extentNodeCounts } from "./extents.js";
import { releaseHugetlb } from "./hugetlb.js";
import type { Kernel, Task } from "./kernel.js";
import type { Vma } from "./mm.js";
import { LEVELS, type Level } from "./pagetable.js";

/** Pages per zone id of some extents. */
export function zoneCounts(extents: Iterable<Extent>, into = new Map<number, number>()): Map<number, number> {
  for (const e of extents) extentNodeCounts(e, into);
  return into;
}

/** Unmap [start, end) of a task's address space and free what is no longer mapped. */
export function unmapAndFree(k: Kernel, task: Task, start: number, end: number): void {
  const removed = task.mm.unmapRange(start, end);
  releaseVmas(k, task, removed);
  if (removed.length) freePgtables(k, task, start, end);
}

function releaseVmas(k: Kernel, task: Task, removed: Vma[]): void {
  for (const v of removed) {
    const gone = task.mm.pte.removeRange(v.start, v.end);
    if (v.huge) {
      releaseHugetlb(k, v, v.start, v.end);
      continue;
    }
    if (!v.object) k.freePages(unmapPages(gone));
    else if (v.object.mappers === 0) {
      k.freePages(zoneCounts(v.object.pages.removeRange(0, Number.MAX_SAFE_INTEGER)));
    }
  }
}

/**
 * free_pgtables() → free_pgd_range(): after [start, end) was unmapped, the tables under it
 * that lie wholly between the previous VMA's end (floor) and the next VMA's start
 * (ceiling) are freed, at every level.
 */
function freePgtables(k: Kernel, task: Task, start: number, end: number): void {
  const mm = task.mm;
  const i = mm.findVmaIndex(start);
  const prev = i > 0 ? mm.vmas[i - 1] : undefined;
  const next = mm.vmas[i];
  const floor = prev ? prev.end : 0;
  const ceiling = next ? next.start : Number.MAX_SAFE_INTEGER;
  for (let level = 0 as Level; level <= 2; level = (level + 1) as Level) {
    const span = 2 ** LEVELS[level].shift;
    const from = Math.max(Math.floor(start / span), Math.ceil(floor / span));
    const to = Math.min(Math.ceil(end / span), Math.floor(ceiling / span));
    if (to > from) k.freePages(zoneCounts(mm.tables.remove(level, from, to)));
  }
}

/** exit_mmap(): the task's whole address space goes, page tables included. */
export function releaseMm(k: Kernel, task: Task): void {
  const all = task.mm.unmapRange(0, Number.MAX_SAFE_INTEGER);
  releaseVmas(k, task, all);
  for (let level = 0 as Level; level <= 2; level = (level + 1) as Level) {
    k.freePages(zoneCounts(task.mm.tables.remove(level, 0, Number.MAX_SAFE_INTEGER)));
  }
}
