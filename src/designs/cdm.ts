/**
 * The Coherent Device Memory node of Anshuman Khandual's buddy-allocator series (2017),
 * versions 2 and 3 (`../shared/docs/cdm-designs.md` §1.2–§1.5):
 *
 * - node identity: a node marked `cdm: true` in the scenario is in N_MEMORY and in
 *   N_COHERENT_DEVICE (node_set_state_cdm() before node_set_state(N_MEMORY); the
 *   powerpc arch_check_node_cdm() of the series is a stub returning 0, so on real hardware
 *   no node was ever marked: the scenario says which are), shown as
 *   /sys/devices/system/node/is_coherent_device (the commit message's "is_coherent_node"
 *   is a typo: the code and the ABI document say is_coherent_device);
 * - zonelists: unchanged (V1–V3 do not touch build_zonelists), so every fallback list
 *   still holds the CDM node's movable zone;
 * - isolation: a check at the top of get_page_from_freelist()'s zone loop, before the
 *   cpuset check. V2 skips a CDM zone unless the request has __GFP_THISNODE or a nodemask
 *   (V2 3/3). With cpusets enabled the fast path substitutes the cpuset's mems_allowed for a
 *   NULL nodemask, so V2 lets the CDM node through for any task whose cpuset holds it
 *   (Vlastimil Babka's report on V2). V3 passes the caller's nodemask down (orig_mask)
 *   and also skips the zone when the nodemask in use is not the caller's
 *   (cpuset_fallback).
 *
 * The zonelist variant of the RFC series (cdm-zonelist, §1.6) leaves the CDM node out of
 * every other node's fallback list instead, and makes MPOL_BIND walk the CDM node's own list
 * when the local node is not in the mask and the mask's first node is CDM; no check in the
 * allocator.
 *
 * Both RFC V2 variants carry the series' VMA tagging (RFC V2 08/12, 10/12, 12/12, §1.8):
 * mbind_range() sets VM_CDM on the VMAs an MPOL_BIND naming a CDM node covers, the flag is
 * never cleared (even when a later mbind names only RAM), and ksm_madvise() returns 0
 * without setting VM_MERGEABLE on a tagged VMA. cdmsim leaves out the other two uses of
 * the tag: mark_vma_cdm() after a page lands on a CDM node in alloc_pages_vma() (11/12),
 * and task_numa_work() skipping tagged VMAs (09/12), as automatic NUMA balancing is not
 * modelled.
 *
 * The cpuset variant (v1.2, RFC V2 06-07/12; cdm-cpuset, §1.7) removes the CDM nodes from
 * the root cpuset and from every task's mems_allowed instead: no policy can name them
 * (mpol_set_nodemask() intersects with mems_allowed), and __GFP_THISNODE requests skip
 * cpuset enforcement so that kernel users can still reach the node. cdmsim takes the
 * scenario's cgroups as configured; their effective mems never include a CDM node.
 *
 * Where the series is silent, cdmsim chooses: the rule is applied to the 6.1 allocator the
 * model follows, so a 6.1 policy that passes a nodemask to the allocator reaches a CDM node
 * like MPOL_BIND did in 4.10: MPOL_PREFERRED_MANY (added in 5.15, policy_nodemask() gives
 * its nodes) is such a policy.
 *
 * HugeTLB (§1.5, every variant): pool sizing without a mempolicy or a node, and the
 * surplus pages returned, use system_mem_nodemask() (N_MEMORY without the CDM nodes), and
 * no nodeN/hugepages directory is registered at boot for a CDM node. nr_hugepages_mempolicy
 * still uses the task's policy mask unfiltered, and the pool's __GFP_THISNODE allocations
 * pass the isolation check, so a task bound to the CDM node can fill its pool (§7 #25).
 */

import { MPOL_BIND } from "../kernel/constants.js";
import type { Design, DesignContext } from "../kernel/design.js";
import { __GFP_THISNODE } from "../kernel/gfp.js";
import type { MemPolicy } from "../kernel/mempolicy.js";
import { Nodemask } from "../kernel/nodemask.js";
import type { AllocContext } from "../kernel/page-alloc.js";
import type { Zone } from "../kernel/zone.js";

/** system_mem_nodemask(): N_MEMORY without the CDM nodes (ram_nodemask() in v1.2). */
function systemMem(nMemory: Nodemask, ctx: DesignContext): Nodemask {
  return nMemory.andNot(Nodemask.from(ctx.cdmNodes));
}

