/**
 * protected-nodes: Gregory Price's "Protected Memory NUMA Nodes" RFC (November 2025;
 * `../shared/docs/cdm-designs.md` §5), the modern revival of CDM's isolation idea.
 *
 * - A node marked `cdm: true` is protected memory (hot-plugged with MHP_PROTECTED_MEMORY),
 *   not SysRAM: default_sysram_nodes leaves it out.
 * - Tasks get mems_default = the cpuset's effective mems ∩ default_sysram_nodes in place of
 *   mems_allowed, so no memory policy can name a protected node (mpol_set_nodemask()
 *   intersects with it: EINVAL), and callers with a NULL nodemask get the SysRAM nodes.
 * - The allocator takes a protected node's memory only for requests with GFP_PROTECTED
 *   ("nothing in userspace can explicitly request memory from protected nodes"; kernel
 *   components such as zswap on a compressed-memory node use the flag).
 *
 * Chosen where the RFC is silent: the GFP_PROTECTED check is a zone check in
 * get_page_from_freelist() (as CDM's was), whatever the nodemask; cpusets apply to a
 * GFP_PROTECTED request as to any other (no exemption is described), so a kernel component
 * reaching a protected node does it from a task whose cpuset allows the node, or with
 * cpusets disabled. The node's sysfs state is shown as `has_protected_memory`.
 */
import type { Design, DesignContext } from "../kernel/design.js";
import { __GFP_PROTECTED } from "../kernel/gfp.js";
import { Nodemask } from "../kernel/nodemask.js";
import type { AllocContext } from "../kernel/page-alloc.js";
import type { Zone } from "../kernel/zone.js";

const protectedNodes = (ctx: DesignContext) => Nodemask.from(ctx.cdmNodes);

export const protectedMemoryNodes: Design = {
  id: "protected-nodes",
  title: "Protected memory NUMA nodes: outside every task's mems_default, reachable only with GFP_PROTECTED",
  source: "Gregory Price, [RFC] Protected Memory NUMA Nodes, linux-mm, November 2025",
  hooks: {
    zoneFilter(zone: Zone, _ac: AllocContext, _flags: number, gfp: number, ctx: DesignContext) {
      if (!ctx.cdmNodes.has(zone.node) || gfp & __GFP_PROTECTED) return undefined;
      return "protected node: the request has no GFP_PROTECTED";
    },
    // default_sysram_nodes: mems_default and the nodes of NULL-nodemask callers
    cpusetMems: (nMemory: Nodemask, ctx: DesignContext) => nMemory.andNot(protectedNodes(ctx)),
    hugetlbMems: (nMemory: Nodemask, ctx: DesignContext) => nMemory.andNot(protectedNodes(ctx)),
    nodeStates: (nMemory: Nodemask, ctx: DesignContext) => ({
      has_protected_memory: nMemory.and(protectedNodes(ctx)),
    }),
  },
};
