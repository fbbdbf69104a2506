/**
 * Memory tiers (mm/memory-tiers.c): tiers by abstract distance, demotion targets by
 * distance within the next tier, the top tier.
 */
import { describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import { memoryTiersOut } from "../../src/kernel/memory-tiers.js";
import type { NodeSpec } from "../../src/kernel/topology.js";
import { resolveDesign } from "../../src/scenario/runner.js";

const MiB = 1024 * 1024;
const node = (id: number, cpus: number[], extra: Partial<NodeSpec> = {}): NodeSpec => ({
  id,
  cpus,
  memoryBytes: 256 * MiB,
  movable: cpus.length === 0,
  kind: "dram",
  cdm: false,
  ...extra,
});

function tiers(nodes: NodeSpec[], distances: number[][]) {
  return memoryTiersOut(
    new Kernel({ nodes, distances }, { design: resolveDesign("mainline") }).memoryTiers(),
  );
}

describe("memory tiers", () => {
  it("each node demotes to the nearest nodes of the next tier; ties give several targets", () => {
    const nodes = [
      node(0, [0]),
      node(1, [1]),
      node(2, [], { adistance: 832 }),
      node(3, [], { adistance: 832 }),
      node(4, [], { adistance: 2880 }),
    ];
    const d = [
      [10, 20, 30, 40, 50],
      [20, 10, 40, 30, 50],
      [30, 40, 10, 40, 50],
      [40, 30, 40, 10, 50],
      [50, 50, 50, 50, 10],
    ];
    expect(tiers(nodes, d)).toEqual({
      tiers: { "4": "0-1", "6": "2-3", "22": "4" },
      demotion: { "0": "2", "1": "3", "2": "4", "3": "4" },
      toptier: "0-1",
    });
    // equidistant slow nodes are all preferred
    const flat = d.map((row, i) => row.map((v, j) => (i === j ? 10 : i < 2 && j >= 2 && j < 4 ? 30 : v)));
    expect(tiers(nodes, flat).demotion).toMatchObject({ "0": "2-3", "1": "2-3" });
  });

  it("a faster tier without CPUs is top tier too, and a CPU node in a slow tier moves the line down", () => {
    const hbm = [node(0, [0]), node(1, [], { adistance: 300 })];
    expect(
      tiers(hbm, [
        [10, 20],
        [20, 10],
      ]),
    ).toEqual({
      tiers: { "2": "1", "4": "0" },
      demotion: { "1": "0" },
      toptier: "0-1",
    });
    const slowCpu = [node(0, [0]), node(1, [1], { adistance: 832 })];
    expect(
      tiers(slowCpu, [
        [10, 20],
        [20, 10],
      ]).toptier,
    ).toBe("0-1");
  });
});
