import { describe, expect, it } from "vitest";
import { clip, ExtentMap, makeExtent, nodeAt, normalizePattern } from "../../src/kernel/extents.js";

/** Expand a map into page → value for checking. */
function pages(m: ExtentMap): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of m.all()) for (let i = e.start; i < e.start + e.count; i++) out.set(i, nodeAt(e, i));
  return out;
}

describe("extents", () => {
  it("normalises repeating patterns", () => {
    expect(normalizePattern([0, 1, 0, 1], 100)).toEqual([0, 1]);
    expect(normalizePattern([0, 1, 0], 100)).toEqual([0, 1, 0]); // length 3 is not a multiple of period 2
    expect(normalizePattern([0, 1, 0], 3)).toEqual([0, 1]); // ...unless the extent ends inside the pattern
    expect(normalizePattern([7, 7, 7], 9)).toEqual([7]);
  });

  it("clips with the pattern rotated to the new start", () => {
    const e = makeExtent(10, 10, [0, 1, 2], 0);
    const c = clip(e, 11, 15)!;
    expect(c.start).toBe(11);
    expect([11, 12, 13, 14].map((i) => nodeAt(c, i))).toEqual([1, 2, 0, 1]);
  });

  it("inserts, merges equal neighbours and removes ranges", () => {
    const m = new ExtentMap();
    m.insert(makeExtent(0, 4, [5], 1));
    m.insert(makeExtent(4, 4, [5], 1));
    expect(m.size).toBe(1);
    m.insert(makeExtent(8, 2, [6], 1));
    expect(m.size).toBe(2);
    const removed = m.removeRange(2, 9);
    expect(removed.reduce((s, e) => s + e.count, 0)).toBe(7);
    expect([...pages(m)]).toEqual([
      [0, 5],
      [1, 5],
      [9, 6],
    ]);
    expect(m.pages).toBe(3);
  });

  it("stays consistent over many scattered inserts and removals (leaf splits)", () => {
    const m = new ExtentMap();
    const ref = new Map<number, number>();
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let i = 0; i < 3000; i++) {
      const start = rnd(5000);
      const count = 1 + rnd(8);
      if (rnd(3) === 0) {
        m.removeRange(start, start + count);
        for (let p = start; p < start + count; p++) ref.delete(p);
      } else {
        m.removeRange(start, start + count);
        const pat = rnd(2) ? [rnd(3)] : [rnd(3), rnd(3)];
        m.insert(makeExtent(start, count, pat, 0));
        for (let p = start; p < start + count; p++) ref.set(p, pat[(p - start) % pat.length]!);
      }
    }
    const got = pages(m);
    expect(got.size).toBe(ref.size);
    for (const [p, v] of ref) expect(got.get(p)).toBe(v);
    expect(m.pages).toBe(ref.size);
    // extents come out sorted and disjoint
    let last = -1;
    for (const e of m.all()) {
      expect(e.start).toBeGreaterThanOrEqual(last);
      last = e.start + e.count;
    }
    // range() clips to the range
    const inRange = [...m.range(1000, 1100)].reduce((s, e) => s + e.count, 0);
    expect(inRange).toBe([...ref.keys()].filter((p) => p >= 1000 && p < 1100).length);
  });
});
