/**
 * Page tables as extents. An extent is a run of consecutive page indices (virtual page
 * numbers in a page table, page offsets in a shared memory object) whose nodes follow a
 * repeating pattern: one node for a run on one node, or the cycle of an interleave. No
 * object exists per page; the cost of an operation grows with the number of extents it
 * touches, not with the number of pages.
 */

/** Node value of a pte that maps the shared zero page. */
export const ZERO_PAGE = -1;

/** Per-page state shared by all pages of an extent. */
export const PTE_WRITE = 1 << 0; // mapped writable (a write needs no fault)
export const PG_DIRTY = 1 << 1; // pte or page dirty
export const PG_ANON = 1 << 2; // anonymous page (PageAnon)
export const PG_HUGETLB = 1 << 3; // part of a hugetlb page (not in the RSS)
export const PG_HUGE_ZERO = 1 << 4; // a zero-page entry of a PMD that maps the huge zero page
export const PG_THP_PMD = 1 << 5; // a page of a THP its PMD maps (not split to PTEs)

/** A set of pages shared copy-on-write between address spaces since a fork (cow.ts). */
export interface ShareGroup {
  readonly id: number;
}

export interface Extent {
  readonly start: number;
  readonly count: number;
  /** node of page start+i is pattern[i % pattern.length]; pattern.length <= count */
  readonly pattern: readonly number[];
  readonly flags: number;
  /** the pages are shared copy-on-write with other address spaces (mapped read-only) */
  readonly share?: ShareGroup;
}

/** The node of page `index` (which must lie in the extent). */
export function nodeAt(e: Extent, index: number): number {
  return e.pattern[(index - e.start) % e.pattern.length]!;
}

/** The smallest pattern that describes the same pages. */
export function normalizePattern(pattern: readonly number[], count: number): number[] {
  const len = Math.min(pattern.length, count);
  const p = pattern.slice(0, len);
  for (let period = 1; period < len; period++) {
    if (len !== count && len % period !== 0) continue;
    let ok = true;
    for (let i = period; i < len; i++) {
      if (p[i] !== p[i - period]) {
        ok = false;
        break;
      }
    }
    if (ok) return p.slice(0, period);
  }
  return p;
}

export function makeExtent(
  start: number,
  count: number,
  pattern: readonly number[],
  flags: number,
  share?: ShareGroup,
): Extent {
  const p = pattern.length === 1 ? pattern : normalizePattern(pattern, count);
  return share ? { start, count, pattern: p, flags, share } : { start, count, pattern: p, flags };
}

/** The part of `e` inside [from, to), or undefined. */
export function clip(e: Extent, from: number, to: number): Extent | undefined {
  const s = Math.max(e.start, from);
  const t = Math.min(e.start + e.count, to);
  if (t <= s) return undefined;
  if (s === e.start && t === e.start + e.count) return e;
  const L = e.pattern.length;
  const off = (s - e.start) % L;
  const rotated = off === 0 ? e.pattern : [...e.pattern.slice(off), ...e.pattern.slice(0, off)];
  return makeExtent(s, t - s, rotated, e.flags, e.share);
}

/** Pages per node of an extent (zero-page entries under ZERO_PAGE). */
export function extentNodeCounts(e: Extent, into: Map<number, number>): Map<number, number> {
  const L = e.pattern.length;
  const q = Math.floor(e.count / L);
  const r = e.count % L;
  for (let i = 0; i < L; i++) {
    const n = e.pattern[i]!;
    const c = q + (i < r ? 1 : 0);
    if (c) into.set(n, (into.get(n) ?? 0) + c);
  }
  return into;
}

function canMerge(a: Extent, b: Extent): boolean {
  if (a.flags !== b.flags || a.share !== b.share || a.start + a.count !== b.start) return false;
  const La = a.pattern.length;
  if (La !== b.pattern.length) return false;
  const off = a.count % La;
  for (let i = 0; i < La; i++) if (b.pattern[i] !== a.pattern[(off + i) % La]) return false;
  // b continues a's cycle; a's pattern must also be a full cycle for the merged extent
  return a.count >= La;
}

