/**
 * NUMA memory policies (mm/mempolicy.c, Linux 6.1, with the 6.9+ weighted interleave
 * behind kernel.version): the policy object, its creation and contextualisation against
 * the cpuset, rebinding, and the choice of preferred node and nodemask for an allocation.
 */
import {
  MAX_NUMNODES,
  MPOL_BIND,
  MPOL_DEFAULT,
  MPOL_F_MOF,
  MPOL_F_MORON,
  MPOL_F_NUMA_BALANCING,
  MPOL_F_RELATIVE_NODES,
  MPOL_F_STATIC_NODES,
  MPOL_INTERLEAVE,
  MPOL_LOCAL,
  MPOL_MODE_FLAGS,
  MPOL_PREFERRED,
  MPOL_PREFERRED_MANY,
  MPOL_WEIGHTED_INTERLEAVE,
  NUMA_NO_NODE,
  ZONE_MOVABLE,
  type ZoneType,
} from "./constants.js";
import { gfpZone } from "./gfp.js";
import { Nodemask } from "./nodemask.js";
import type { KernelVersion } from "./version.js";

/**
 * struct mempolicy. `kind` stands for the pointer identities the kernel compares against:
 * `default_policy` (MPOL_LOCAL) and `preferred_node_policy[nid]` print as "default" and
 * make get_mempolicy report MPOL_DEFAULT.
 */
export interface MemPolicy {
  readonly kind: "user" | "default" | "preferred_node";
  mode: number;
  /** user mode flags plus internal MPOL_F_MOF/MORON */
  flags: number;
  nodes: Nodemask;
  homeNode: number;
  /** pol->w.cpuset_mems_allowed (live when no mode flag is set) */
  cpusetMemsAllowed: Nodemask;
  /** pol->w.user_nodemask (live when a mode flag is set) */
  userNodemask: Nodemask;
}

/** The per-task state that policies read and update (parts of task_struct). */
export interface PolicyTask {
  /** current->mems_allowed (cpuset_current_mems_allowed) */
  memsAllowed: Nodemask;
  mempolicy: MemPolicy | null;
  /** current->il_prev */
  ilPrev: number;
  /** current->il_weight (6.9+) */
  ilWeight: number;
  /** numa_node_id(): the node of the task's CPU */
  numaNodeId: number;
}

/** default_policy: system-wide local allocation */
export const DEFAULT_POLICY: MemPolicy = Object.freeze({
  kind: "default",
  mode: MPOL_LOCAL,
  flags: 0,
  nodes: Nodemask.NONE,
  homeNode: NUMA_NO_NODE,
  cpusetMemsAllowed: Nodemask.NONE,
  userNodemask: Nodemask.NONE,
}) as MemPolicy;

const preferredNodePolicies = new Map<number, MemPolicy>();

/** preferred_node_policy[nid], as numa_policy_init() builds it */
export function preferredNodePolicy(nid: number): MemPolicy {
  let p = preferredNodePolicies.get(nid);
  if (!p) {
    p = Object.freeze({
      kind: "preferred_node",
      mode: MPOL_PREFERRED,
      flags: MPOL_F_MOF | MPOL_F_MORON,
      nodes: Nodemask.ofNode(nid),
      homeNode: NUMA_NO_NODE,
      cpusetMemsAllowed: Nodemask.NONE,
      userNodemask: Nodemask.NONE,
    }) as MemPolicy;
    preferredNodePolicies.set(nid, p);
  }
  return p;
}

/** get_task_policy(): the task policy, or preferred_node_policy[numa_node_id()] */
export function getTaskPolicy(task: PolicyTask): MemPolicy {
  return task.mempolicy ?? preferredNodePolicy(task.numaNodeId);
}

/** mpol_store_user_nodemask() */
export function mpolStoreUserNodemask(pol: MemPolicy): boolean {
  return (pol.flags & MPOL_MODE_FLAGS) !== 0;
}

/** MPOL_MAX for a kernel version: 6 before weighted interleave (6.9), 7 from it on. */
export function mpolMax(v: KernelVersion): number {
  return v.weightedInterleave ? 7 : 6;
}

