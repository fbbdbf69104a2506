import { describe, expect, it } from "vitest";
import { formatNodeList, Nodemask, parseList } from "../../src/kernel/nodemask.js";

const m = (...ids: number[]) => Nodemask.of(...ids);

describe("Nodemask", () => {
  it("prints and parses the Linux list format", () => {
    expect(m(0, 1, 2, 5).toString()).toBe("0-2,5");
    expect(m().toString()).toBe("");
    expect(formatNodeList([0, 8, 250, 251, 252, 253, 254, 255])).toBe("0,8,250-255");
    expect(parseList("0-2,5", 1024)).toEqual([0, 1, 2, 5]);
    expect(parseList("", 1024)).toEqual([]);
    expect(() => parseList("3-1", 1024)).toThrow(/backwards/);
    expect(() => parseList("1024", 1024)).toThrow(/out of range/);
    expect(() => parseList("a", 1024)).toThrow();
  });

  it("next_node_in wraps and first_node of an empty mask is MAX_NUMNODES", () => {
    expect(m(1, 3).nextIn(1023)).toBe(1);
    expect(m(1, 3).nextIn(1)).toBe(3);
    expect(m(1, 3).nextIn(3)).toBe(1);
    expect(m().first()).toBe(1024);
    expect(m().nextIn(5)).toBe(1024);
  });

  it("remaps by ordinal (bitmap_remap)", () => {
    // T61: {0,1} in old mems {0,1} onto new mems {2,3}
    expect(m(0, 1).remap(m(0, 1), m(2, 3)).toString()).toBe("2-3");
    // a node outside `from` keeps its number
    expect(m(5).remap(m(0, 1), m(2, 3)).toString()).toBe("5");
    // more old nodes than new: ordinals wrap
    expect(
      m(0, 1, 2)
        .remap(m(0, 1, 2), m(4))
        .toString(),
    ).toBe("4");
    expect(Nodemask.nodeRemap(2, m(0, 1, 2), m(3, 4))).toBe(3);
  });

  it("folds and maps onto (MPOL_F_RELATIVE_NODES)", () => {
    // T63: relative {2,3,4,5} folded to 5 nodes is {0,2,3,4} (5 wraps to 0); onto {3,4,5,6,7}
    // that is the 0th, 2nd, 3rd and 4th of them
    expect(
      m(2, 3, 4, 5)
        .fold(5)
        .onto(m(3, 4, 5, 6, 7))
        .toString(),
    ).toBe("3,5-7");
    expect(
      m(0, 1)
        .fold(4)
        .onto(m(3, 5, 6, 7))
        .toString(),
    ).toBe("3,5");
    expect(m(0, 4).fold(4).toString()).toBe("0");
  });

  it("set operations", () => {
    expect(
      m(0, 1, 2)
        .and(m(1, 2, 3))
        .toString(),
    ).toBe("1-2");
    expect(m(0).or(m(5)).toString()).toBe("0,5");
    expect(m(0, 1, 2).andNot(m(1)).toString()).toBe("0,2");
    expect(m(0, 1).isSubsetOf(m(0, 1, 2))).toBe(true);
    expect(m(0, 3).isSubsetOf(m(0, 1, 2))).toBe(false);
    expect(m(1023).has(1023)).toBe(true);
    expect(() => m(1024)).toThrow(RangeError);
  });
});
