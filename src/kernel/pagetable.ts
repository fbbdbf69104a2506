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
