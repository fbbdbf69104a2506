/** Small machines for tests. */
import type { MachineSpec, NodeSpec } from "../../src/kernel/topology.js";

const MiB = 1024 * 1024;

export function node(id: number, cpus: number[], mib: number, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { id, cpus, memoryBytes: mib * MiB, movable: false, kind: "dram", cdm: false, ...extra };
}

/** Two CPU nodes and a CPU-less movable GPU node at distance 80 (the examples' machine). */
export function gpuMachine(mib = 384): MachineSpec {
  return {
    nodes: [node(0, [0], mib), node(1, [1], mib), node(2, [], mib, { movable: true, kind: "gpu" })],
    distances: [
      [10, 20, 80],
      [20, 10, 80],
      [80, 80, 10],
    ],
  };
}

export function equidistant(n: number, mib = 256): MachineSpec {
  const nodes = Array.from({ length: n }, (_, i) => node(i, [i], mib));
  return { nodes, distances: nodes.map((a) => nodes.map((b) => (a.id === b.id ? 10 : 20))) };
}
