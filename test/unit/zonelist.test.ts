import { describe, expect, it } from "vitest";
import { mainline } from "../../src/designs/mainline.js";
import { ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL } from "../../src/kernel/constants.js";
import { Kernel } from "../../src/kernel/kernel.js";
import type { MachineSpec } from "../../src/kernel/topology.js";
import { equidistant, gpuMachine, node } from "../helpers/machines.js";

const boot = (m: MachineSpec) => new Kernel(m, { design: mainline });

describe("build_zonelists / find_next_best_node", () => {
  it("T43: equidistant nodes round-robin through node_load", () => {
    expect(boot(equidistant(4)).fallbackOrderLines()).toEqual([
      "Fallback order for Node 0: 0 1 2 3 ",
      "Fallback order for Node 1: 1 2 3 0 ",
      "Fallback order for Node 2: 2 3 0 1 ",
      "Fallback order for Node 3: 3 0 1 2 ",
    ]);
  });

  it("T44: two levels of distance", () => {
    const m: MachineSpec = {
      nodes: equidistant(4).nodes,
      distances: [
        [10, 12, 20, 22],
        [12, 10, 22, 20],
        [20, 22, 10, 12],
        [22, 20, 12, 10],
      ],
    };
    expect(boot(m).fallbackOrderLines()).toEqual([
      "Fallback order for Node 0: 0 1 2 3 ",
      "Fallback order for Node 1: 1 0 3 2 ",
      "Fallback order for Node 2: 2 3 0 1 ",
      "Fallback order for Node 3: 3 2 1 0 ",
    ]);
  });

  it("a CPU-less node at distance 80 comes last, and falls back to node 0 first", () => {
    const k = boot(gpuMachine());
    expect(k.fallbackOrderLines()).toEqual([
      "Fallback order for Node 0: 0 1 2 ",
      "Fallback order for Node 1: 1 0 2 ",
      "Fallback order for Node 2: 2 0 1 ",
    ]);
    // the zonelist holds zones node by node, highest zone type first
    const zl = k.zonelists.get(0)!.fallback.map((z) => z.label);
    expect(zl[0]).toBe("Node 0 DMA32");
    expect(zl[zl.length - 1]).toBe("Node 2 Movable");
    expect(k.zonelists.get(2)!.nofallback.map((z) => z.type)).toEqual([ZONE_MOVABLE]);
  });

  it("T45: a memoryless CPU node lists itself first, then the nearest nodes with memory", () => {
    // T3m: node 1 has CPUs but no memory
    const m: MachineSpec = {
      nodes: [node(0, [0], 256), node(1, [1], 0), node(2, [2], 256)],
      distances: [
        [10, 20, 20],
        [20, 10, 20],
        [20, 20, 10],
      ],
    };
    const k = boot(m);
    expect(k.fallbackOrderLines()[1]).toBe("Fallback order for Node 1: 1 2 0 ");
    expect(k.nMemory.toString()).toBe("0,2");
    expect(k.online.toString()).toBe("0-2");
  });

  it("a CPU-less node beats a CPU node at the same distance (PENALTY_FOR_NODE_WITH_CPUS)", () => {
    const distances = [
      [10, 20, 21],
      [20, 10, 21],
      [21, 21, 10],
    ];
    const m: MachineSpec = { nodes: [node(0, [0], 256), node(1, [1], 256), node(2, [], 256)], distances };
    // from node 0: node 1 scores 20 + 0 + 1 = 21, node 2 at distance 21 scores 21 + 0 + 0 = 21: a tie,
    // which goes to the lower id; at distance 20 node 2 scores 20 and wins.
    expect(boot(m).fallbackOrderLines()[0]).toBe("Fallback order for Node 0: 0 1 2 ");
    distances[0]![2] = 20;
    expect(boot(m).fallbackOrderLines()[0]).toBe("Fallback order for Node 0: 0 2 1 ");
  });

  it("policy_zone is the highest populated zone below ZONE_MOVABLE", () => {
    expect(boot(gpuMachine()).policyZone).toBe(ZONE_DMA32); // 768 MiB of boot memory: all below 4 GiB
    expect(boot(gpuMachine(4096)).policyZone).toBe(ZONE_NORMAL);
  });
});
