/**
 * The reference page table: one entry per page in a Map, no extents, no merging. Every
 * operation walks pages one by one, so that it is obviously right; the differential
 * property test checks ExtentMap (and everything built on it) against it.
 *
 * Extents handed out are single pages. Entries hold what ExtentMap's extents hold: the
 * zone id of the page (ZERO_PAGE for the shared zero page), the pte/page flags and the
 * copy-on-write group the page belongs to.
 */
import {
  type Extent,
  makeExtent,
  nodeAt,
  type PageTable,
  type ShareGroup,
} from "../../src/kernel/extents.js";

export interface PageEntry {
  zone: number;
  flags: number;
  share?: ShareGroup;
}

function pageExtent(index: number, e: PageEntry): Extent {
  return makeExtent(index, 1, [e.zone], e.flags, e.share);
}

export class PageMap implements PageTable {
  private readonly entries = new Map<number, PageEntry>();

  /** Resident entries (zero-page entries included). */
  get pages(): number {
    return this.entries.size;
  }

  /** One extent per page. */
  get size(): number {
    return this.entries.size;
  }

  /** The indices holding a page, in ascending order. */
  private sortedIndices(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  /** The indices in [from, to) holding a page, in ascending order. */
  private indicesIn(from: number, to: number): number[] {
    if (to <= from) return [];
    if (to - from <= this.entries.size) {
      const out: number[] = [];
      for (let i = from; i < to; i++) if (this.entries.has(i)) out.push(i);
      return out;
    }
    return this.sortedIndices().filter((i) => i >= from && i < to);
  }

  lookup(index: number): Extent | undefined {
    const e = this.entries.get(index);
    return e ? pageExtent(index, e) : undefined;
  }

  range(from: number, to: number): Extent[] {
    return this.indicesIn(from, to).map((i) => pageExtent(i, this.entries.get(i)!));
  }

  *all(): Generator<Extent> {
    for (const i of this.sortedIndices()) yield pageExtent(i, this.entries.get(i)!);
  }

  removeRange(from: number, to: number): Extent[] {
    const removed = this.range(from, to);
    for (const e of removed) this.entries.delete(e.start);
    return removed;
  }

  /** Insert the pages of an extent, one by one; the range must hold nothing. */
  insert(ext: Extent): void {
    for (let i = ext.start; i < ext.start + ext.count; i++) {
      if (this.entries.has(i)) throw new Error(`PageMap.insert: page ${i} is already present`);
      this.entries.set(i, { zone: nodeAt(ext, i), flags: ext.flags, share: ext.share });
    }
  }

  /** Pages per zone id in [from, to), as ExtentMap counts them (zero-page entries under ZERO_PAGE). */
  nodeCounts(from: number, to: number, into = new Map<number, number>()): Map<number, number> {
    for (const i of this.indicesIn(from, to)) {
      const z = this.entries.get(i)!.zone;
      into.set(z, (into.get(z) ?? 0) + 1);
    }
    return into;
  }
}
