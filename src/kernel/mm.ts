/**
 * Address spaces: VMAs, their split and merge (mm/mmap.c: vma_merge, split_vma), page
 * tables as extents, and shared anonymous memory objects with their shared policies
 * (mm/shmem.c, mm/mempolicy.c: shared_policy_replace, mpol_shared_policy_lookup).
 */
import { MAP_SHARED, PAGE_SHIFT } from "./constants.js";
import { makeExtent, type PageTable, PG_HUGE_ZERO, PG_THP_PMD } from "./extents.js";
import type { HugetlbFile } from "./hugetlb.js";
import { type MemPolicy, mpolEqual } from "./mempolicy.js";
import { PageTables } from "./pagetable.js";

/** A MAP_SHARED|MAP_ANONYMOUS object (a shmem inode): its pages and its shared policy. */
export class ShmemObject {
  /** i_ino: biases the interleave index of the object's pages (shmem_alloc_page) */
  readonly ino: number;
  /** page index → zone */
  readonly pages: PageTable;
  /** The shared policy tree: non-overlapping [start, end) page index ranges. */
  sharedPolicy: { start: number; end: number; policy: MemPolicy }[] = [];
  /** number of VMAs mapping the object */
  mappers = 0;
  readonly sizePages: number;

  constructor(ino: number, sizePages: number, pages: PageTable) {
    this.ino = ino;
    this.sizePages = sizePages;
    this.pages = pages;
  }

  /** mpol_shared_policy_lookup() */
  policyAt(index: number): MemPolicy | null {
    for (const sp of this.sharedPolicy) if (sp.start <= index && index < sp.end) return sp.policy;
    return null;
  }

  /** shared_policy_replace(): the range [start, end) takes `policy` (null removes it). */
  replacePolicy(start: number, end: number, policy: MemPolicy | null): void {
    const out: { start: number; end: number; policy: MemPolicy }[] = [];
    for (const sp of this.sharedPolicy) {
      if (sp.end <= start || sp.start >= end) {
        out.push(sp);
        continue;
      }
      if (sp.start < start) out.push({ start: sp.start, end: start, policy: sp.policy });
      if (sp.end > end) out.push({ start: end, end: sp.end, policy: sp.policy });
    }
    if (policy) out.push({ start, end, policy });
    out.sort((a, b) => a.start - b.start);
    this.sharedPolicy = out;
  }
}

/** struct vm_area_struct (the parts placement needs); addresses in pages */
export class Vma {
  start: number;
  end: number;
  /** vm_pgoff: the start's vpn for private anonymous memory, the object offset for shmem */
  pgoff: number;
  readonly prot: number;
  readonly flags: number;
  /** vma->vm_policy */
  policy: MemPolicy | null;
  readonly object: ShmemObject | null;
  /** vma->anon_vma (an id), set by the first write fault of a private mapping */
  anonVma: number | null = null;
  /** VM_HUGEPAGE / VM_NOHUGEPAGE (madvise), or neither */
  hugepage: "huge" | "nohuge" | null = null;
  /** vm_flags beyond the mapping's own: VM_MERGEABLE (KSM), VM_CDM (a CDM design's tag) */
  vmFlags = 0;
  /** VM_HUGETLB: the hugetlbfs file of a MAP_HUGETLB mapping (pgoff is its offset in pages) */
  huge: HugetlbFile | null = null;

  constructor(
    start: number,
    end: number,
    pgoff: number,
    prot: number,
    flags: number,
    policy: MemPolicy | null,
    object: ShmemObject | null,
  ) {
    this.start = start;
    this.end = end;
    this.pgoff = pgoff;
    this.prot = prot;
    this.flags = flags;
    this.policy = policy;
    this.object = object;
  }

  get shared(): boolean {
    return (this.flags & MAP_SHARED) !== 0;
  }

  get pages(): number {
    return this.end - this.start;
  }

  /** The object index of the page at vpn (linear_page_index). */
  indexOf(vpn: number): number {
    return this.pgoff + (vpn - this.start);
  }

  get startAddress(): number {
    return this.start * 2 ** PAGE_SHIFT;
  }
}

/** struct mm_struct: the VMAs (sorted, non-overlapping) and the page table. */
export class Mm {
  vmas: Vma[] = [];
  /** vpn → zone of the mapped page (ZERO_PAGE for the zero page), with pte state */
  readonly pte: PageTable;
  /** the page-table pages themselves */
  readonly tables: PageTables;

  constructor(factory: () => PageTable) {
    this.pte = factory();
    this.tables = new PageTables(factory);
  }

  /** find_vma(): the first VMA ending above vpn */
  findVmaIndex(vpn: number): number {
    let lo = 0;
    let hi = this.vmas.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.vmas[mid]!.end <= vpn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** vma_lookup(): the VMA containing vpn */
  vmaAt(vpn: number): Vma | undefined {
    const v = this.vmas[this.findVmaIndex(vpn)];
    return v && v.start <= vpn ? v : undefined;
  }

  /** VMAs overlapping [start, end), in order */
  vmasIn(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let i = this.findVmaIndex(start); i < this.vmas.length; i++) {
      const v = this.vmas[i]!;
      if (v.start >= end) break;
      out.push(v);
    }
    return out;
  }

  insertVma(v: Vma): void {
    const i = this.findVmaIndex(v.start);
    this.vmas.splice(i, 0, v);
  }