function merge(a: Extent, b: Extent): Extent {
  return makeExtent(a.start, a.count + b.count, a.pattern, a.flags, a.share);
}

const LEAF_MAX = 64;

/**
 * What the model needs of a page table (or of a shared object's page cache): extents by
 * page index. ExtentMap is the implementation; tests substitute a page-by-page one.
 */
export interface PageTable {
  /** resident entries (zero-page entries included) */
  readonly pages: number;
  /** number of extents */
  readonly size: number;
  lookup(index: number): Extent | undefined;
  /** extents overlapping [from, to), clipped, in order */
  range(from: number, to: number): Extent[];
  all(): Iterable<Extent>;
  removeRange(from: number, to: number): Extent[];
  /** insert over a range that holds nothing */
  insert(ext: Extent): void;
  nodeCounts(from: number, to: number, into?: Map<number, number>): Map<number, number>;
}

/** A leaf: extents in order, with their end indices in a parallel number array. */
class Leaf {
  items: Extent[];
  ends: number[];

  constructor(items: Extent[]) {
    this.items = items;
    this.ends = items.map((e) => e.start + e.count);
  }

  splice(at: number, remove: number, ...add: Extent[]): void {
    this.items.splice(at, remove, ...add);
    this.ends.splice(at, remove, ...add.map((e) => e.start + e.count));
  }

  get end(): number {
    return this.ends[this.ends.length - 1]!;
  }
}

/**
 * An ordered map of non-overlapping extents: a sorted list of small sorted leaves, so
 * that lookups are logarithmic and an insertion moves at most one leaf's entries. The end
 * index of every extent and of every leaf is kept in plain number arrays, which binary
 * searches read without touching the extent objects.
 */
export class ExtentMap implements PageTable {
  private leaves: Leaf[] = [];
  /** leafEnd[li] = end of the last extent of leaf li */
  private leafEnd: number[] = [];
  private pageCount = 0;
  private extentCount = 0;

  /** Resident entries (pages, zero-page entries included). */
  get pages(): number {
    return this.pageCount;
  }

  get size(): number {
    return this.extentCount;
  }

  /** After leaf li changed: drop it when empty, split it when too big, update its key. */
  private refresh(li: number): void {
    const leaf = this.leaves[li]!;
    if (leaf.items.length === 0) {
      this.leaves.splice(li, 1);
      this.leafEnd.splice(li, 1);
      return;
    }
    if (leaf.items.length > LEAF_MAX) {
      const half = leaf.items.length >> 1;
      const upper = new Leaf(leaf.items.splice(half));
      leaf.ends.length = half;
      this.leaves.splice(li + 1, 0, upper);
      this.leafEnd.splice(li + 1, 0, upper.end);
    }
    this.leafEnd[li] = leaf.end;
  }

