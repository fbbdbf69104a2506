/**
 * Changing cpusets at run time on cgroup v2, as the administrator does through the cgroup
 * file system (kernel/cgroup/cgroup.c, kernel/cgroup/cpuset.c of Linux 6.1):
 *
 * - mkdir of a cgroup (cpuset_css_online: effective masks from the parent);
 * - writes of cpuset.mems (update_nodemask), cpuset.cpus (update_cpumask) and
 *   cpuset.cpus.partition (update_prstate: a valid partition root takes its CPUs out of
 *   its parent's effective CPUs, so tasks left in the parent or its other children move
 *   off them, and with them their local node; an invalid one changes nothing);
 * - moving a task into a cgroup (cgroup.procs: cgroup_migrate_vet_dst, cpuset_attach).
 *
 * When a cpuset's effective mems change, every task in it gets the new mems_allowed and
 * its task policy is rebound to them (cpuset_change_task_nodemask -> mpol_rebind_task),
 * its VMA policies are rebound to the cpuset's effective mems (mpol_rebind_mm), and, as
 * memory_migrate is on by default on cgroup v2, its pages move from the old mems to the
 * new ones (cpuset_migrate_mm -> do_migrate_pages with MPOL_MF_MOVE_ALL; the write waits
 * for it: flush_workqueue). The kernel resets a task's CPU affinity to the cpuset's CPUs
 * on attach and on a cpuset.cpus write; cdmsim keeps tasks pinned as the scenario says:
 * to their CPU when the cpuset allows it, else to the cpuset's lowest CPU.
 */
import { MAX_NUMNODES } from "./constants.js";
import { type Cpuset, guaranteeOnlineMems, updateEffective } from "./cpuset.js";
import type { Kernel, Task } from "./kernel.js";
import { mpolRebindPolicy } from "./mempolicy.js";
import { doMigratePages } from "./migrate.js";
import { Nodemask } from "./nodemask.js";

export interface CgroupResult {
  ret: number;
  errno: string | null;
}

const ok: CgroupResult = { ret: 0, errno: null };
const fail = (errno: string): CgroupResult => ({ ret: -1, errno });