  /**
   * split_huge_pmd() of the 2 MiB region holding vpn: a PMD of the huge zero page gives its
   * deposited table 512 entries of the 4 KiB zero page (__split_huge_zero_page_pmd); a
   * PMD-mapped THP keeps its pages, now mapped by the deposited table's PTEs.
   */
  splitHugePmd(vpn: number): void {
    const from = vpn - (vpn % 512);
    for (const e of this.pte.range(from, from + 512)) {
      if (!(e.flags & (PG_HUGE_ZERO | PG_THP_PMD))) continue;
      this.pte.removeRange(e.start, e.start + e.count);
      this.pte.insert(
        makeExtent(e.start, e.count, e.pattern, e.flags & ~(PG_HUGE_ZERO | PG_THP_PMD), e.share),
      );
    }
  }

  /** split_vma(): cut the VMA at vpn `at` (strictly inside it); returns the upper part. */
  splitVma(v: Vma, at: number): Vma {
    // vma_adjust_trans_huge(): a huge PMD across the cut is split
    if (at % 512) this.splitHugePmd(at);
    const upper = new Vma(at, v.end, v.pgoff + (at - v.start), v.prot, v.flags, v.policy, v.object);
    upper.anonVma = v.anonVma;
    upper.hugepage = v.hugepage;
    upper.vmFlags = v.vmFlags;
    upper.huge = v.huge;
    if (v.object) v.object.mappers++;
    if (v.huge) v.huge.mappers++;
    v.end = at;
    this.insertVma(upper);
    return upper;
  }

  /**
   * Whether two adjacent VMAs may merge (is_mergeable_vma, can_vma_merge_*): same flags,
   * protection, object, consecutive pgoff, equal policy, and anon_vmas that are the same
   * or not yet assigned on one side (is_mergeable_anon_vma).
   */
  static canMerge(a: Vma, b: Vma): boolean {
    return (
      a.end === b.start &&
      a.prot === b.prot &&
      a.flags === b.flags &&
      a.hugepage === b.hugepage &&
      a.vmFlags === b.vmFlags &&
      a.object === b.object &&
      a.huge === b.huge &&
      a.pgoff + (a.end - a.start) === b.pgoff &&
      mpolEqual(a.policy, b.policy) &&
      (a.anonVma === null || b.anonVma === null || a.anonVma === b.anonVma)
    );
  }

  /**
   * anon_vma_compatible(): two adjacent VMAs could share an anon_vma (flags may differ only
   * in protection).
   */
  static anonVmaCompatible(a: Vma, b: Vma): boolean {
    return (
      a.end === b.start &&
      mpolEqual(a.policy, b.policy) &&
      a.object === b.object &&
      a.flags === b.flags &&
      a.hugepage === b.hugepage &&
      a.vmFlags === b.vmFlags &&
      b.pgoff === a.pgoff + (b.start - a.start)
    );
  }

  /**
   * anon_vma_prepare() → find_mergeable_anon_vma(): reuse the next VMA's anon_vma, else the
   * previous one's, when compatible; otherwise a new one.
   */
  anonVmaPrepare(v: Vma, newId: () => number): void {
    if (v.anonVma !== null) return;
    const i = this.vmas.indexOf(v);
    const next = this.vmas[i + 1];
    if (next && next.anonVma !== null && Mm.anonVmaCompatible(v, next)) {
      v.anonVma = next.anonVma;
      return;
    }
    const prev = this.vmas[i - 1];
    if (prev && prev.anonVma !== null && Mm.anonVmaCompatible(prev, v)) {
      v.anonVma = prev.anonVma;
      return;
    }
    v.anonVma = newId();
  }

  /**
   * Give [start, end) of a VMA an attribute (mbind_range, madvise_update_vma): split the VMA
   * at the range's edges, change the part inside, then merge it with its neighbours where
   * they now match (vma_merge). Returns the VMA that holds the range afterwards.
   */
  modifyRange(v: Vma, start: number, end: number, change: (part: Vma) => void): Vma {
    let cur = v;
    if (cur.start < start) cur = this.splitVma(cur, start);
    if (cur.end > end) this.splitVma(cur, end);
    change(cur);
    return this.mergeAround(cur);
  }

  /** vma_merge() around the VMA at index i: merge it with its neighbours where allowed. */
  mergeAround(v: Vma): Vma {
    let i = this.vmas.indexOf(v);
    let cur = v;
    const next = this.vmas[i + 1];
    if (next && Mm.canMerge(cur, next)) {
      cur.end = next.end;
      cur.anonVma ??= next.anonVma;
      this.vmas.splice(i + 1, 1);
      if (next.object) next.object.mappers--;
      if (next.huge) next.huge.mappers--;
    }
    const prev = this.vmas[i - 1];
    if (prev && Mm.canMerge(prev, cur)) {
      prev.end = cur.end;
      prev.anonVma ??= cur.anonVma;
      this.vmas.splice(i, 1);
      if (cur.object) cur.object.mappers--;
      if (cur.huge) cur.huge.mappers--;
      cur = prev;
      i--;
    }
    return cur;
  }

  /** Remove the VMAs' coverage of [start, end), splitting at the edges; returns the removed parts. */
  unmapRange(start: number, end: number): Vma[] {
    const removed: Vma[] = [];
    for (const v of this.vmasIn(start, end)) {
      let cur = v;
      if (cur.start < start) cur = this.splitVma(cur, start);
      if (cur.end > end) this.splitVma(cur, end);
      this.vmas.splice(this.vmas.indexOf(cur), 1);
      if (cur.object) cur.object.mappers--;
      if (cur.huge) cur.huge.mappers--;
      removed.push(cur);
    }
    return removed;
  }

  /** The lowest free gap... top-down: the highest start <= base where [start, start+pages) is free. */
  topDownStart(base: number, pages: number, floor: number): number | undefined {
    let candidate = base;
    for (let i = this.vmas.length - 1; i >= 0; i--) {
      const v = this.vmas[i]!;
      if (v.start >= candidate + pages) continue;
      if (v.end <= candidate) break;
      candidate = v.start - pages;
    }
    return candidate >= floor ? candidate : undefined;
  }
}
