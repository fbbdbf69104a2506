/**
 * cpuset-admin: Mel Gorman's alternative to the CDM node (Re: [PATCH V3 0/4], February
 * 2017; `../shared/docs/cdm-designs.md` §3.1): no change to the kernel at all, mainline as
 * shipped, plus the administrator's cpuset setup:
 *
 * 1. a cpuset `system` whose mems are the RAM nodes, into which every task goes;
 * 2. a cpuset `cdm` whose mems are the RAM nodes and the device nodes, where the
 *    device-aware applications start (tasks marked `aware: true`); there they name the
 *    device nodes with mbind or set_mempolicy;
 * 3. on hot-add of a device node, the administrator (or a daemon) adds it to `cdm`.
 *
 * The setup is done with the cgroup file system the scenario's own steps use (mkdir,
 * cpuset.mems, cgroup.procs on cgroup v2), each write recorded as an `admin` event, so
 * `cdmsim compare` counts the administrative steps from the run.
 *
 * Chosen where the thread is silent:
 * - the tasks the administrator moves are those the scenario leaves in the root cpuset; a
 *   task the scenario starts in a cpuset of its own (a batch system's, as in Michal Hocko's
 *   case) stays there, which is what a system-wide setup cannot reach;
 * - the mems are written from the nodes online at the time (has_memory), as a script
 *   reading sysfs would; on cgroup v2 a node that goes offline and comes back stays in a
 *   cpuset that listed it, so only a node the `cdm` cpuset never listed needs an update;
 * - the update after a hot-add runs `admin.hotplug_delay` steps after the step that
 *   onlined the node (0: before the next step, as a udev rule would). Until then the node
 *   is in no cpuset but the root's: tasks left in the root can fall back onto it and the
 *   aware applications cannot name it (mbind's EINVAL); `cdmsim compare` shows the window.
 */
import { type CgroupResult, cgroupAttach, cgroupCreate, cgroupWrite } from "../kernel/cgroupfs.js";
import type { AdminOptions, AdminRun, Design } from "../kernel/design.js";
import type { AdminEvent, Kernel } from "../kernel/kernel.js";
import { Nodemask } from "../kernel/nodemask.js";
import { deviceNodeIds } from "../kernel/topology.js";

const SYSTEM = "/system";
const DEVICE = "/cdm";

function act(
  k: Kernel,
  step: number,
  action: string,
  fn: () => CgroupResult,
  hotAdd?: AdminEvent["hotAdd"],
): void {
  const r = fn();
  k.events.push({ kind: "admin", step, action, ret: r.ret, errno: r.errno, ...(hotAdd ? { hotAdd } : {}) });
}

function start(k: Kernel, opts: AdminOptions): AdminRun {
  const devices = Nodemask.from(deviceNodeIds(k.topo.spec));
  const ram = k.nMemory.andNot(devices);
  const mkdir = (path: string) => act(k, -1, `mkdir ${path.slice(1)}`, () => cgroupCreate(k, path));
  const setMems = (step: number, path: string, mems: Nodemask, hotAdd?: AdminEvent["hotAdd"]) =>
    act(
      k,
      step,
      `echo ${mems.toString()} > ${path.slice(1)}/cpuset.mems`,
      () => cgroupWrite(k, path, "cpuset.mems", mems.toString()),
      hotAdd,
    );
  mkdir(SYSTEM);
  setMems(-1, SYSTEM, ram);
  mkdir(DEVICE);
  setMems(-1, DEVICE, k.nMemory);
  // what the device cpuset lists (mkdir of a child of the root fails only when it exists)
  const listed = () => k.cgroups.get(DEVICE)!.mems;
  for (const t of [...k.tasks.values()]) {
    if (!t.alive || !t.cpuset.isRoot) continue;
    const to = opts.aware.has(t.name) ? DEVICE : SYSTEM;
    act(k, -1, `echo ${t.pid} > ${to.slice(1)}/cgroup.procs  # ${t.name}`, () => cgroupAttach(k, t, to));
  }
  // device nodes that came online and the step that onlined them, until the update
  const pending = new Map<number, number>();
  return {
    afterStep(step: number) {
      for (const n of k.nMemory.andNot(listed()).and(devices).ids())
        if (!pending.has(n)) pending.set(n, step);
      if (!pending.size) return;
      const since = Math.min(...pending.values());
      if (step < since + opts.hotplugDelay) return;
      const nodes = [...pending.keys()];
      setMems(step, DEVICE, listed().or(Nodemask.from(nodes)), { nodes, onlineStep: since });
      pending.clear();
    },
  };
}

export const cpusetAdmin: Design = {
  id: "cpuset-admin",
  title:
    "Mel Gorman's alternative: mainline plus the administrator's cpusets (system without the device nodes, cdm with them)",
  source: "Mel Gorman, Re: [PATCH V3 0/4] Define coherent device memory node, LKML, 15-17 February 2017",
  hooks: {},
  admin: start,
};
