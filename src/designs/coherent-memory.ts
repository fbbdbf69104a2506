/**
 * coherent-memory: Balbir Singh's N_COHERENT_MEMORY RFC ("not for inclusion", 2017;
 * `../shared/docs/cdm-designs.md` §3.4).
 *
 * - A node marked `cdm: true` is in N_COHERENT_MEMORY and not in N_MEMORY
 *   (node_states_set_node() sets N_MEMORY only for other nodes): has_memory does not list
 *   it, cpusets never hand it out (mems_allowed comes from N_MEMORY), HugeTLB pools sized
 *   without a policy do not use it.
 * - Zonelists: find_next_best_node() walks N_MEMORY for an ordinary node, and N_MEMORY with
 *   the coherent nodes for a coherent one, so a coherent node is in no list but the
 *   coherent nodes' own (RFC doc: Node1: 1→2, Node2: 2→1, Node3: 3→2→1).
 * - Policies: mpol_set_nodemask() ORs the coherent nodes of the user's mask into the
 *   allowed set, so they survive the cpuset intersection; policy_nodemask() passes an
 *   MPOL_BIND mask that intersects N_COHERENT_MEMORY; policy_zonelist() walks the first
 *   coherent node's list when the policy's node is coherent ("Ideally we should pick the
 *   best node, but for now use any one").
 * - The allocator is unchanged: with cpusets enabled, the zone check refuses a coherent
 *   node (it is in no mems_allowed), which is the RFC's stated incompatibility with cpusets
 *   ("the user would have to use numactl -a").
 *
 * Chosen where the RFC is silent: an MPOL_BIND allocation walks the local node's list,
 * which holds no coherent node, so a mask of coherent nodes alone could never be served;
 * the RFC's tests bound memhog to the coherent node with numactl, so cdmsim walks the
 * mask's first coherent node's list when the local node is not in the mask. The sysfs
 * file of the new state is shown as
 * `has_coherent_memory` (the RFC's attribute name is not in the messages cited); kswapd
 * and background work staying off coherent nodes (they walk N_MEMORY) are not modelled,
 * nor migrate_pages' and mpol_parse_str's acceptance of coherent masks.
 */
import { MPOL_BIND } from "../kernel/constants.js";
import type { Design, DesignContext } from "../kernel/design.js";
import type { MemPolicy } from "../kernel/mempolicy.js";
import { Nodemask } from "../kernel/nodemask.js";

const coherent = (ctx: DesignContext) => Nodemask.from(ctx.cdmNodes);

export const coherentMemory: Design = {
  id: "coherent-memory",
  title: "N_COHERENT_MEMORY: device nodes outside N_MEMORY, reachable by explicit policy",
  source:
    "Balbir Singh, [RFC 0/4] Coherent memory (N_COHERENT_MEMORY), patches 1-4, LKML, April 2017 (lwn.net/Articles/717601)",
  hooks: {
    zonelistSkip: (local: number, node: number, ctx: DesignContext) =>
      ctx.cdmNodes.has(node) && !ctx.cdmNodes.has(local),
    cpusetMems: (nMemory: Nodemask, ctx: DesignContext) => nMemory.andNot(coherent(ctx)),
    hugetlbMems: (nMemory: Nodemask, ctx: DesignContext) => nMemory.andNot(coherent(ctx)),
    policyExtraNodes: coherent,
    // policy_zonelist(): `if (node_state(nd, N_COHERENT_MEMORY)) nd = first_node(...)`; for
    // MPOL_BIND, whose node is the local one, cdmsim takes the mask's first coherent node
    // when the local node is not in the mask (see the header)
    policyZonelistNode(pol: MemPolicy, nd: number, ctx: DesignContext) {
      if (ctx.cdmNodes.has(nd)) return coherent(ctx).first();
      if (pol.mode === MPOL_BIND && !pol.nodes.has(nd)) {
        const c = pol.nodes.and(coherent(ctx));
        if (!c.isEmpty()) return c.first();
      }
      return nd;
    },
    nodeStates: (nMemory: Nodemask, ctx: DesignContext) => ({
      has_memory: nMemory.andNot(coherent(ctx)),
      has_coherent_memory: nMemory.and(coherent(ctx)),
    }),
  },
};