export type Errno = number;

/**
 * sanitize_mpol_flags(): split the mode int into mode and flags and check them.
 * Returns the error (EINVAL) or the pair.
 */
export function sanitizeMpolFlags(
  rawMode: number,
  v: KernelVersion,
): { err: "EINVAL" } | { mode: number; flags: number } {
  const flags = rawMode & MPOL_MODE_FLAGS;
  const mode = (rawMode & ~MPOL_MODE_FLAGS) >>> 0; // (unsigned int) compare catches negatives
  if (mode >= mpolMax(v)) return { err: "EINVAL" };
  if (flags & MPOL_F_STATIC_NODES && flags & MPOL_F_RELATIVE_NODES) return { err: "EINVAL" };
  if (flags & MPOL_F_NUMA_BALANCING) {
    const ok = mode === MPOL_BIND || (v.numaBalancingPreferredMany && mode === MPOL_PREFERRED_MANY);
    if (!ok) return { err: "EINVAL" };
    return { mode, flags: flags | MPOL_F_MOF | MPOL_F_MORON };
  }
  return { mode, flags };
}

/**
 * mpol_new(): validate mode and nodes; returns null for MPOL_DEFAULT (no policy object),
 * and turns an empty MPOL_PREFERRED into MPOL_LOCAL.
 */
export function mpolNew(mode: number, flags: number, nodes: Nodemask): MemPolicy | null | "EINVAL" {
  if (mode === MPOL_DEFAULT) {
    if (!nodes.isEmpty()) return "EINVAL";
    return null;
  }
  if (mode === MPOL_PREFERRED) {
    if (nodes.isEmpty()) {
      if (flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)) return "EINVAL";
      mode = MPOL_LOCAL;
    }
  } else if (mode === MPOL_LOCAL) {
    if (!nodes.isEmpty() || flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)) return "EINVAL";
  } else if (nodes.isEmpty()) {
    return "EINVAL";
  }
  return {
    kind: "user",
    mode,
    flags,
    nodes: Nodemask.NONE,
    homeNode: NUMA_NO_NODE,
    cpusetMemsAllowed: Nodemask.NONE,
    userNodemask: Nodemask.NONE,
  };
}

/** mpol_relative_nodemask(): fold the user mask to the size of rel, then map it onto rel */
export function mpolRelativeNodemask(orig: Nodemask, rel: Nodemask): Nodemask {
  return orig.fold(rel.weight()).onto(rel);
}

/**
 * mpol_set_nodemask(): contextualise the user's nodes against the cpuset's mems_allowed
 * and N_MEMORY, then run the mode's create(): mpol_new_nodemask (BIND, INTERLEAVE,
 * PREFERRED_MANY, WEIGHTED_INTERLEAVE) or mpol_new_preferred (first node only).
 * An empty result is EINVAL.
 */
export function mpolSetNodemask(
  pol: MemPolicy | null,
  nodes: Nodemask,
  memsAllowed: Nodemask,
  nMemory: Nodemask,
  /** nodes a design lets a policy name whatever the cpuset (coherent nodes) */
  extra: Nodemask = Nodemask.NONE,
): 0 | "EINVAL" {
  if (!pol || pol.mode === MPOL_LOCAL) return 0;
  const allowed = memsAllowed.and(nMemory).or(nodes.and(extra));
  const eff = pol.flags & MPOL_F_RELATIVE_NODES ? mpolRelativeNodemask(nodes, allowed) : nodes.and(allowed);
  if (mpolStoreUserNodemask(pol)) pol.userNodemask = nodes;
  else pol.cpusetMemsAllowed = memsAllowed;
  if (eff.isEmpty()) return "EINVAL";
  pol.nodes = pol.mode === MPOL_PREFERRED ? Nodemask.ofNode(eff.first()) : eff;
  return 0;
}

/** mpol_dup() */
export function mpolDup(pol: MemPolicy | null): MemPolicy | null {
  if (!pol) return null;
  return { ...pol };
}

