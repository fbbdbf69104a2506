import { describe, expect, it } from "vitest";
import type { NumaStat } from "../../src/kernel/kernel.js";
import { numastatCompat } from "../../src/report/numastat.js";

const stat = (
  numa_hit: number,
  numa_miss: number,
  numa_foreign: number,
  interleave_hit: number,
  local_node: number,
  other_node: number,
): NumaStat => ({ numa_hit, numa_miss, numa_foreign, interleave_hit, local_node, other_node });
const zero = stat(0, 0, 0, 0, 0, 0);
/** a 16-wide right-justified cell */
const r16 = (s: string | number) => String(s).padStart(16);
const LABELS = ["numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node"];

describe("numastat (compatibility mode)", () => {
  it("prints a two-node table", () => {
    // Derived from numastat.c show_info_from_system_file() + display_table() with
    // compatibility_mode = 1: header_rows = 2 - 1 = 1, so there is no "----" row; column 0 is
    // 16 wide, left-justified, and its header cell is empty (16 spaces); each node column is
    // 16 wide, right-justified, headed "node<N>"; values are "%.0f" (0 decimal places); the
    // total column is never given a width, so it prints nothing. Rows keep the file's order
    // and zero rows (numa_miss of node 0 ...) are shown since show_zero_data is 1.
    const out = numastatCompat([
      { id: 0, stat: stat(1234567, 0, 12, 345, 1234000, 567) },
      { id: 1, stat: stat(89, 12, 0, 340, 80, 9) },
    ]);
    expect(out).toBe(
      "                           node0           node1\n" +
        "numa_hit                 1234567              89\n" +
        "numa_miss                      0              12\n" +
        "numa_foreign                  12               0\n" +
        "interleave_hit               345             340\n" +
        "local_node               1234000              80\n" +
        "other_node                   567               9\n",
    );
  });

  it("sorts nodes by number and shows an all-zero table", () => {
    const out = numastatCompat([
      { id: 3, stat: zero },
      { id: 0, stat: zero },
      { id: 1, stat: zero },
    ]);
    expect(out).toBe(
      "                           node0           node1           node3\n" +
        "numa_hit                       0               0               0\n" +
        "numa_miss                      0               0               0\n" +
        "numa_foreign                   0               0               0\n" +
        "interleave_hit                 0               0               0\n" +
        "local_node                     0               0               0\n" +
        "other_node                     0               0               0\n",
    );
  });

  describe("a POWER9 (AC922) with sparse nodes 0, 8, 250-255", () => {
    const ids = [0, 8, 250, 251, 252, 253, 254, 255];
    const nodes = ids.map((id, k) => ({
      id,
      stat: id < 250 ? stat(5000000 + k, 1000, 2000, 30, 4999000, 1000) : stat(0, 7000, 0, 0, 0, 7000),
    }));

    it("prints one line per row when the output is not a terminal", () => {
      // get_screen_width(): not a tty and no NUMASTAT_WIDTH → 10000000, so nothing folds.
      expect(numastatCompat(nodes)).toBe(
        "                           node0           node8         node250         node251" +
          "         node252         node253         node254         node255\n" +
          "numa_hit                 5000000         5000001               0               0" +
          "               0               0               0               0\n" +
          "numa_miss                   1000            1000            7000            7000" +
          "            7000            7000            7000            7000\n" +
          "numa_foreign                2000            2000               0               0" +
          "               0               0               0               0\n" +
          "interleave_hit                30              30               0               0" +
          "               0               0               0               0\n" +
          "local_node               4999000         4999000               0               0" +
          "               0               0               0               0\n" +
          "other_node                  1000            1000            7000            7000" +
          "            7000            7000            7000            7000\n",
      );
    });

    it("folds at 80 columns into sections of four nodes, separated by a blank line", () => {
      // display_table(): a line holds the 16-wide label plus data columns while
      // width + 16 <= 80, i.e. 4 node columns (16 + 4 * 16 = 80); then a "\n" and a new section.
      const section1 =
        "                           node0           node8         node250         node251\n" +
        "numa_hit                 5000000         5000001               0               0\n" +
        "numa_miss                   1000            1000            7000            7000\n" +
        "numa_foreign                2000            2000               0               0\n" +
        "interleave_hit                30              30               0               0\n" +
        "local_node               4999000         4999000               0               0\n" +
        "other_node                  1000            1000            7000            7000\n";
      const section2 =
        "                         node252         node253         node254         node255\n" +
        "numa_hit                       0               0               0               0\n" +
        "numa_miss                   7000            7000            7000            7000\n" +
        "numa_foreign                   0               0               0               0\n" +
        "interleave_hit                 0               0               0               0\n" +
        "local_node                     0               0               0               0\n" +
        "other_node                  7000            7000            7000            7000\n";
      expect(numastatCompat(nodes, 80)).toBe(`${section1}\n${section2}`);
      // 79 columns leave room for three node columns: sections of 3, 3 and 2
      const out79 = numastatCompat(nodes, 79);
      expect(out79.split("\n\n").map((s) => s.split("\n")[0])).toEqual([
        "                           node0           node8         node250",
        "                         node251         node252         node253",
        "                         node254         node255",
      ]);
      // get_screen_width(): an invalid width (0) falls back to 80
      expect(numastatCompat(nodes, 0)).toBe(`${section1}\n${section2}`);
    });

    it("raises a narrow screen width to 32, one node per section", () => {
      const one = (id: number, hit: number, miss: number, other: number) =>
        `${r16("")}${r16(`node${id}`)}\n` +
        [hit, miss, miss === 7000 ? 0 : 2000, miss === 7000 ? 0 : 30, miss === 7000 ? 0 : 4999000, other]
          .map((v, k) => `${LABELS[k]!.padEnd(16)}${r16(v)}\n`)
          .join("");
      const expected = [
        one(0, 5000000, 1000, 1000),
        one(8, 5000001, 1000, 1000),
        ...[250, 251, 252, 253, 254, 255].map((id) => one(id, 0, 7000, 7000)),
      ].join("\n");
      expect(numastatCompat(nodes, 10)).toBe(expected);
      expect(numastatCompat(nodes, 47)).toBe(expected);
      expect(numastatCompat(nodes, 48).split("\n\n")).toHaveLength(4);
    });
  });

  it("prints large counters as the exact decimal of a double, cut to the 16-wide column", () => {
    // fmt_cell_data() writes "%.0f" and then truncates the text at the column width:
    // - 123456789012345 (15 digits) keeps one space of padding;
    // - 9007199254740991 (16 digits) fills the column and touches the label;
    // - 2^60 = 1152921504606846976 keeps its first 16 digits (String() would say ...847000);
    // - 2^64 is above LONG_MAX, where atol() saturates: 2^63 = 9223372036854775808 → 16 digits.
    const out = numastatCompat([
      { id: 0, stat: stat(123456789012345, 9007199254740991, 2 ** 60, 2 ** 64, 1e16, 99999999) },
    ]);
    expect(out).toBe(
      "                           node0\n" +
        "numa_hit         123456789012345\n" +
        "numa_miss       9007199254740991\n" +
        "numa_foreign    1152921504606846\n" +
        "interleave_hit  9223372036854775\n" +
        "local_node      1000000000000000\n" +
        "other_node              99999999\n",
    );
  });

  it("rejects counters the kernel can't show", () => {
    expect(() => numastatCompat([{ id: 0, stat: stat(-1, 0, 0, 0, 0, 0) }])).toThrow(RangeError);
    expect(() => numastatCompat([])).toThrow(/not NUMA aware/);
  });
});
