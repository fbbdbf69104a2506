/**
 * The model's zones against /proc/zoneinfo of the real kernel: Debian's
 * linux-image-6.1.0-56-amd64 booted under QEMU 7.2 (TCG) on six machines, with
 * memhp_default_state=online_movable and transparent_hugepage=never (and once =always).
 * Movable nodes are pc-dimm devices, so those machines also had memory-hotplug slots.
 * Rows: node, zone, present, managed, min, low, high, protection[0..3] (as read before any
 * write to lowmem_reserve_ratio); then min_free_kbytes. Free pages vary from boot to boot
 * and are not compared.
 */
import { describe, expect, it } from "vitest";
import { mainline } from "../../src/designs/mainline.js";
import { ZONE_NAMES } from "../../src/kernel/constants.js";
import { Kernel } from "../../src/kernel/kernel.js";
import type { MachineSpec } from "../../src/kernel/topology.js";
import { node } from "../helpers/machines.js";

type Row = [number, string, number, number, number, number, number, number[]];

const d = (rows: number[][]) => rows;

/** the initrd of the boots these figures come from: 1029629 bytes */
const CALIBRATION_INITRD_PAGES = 252;

const MACHINES: Record<string, { machine: MachineSpec; thp?: "always"; minFree: number; zones: Row[] }> = {
  "A: 2 × 384 MiB + 384 MiB hot-plugged movable node": {
    machine: {
      nodes: [node(0, [0], 384), node(1, [1], 384), node(2, [], 384, { movable: true })],
      distances: d([
        [10, 20, 80],
        [20, 10, 80],
        [80, 80, 10],
      ]),
    },
    minFree: 3219,
    zones: [
      [0, "DMA", 3998, 3840, 11, 14, 17, [0, 309, 309, 309]],
      [0, "DMA32", 94208, 81245, 243, 322, 401, [0, 0, 0, 0]],
      [1, "DMA32", 98272, 79998, 245, 324, 403, [0, 0, 0, 0]],
      [2, "Movable", 98304, 98304, 302, 400, 498, [0, 0, 0, 0]],
    ],
  },
  "A with transparent_hugepage=always": {
    machine: {
      nodes: [node(0, [0], 384), node(1, [1], 384), node(2, [], 384, { movable: true })],
      distances: d([
        [10, 20, 80],
        [20, 10, 80],
        [80, 80, 10],
      ]),
    },
    thp: "always",
    minFree: 32400,
    zones: [
      [0, "DMA", 3998, 3840, 119, 148, 177, [0, 309, 309, 309]],
      [0, "DMA32", 94208, 81245, 2458, 3072, 3686, [0, 0, 0, 0]],
      [1, "DMA32", 98272, 79998, 2473, 3091, 3709, [0, 0, 0, 0]],
      [2, "Movable", 98304, 98304, 3049, 3811, 4573, [0, 0, 0, 0]],
    ],
  },
  "B: 2 × 384 MiB": {
    machine: {
      nodes: [node(0, [0], 384), node(1, [1], 384)],
      distances: d([
        [10, 20],
        [20, 10],
      ]),
    },
    minFree: 3376,
    zones: [
      [0, "DMA", 3998, 3840, 18, 22, 26, [0, 309, 309, 309]],
      [0, "DMA32", 94208, 81245, 372, 465, 558, [0, 0, 0, 0]],
      [1, "DMA32", 98272, 96617, 453, 566, 679, [0, 0, 0, 0]],
    ],
  },
  "C: 2 × 512 MiB + 512 MiB movable, all distances 20 (the CPU-less node comes first)": {
    machine: {
      nodes: [node(0, [0], 512), node(1, [1], 512), node(2, [], 512, { movable: true })],
      distances: d([
        [10, 20, 20],
        [20, 10, 20],
        [20, 20, 10],
      ]),
    },
    minFree: 3805,
    zones: [
      [0, "DMA", 3998, 3840, 10, 13, 16, [0, 435, 435, 435]],
      [0, "DMA32", 126976, 113501, 295, 406, 517, [0, 0, 0, 0]],
      [1, "DMA32", 131040, 112254, 297, 409, 521, [0, 0, 0, 0]],
      [2, "Movable", 131072, 131072, 347, 478, 609, [0, 0, 0, 0]],
    ],
  },
  "D: 4 × 256 MiB": {
    machine: {
      nodes: [0, 1, 2, 3].map((i) => node(i, [i], 256)),
      distances: [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 10 : 20))),
    },
    minFree: 3937,
    zones: [
      [0, "DMA", 3998, 3840, 15, 18, 21, [0, 183, 183, 183]],
      [0, "DMA32", 61440, 48989, 189, 236, 283, [0, 0, 0, 0]],
      [1, "DMA32", 65536, 64406, 260, 325, 390, [0, 0, 0, 0]],
      [2, "DMA32", 65536, 64406, 260, 325, 390, [0, 0, 0, 0]],
      [3, "DMA32", 65504, 64361, 258, 322, 386, [0, 0, 0, 0]],
    ],
  },
  "F: 512 MiB, a memoryless CPU node, 512 MiB": {
    machine: {
      nodes: [node(0, [0], 512), node(1, [1], 0), node(2, [2], 512)],
      distances: d([
        [10, 20, 20],
        [20, 10, 20],
        [20, 20, 10],
      ]),
    },
    minFree: 3938,
    zones: [
      [0, "DMA", 3998, 3840, 15, 18, 21, [0, 435, 435, 435]],
      [0, "DMA32", 126976, 113501, 449, 561, 673, [0, 0, 0, 0]],
      [2, "DMA32", 131040, 128769, 518, 647, 776, [0, 0, 0, 0]],
    ],
  },
};