/** __mpol_equal() */
export function mpolEqual(a: MemPolicy | null, b: MemPolicy | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  if (a.mode !== b.mode || a.flags !== b.flags || a.homeNode !== b.homeNode) return false;
  if (mpolStoreUserNodemask(a) && !a.userNodemask.equals(b.userNodemask)) return false;
  if (a.mode === MPOL_LOCAL) return true;
  return a.nodes.equals(b.nodes);
}

/**
 * mpol_rebind_policy(): follow a change of the cpuset's mems. BIND, INTERLEAVE and
 * WEIGHTED_INTERLEAVE remap (mpol_rebind_nodemask); PREFERRED and PREFERRED_MANY only
 * record the new mems (mpol_rebind_preferred).
 */
export function mpolRebindPolicy(pol: MemPolicy | null, newmask: Nodemask): void {
  if (pol?.kind !== "user" || pol.mode === MPOL_LOCAL) return;
  if (!mpolStoreUserNodemask(pol) && pol.cpusetMemsAllowed.equals(newmask)) return;
  switch (pol.mode) {
    case MPOL_BIND:
    case MPOL_INTERLEAVE:
    case MPOL_WEIGHTED_INTERLEAVE: {
      let tmp: Nodemask;
      if (pol.flags & MPOL_F_STATIC_NODES) tmp = pol.userNodemask.and(newmask);
      else if (pol.flags & MPOL_F_RELATIVE_NODES) tmp = mpolRelativeNodemask(pol.userNodemask, newmask);
      else {
        tmp = pol.nodes.remap(pol.cpusetMemsAllowed, newmask);
        pol.cpusetMemsAllowed = newmask;
      }
      if (tmp.isEmpty()) tmp = newmask;
      pol.nodes = tmp;
      return;
    }
    case MPOL_PREFERRED:
    case MPOL_PREFERRED_MANY:
      pol.cpusetMemsAllowed = newmask;
      return;
  }
}

/** Linux's policy_modes[] names, as numa_maps prints them */
const POLICY_MODE_STR: Readonly<Record<number, string>> = {
  [MPOL_DEFAULT]: "default",
  [MPOL_PREFERRED]: "prefer",
  [MPOL_BIND]: "bind",
  [MPOL_INTERLEAVE]: "interleave",
  [MPOL_LOCAL]: "local",
  [MPOL_PREFERRED_MANY]: "prefer (many)",
  [MPOL_WEIGHTED_INTERLEAVE]: "weighted interleave",
};

/** mpol_to_str(): "bind=static:0-1", "prefer (many):0,2", "default", ... */
export function mpolToStr(pol: MemPolicy | null): string {
  let mode = MPOL_DEFAULT;
  let flags = 0;
  let nodes = Nodemask.NONE;
  if (pol && pol.kind === "user") {
    mode = pol.mode;
    flags = pol.flags;
  }
  if (mode !== MPOL_DEFAULT && mode !== MPOL_LOCAL) nodes = pol!.nodes;
  let s = POLICY_MODE_STR[mode] ?? "unknown";
  if (flags & MPOL_MODE_FLAGS) {
    s += "=";
    if (flags & MPOL_F_STATIC_NODES) s += "static";
    else if (flags & MPOL_F_RELATIVE_NODES) s += "relative";
    if (flags & MPOL_F_NUMA_BALANCING) {
      const m = flags & MPOL_MODE_FLAGS;
      if ((m & (m - 1)) !== 0) s += "|";
      s += "balancing";
    }
  }
  if (!nodes.isEmpty()) s += `:${nodes.toString()}`;
  return s;
}

/**
 * apply_policy_zone(): a BIND nodemask applies only to allocations that may use
 * policy_zone, or ZONE_MOVABLE when the policy's nodes have only movable memory.
 */
export function applyPolicyZone(
  pol: MemPolicy,
  zone: ZoneType,
  policyZone: ZoneType,
  nHighMemory: Nodemask,
): boolean {
  let dynamicPolicyZone: number = policyZone;
  if (!pol.nodes.intersects(nHighMemory)) dynamicPolicyZone = ZONE_MOVABLE;
  return zone >= dynamicPolicyZone;
}

