/**
 * Named machines. Each comes with where its shape is taken from.
 */
import { MEMTIER_DEFAULT_DAX_ADISTANCE } from "../kernel/memory-tiers.js";
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

/** The SLIT from an explicit table written in the order of `ids` (as `numactl -H` prints it). */
function table(
  nodes: readonly NodeSpec[],
  ids: readonly number[],
  rows: readonly (readonly number[])[],
): number[][] {
  const at = (id: number) => ids.indexOf(id);
  return nodes.map((a) => nodes.map((b) => rows[at(a.id)]![at(b.id)]!));
}

function gh200(): Preset {
  const nodes = [
    node(0, range(0, 71), 480 * GiB, { kind: "dram" }),
    node(1, [], 96 * GiB, { movable: true, kind: "gpu" }),
  ];
  return {
    id: "gh200",
    description:
      "NVIDIA GH200 Grace Hopper superchip: the Grace CPU node 0 (72 CPUs, 480 GiB LPDDR5X) and the Hopper GPU's 96 GiB HBM3 as the CPU-less, movable node 1 at distance 80",
    source:
      "NVIDIA's GH200 480GB configuration (72 Neoverse V2 cores, 480 GB LPDDR5X, 96 GB HBM3); with NVIDIA's driver the " +
      "GPU memory is onlined by the driver as hot-plugged memory into ZONE_MOVABLE of the CPU-less node 1, at SLIT " +
      "distance 80 from node 0 (the Grace-to-own-GPU distance in the numactl -H of a 4xGH200 machine, numactl/numactl " +
      "issue 224; the POWER9 AC922 reports the same 80). lscpu on a GH200 shows " +
      "nine nodes, 0-8 (bytedance/xpu-perf issue 129): nodes 2-8 are empty nodes the driver reserves for MIG " +
      "partitions; they hold neither CPUs nor memory and never enter a zonelist, and the model (x86 rules: such a " +
      "node stays offline) leaves them out, so nr_node_ids is 2 here, 9 on the machine",
    machine: { nodes, distances: slit(nodes, () => 80) },
  };
}

function gh200x4(): Preset {
  // four superchips; Linux numbers the Grace nodes 0-3, then gives each GPU a block of eight
  // nodes from 4 on (its memory in the first: 4, 12, 20, 28; the other seven are MIG nodes)
  const cpuNodes = range(0, 3).map((i) => node(i, range(72 * i, 72 * i + 71), 128 * GiB));
  const gpuNodes = range(0, 3).map((i) => node(4 + 8 * i, [], 96 * GiB, { movable: true, kind: "gpu" }));
  const nodes = [...cpuNodes, ...gpuNodes];
  const superchip = (n: NodeSpec) => (n.kind === "gpu" ? (n.id - 4) / 8 : n.id);
  return {
    id: "gh200x4",
    description:
      "four NVIDIA GH200 superchips in one node (HPE Cray EX254n, as in CSCS Alps): Grace nodes 0-3 with 72 CPUs and 128 GiB each, the GPUs' 96 GiB HBM3 as CPU-less, movable nodes 4, 12, 20, 28",
    source:
      "CSCS Alps documentation (docs/alps/hardware.md: four Grace Hopper modules per node) and the quad-GH200 study " +
      "arXiv:2408.11556 (72 cores and 128 GB LPDDR5X per Grace, 96 GB HBM3 per Hopper); node numbering and SLIT from " +
      "the numactl -H of a 4xGH200 machine in numactl/numactl issue 224 (nodes 0-35: Grace nodes 0-3, then eight node " +
      "ids per GPU, 4-11, 12-19, 20-27, 28-35; see also NVIDIA/mlperf-common pull request 16): 40 between Grace " +
      "nodes, 80 between a Grace and its own GPU's nodes, 120 between a Grace and another superchip's GPU, 255 " +
      "between GPU nodes. The GPU memory is on the first node of each block; the other seven are the empty MIG " +
      "nodes, left out here as for gh200 (nr_node_ids 29 here, 36 on the machine)",
    machine: {
      nodes,
      distances: slit(nodes, (a, b) => {
        if (a.kind !== "gpu" && b.kind !== "gpu") return 40;
        if (a.kind === "gpu" && b.kind === "gpu") return 255;
        return superchip(a) === superchip(b) ? 80 : 120;
      }),
    },
  };
}

