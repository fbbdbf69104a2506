/**
 * Node fallback lists (mm/page_alloc.c, Linux 6.1: __build_all_zonelists, build_zonelists,
 * find_next_best_node, build_zonerefs_node, build_thisnode_zonelists).
 */
import { MAX_NUMNODES, ZONE_DMA, ZONE_MOVABLE, type ZoneType } from "./constants.js";
import type { Nodemask } from "./nodemask.js";
import type { Zone } from "./zone.js";

/** PENALTY_FOR_NODE_WITH_CPUS (include/linux/topology.h, generic value) */
export const PENALTY_FOR_NODE_WITH_CPUS = 1;

export interface Zonelists {
  /** The node order of ZONELIST_FALLBACK, as printed in "Fallback order for Node N:" */
  order: readonly number[];
  /** ZONELIST_FALLBACK: populated zones, node by node, highest zone type first */
  fallback: readonly Zone[];
  /** ZONELIST_NOFALLBACK (__GFP_THISNODE): the node's own zones */
  nofallback: readonly Zone[];
}

export interface ZonelistInput {
  /** for_each_node(): the possible nodes, ascending */
  possible: readonly number[];
  /** node_states[N_MEMORY] */
  memory: Nodemask;
  distance(a: number, b: number): number;
  hasCpus(node: number): boolean;
  zonesOf(node: number): readonly Zone[];
}

export interface BuiltZonelists {
  lists: Map<number, Zonelists>;
  /** policy_zone: the highest populated zone type other than ZONE_MOVABLE (check_highest_zone) */
  policyZone: ZoneType;
  /** node_load[] as the build leaves it (establish_demotion_targets() reads it) */
  nodeLoad: ReadonlyMap<number, number>;
}

/**
 * find_next_best_node(): the local node first (even when it has no memory), then among
 * unused N_MEMORY nodes the minimum of
 *   (distance + (n < node) + (n has CPUs ? PENALTY : 0)) * MAX_NUMNODES + node_load[n],
 * ties going to the lowest id.
 */
export function findNextBestNode(
  node: number,
  used: Set<number>,
  nodeLoad: ReadonlyMap<number, number>,
  input: ZonelistInput,
): number {
  if (!used.has(node)) {
    used.add(node);
    return node;
  }
  let best = -1;
  let minVal = Number.POSITIVE_INFINITY;
  for (const n of input.memory.ids()) {
    if (used.has(n)) continue;
    let val = input.distance(node, n);
    val += n < node ? 1 : 0;
    if (input.hasCpus(n)) val += PENALTY_FOR_NODE_WITH_CPUS;
    val *= MAX_NUMNODES;
    val += nodeLoad.get(n) ?? 0;
    if (val < minVal) {
      minVal = val;
      best = n;
    }
  }
  if (best >= 0) used.add(best);
  return best;
}

/** build_zonerefs_node(): populated zones from the highest type to the lowest */
function buildZonerefsNode(zones: readonly Zone[], highest: { zone: ZoneType }): Zone[] {
  const out: Zone[] = [];
  for (let t = ZONE_MOVABLE; t >= ZONE_DMA; t--) {
    const z = zones[t];
    if (z?.populated) {
      out.push(z);
      // check_highest_zone()
      if (t > highest.zone && t !== ZONE_MOVABLE) highest.zone = t as ZoneType;
    }
  }
  return out;
}

/**
 * __build_all_zonelists(): node_load[] is zeroed once, then build_zonelists() runs for
 * every possible node in ascending order, so loads accumulate across nodes.
 * `skip` lets a design leave a node out of another node's fallback order, as the loop
 * meets it (before the round-robin penalty).
 */
export function buildAllZonelists(
  input: ZonelistInput,
  skip?: (local: number, node: number) => boolean,
): BuiltZonelists {
  const nodeLoad = new Map<number, number>();
  const lists = new Map<number, Zonelists>();
  const highest = { zone: ZONE_DMA as ZoneType };
  for (const local of input.possible) {
    const used = new Set<number>();
    let prev = local;
    const order: number[] = [];
    for (;;) {
      const n = findNextBestNode(local, used, nodeLoad, input);
      if (n < 0) break;
      if (skip?.(local, n)) continue;
      // "We don't want to pressure a particular node. So adding penalty to the first
      // node in same distance group to make it round-robin."
      if (input.distance(local, n) !== input.distance(local, prev)) {
        nodeLoad.set(n, (nodeLoad.get(n) ?? 0) + 1);
      }
      order.push(n);
      prev = n;
    }
    const fallback: Zone[] = [];
    for (const n of order) fallback.push(...buildZonerefsNode(input.zonesOf(n), highest));
    const nofallback = buildZonerefsNode(input.zonesOf(local), highest);
    lists.set(local, { order, fallback, nofallback });
  }
  return { lists, policyZone: highest.zone, nodeLoad };
}

/** The kernel's log line: pr_info("Fallback order for Node %d: ") then "%d " per node. */
export function fallbackOrderLine(node: number, order: readonly number[]): string {
  return `Fallback order for Node ${node}: ${order.map((n) => `${n} `).join("")}`;
}