/** N_COHERENT_DEVICE: the CDM nodes that are in N_MEMORY (node_states_set_node order). */
function coherentDevice(nMemory: Nodemask, ctx: DesignContext): Record<string, Nodemask> {
  return { is_coherent_device: nMemory.and(Nodemask.from(ctx.cdmNodes)) };
}

export const cdmV2: Design = {
  id: "cdm-v2",
  title: "CDM node, buddy isolation v2 (skip unless __GFP_THISNODE or a nodemask)",
  source:
    "Anshuman Khandual, [PATCH V2 3/3] mm: Add coherent device memory support to the buddy allocator (LKML, Feb 2017)",
  hooks: {
    zoneFilter(zone: Zone, ac: AllocContext, _flags: number, gfp: number, ctx: DesignContext) {
      if (!ctx.cdmNodes.has(zone.node) || gfp & __GFP_THISNODE) return undefined;
      return ac.nodemask ? undefined : "CDM node: no nodemask (V2 rule)";
    },
    nodeStates: coherentDevice,
    hugetlbMems: systemMem,
  },
};

export const cdmV3: Design = {
  id: "cdm-v3",
  title: "CDM node, buddy isolation v3 (only __GFP_THISNODE or the caller's own nodemask)",
  source:
    "Anshuman Khandual, [PATCH V3 3/4] and [PATCH V3 4/4] mm: CDM isolation in the buddy allocator, orig_mask (LKML, Feb 2017)",
  hooks: {
    zoneFilter(zone: Zone, ac: AllocContext, _flags: number, gfp: number, ctx: DesignContext) {
      if (!ctx.cdmNodes.has(zone.node) || gfp & __GFP_THISNODE) return undefined;
      // cpuset_fallback: the nodemask in use is the cpuset's, not the caller's
      if (ac.nodemask !== ac.callerNodemask)
        return "CDM node: the nodemask is the cpuset's (cpuset_fallback)";
      return ac.nodemask ? undefined : "CDM node: no policy nodemask (V3 rule)";
    },
    nodeStates: coherentDevice,
    hugetlbMems: systemMem,
  },
};

export const cdmZonelist: Design = {
  id: "cdm-zonelist",
  title: "CDM node kept out of other nodes' zonelists, MPOL_BIND switching to the CDM node's list",
  source:
    "Anshuman Khandual, [RFC V2 03/12] mm: Change generic FALLBACK zonelist creation process, and [RFC V2 04/12] mm: Change mbind(MPOL_BIND) implementation for CDM nodes (LKML, Jan-Mar 2017)",
  hooks: {
    // build_zonelists(): `if (is_cdm_node(node) && pgdat->node_id != node) continue;` in the
    // find_next_best_node() loop, before the round-robin penalty
    zonelistSkip: (local: number, node: number, ctx: DesignContext) =>
      node !== local && ctx.cdmNodes.has(node),
    // policy_zonelist() for MPOL_BIND: the first node of the mask when the local node is not
    // in it and that first node is CDM (the patch's XXX comment lists other rules it did
    // not take: any CDM node of the mask, only all-CDM masks, refusing mixed masks)
    policyZonelistNode(pol: MemPolicy, nd: number, ctx: DesignContext) {
      if (pol.mode !== MPOL_BIND || pol.nodes.has(nd) || pol.nodes.isEmpty()) return nd;
      const first = pol.nodes.first();
      return ctx.cdmNodes.has(first) ? first : nd;
    },
    nodeStates: coherentDevice,
    hugetlbMems: systemMem,
    tagsCdmVmas: true,
  },
};

export const cdmCpuset: Design = {
  id: "cdm-cpuset",
  title: "CDM node kept out of every cpuset (root included); __GFP_THISNODE requests exempt from cpusets",
  source:
    "Anshuman Khandual, [RFC V2 06/12] cpuset: Add cpuset_inc() inside cpuset_init(), [RFC V2 07/12] mm: Ignore cpuset enforcement when allocation flag has __GFP_THISNODE, and the v1.2 series (LKML, Feb 2017)",
  hooks: {
    // guarantee_online_mems(), cpuset_init_smp() and cpuset_hotplug_workfn() use
    // ram_nodemask() (N_MEMORY without the CDM nodes) instead of N_MEMORY
    cpusetMems: systemMem,
    thisnodeIgnoresCpuset: true,
    nodeStates: coherentDevice,
    hugetlbMems: systemMem,
    tagsCdmVmas: true,
  },
};