function mi300a(): Preset {
  // SMT siblings numbered after every first thread, as Linux enumerates a 4-socket x86 machine
  const nodes = range(0, 3).map((i) =>
    node(i, [...range(24 * i, 24 * i + 23), ...range(96 + 24 * i, 96 + 24 * i + 23)], 128 * GiB, {
      kind: "hbm",
    }),
  );
  return {
    id: "mi300a",
    description:
      "four AMD MI300A APUs (El Capitan-like node): CPU and GPU of each APU share its 128 GiB HBM3, one NUMA node per APU with 48 CPUs; no CPU-less node",
    source:
      "CSCS Alps documentation (docs/alps/hardware.md, HPE Cray EX255A: 4 MI300A per node, 24 Zen 4 cores with 2 " +
      "threads each per APU, 512 GB unified HBM3; its schematic shows one NUMA node of about 125 GiB per APU) and " +
      "arXiv:2508.11298 (El Capitan's four APUs per node over Infinity Fabric). The HBM is the APU's system memory, " +
      "onlined at boot (not movable); the GPU reaches it through the same page tables, so there is no GPU node. " +
      "CPU numbering as the lstopo of an MI300A node in llnl/mpibind issue 45 shows it (core 36 has threads 36 " +
      "and 132: sibling threads from 96). The inter-APU distance 32 is a documented choice (the usual AMD " +
      "cross-socket SLIT value, as on CSCS's Eiger), not a capture",
    machine: { nodes, distances: slit(nodes, () => 32) },
  };
}

function sprHbmFlat(): Preset {
  const ids = [0, 1, 2, 3];
  const nodes = [
    node(0, [...range(0, 51), ...range(104, 155)], 512 * GiB),
    node(1, [...range(52, 103), ...range(156, 207)], 512 * GiB),
    node(2, [], 64 * GiB, { kind: "hbm" }),
    node(3, [], 64 * GiB, { kind: "hbm" }),
  ];
  return {
    id: "spr-hbm-flat",
    description:
      "two Intel Xeon CPU Max (Sapphire Rapids with HBM) in flat mode, quadrant clustering, as an Aurora node: DDR5 nodes 0-1 with the CPUs, each socket's 64 GiB HBM2e as CPU-less nodes 2-3",
    source:
      "the numactl -H of an Aurora node in Argonne's user guide (argonne-lcf/user-guides, " +
      "docs/aurora/running-jobs-aurora.md): nodes 0-1 with 104 CPUs each (52 cores, siblings from 104) and 512 GB " +
      "DDR5, CPU-less nodes 2-3 of 65536 MB HBM, distances 10, 21 between sockets, 13 from a socket to its own HBM, " +
      "23 to the other socket's HBM and between the HBM nodes. Intel's Xeon CPU Max Series Configuration and Tuning " +
      "Guide (354227) and Lenovo Press LP1810 describe the modes: in flat mode with quadrant (SNC off) each socket " +
      "gives one DDR node with its CPUs and one CPU-less HBM node, with SNC4 four of each. The firmware describes " +
      "the HBM in SRAT as ordinary memory, so Linux onlines it at boot into ZONE_NORMAL (not movable)",
    machine: {
      nodes,
      distances: table(nodes, ids, [
        [10, 21, 13, 23],
        [21, 10, 23, 13],
        [13, 23, 10, 23],
        [23, 13, 23, 10],
      ]),
    },
  };
}

function cxlExpander(): Preset {
  const ids = [0, 1, 2, 3];
  const nodes = [
    node(0, [...range(0, 51), ...range(104, 155)], 64 * GiB),
    node(1, [...range(52, 103), ...range(156, 207)], 64 * GiB),
    node(2, [], 64 * GiB, { movable: true, kind: "cxl", adistance: MEMTIER_DEFAULT_DAX_ADISTANCE }),
    node(3, [], 128 * GiB, { movable: true, kind: "cxl", adistance: MEMTIER_DEFAULT_DAX_ADISTANCE }),
  ];
  return {
    id: "cxl-expander",
    description:
      "a two-socket server with two CXL type-3 memory expanders as CPU-less, movable nodes 2 (64 GiB) and 3 (128 GiB)",
    source:
      "the numactl -H of a two-socket machine with CXL memory expanders in Steve Scargall's \"How To Map a CXL " +
      'Endpoint to a CPU Socket in Linux" (stevescargall.com, December 2022): nodes 0-1 with 104 CPUs each (52 ' +
      "cores, siblings from 104) and about 64 GiB, CPU-less nodes 2 (65536 MB) and 3 (131072 MB), distances 10, 21 " +
      "between sockets, 14 from a socket to its expander, 24 to the other socket's, 26 between the expanders. The " +
      "expanders' memory is onlined by the dax kmem driver after boot, which daxctl onlines into ZONE_MOVABLE by " +
      "default, and to which Linux 6.1's kmem gives its dax_slowmem_type (adistance 2880: memory_tier22 below the " +
      "DRAM's memory_tier4); the sockets' DRAM is rounded to 64 GiB",
    machine: {
      nodes,
      distances: table(nodes, ids, [
        [10, 21, 14, 24],
        [21, 10, 24, 14],
        [14, 24, 10, 26],
        [24, 14, 26, 10],
      ]),
    },
  };
}

const PRESETS: Record<string, () => Preset> = {
  "power9-ac922": power9Ac922,
  "two-socket": twoSocket,
  gh200: gh200,
  gh200x4: gh200x4,
  mi300a: mi300a,
  "spr-hbm-flat": sprHbmFlat,
  "cxl-expander": cxlExpander,
};

export function presetIds(): string[] {
  return Object.keys(PRESETS);
}

export function getPreset(id: string): Preset | undefined {
  return PRESETS[id]?.();
}