/**
 * policy_nodemask(): the nodemask that filters the zonelist: BIND's nodes when
 * apply_policy_zone() allows it and they intersect the task's mems_allowed
 * (cpuset_nodemask_valid_mems_allowed), PREFERRED_MANY's nodes, otherwise none.
 */
export function policyNodemask(
  gfp: number,
  pol: MemPolicy,
  memsAllowed: Nodemask,
  policyZone: ZoneType,
  nHighMemory: Nodemask,
  /** nodes a design lets a policy name whatever the cpuset (coherent nodes) */
  extra: Nodemask = Nodemask.NONE,
): Nodemask | null {
  if (
    pol.mode === MPOL_BIND &&
    applyPolicyZone(pol, gfpZone(gfp), policyZone, nHighMemory) &&
    (pol.nodes.intersects(memsAllowed) || pol.nodes.intersects(extra))
  ) {
    return pol.nodes;
  }
  if (pol.mode === MPOL_PREFERRED_MANY) return pol.nodes;
  return null;
}

/**
 * policy_node(): the preferred node: PREFERRED's node; the home node for BIND and
 * PREFERRED_MANY when set; otherwise the given node (numa_node_id()).
 */
export function policyNode(pol: MemPolicy, nd: number): number {
  if (pol.mode === MPOL_PREFERRED) nd = pol.nodes.first();
  if ((pol.mode === MPOL_BIND || pol.mode === MPOL_PREFERRED_MANY) && pol.homeNode !== NUMA_NO_NODE) {
    return pol.homeNode;
  }
  return nd;
}

/** interleave_nodes(): dynamic interleave by the per-task il_prev rotor */
export function interleaveNodes(pol: MemPolicy, task: PolicyTask): number {
  const next = pol.nodes.nextIn(task.ilPrev);
  if (next < MAX_NUMNODES) task.ilPrev = next;
  return next;
}

/** offset_il_node(): the (n mod weight)-th node of the policy */
export function offsetIlNode(pol: MemPolicy, n: number, numaNodeId: number): number {
  const ids = pol.nodes.ids();
  if (ids.length === 0) return numaNodeId;
  return ids[n % ids.length]!;
}

/** The weight of a node in the weighted-interleave table (0 or unset counts as 1). */
export function ilWeight(weights: ReadonlyMap<number, number>, node: number): number {
  return weights.get(node) || 1;
}

/** weighted_interleave_nid(): static weighted interleave by index (6.9+) */
export function weightedInterleaveNid(
  pol: MemPolicy,
  ilx: number,
  weights: ReadonlyMap<number, number>,
  numaNodeId: number,
): number {
  const ids = pol.nodes.ids();
  if (ids.length === 0) return numaNodeId;
  let total = 0;
  for (const n of ids) total += ilWeight(weights, n);
  let target = ilx % total;
  let nid = ids[0]!;
  while (target) {
    const w = ilWeight(weights, nid);
    if (target < w) break;
    target -= w;
    nid = pol.nodes.nextIn(nid);
  }
  return nid;
}

/** weighted_interleave_nodes(): dynamic weighted interleave (6.9+) */
export function weightedInterleaveNodes(
  pol: MemPolicy,
  task: PolicyTask,
  weights: ReadonlyMap<number, number>,
): number {
  let node = task.ilPrev;
  if (!task.ilWeight || !pol.nodes.has(node)) {
    node = pol.nodes.nextIn(task.ilPrev);
    if (node === MAX_NUMNODES) return node;
    task.ilPrev = node;
    task.ilWeight = ilWeight(weights, node);
  }
  task.ilWeight--;
  return node;
}

/** The nodes get_mempolicy() copies out (get_policy_nodemask / w.user_nodemask) */
export function getPolicyNodemask(pol: MemPolicy): Nodemask {
  if (mpolStoreUserNodemask(pol)) return pol.userNodemask;
  if (pol.kind === "default" || pol.mode === MPOL_LOCAL) return Nodemask.NONE;
  return pol.nodes;
}

export function isInterleave(mode: number): boolean {
  return mode === MPOL_INTERLEAVE || mode === MPOL_WEIGHTED_INTERLEAVE;
}
