/**
 * Named machines. Each comes with where its shape is taken from.
 */
import type { MachineSpec, NodeSpec } from "../kernel/topology.js";

const GiB = 1024 ** 3;

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

function node(id: number, cpus: number[], memoryBytes: number, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { id, cpus, memoryBytes, movable: false, kind: "dram", cdm: false, ...extra };
}

/** A SLIT from a distance function over the nodes' order. */
function slit(nodes: readonly NodeSpec[], d: (a: NodeSpec, b: NodeSpec) => number): number[][] {
  return nodes.map((a) => nodes.map((b) => (a.id === b.id ? 10 : d(a, b))));
}

export interface Preset {
  id: string;
  description: string;
  source: string;
  machine: MachineSpec;
}

function power9Ac922(): Preset {
  const gpu = (id: number) => node(id, [], 15 * GiB, { movable: true, kind: "gpu" });
  const nodes = [
    node(0, range(0, 87), 128 * GiB),
    node(8, range(88, 175), 128 * GiB),
    ...range(250, 255).map(gpu),
  ];
  return {
    id: "power9-ac922",
    description:
      "IBM POWER9 AC922 (8335-GTW): two sockets, six NVIDIA V100 whose memory is CPU-less, movable NUMA nodes 250-255",
    source:
      "the Linux sysfs of an AC922 in hwloc's test suite (tests/hwloc/linux/nvidiagpunumanodes): has_cpu 0,8; " +
      "has_normal_memory 0,8; nodes 250-255 with 15 GiB each at distance 80; sockets at distance 40",
    machine: {
      nodes,
      distances: slit(nodes, (a, b) => (a.kind === "gpu" || b.kind === "gpu" ? 80 : 40)),
    },
  };
}

function twoSocket(): Preset {
  const nodes = [node(0, range(0, 15), 64 * GiB), node(1, range(16, 31), 64 * GiB)];
  return {
    id: "two-socket",
    description: "a two-socket server: two CPU nodes with 64 GiB each at distance 20",
    source: "the common ACPI SLIT of two-socket x86 servers (10 local, 20 remote)",
    machine: { nodes, distances: slit(nodes, () => 20) },
  };
}

const PRESETS: Record<string, () => Preset> = {
  "power9-ac922": power9Ac922,
  "two-socket": twoSocket,
};

export function presetIds(): string[] {
  return Object.keys(PRESETS);
}

export function getPreset(id: string): Preset | undefined {
  return PRESETS[id]?.();
}
