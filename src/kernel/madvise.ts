/**
 * madvise(2) (mm/madvise.c do_madvise, madvise_walk_vmas, madvise_vma_behavior) for the
 * advice placement cares about:
 *
 * - MADV_DONTNEED (madvise_dontneed_free -> zap_page_range): the range's pages are unmapped;
 *   private ones are freed (a page shared copy-on-write loses a mapper), shared memory
 *   keeps its pages in the object. The page tables stay, but for a huge PMD (a THP or the
 *   huge zero page), whose deposited table goes with it. A later read maps the zero page,
 *   a later write allocates anew.
 * - MADV_HUGEPAGE / MADV_NOHUGEPAGE (hugepage_madvise): set VM_HUGEPAGE or VM_NOHUGEPAGE on
 *   the range, splitting and merging VMAs (madvise_update_vma). With transparent huge
 *   pages off this changes no placement, only the VMAs (numa_maps shows one line each).
 * - MADV_MERGEABLE / MADV_UNMERGEABLE (ksm_madvise): set or clear VM_MERGEABLE on private
 *   anonymous VMAs (shared and hugetlb ones are left as they are), splitting and merging
 *   VMAs the same way. ksmd, which would merge identical pages, does not run
 *   (/sys/kernel/mm/ksm/run is 0 at boot), so no page changes. Under a design that tags
 *   VMAs VM_CDM, MADV_MERGEABLE on a tagged VMA is ignored (RFC V2 10/12).
 *
 * The start must be page aligned and the advice known (EINVAL); a range over unmapped
 * addresses is advised where it is mapped and then fails with ENOMEM.
 */
import {
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_UNMERGEABLE,
  PAGE_SHIFT,
  PAGE_SIZE,
  VM_CDM,
  VM_MERGEABLE,
} from "./constants.js";
import { unmapPages } from "./cow.js";
import { extentNodeCounts, PG_HUGE_ZERO, PG_THP_PMD } from "./extents.js";
import type { Kernel, Task } from "./kernel.js";
import type { Vma } from "./mm.js";
import { PTE_LEVEL } from "./pagetable.js";

/** The advice cdmsim models. */
export const MODELLED_ADVICE: ReadonlySet<number> = new Set([
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
]);

/**
 * madvise_behavior_valid() on Debian's 6.1 (KSM, THP and memory failure built in): NORMAL,
 * RANDOM, SEQUENTIAL, WILLNEED, DONTNEED, FREE, REMOVE, DONTFORK, DOFORK, MERGEABLE,
 * UNMERGEABLE, HUGEPAGE, NOHUGEPAGE, DONTDUMP, DODUMP, WIPEONFORK, KEEPONFORK, COLD,
 * PAGEOUT, POPULATE_READ, POPULATE_WRITE, DONTNEED_LOCKED, COLLAPSE, HWPOISON, SOFT_OFFLINE.
 */
export const VALID_ADVICE: ReadonlySet<number> = new Set([
  0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 100, 101,
]);

export function madvise(
  k: Kernel,
  task: Task,
  start: bigint,
  lenIn: bigint,
  advice: number,
): { ret: number; errno: string | null } {
  const fail = (errno: string) => ({ ret: -1, errno });
  if (!VALID_ADVICE.has(advice)) return fail("EINVAL");
  const PAGE = BigInt(PAGE_SIZE);
  const st = BigInt.asUintN(64, start);
  if (st % PAGE) return fail("EINVAL");
  const len = BigInt.asUintN(64, (BigInt.asUintN(64, lenIn) + PAGE - 1n) & ~(PAGE - 1n));
  if (lenIn !== 0n && len === 0n) return fail("EINVAL"); // rounded up from a small negative
  const end = st + len;
  if (end >= 1n << 64n) return fail("EINVAL");
  if (end === st) return { ret: 0, errno: null };
  // beyond the user address space nothing is mapped
  const top = Number.MAX_SAFE_INTEGER;
  const sv = Number(st >> BigInt(PAGE_SHIFT));
  const ev = end >> BigInt(PAGE_SHIFT) > BigInt(top) ? top : Number(end >> BigInt(PAGE_SHIFT));

  // madvise_walk_vmas(): holes are skipped and reported at the end
  let unmapped = false;
  let cur = sv;
  for (const v of task.mm.vmasIn(sv, ev)) {
    if (v.start > cur) unmapped = true;
    const a = Math.max(cur, v.start);
    const b = Math.min(ev, v.end);
    advise(k, task, v, a, b, advice);
    cur = b;
  }
  if (cur < ev) unmapped = true;
  return unmapped ? fail("ENOMEM") : { ret: 0, errno: null };
}

function advise(k: Kernel, task: Task, v: Vma, a: number, b: number, advice: number): void {
  if (advice === MADV_DONTNEED) {
    // zap_page_range(): the ptes go; the zero page and a shared object's pages are not ours
    const gone = task.mm.pte.removeRange(a, b);
    if (!v.object) k.freePages(unmapPages(gone));
    // zap_huge_pmd(): a huge PMD (a THP or the huge zero page) frees the table it deposited,
    // so the region is pmd_none again (a partly zapped one would be split first: refused)
    const huge = new Set<number>();
    for (const e of gone)
      if (e.flags & (PG_THP_PMD | PG_HUGE_ZERO))
        for (let r = Math.floor(e.start / 512); r * 512 < e.start + e.count; r++) huge.add(r);
    for (const r of huge) {
      const zones = new Map<number, number>();
      for (const t of task.mm.tables.remove(PTE_LEVEL, r, r + 1)) extentNodeCounts(t, zones);
      k.freePages(zones);
    }
    return;
  }
  if (advice === MADV_MERGEABLE || advice === MADV_UNMERGEABLE) {
    // ksm_madvise(): VM_SHARED and VM_HUGETLB mappings, and VMAs already so, are left alone
    const merge = advice === MADV_MERGEABLE;
    if (v.object || v.huge || Boolean(v.vmFlags & VM_MERGEABLE) === merge) return;
    if (merge && v.vmFlags & VM_CDM) return; // the RFC's ksm_madvise() check
    task.mm.modifyRange(v, a, b, (part) => {
      part.vmFlags = merge ? part.vmFlags | VM_MERGEABLE : part.vmFlags & ~VM_MERGEABLE;
    });
    return;
  }
  const flag = advice === MADV_HUGEPAGE ? "huge" : "nohuge";
  if (v.hugepage === flag) return;
  task.mm.modifyRange(v, a, b, (part) => {
    part.hugepage = flag;
  });
}
