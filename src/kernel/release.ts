/**
 * Giving memory back: zap_page_range()/unmap_region() for munmap, exit_mmap() for a task
 * that exits or is killed, and the release of a shared memory object with its last mapping.
 */
import { type Extent, extentNodeCounts } from "./extents.js";
import type { Kernel, Task } from "./kernel.js";
import type { Vma } from "./mm.js";

/** Pages per zone id of some extents. */
export function zoneCounts(extents: Iterable<Extent>, into = new Map<number, number>()): Map<number, number> {
  for (const e of extents) extentNodeCounts(e, into);
  return into;
}

/** Unmap [start, end) of a task's address space and free what is no longer mapped. */
export function unmapAndFree(k: Kernel, task: Task, start: number, end: number): void {
  const removed = task.mm.unmapRange(start, end);
  releaseVmas(k, task, removed);
}

function releaseVmas(k: Kernel, task: Task, removed: Vma[]): void {
  for (const v of removed) {
    const gone = task.mm.pte.removeRange(v.start, v.end);
    if (!v.object) k.freePages(zoneCounts(gone));
    else if (v.object.mappers === 0) {
      k.freePages(zoneCounts(v.object.pages.removeRange(0, Number.MAX_SAFE_INTEGER)));
    }
  }
}

/** exit_mmap(): the task's whole address space goes. */
export function releaseMm(k: Kernel, task: Task): void {
  const all = task.mm.unmapRange(0, Number.MAX_SAFE_INTEGER);
  releaseVmas(k, task, all);
}
