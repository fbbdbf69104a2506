/**
 * Page-table pages of an address space (x86_64 with 4-level paging): a PTE table maps
 * 2 MiB, a PMD table 1 GiB, a PUD table 512 GiB; the PGD always exists. Tables are
 * allocated by the first fault under them (__pud_alloc, __pmd_alloc, __pte_alloc in
 * mm/memory.c) with GFP_PGTABLE_USER under the task's memory policy, and freed when no VMA
 * is left under them (free_pgtables).
 */
import { type Extent, ExtentMap, extentNodeCounts, makeExtent, type PageTable } from "./extents.js";

/** Pages a table of each level covers, by page-number shift: PTE 2^9, PMD 2^18, PUD 2^27. */
export const LEVELS = [
  { name: "PUD", shift: 27 },
  { name: "PMD", shift: 18 },
  { name: "PTE", shift: 9 },
] as const;
export type Level = 0 | 1 | 2;
export const PTE_LEVEL: Level = 2;

export class PageTables {
  /** per level: table index (vpn >> shift) → zone of the table page */
  readonly levels: [PageTable, PageTable, PageTable];

  constructor(factory: () => PageTable = () => new ExtentMap()) {
    this.levels = [factory(), factory(), factory()];
  }

  /** The levels whose table is missing for the page at vpn, top down. */
  missing(vpn: number): Level[] {
    const out: Level[] = [];
    for (let l = 0 as Level; l <= 2; l = (l + 1) as Level) {
      if (!this.levels[l].lookup(Math.floor(vpn / 2 ** LEVELS[l].shift))) out.push(l);
    }
    return out;
  }

  /**
   * How many whole PTE-table regions from `vpn` (a multiple of 512) on, up to `maxRegions`,
   * miss their PTE table and only it (the PMD and PUD tables above them exist): the stretch
   * a fault run can fill with one cycle of requests. Costs a few range queries.
   */
  pteOnlyRegions(vpn: number, maxRegions: number): number {
    const first = vpn / 2 ** LEVELS[PTE_LEVEL].shift;
    let end = first + maxRegions;
    const present = this.levels[PTE_LEVEL].range(first, end)[0];
    if (present) end = present.start;
    // the upper levels must cover the stretch without a hole
    for (const level of [0, 1] as const) {
      const per = 2 ** (LEVELS[level].shift - LEVELS[PTE_LEVEL].shift); // regions per table
      const from = Math.floor(first / per);
      let covered = from;
      for (const e of this.levels[level].range(from, Math.ceil(end / per))) {
        if (e.start !== covered) break;
        covered = e.start + e.count;
      }
      end = Math.min(end, Math.max(first, covered * per));
    }
    return end - first;
  }

  add(level: Level, firstTable: number, count: number, zones: readonly number[]): void {
    this.levels[level].insert(makeExtent(firstTable, count, zones, 0));
  }

  /** Table pages (mm_pgtables_bytes / PAGE_SIZE, without the PGD). */
  get pages(): number {
    return this.levels[0].pages + this.levels[1].pages + this.levels[2].pages;
  }

  /** Remove the tables of a level in [from, to) (table indices); returns them. */
  remove(level: Level, from: number, to: number): Extent[] {
    return this.levels[level].removeRange(from, to);
  }

  /** Pages per zone of all tables (for giving them back). */
  zoneCounts(into = new Map<number, number>()): Map<number, number> {
    for (const l of this.levels) for (const e of l.all()) extentNodeCounts(e, into);
    return into;
  }
}
