import { describe, expect, it } from "vitest";
import { getNodes } from "../../src/kernel/syscalls.js";

const bits = (...b: number[]) => ({ kind: "bits" as const, bits: b });

describe("get_nodes(): copying a nodemask from user space", () => {
  it("reads maxnode - 1 bits", () => {
    expect(String(getNodes(bits(0, 1), 1025n))).toBe("0-1");
    expect(String(getNodes(bits(0, 1), 2n))).toBe("0"); // only bit 0
    expect(String(getNodes(bits(0, 1), 1n))).toBe(""); // maxnode 1 → no bits
  });

  it("NULL or maxnode 1 is an empty mask, but maxnode 0 wraps to ULONG_MAX and is EINVAL", () => {
    expect(String(getNodes({ kind: "null" }, 1025n))).toBe("");
    expect(String(getNodes({ kind: "null" }, 0n))).toBe("");
    expect(getNodes(bits(0), 0n)).toBe("EINVAL");
  });

  it("EINVAL above PAGE_SIZE * 8 bits, EFAULT for an unreadable pointer", () => {
    expect(getNodes(bits(0), 32769n)).not.toBe("EINVAL"); // 32768 bits: accepted
    expect(getNodes(bits(0), 32770n)).toBe("EINVAL");
    expect(getNodes({ kind: "bad" }, 1025n)).toBe("EFAULT");
    expect(getNodes({ kind: "bad" }, 40000n)).toBe("EINVAL"); // the size check comes first
    expect(getNodes(bits(0), -1n)).toBe("EINVAL");
  });

  it("T11: a bit at or above MAX_NUMNODES in a word the kernel reads is EINVAL", () => {
    expect(getNodes(bits(1024), 1026n)).toBe("EINVAL");
    // the topmost word is read whole: bit 1030 is above maxnode - 1 = 1025 but still checked
    expect(getNodes(bits(1030), 1026n)).toBe("EINVAL");
    // bit 1100 is in the next word, which is not read
    expect(String(getNodes(bits(0, 1100), 1026n))).toBe("0");
    // with maxnode <= 1025 the high bits are never looked at
    expect(String(getNodes(bits(0, 1024), 1025n))).toBe("0");
  });
});
