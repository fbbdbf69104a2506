/**
 * PageTables.pteOnlyRegions() against the region-by-region definition: the regions from
 * vpn on that miss their PTE table and only it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Level, PageTables, PTE_LEVEL } from "../../src/kernel/pagetable.js";

const REGION = 512;

function byRegion(t: PageTables, vpn: number, max: number): number {
  let n = 0;
  while (n < max) {
    const miss = t.missing(vpn + n * REGION);
    if (miss.length !== 1 || miss[0] !== PTE_LEVEL) break;
    n++;
  }
  return n;
}

describe("PageTables.pteOnlyRegions", () => {
  it("agrees with checking region by region", () => {
    // tables near a small window of the address space so that the levels interact:
    // PUD tables cover 2^18 regions, PMD tables 512 regions
    const table = fc.record({
      level: fc.constantFrom<Level>(0, 1, 2),
      first: fc.integer({ min: 0, max: 2200 }),
      count: fc.integer({ min: 1, max: 600 }),
    });
    fc.assert(
      fc.property(
        fc.array(table, { maxLength: 12 }),
        fc.integer({ min: 0, max: 2047 }),
        fc.integer({ min: 0, max: 3000 }),
        (tables, region, max) => {
          const t = new PageTables();
          for (const { level, first, count } of tables) {
            // PUD indices are tiny here: scale the window down per level
            const f = level === 2 ? first : level === 1 ? first % 8 : first % 2;
            const c = level === 2 ? count : Math.min(count, 3);
            for (let i = f; i < f + c; i++) if (!t.levels[level].lookup(i)) t.add(level, i, 1, [0]);
          }
          const vpn = region * REGION;
          expect(t.pteOnlyRegions(vpn, max)).toBe(byRegion(t, vpn, max));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("a fresh address space has no such region (the PUD and PMD are missing)", () => {
    expect(new PageTables().pteOnlyRegions(0, 10)).toBe(0);
  });

  it("stops at the end of the PMD table's gigabyte and at an existing PTE table", () => {
    const t = new PageTables();
    t.add(0, 0, 1, [0]);
    t.add(1, 0, 1, [0]);
    expect(t.pteOnlyRegions(0, 10_000)).toBe(512);
    t.add(2, 100, 1, [0]);
    expect(t.pteOnlyRegions(0, 10_000)).toBe(100);
    expect(t.pteOnlyRegions(101 * REGION, 10_000)).toBe(411);
  });
});
