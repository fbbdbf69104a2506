/**
 * cgroup v2 cpusets (kernel/cgroup/cpuset.c, Linux 6.1): configured and effective CPUs and
 * memory nodes, and the mems_allowed a task in a cpuset gets.
 */
import { Nodemask } from "./nodemask.js";

export class Cpuset {
  readonly path: string;
  readonly parent: Cpuset | null;
  readonly children: Cpuset[] = [];
  /** cpuset.cpus as written (null: never written, so empty) */
  cpus: readonly number[] = [];
  /** cpuset.mems as written (empty: inherit) */
  mems: Nodemask = Nodemask.NONE;
  effectiveCpus: readonly number[] = [];
  effectiveMems: Nodemask = Nodemask.NONE;
  /** old_mems_allowed: the mems its tasks' pages were last moved to (a migration's source) */
  oldMemsAllowed: Nodemask = Nodemask.NONE;
  /** cgroup v1 style flags (mem_exclusive, mem_hardwall) */
  memExclusive = false;
  memHardwall = false;
  /** cgroup v1 cpuset.memory_spread_page: the page cache of its tasks is spread over its mems */
  memorySpreadPage = false;
  /**
   * partition_root_state: 0 member, PRS_ROOT 1, PRS_ISOLATED 2; negative for a partition
   * root that is invalid. The root cgroup is a partition root.
   */
  partition = 0;
  /** subparts_cpus: the CPUs this partition root gave to its child partitions */
  subpartsCpus: readonly number[] = [];

  constructor(path: string, parent: Cpuset | null) {
    this.path = path;
    this.parent = parent;
    parent?.children.push(this);
    if (!parent) this.partition = 1;
  }

  get isRoot(): boolean {
    return this.parent === null;
  }
}

/**
 * update_cpumasks_hier()/update_nodemasks_hier() on the default hierarchy: effective =
 * configured ∩ parent's effective, or the parent's effective when that is empty.
 */
export function updateEffective(cs: Cpuset): void {
  if (cs.parent) {
    const p = cs.parent;
    // compute_effective_cpumask(): a valid partition root takes its CPUs from what its
    // parent keeps and what the parent gave to its partitions
    const from = cs.partition > 0 ? [...p.effectiveCpus, ...p.subpartsCpus] : p.effectiveCpus;
    const cpus = cs.cpus.filter((c) => from.includes(c)).sort((a, b) => a - b);
    cs.effectiveCpus = cpus.length ? cpus : p.effectiveCpus;
    const mems = cs.mems.and(p.effectiveMems);
    cs.effectiveMems = mems.isEmpty() ? p.effectiveMems : mems;
  } else {
    cs.effectiveCpus = cs.cpus;
  }
  // the CPUs given to child partitions leave this cpuset's effective CPUs
  if (cs.subpartsCpus.length) cs.effectiveCpus = cs.effectiveCpus.filter((c) => !cs.subpartsCpus.includes(c));
  for (const c of cs.children) updateEffective(c);
}

/**
 * guarantee_online_mems(): the effective mems that have memory, from the nearest ancestor
 * where that is not empty. This is what a task's mems_allowed becomes.
 */
export function guaranteeOnlineMems(cs: Cpuset, nMemory: Nodemask): Nodemask {
  let c: Cpuset | null = cs;
  while (c && !c.effectiveMems.intersects(nMemory)) c = c.parent;
  return (c ?? cs).effectiveMems.and(nMemory);
}

/** nearest_hardwall_ancestor(): the closest mem_exclusive or mem_hardwall cpuset, or the root */
export function nearestHardwallAncestor(cs: Cpuset): Cpuset {
  let c = cs;
  while (!(c.memExclusive || c.memHardwall) && c.parent) c = c.parent;
  return c;
}
