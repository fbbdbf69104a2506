/**
 * Memory tiers (mm/memory-tiers.c, Linux 6.1): every node with memory has a memory type
 * whose abstract distance places it in a tier; nodes without a type a driver gave them get
 * default_dram_type (MEMTIER_ADISTANCE_DRAM). A tier covers one chunk of abstract distance
 * (MEMTIER_CHUNK_SIZE) and shows as /sys/devices/virtual/memory_tiering/memory_tierN, N the
 * chunk's start >> MEMTIER_CHUNK_BITS, with the nodes of its types in `nodelist`.
 *
 * The tiers are recomputed whenever a node enters or leaves N_MEMORY
 * (memtier_hotplug_callback: set_node_memory_tier, clear_node_memory_tier), and with them
 * the demotion targets (establish_demotion_targets): each node's preferred targets are the
 * nearest nodes of the next slower tier, found with find_next_best_node() (the zonelists'
 * function, with the node_load[] the last build_all_zonelists() left); the top tiers are
 * those up to the slowest tier holding a node with CPUs. The state is a function of
 * N_MEMORY, the nodes' types and that node_load[], so cdmsim computes it when asked.
 * Demotion itself (reclaim moving pages to a slower tier, off by default:
 * /sys/kernel/mm/numa/demotion_enabled) is not modelled.
 */
import { NUMA_NO_NODE } from "./constants.js";
import { formatNodeList, Nodemask } from "./nodemask.js";
import { findNextBestNode, type ZonelistInput } from "./zonelist.js";

export const MEMTIER_CHUNK_BITS = 7;
export const MEMTIER_CHUNK_SIZE = 1 << MEMTIER_CHUNK_BITS;
/** MEMTIER_ADISTANCE_DRAM: (4 * MEMTIER_CHUNK_SIZE) + (MEMTIER_CHUNK_SIZE >> 1) */
export const MEMTIER_ADISTANCE_DRAM = 4 * MEMTIER_CHUNK_SIZE + (MEMTIER_CHUNK_SIZE >> 1);
/** drivers/dax/kmem.c: dax_slowmem_type, the type of every node device-DAX memory onlines */
export const MEMTIER_DEFAULT_DAX_ADISTANCE = MEMTIER_ADISTANCE_DRAM * 5;

export interface MemoryTier {
  /** the device id: memory_tier<id> */
  id: number;
  adistanceStart: number;
  nodes: Nodemask;
}

export interface MemoryTiers {
  /** fastest first (the kernel's memory_tiers list) */
  tiers: MemoryTier[];
  /** node_demotion[node].preferred, for the nodes that have targets */
  demotion: Map<number, Nodemask>;
  /** the nodes node_is_toptier() holds true for, among those with memory */
  topTier: Nodemask;
}

/**
 * The tiers of the nodes with memory, given each node's abstract distance, and the
 * demotion targets establish_demotion_targets() derives from them.
 */
export function memoryTiers(
  input: ZonelistInput,
  adistance: (node: number) => number,
  nodeLoad: ReadonlyMap<number, number>,
): MemoryTiers {
  // find_create_memory_tier(): one tier per chunk, kept sorted by adistance_start
  const byStart = new Map<number, number[]>();
  for (const n of input.memory.ids()) {
    const start = Math.floor(adistance(n) / MEMTIER_CHUNK_SIZE) * MEMTIER_CHUNK_SIZE;
    byStart.set(start, [...(byStart.get(start) ?? []), n]);
  }
  const tiers: MemoryTier[] = [...byStart.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([start, nodes]) => ({
      id: start >> MEMTIER_CHUNK_BITS,
      adistanceStart: start,
      nodes: Nodemask.from(nodes),
    }));
  const demotion = new Map<number, Nodemask>();
  for (const node of input.memory.ids()) {
    const i = tiers.findIndex((t) => t.nodes.has(node));
    if (i < 0 || i === tiers.length - 1) continue;
    // every node with memory outside the next tier is "used", so find_next_best_node()
    // picks among the next tier's nodes only; all at the best distance are preferred
    const used = new Set(input.memory.andNot(tiers[i + 1]!.nodes).ids());
    let best = -1;
    const preferred: number[] = [];
    for (;;) {
      const target = findNextBestNode(node, used, nodeLoad, input);
      if (target === NUMA_NO_NODE || target < 0) break;
      const d = input.distance(node, target);
      if (best !== -1 && d !== best) break;
      best = d;
      preferred.push(target);
    }
    if (preferred.length) demotion.set(node, Nodemask.from(preferred));
  }
  // the slowest tier with a CPU node, and every faster one, are top tier
  let topTierAdistance = -1;
  for (let i = tiers.length - 1; i >= 0; i--) {
    if (tiers[i]!.nodes.ids().some((n) => input.hasCpus(n))) {
      topTierAdistance = tiers[i]!.adistanceStart + MEMTIER_CHUNK_SIZE - 1;
      break;
    }
  }
  const topTier = Nodemask.from(
    tiers.filter((t) => t.adistanceStart <= topTierAdistance).flatMap((t) => [...t.nodes.ids()]),
  );
  return { tiers, demotion, topTier };
}

/** The memory_tiering files: memory_tierN/nodelist (nodelist_show: "%*pbl\n"). */
export function readMemoryTiering(t: MemoryTiers, path: string): string | undefined {
  const m = /^\/sys\/devices\/virtual\/memory_tiering\/memory_tier(\d+)\/nodelist$/.exec(path);
  if (!m) return undefined;
  const tier = t.tiers.find((x) => x.id === Number(m[1]));
  return tier ? `${formatNodeList(tier.nodes.ids())}\n` : undefined;
}

/** The `memory_tiers` step's out: tier id → nodes, node → demotion targets, the top-tier nodes. */
export function memoryTiersOut(t: MemoryTiers): Record<string, unknown> {
  return {
    tiers: Object.fromEntries(t.tiers.map((x) => [String(x.id), x.nodes.toString()])),
    demotion: Object.fromEntries([...t.demotion].map(([n, m]) => [String(n), m.toString()])),
    toptier: t.topTier.toString(),
  };
}