/** bitmap_parselist() of a written value (after strstrip): ids, or the error it gives. */
export function parseKernelList(text: string, nbits: number): number[] | "EINVAL" | "ERANGE" {
  const s = text.trim();
  if (s === "") return [];
  const out = new Set<number>();
  for (const part of s.split(",")) {
    // a, a-b, a-b:used/group
    const m = /^(\d+)(?:-(\d+)(?::(\d+)\/(\d+))?)?$/.exec(part);
    if (!m) return "EINVAL";
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const used = m[3] === undefined ? 1 : Number(m[3]);
    const group = m[4] === undefined ? 1 : Number(m[4]);
    if (b < a || used === 0 || used > group) return "EINVAL";
    if (b >= nbits) return "ERANGE";
    for (let i = a; i <= b; i++) if ((i - a) % group < used) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** Whether a task lives in the cgroup or below it (cgroup_is_populated). */
function populated(k: Kernel, cs: Cpuset): boolean {
  for (const t of k.tasks.values()) {
    if (!t.alive) continue;
    for (let c: Cpuset | null = t.cpuset; c; c = c.parent) if (c === cs) return true;
  }
  return false;
}

function hasTasks(k: Kernel, cs: Cpuset): boolean {
  for (const t of k.tasks.values()) if (t.alive && t.cpuset === cs) return true;
  return false;
}

/** mkdir /sys/fs/cgroup<path> (the parent distributes the cpuset controller). */
export function cgroupCreate(k: Kernel, path: string): CgroupResult {
  if (k.cgroups.has(path)) return fail("EEXIST");
  const parentPath = path.slice(0, path.lastIndexOf("/")) || "/";
  if (!k.cgroups.has(parentPath)) return fail("ENOENT");
  k.createCgroup(path);
  k.refreshCpusets();
  return ok;
}

/** A write of a cpuset file. */
export function cgroupWrite(k: Kernel, path: string, file: string, value: string): CgroupResult {
  const cs = k.cgroups.get(path);
  // the root cgroup has none of these files on cgroup v2 (CFTYPE_NOT_ON_ROOT)
  if (!cs || cs.isRoot) return fail("ENOENT");
  switch (file) {
    case "cpuset.mems":
      return updateNodemask(k, cs, value);
    case "cpuset.cpus":
      return updateCpumask(k, cs, value);
    case "cpuset.cpus.partition":
      return updatePrstate(k, cs, value);
    default:
      return fail("ENOENT");
  }
}

/** update_nodemask() */
function updateNodemask(k: Kernel, cs: Cpuset, value: string): CgroupResult {
  const ids = parseKernelList(value, MAX_NUMNODES);
  if (typeof ids === "string") return fail(ids);
  const trial = Nodemask.from(ids);
  // top_cpuset.mems_allowed: every possible node on cgroup v2 (cpuset_bind)
  if (!trial.isSubsetOf(k.root.mems)) return fail("EINVAL");
  if (trial.equals(cs.mems)) return ok;
  // validate_change(): a cpuset with tasks cannot lose all its mems
  if (populated(k, cs) && !cs.mems.isEmpty() && trial.isEmpty()) return fail("ENOSPC");
  cs.mems = trial;
  applyMaskChange(k);
  return ok;
}

/** update_cpumask() */
function updateCpumask(k: Kernel, cs: Cpuset, value: string): CgroupResult {
  // cpulist_parse() takes ids below nr_cpu_ids (the possible CPUs)
  const all = k.root.cpus; // top_cpuset.cpus_allowed: every online CPU
  const ids = parseKernelList(value, Math.max(...all) + 1);
  if (typeof ids === "string") return fail(ids);
  if (!ids.every((c) => all.includes(c))) return fail("EINVAL");
  if (ids.length === cs.cpus.length && ids.every((c, i) => cs.cpus[i] === c)) return ok;
  if (populated(k, cs) && cs.cpus.length && !ids.length) return fail("ENOSPC");
  // validate_change() refuses a CPU shared with a cpu_exclusive sibling (a valid partition
  // root); on cgroup v2 update_cpumask() lets the write go on and invalidates the partitions
  // in conflict instead (update_parent_subparts_cpumask(partcmd_invalidate)), the writer's too
  const p = cs.parent!;
  const conflicts = p.children.filter(
    (c) => c !== cs && (c.partition > 0 || cs.partition > 0) && c.cpus.some((x) => ids.includes(x)),
  );
  const invalidate = (c: Cpuset) => {
    if (c.partition <= 0) return;
    p.subpartsCpus = p.subpartsCpus.filter((x) => !c.cpus.includes(x));
    c.partition = -c.partition;
  };
  applyMaskChange(k, () => {
    for (const c of conflicts) if (c.partition > 0 && c.cpus.some((x) => ids.includes(x))) invalidate(c);
    if (cs.partition > 0 && conflicts.length) invalidate(cs);
    else if (cs.partition > 0) {
      // partcmd_update: the parent keeps the CPUs given up and gives the new ones; a
      // partition left without CPUs becomes invalid
      const pool = [...p.effectiveCpus, ...p.subpartsCpus];
      const give = ids.filter((c) => pool.includes(c));
      p.subpartsCpus = p.subpartsCpus.filter((c) => !cs.cpus.includes(c));
      if (give.length) p.subpartsCpus = [...new Set([...p.subpartsCpus, ...give])].sort((a, b) => a - b);
      else cs.partition = -cs.partition;
    }
    cs.cpus = ids;
  });
  return ok;
}

const PRS: Record<string, number> = { member: 0, root: 1, isolated: 2 };

/** cpu_exclusive siblings may not share CPUs (validate_change); partition roots are exclusive. */
function overlapsSibling(cs: Cpuset, cpus: readonly number[]): boolean {
  for (const c of cs.parent?.children ?? []) {
    if (c !== cs && c.cpus.some((x) => cpus.includes(x))) return true;
  }
  return false;
}

/**
 * partition_is_populated(): tasks in the parent itself, or in a child other than `except`
 * that is not a valid partition root.
 */
function partitionIsPopulated(k: Kernel, parent: Cpuset, except: Cpuset): boolean {
  if (hasTasks(k, parent)) return true;
  return parent.children.some((c) => c !== except && c.partition <= 0 && populated(k, c));
}

/**
 * update_prstate(): the write always succeeds (an unknown value is EINVAL); a partition
 * that cannot be made is left invalid (its state negative) and changes no CPUs:
 * PERR_CPUSEMPTY, PERR_NOTEXCL (a sibling shares CPUs), PERR_NOTPART (the parent is not a
 * valid partition root), PERR_INVCPUS, PERR_NOCPUS (the parent would be left without
 * CPUs while it has tasks). update_parent_subparts_cpumask() moves the CPUs into the
 * parent's subparts_cpus; switching back to member gives them back and invalidates the
 * cpuset's own child partitions.
 */
function updatePrstate(k: Kernel, cs: Cpuset, value: string): CgroupResult {
  const v = PRS[value.trim()];
  if (v === undefined) return fail("EINVAL");
  const old = cs.partition;
  if (old === v) return ok;
  if (v && old < 0) {
    cs.partition = -v;
    return ok;
  }
  const p = cs.parent!;
  applyMaskChange(k, () => {
    if (old === 0) {
      const give = cs.cpus.filter((c) => p.effectiveCpus.includes(c));
      const valid =
        cs.cpus.length > 0 &&
        !overlapsSibling(cs, cs.cpus) &&
        p.partition > 0 &&
        cs.cpus.some((c) => (p.isRoot ? k.root.cpus : p.cpus).includes(c)) &&
        !(p.effectiveCpus.every((c) => cs.cpus.includes(c)) && partitionIsPopulated(k, p, cs));
      if (!valid) {
        cs.partition = -v;
        return;
      }
      p.subpartsCpus = [...new Set([...p.subpartsCpus, ...give])].sort((a, b) => a - b);
      cs.partition = v;
    } else if (old > 0 && v > 0) {
      cs.partition = v; // load balancing only
    } else {
      if (old > 0) p.subpartsCpus = p.subpartsCpus.filter((c) => !cs.cpus.includes(c));
      for (const c of cs.children) if (c.partition > 0) c.partition = -c.partition;
      cs.subpartsCpus = [];
      cs.partition = 0;
    }
  });
  return ok;
}

/**
 * update_cpumasks_hier() and update_nodemasks_hier(): new effective masks below the root;
 * the tasks of each cpuset whose effective mems changed are updated (update_tasks_nodemask),
 * parents before children, and every task stays on an allowed CPU.
 */
function applyMaskChange(k: Kernel, change?: () => void): void {
  const before = new Map([...k.cgroups.values()].map((c) => [c, c.effectiveMems]));
  change?.();
  updateEffective(k.root);
  const preorder = (c: Cpuset): Cpuset[] => [c, ...c.children.flatMap(preorder)];
  for (const c of preorder(k.root)) {
    if (!c.effectiveMems.equals(before.get(c)!)) updateTasksNodemask(k, c);
  }
  for (const t of k.tasks.values()) keepPinned(t);
  k.refreshCpusets();
}

/**
 * cpuset_hotplug_workfn() after memory went online or offline: the root's effective mems
 * are N_MEMORY again and every cpuset's follow (hotplug_update_tasks), with
 * the tasks of those that changed rebound as for a write of cpuset.mems.
 */
export function cpusetHotplug(k: Kernel): void {
  applyMaskChange(k, () => {
    k.root.effectiveMems = k.cpusetMemory;
  });
}

/** The task stays on its CPU if the cpuset allows it, else goes to the cpuset's lowest. */
function keepPinned(t: Task): void {
  const cpus = t.cpuset.effectiveCpus;
  if (!cpus.includes(t.cpu)) t.cpu = Math.min(...cpus);
}

/** update_tasks_nodemask() */
function updateTasksNodemask(k: Kernel, cs: Cpuset): void {
  const newmems = guaranteeOnlineMems(cs, k.cpusetMemory);
  for (const t of [...k.tasks.values()]) {
    if (!t.alive || t.cpuset !== cs) continue;
    changeTaskNodemask(t, newmems);
    for (const v of t.mm.vmas) mpolRebindPolicy(v.policy, cs.effectiveMems); // mpol_rebind_mm
    // is_memory_migrate(): set on every cpuset cgroup v2 creates, not on the static root
    if (!cs.isRoot) migrateMm(k, t, cs.oldMemsAllowed, newmems);
  }
  cs.oldMemsAllowed = newmems;
}

/** cpuset_change_task_nodemask() -> mpol_rebind_task() */
function changeTaskNodemask(t: Task, newmems: Nodemask): void {
  mpolRebindPolicy(t.mempolicy, newmems);
  t.memsAllowed = newmems;
}

/** cpuset_migrate_mm(): nothing when the masks are equal (memory_migrate is on, on v2) */
function migrateMm(k: Kernel, t: Task, from: Nodemask, to: Nodemask): void {
  if (from.equals(to)) return;
  doMigratePages(k, t, t, from, to, true);
}

/** A write of the task's pid to <path>/cgroup.procs. */
export function cgroupAttach(k: Kernel, task: Task, path: string): CgroupResult {
  const cs = k.cgroups.get(path);
  if (!cs) return fail("ENOENT");
  if (cs === task.cpuset) return ok;
  // cgroup_migrate_vet_dst(): an ancestor holding tasks is a thread root (the cpuset
  // controller is threaded), below which a cgroup is no valid domain; a cgroup whose
  // children hold tasks cannot take one (no internal processes)
  for (let c = cs.parent; c && !c.isRoot; c = c.parent) if (hasTasks(k, c)) return fail("EOPNOTSUPP");
  if (!cs.isRoot && cs.children.some((c) => populated(k, c))) return fail("EBUSY");
  const oldcs = task.cpuset;
  task.cpuset = cs;
  // cpuset_attach()
  keepPinned(task);
  changeTaskNodemask(task, guaranteeOnlineMems(cs, k.cpusetMemory));
  for (const v of task.mm.vmas) mpolRebindPolicy(v.policy, cs.effectiveMems);
  migrateMm(k, task, oldcs.oldMemsAllowed, cs.effectiveMems);
  cs.oldMemsAllowed = cs.effectiveMems;
  k.refreshCpusets();
  return ok;
}