  /** Index of the first leaf whose last extent ends after `index` (or leaves.length). */
  private leafFor(index: number): number {
    const le = this.leafEnd;
    let lo = 0;
    let hi = le.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (le[mid]! <= index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Position of the first extent of a leaf that ends after `index`. */
  private static posIn(leaf: Leaf, index: number): number {
    const e = leaf.ends;
    let lo = 0;
    let hi = e.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid]! <= index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The extent containing `index`, if any. */
  lookup(index: number): Extent | undefined {
    const leaf = this.leaves[this.leafFor(index)];
    if (!leaf) return undefined;
    const e = leaf.items[ExtentMap.posIn(leaf, index)];
    return e && e.start <= index ? e : undefined;
  }

  /** Extents overlapping [from, to), in order, clipped to the range. */
  range(from: number, to: number): Extent[] {
    const out: Extent[] = [];
    if (to <= from) return out;
    let li = this.leafFor(from);
    if (li >= this.leaves.length) return out;
    let pos = ExtentMap.posIn(this.leaves[li]!, from);
    while (li < this.leaves.length) {
      const items = this.leaves[li]!.items;
      while (pos < items.length) {
        const e = items[pos]!;
        if (e.start >= to) return out;
        const c = clip(e, from, to);
        if (c) out.push(c);
        pos++;
      }
      li++;
      pos = 0;
    }
    return out;
  }

  /** The first extent overlapping [from, to), clipped to it, or undefined. */
  first(from: number, to: number): Extent | undefined {
    if (to <= from) return undefined;
    let li = this.leafFor(from);
    while (li < this.leaves.length) {
      const leaf = this.leaves[li]!;
      const pos = ExtentMap.posIn(leaf, from);
      const e = leaf.items[pos];
      if (e) return e.start >= to ? undefined : clip(e, from, to);
      li++;
    }
    return undefined;
  }

  /** All extents in order. */
  *all(): Generator<Extent> {
    for (const leaf of this.leaves) yield* leaf.items;
  }

  /** Remove every page in [from, to); returns the removed parts. */
  removeRange(from: number, to: number): Extent[] {
    const removed: Extent[] = [];
    if (to <= from) return removed;
    let li = this.leafFor(from);
    while (li < this.leaves.length) {
      const leaf = this.leaves[li]!;
      let pos = ExtentMap.posIn(leaf, from);
      if (pos >= leaf.items.length || leaf.items[pos]!.start >= to) break;
      const replacement: Extent[] = [];
      const first = pos;
      while (pos < leaf.items.length && leaf.items[pos]!.start < to) {
        const e = leaf.items[pos]!;
        const mid = clip(e, from, to)!;
        removed.push(mid);
        this.pageCount -= mid.count;
        const before = clip(e, e.start, from);
        const after = clip(e, to, e.start + e.count);
        if (before) replacement.push(before);
        if (after) replacement.push(after);
        pos++;
      }
      this.extentCount += replacement.length - (pos - first);
      leaf.splice(first, pos - first, ...replacement);
      const n = this.leaves.length;
      this.refresh(li);
      if (this.leaves.length < n) continue; // the leaf went away; li is the next one
      if (this.leaves.length > n) li++; // it split
      li++;
    }
    return removed;
  }

  /** Insert an extent over a range that holds no pages; merges with equal neighbours. */
  insert(ext: Extent): void {
    if (ext.count <= 0) return;
    this.pageCount += ext.count;
    if (this.leaves.length === 0) {
      const leaf = new Leaf([ext]);
      this.leaves.push(leaf);
      this.leafEnd.push(leaf.end);
      this.extentCount++;
      return;
    }
    let li = this.leafFor(ext.start);
    if (li >= this.leaves.length) li = this.leaves.length - 1;
    let pos = ExtentMap.posIn(this.leaves[li]!, ext.start);
    let e = ext;
    // merge with the previous extent (possibly the last of the previous leaf)
    if (pos > 0) {
      const leaf = this.leaves[li]!;
      const prev = leaf.items[pos - 1]!;
      if (canMerge(prev, e)) {
        e = merge(prev, e);
        leaf.splice(pos - 1, 1);
        pos--;
        this.extentCount--;
      }
    } else if (li > 0) {
      const pl = this.leaves[li - 1]!;
      const prev = pl.items[pl.items.length - 1]!;
      if (canMerge(prev, e)) {
        e = merge(prev, e);
        pl.splice(pl.items.length - 1, 1);
        this.extentCount--;
        const n = this.leaves.length;
        this.refresh(li - 1);
        if (this.leaves.length < n) li--;
      }
    }
    const cur = this.leaves[li]!;
    const next = cur.items[pos];
    if (next && canMerge(e, next)) {
      e = merge(e, next);
      cur.splice(pos, 1);
      this.extentCount--;
    } else if (!next && li + 1 < this.leaves.length) {
      const nl = this.leaves[li + 1]!;
      if (canMerge(e, nl.items[0]!)) {
        e = merge(e, nl.items[0]!);
        nl.splice(0, 1);
        this.extentCount--;
        this.refresh(li + 1);
      }
    }
    cur.splice(pos, 0, e);
    this.extentCount++;
    this.refresh(li);
  }

  /** Pages per node in [from, to) (zero-page entries under ZERO_PAGE). */
  nodeCounts(from: number, to: number, into = new Map<number, number>()): Map<number, number> {
    for (const e of this.range(from, to)) extentNodeCounts(e, into);
    return into;
  }
}
