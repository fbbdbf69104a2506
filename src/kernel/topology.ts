/**
 * The machine as the kernel sees it: NUMA nodes with their CPUs and memory, and the SLIT.
 * This is the model's input form, independent of the scenario file.
 */
import { MAX_NUMNODES } from "./constants.js";
import { Nodemask } from "./nodemask.js";

export type NodeKind = "dram" | "hbm" | "gpu" | "cxl" | "pmem";

export interface NodeSpec {
  id: number;
  /** CPU ids of the node; empty for a CPU-less node. */
  cpus: readonly number[];
  /** Present memory in bytes (a whole number of pages). 0 for a memoryless node. */
  memoryBytes: number;
  /** All memory onlined to ZONE_MOVABLE (hot-plugged device memory). */
  movable: boolean;
  kind: NodeKind;
  /** Coherent device memory (designs give it a node state); implies movable. */
  cdm: boolean;
  /**
   * false: hot-plugged memory that is present but not online at boot (a driver onlines it
   * later with memory_online); only for a movable node. Absent means online.
   */
  online?: boolean;
  /**
   * Memory performance as seen from the node's nearest CPUs, when the machine's description
   * gives it (ACPI HMAT through sysfs access classes, or hwloc's memory attributes):
   * bandwidth in MB/s and latency in nanoseconds. Carried through; placement does not use them.
   */
  bandwidthMBps?: number;
  latencyNs?: number;
  /**
   * The abstract distance of the node's memory type (mm/memory-tiers.c), as a driver
   * registers it (dax/kmem, CXL); absent: default_dram_type's MEMTIER_ADISTANCE_DRAM. It
   * decides the node's memory tier and the demotion targets.
   */
  adistance?: number;
}

export interface MachineSpec {
  nodes: readonly NodeSpec[];
  /** SLIT row per node, in the order of `nodes`. */
  distances: readonly (readonly number[])[];
}

export class Topology {
  readonly spec: MachineSpec;
  /** Node ids in ascending order. */
  readonly nodeIds: readonly number[];
  readonly byId: ReadonlyMap<number, NodeSpec>;
  private readonly index: ReadonlyMap<number, number>;
  private readonly cpuNode: ReadonlyMap<number, number>;
  readonly possible: Nodemask;
  /** nr_node_ids: the highest possible node id + 1 */
  readonly nrNodeIds: number;

  constructor(spec: MachineSpec) {
    this.spec = spec;
    const byId = new Map<number, NodeSpec>();
    const index = new Map<number, number>();
    const cpuNode = new Map<number, number>();
    spec.nodes.forEach((n, i) => {
      if (n.id < 0 || n.id >= MAX_NUMNODES) throw new RangeError(`node id ${n.id} out of range`);
      if (byId.has(n.id)) throw new Error(`node ${n.id} is listed twice`);
      byId.set(n.id, n);
      index.set(n.id, i);
      for (const c of n.cpus) {
        if (cpuNode.has(c)) throw new Error(`cpu ${c} is in nodes ${cpuNode.get(c)} and ${n.id}`);
        cpuNode.set(c, n.id);
      }
    });
    this.byId = byId;
    this.index = index;
    this.cpuNode = cpuNode;
    this.nodeIds = [...byId.keys()].sort((a, b) => a - b);
    this.possible = Nodemask.from(this.nodeIds);
    this.nrNodeIds = this.nodeIds.length ? this.nodeIds[this.nodeIds.length - 1]! + 1 : 0;
  }

  node(id: number): NodeSpec {
    const n = this.byId.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** node_distance(a, b) (__node_distance from the SLIT) */
  distance(a: number, b: number): number {
    const i = this.index.get(a);
    const j = this.index.get(b);
    if (i === undefined || j === undefined) return a === b ? 10 : 20;
    return this.spec.distances[i]?.[j] ?? (a === b ? 10 : 20);
  }

  /** cpu_to_node() */
  cpuToNode(cpu: number): number | undefined {
    return this.cpuNode.get(cpu);
  }

  allCpus(): number[] {
    return [...this.cpuNode.keys()].sort((a, b) => a - b);
  }

  hasCpus(node: number): boolean {
    return (this.byId.get(node)?.cpus.length ?? 0) > 0;
  }
}

/**
 * The device-memory nodes of a machine: the nodes marked `cdm: true`; on a machine without
 * any, the CPU-less nodes with memory (GPU memory, CXL expanders, HBM as Linux shows them).
 */
export function deviceNodeIds(spec: MachineSpec): number[] {
  const cdm = spec.nodes.filter((n) => n.cdm).map((n) => n.id);
  if (cdm.length) return cdm;
  return spec.nodes.filter((n) => n.cpus.length === 0 && n.memoryBytes > 0).map((n) => n.id);
}
