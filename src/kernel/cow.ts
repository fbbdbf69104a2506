/**
 * Private anonymous pages shared copy-on-write after fork (kernel/fork.c dup_mmap ->
 * mm/memory.c copy_page_range -> copy_present_pte: the page is write-protected in both page
 * tables and its mapcount raised; do_wp_page() later copies it for a writer while others
 * still map it, and reuses it for the last one).
 *
 * A fork puts the pages the parent owned alone into a new group; pages already in a group
 * stay there and gain a mapper. A page is identified by its group and its virtual page
 * number (fork keeps addresses and the model moves no page to another address), and the
 * group counts, per virtual page, how many address spaces map its page there: the page is
 * freed when the count drops to 0.
 */
import {
  clip,
  type Extent,
  ExtentMap,
  extentNodeCounts,
  makeExtent,
  type ShareGroup,
  ZERO_PAGE,
} from "./extents.js";
import type { Mm } from "./mm.js";

export class CowGroup implements ShareGroup {
  readonly id: number;
  /** vpn → number of address spaces mapping the group's page there (pattern [count]) */
  private readonly counts = new ExtentMap();
  /** the address spaces whose page tables hold pages of the group */
  readonly members = new Set<Mm>();

  constructor(id: number) {
    this.id = id;
  }

  /** page_mapcount() of the group's page at vpn (0 when it has none) */
  mapcount(vpn: number): number {
    return this.counts.lookup(vpn)?.pattern[0] ?? 0;
  }

  /** The mapcounts over [from, to): runs of equal count (0 where the group has no page). */
  mapcounts(from: number, to: number): { start: number; end: number; count: number }[] {
    const out: { start: number; end: number; count: number }[] = [];
    let cur = from;
    for (const e of this.counts.range(from, to)) {
      if (e.start > cur) out.push({ start: cur, end: e.start, count: 0 });
      out.push({ start: e.start, end: e.start + e.count, count: e.pattern[0]! });
      cur = e.start + e.count;
    }
    if (cur < to) out.push({ start: cur, end: to, count: 0 });
    return out;
  }

  /** Add `by` mappers to the pages of [from, to); returns the ranges whose count fell to 0. */
  adjust(from: number, to: number, by: number): { start: number; end: number }[] {
    const freed: { start: number; end: number }[] = [];
    const runs = this.mapcounts(from, to);
    this.counts.removeRange(from, to);
    for (const r of runs) {
      const c = r.count + by;
      if (c > 0) this.counts.insert(makeExtent(r.start, r.end - r.start, [c], 0));
      else if (r.count > 0) freed.push({ start: r.start, end: r.end });
    }
    return freed;
  }
}

/**
 * An address space stops mapping some pages (munmap, exit, a copy-on-write copy, a
 * migration): of each extent removed from its page table, the pages it owned alone are
 * freed, and the pages of a group lose a mapper and are freed with the last one.
 * Zero-page entries free nothing. Returns the pages to free per zone id.
 */
export function unmapPages(removed: Iterable<Extent>, into = new Map<number, number>()): Map<number, number> {
  for (const e of removed) {
    if (e.pattern.length === 1 && e.pattern[0] === ZERO_PAGE) continue; // not a page of ours
    if (!e.share) {
      extentNodeCounts(e, into);
      continue;
    }
    const g = e.share as CowGroup;
    for (const f of g.adjust(e.start, e.start + e.count, -1))
      extentNodeCounts(clip(e, f.start, f.end)!, into);
  }
  return into;
}