describe("zones equal the real kernel's /proc/zoneinfo", () => {
  for (const [name, m] of Object.entries(MACHINES)) {
    it(name, () => {
      const k = new Kernel(m.machine, {
        design: mainline,
        thp: m.thp,
        initrdPages: CALIBRATION_INITRD_PAGES,
      });
      const rows: Row[] = k.zoneById
        .filter((z) => z.populated)
        .map((z) => [
          z.node,
          ZONE_NAMES[z.type],
          z.present,
          z.managed,
          z.min,
          z.low,
          z.high,
          [...z.lowmemReserve],
        ]);
      expect(rows).toEqual(m.zones);
      expect(k.minFreeKbytes).toBe(m.minFree);
    });
  }

  it("fallback orders equal the kernel's last lines (C: a CPU-less node wins ties; F: a memoryless node)", () => {
    const c = new Kernel(
      MACHINES["C: 2 × 512 MiB + 512 MiB movable, all distances 20 (the CPU-less node comes first)"]!.machine,
      {
        design: mainline,
      },
    );
    expect(c.fallbackOrderLines()).toEqual([
      "Fallback order for Node 0: 0 2 1 ",
      "Fallback order for Node 1: 1 2 0 ",
      "Fallback order for Node 2: 2 0 1 ",
    ]);
    const f = new Kernel(MACHINES["F: 512 MiB, a memoryless CPU node, 512 MiB"]!.machine, {
      design: mainline,
    });
    expect(f.fallbackOrderLines()).toEqual([
      "Fallback order for Node 0: 0 2 ",
      "Fallback order for Node 1: 1 2 0 ",
      "Fallback order for Node 2: 2 0 ",
    ]);
    expect([f.nCpu.toString(), f.nMemory.toString(), f.nNormalMemory.toString()]).toEqual([
      "0-2",
      "0,2",
      "0,2",
    ]);
  });

  it("free memory after boot is below managed by the kernel's own use (a few thousand pages per node)", () => {
    const k = new Kernel(MACHINES["B: 2 × 384 MiB"]!.machine, { design: mainline });
    for (const z of k.zoneById.filter((zz) => zz.populated && zz.type > 0)) {
      expect(z.managed - z.free).toBeGreaterThan(1000);
      expect(z.managed - z.free).toBeLessThan(10000);
    }
  });
});
