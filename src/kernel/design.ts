/**
 * A design is a set of hooks over the one kernel model. `mainline` is the empty set; the
 * CDM proposals and their alternatives change node states, zonelists, the allocator's
 * zone check, policy creation or cpusets through these hooks, never by copying the model.
 */
import type { Kernel } from "./kernel.js";
import type { MemPolicy } from "./mempolicy.js";
import type { Nodemask } from "./nodemask.js";
import type { AllocContext } from "./page-alloc.js";
import type { Zone } from "./zone.js";

export interface DesignHooks {
  /** Leave `node` out of `local`'s fallback order (build_zonelists' loop). */
  zonelistSkip?(local: number, node: number, ctx: DesignContext): boolean;
  /**
   * The node whose zonelist an allocation under `pol` walks, given the one Linux picks
   * (policy_node(); the zonelist of policy_zonelist() in older kernels).
   */
  policyZonelistNode?(pol: MemPolicy, nd: number, ctx: DesignContext): number;
  /** An extra check on each zone get_page_from_freelist() visits; a reason skips the zone. */
  zoneFilter?(
    zone: Zone,
    ac: AllocContext,
    allocFlags: number,
    gfp: number,
    ctx: DesignContext,
  ): string | undefined;
  /**
   * The memory nodes cpusets hand out: the root cpuset's mems and what
   * guarantee_online_mems() intersects with (N_MEMORY in mainline).
   */
  cpusetMems?(nMemory: Nodemask, ctx: DesignContext): Nodemask;
  /** Requests with __GFP_THISNODE are not subject to cpusets (no __GFP_HARDWALL, no ALLOC_CPUSET). */
  thisnodeIgnoresCpuset?: boolean;
  /**
   * VM_CDM (the RFC's VMA tagging): mbind_range() tags every VMA an MPOL_BIND naming a CDM
   * node covers, the tag is never cleared, and ksm_madvise() ignores MADV_MERGEABLE on a
   * tagged VMA (returning 0).
   */
  tagsCdmVmas?: boolean;
  /**
   * The nodes HugeTLB pools use when no mempolicy or node is named, and that get a
   * nodeN/hugepages directory at boot (N_MEMORY in mainline).
   */
  hugetlbMems?(nMemory: Nodemask, ctx: DesignContext): Nodemask;
  /**
   * Nodes a memory policy may name whatever the task's cpuset: mpol_set_nodemask() keeps
   * them and policy_nodemask() passes a BIND mask that holds one.
   */
  policyExtraNodes?(ctx: DesignContext): Nodemask;
  /** Nodes whose memory is device memory outside the page allocator (ZONE_DEVICE): reports mark their pages. */
  zoneDeviceNodes?(ctx: DesignContext): Nodemask;
  /** Extra node-state files of /sys/devices/system/node (name → nodes), from N_MEMORY. */
  nodeStates?(nMemory: Nodemask, ctx: DesignContext): Record<string, Nodemask>;
}

/** What hooks may read about the machine. */
export interface DesignContext {
  /** nodes marked `cdm: true` in the scenario */
  readonly cdmNodes: ReadonlySet<number>;
}

/** What the scenario tells an administrator's setup. */
export interface AdminOptions {
  /** the tasks that are device-aware applications */
  readonly aware: ReadonlySet<string>;
  /** steps that run between a device node's hot-add and the administrator's update */
  readonly hotplugDelay: number;
}

/** An administrator acting on one run: after the scenario's tasks exist, and after each step. */
export interface AdminRun {
  afterStep(step: number): void;
}

export interface Design {
  readonly id: string;
  readonly title: string;
  /** the patch, message or release the design follows */
  readonly source: string;
  readonly hooks: DesignHooks;
  /**
   * A setup the administrator applies to the running system with the kernel's own
   * interfaces (cgroup writes), recorded as `admin` events; called before step 0.
   */
  readonly admin?: (k: Kernel, opts: AdminOptions) => AdminRun;
}
