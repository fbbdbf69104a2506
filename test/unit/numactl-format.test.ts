import { describe, expect, it } from "vitest";
import { type HardwareNode, numactlHardware } from "../../src/report/numactl.js";

const GiB = 2 ** 30;
const kB = (n: number) => n * 1024;
const seq = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);
/** distances from a SLIT given in ascending node order */
const slit = (ids: readonly number[], m: readonly (readonly number[])[]) => (a: number, b: number) =>
  m[ids.indexOf(a)]![ids.indexOf(b)]!;
const node = (id: number, cpus: readonly number[] = [], totalBytes = GiB, freeBytes = GiB): HardwareNode => ({
  id,
  cpus,
  totalBytes,
  freeBytes,
});
const local10 = (a: number, b: number) => (a === b ? 10 : 20);

describe("numactl --hardware", () => {
  it("prints a two-node machine", () => {
    // Derived from numactl.c:
    // - hardware(): "available: %d nodes (" — node 0 prints "0", node 1 = prev+1 opens a range
    //   with "-", and as it is maxnode inside a range the loop closes it with "1" → "(0-1)".
    // - "node %d cpus:" then print_node_cpus(): " %d" per set cpu, then "\n".
    // - fmt_mem(): numa_node_size64() is MemTotal kB << 10, printed >> 20. 8 GiB = 8388608 kB → 8192 MB;
    //   MemFree 1048575 kB → 1073740800 bytes >> 20 = 1023 (1023.999 rounds down); 8000000 kB → 7812.
    // - print_distances(): "node  " then "% 4d " per node ("   0 ", "   1 "), then each row
    //   "% 4d: " ("   0: ") and "% 4d " per distance ("  10 "): every line but the first ends in " ".
    const out = numactlHardware(
      [node(0, [0, 1, 2, 3], 8 * GiB, kB(1048575)), node(1, [4, 5, 6, 7], 8 * GiB, kB(8000000))],
      slit(
        [0, 1],
        [
          [10, 20],
          [20, 10],
        ],
      ),
    );
    expect(out).toBe(
      "available: 2 nodes (0-1)\n" +
        "node 0 cpus: 0 1 2 3\n" +
        "node 0 size: 8192 MB\n" +
        "node 0 free: 1023 MB\n" +
        "node 1 cpus: 4 5 6 7\n" +
        "node 1 size: 8192 MB\n" +
        "node 1 free: 7812 MB\n" +
        "node distances:\n" +
        "node     0    1 \n" +
        "   0:   10   20 \n" +
        "   1:   20   10 \n",
    );
  });

  it("compresses the node list of the available: line", () => {
    const first = (ids: number[]) =>
      numactlHardware(
        ids.map((id) => node(id)),
        local10,
      ).split("\n")[0];
    expect(first([0, 1, 3])).toBe("available: 3 nodes (0-1,3)");
    expect(first([0, 2, 3])).toBe("available: 3 nodes (0,2-3)");
    expect(first([0])).toBe("available: 1 nodes (0)"); // "1 nodes": the format has no singular
    expect(first([1, 2])).toBe("available: 2 nodes (1-2)");
    expect(first([0, 1, 2, 4, 5, 7])).toBe("available: 6 nodes (0-2,4-5,7)");
    expect(first([2, 4, 6])).toBe("available: 3 nodes (2,4,6)");
  });

  it("prints the same list as plain range compression for every node set within 0..9", () => {
    // hardware() closes a trailing range only when it reaches maxnode; numa_max_node() is the
    // highest node directory, so the last node always closes it and no set comes out odd.
    const ranges = (ids: number[]) => {
      const parts: string[] = [];
      for (let k = 0; k < ids.length; ) {
        let e = k;
        while (e + 1 < ids.length && ids[e + 1] === ids[e]! + 1) e++;
        parts.push(e === k ? `${ids[k]}` : `${ids[k]}-${ids[e]}`);
        k = e + 1;
      }
      return parts.join(",");
    };
    for (let set = 1; set < 1 << 10; set++) {
      const ids = seq(0, 9).filter((i) => set & (1 << i));
      const line = numactlHardware(
        ids.map((id) => node(id)),
        local10,
      ).split("\n")[0];
      expect(line).toBe(`available: ${ids.length} nodes (${ranges(ids)})`);
    }
  });

  it("prints a CPU-less node and a memoryless node, in ascending order whatever the input order", () => {
    const nodes = [
      node(3, [], 16 * GiB, 15 * GiB), // CPU-less (device memory)
      node(1, [2, 3], 0, 0), // memoryless: MemTotal 0 kB
      node(0, [1, 0], 4 * GiB, kB(3 * 1024 * 1024 + 1023)),
    ];
    const d = slit(
      [0, 1, 3],
      [
        [10, 20, 40],
        [20, 10, 40],
        [40, 40, 10],
      ],
    );
    const expected =
      "available: 3 nodes (0-1,3)\n" +
      "node 0 cpus: 0 1\n" +
      "node 0 size: 4096 MB\n" +
      "node 0 free: 3072 MB\n" +
      "node 1 cpus: 2 3\n" +
      "node 1 size: 0 MB\n" +
      "node 1 free: 0 MB\n" +
      "node 3 cpus:\n" +
      "node 3 size: 16384 MB\n" +
      "node 3 free: 15360 MB\n" +
      "node distances:\n" +
      "node     0    1    3 \n" +
      "   0:   10   20   40 \n" +
      "   1:   20   10   40 \n" +
      "   3:   40   40   10 \n";
    expect(numactlHardware(nodes, d)).toBe(expected);
    expect(numactlHardware([...nodes].reverse(), d)).toBe(expected);
    // --cpu-compress: a CPU-less node still gets the count
    expect(numactlHardware(nodes, d, { cpuCompress: true })).toBe(
      expected
        .replace("node 0 cpus: 0 1\n", "node 0 cpus: 0-1 (2)\n")
        .replace("node 1 cpus: 2 3\n", "node 1 cpus: 2-3 (2)\n")
        .replace("node 3 cpus:\n", "node 3 cpus: (0)\n"),
    );
  });

  it("prints --cpu-compress ranges separated by a comma before the space", () => {
    const out = numactlHardware([node(0, [16, 8, 9, 10, 11, 0, 1, 2, 3, 20, 21], 2 * GiB, GiB)], () => 10, {
      cpuCompress: true,
    });
    expect(out).toBe(
      "available: 1 nodes (0)\n" +
        "node 0 cpus: 0-3, 8-11, 16, 20-21 (11)\n" +
        "node 0 size: 2048 MB\n" +
        "node 0 free: 1024 MB\n" +
        "node distances:\n" +
        "node     0 \n" +
        "   0:   10 \n",
    );
  });

  describe("a POWER9 (AC922) with sparse nodes 0, 8, 250-255", () => {
    const ids = [0, 8, 250, 251, 252, 253, 254, 255];
    const cpuNode = (n: number) => n === 0 || n === 8;
    const dist = (a: number, b: number) => (a === b ? 10 : cpuNode(a) && cpuNode(b) ? 40 : 80);
    const nodes = [
      node(0, seq(0, 87), kB(263724608), kB(250000000)),
      node(8, seq(88, 175), kB(267762880), kB(260000000)),
      ...ids.slice(2).map((id) => node(id, [], kB(16515072), kB(16384000))),
    ];
    // MemTotal 263724608 kB / 1024 = 257543.56 → 257543 MB; 250000000 kB → 244140 MB;
    // 267762880 kB → 261487 MB; 260000000 kB → 253906 MB; 16515072 kB → 16128; 16384000 kB → 16000.
    const gpu = (id: number) => `node ${id} cpus:\nnode ${id} size: 16128 MB\nnode ${id} free: 16000 MB\n`;
    const gpuC = (id: number) =>
      `node ${id} cpus: (0)\nnode ${id} size: 16128 MB\nnode ${id} free: 16000 MB\n`;
    const distances =
      "node distances:\n" +
      "node     0    8  250  251  252  253  254  255 \n" +
      "   0:   10   40   80   80   80   80   80   80 \n" +
      "   8:   40   10   80   80   80   80   80   80 \n" +
      " 250:   80   80   10   80   80   80   80   80 \n" +
      " 251:   80   80   80   10   80   80   80   80 \n" +
      " 252:   80   80   80   80   10   80   80   80 \n" +
      " 253:   80   80   80   80   80   10   80   80 \n" +
      " 254:   80   80   80   80   80   80   10   80 \n" +
      " 255:   80   80   80   80   80   80   80   10 \n";

    it("prints every cpu", () => {
      expect(numactlHardware(nodes, dist)).toBe(
        "available: 8 nodes (0,8,250-255)\n" +
          `node 0 cpus: ${seq(0, 87).join(" ")}\n` +
          "node 0 size: 257543 MB\n" +
          "node 0 free: 244140 MB\n" +
          `node 8 cpus: ${seq(88, 175).join(" ")}\n` +
          "node 8 size: 261487 MB\n" +
          "node 8 free: 253906 MB\n" +
          gpu(250) +
          gpu(251) +
          gpu(252) +
          gpu(253) +
          gpu(254) +
          gpu(255) +
          distances,
      );
    });

    it("prints cpu ranges with --cpu-compress", () => {
      expect(numactlHardware(nodes, dist, { cpuCompress: true })).toBe(
        "available: 8 nodes (0,8,250-255)\n" +
          "node 0 cpus: 0-87 (88)\n" +
          "node 0 size: 257543 MB\n" +
          "node 0 free: 244140 MB\n" +
          "node 8 cpus: 88-175 (88)\n" +
          "node 8 size: 261487 MB\n" +
          "node 8 free: 253906 MB\n" +
          gpuC(250) +
          gpuC(251) +
          gpuC(252) +
          gpuC(253) +
          gpuC(254) +
          gpuC(255) +
          distances,
      );
    });
  });

  it("says there is no distance information when numa_distance(maxnode, first node) is 0", () => {
    const nodes = [node(1, [0], GiB, GiB), node(2, [1], GiB, GiB)];
    const tail = "node 2 cpus: 1\nnode 2 size: 1024 MB\nnode 2 free: 1024 MB\n";
    expect(numactlHardware(nodes, () => 0)).toBe(
      "available: 2 nodes (1-2)\n" +
        "node 1 cpus: 0\nnode 1 size: 1024 MB\nnode 1 free: 1024 MB\n" +
        tail +
        "No distance information available.\n",
    );
    // only that one entry is checked: 0 in (2, 1) hides the table ...
    const from2 = (d: (a: number, b: number) => number) => {
      const out = numactlHardware(nodes, d);
      return out.slice(out.indexOf("node 2 cpus:"));
    };
    expect(from2((a, b) => (a === 2 && b === 1 ? 0 : 10))).toBe(
      `${tail}No distance information available.\n`,
    );
    // ... and 0 elsewhere is printed as a distance of 0
    expect(from2((a, b) => (a === 1 && b === 2 ? 0 : 10))).toBe(
      `${tail}node distances:\nnode     1    2 \n   1:   10    0 \n   2:   10   10 \n`,
    );
  });

  it("prints <not available> for a size of -1 (an unreadable meminfo: size -1, free 0)", () => {
    const out = numactlHardware([node(0, [0], -1, 0)], () => 10);
    expect(out).toBe(
      "available: 1 nodes (0)\n" +
        "node 0 cpus: 0\n" +
        "node 0 size: <not available>\n" +
        "node 0 free: 0 MB\n" +
        "node distances:\n" +
        "node     0 \n" +
        "   0:   10 \n",
    );
  });

  it("widens % 4d cells for four-digit numbers instead of cutting them", () => {
    const out = numactlHardware([node(0, [0]), node(1000, [1])], (a, b) => (a === b ? 10 : 1000));
    expect(out.slice(out.indexOf("node distances:"))).toBe(
      "node distances:\n" + "node     0  1000 \n" + "   0:   10  1000 \n" + " 1000:  1000   10 \n",
    );
  });
});
