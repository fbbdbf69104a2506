/**
 * The OOM killer (mm/oom_kill.c, Linux 6.1): out_of_memory(), constrained_alloc(),
 * oom_cpuset_eligible(), select_bad_process() with oom_badness(), and the reaping of the
 * victim's memory.
 */

import { MPOL_BIND } from "./constants.js";
import { PG_HUGETLB, ZERO_PAGE } from "./extents.js";
import { __GFP_THISNODE, gfpZone } from "./gfp.js";
import type { Kernel, OomEvent, Task } from "./kernel.js";
import type { Nodemask } from "./nodemask.js";
import { cpusetNodeAllowed, type OomRequest } from "./page-alloc.js";
import { releaseMm } from "./release.js";

export type OomConstraint = OomEvent["constraint"];

/** constrained_alloc() */
export function constrainedAlloc(k: Kernel, current: Task, oc: OomRequest): OomConstraint {
  if (oc.gfp & __GFP_THISNODE) return "NONE";
  if (oc.nodemask && !k.nMemory.isSubsetOf(oc.nodemask)) return "MEMORY_POLICY";
  if (!k.cpusetsEnabled) return "NONE";
  const highest = gfpZone(oc.gfp);
  const at = k.allocTask(current);
  for (const z of oc.zonelist) {
    if (z.type > highest) continue;
    if (oc.nodemask && !oc.nodemask.has(z.node)) continue;
    if (!cpusetNodeAllowed(at, z.node, oc.gfp)) return "CPUSET";
  }
  return "NONE";
}

/** mempolicy_in_oom_domain(): BIND tasks only when their nodes intersect the mask */
function mempolicyInOomDomain(t: Task, mask: Nodemask | null): boolean {
  if (!mask) return true;
  if (t.mempolicy && t.mempolicy.mode === MPOL_BIND) return t.mempolicy.nodes.intersects(mask);
  return true;
}

/** oom_cpuset_eligible() */
function oomCpusetEligible(t: Task, current: Task, mask: Nodemask | null): boolean {
  if (mask) return mempolicyInOomDomain(t, mask);
  return t.memsAllowed.intersects(current.memsAllowed);
}

/** oom_badness(): resident pages (get_mm_rss, the zero page not counted) plus page-table pages */
export function oomBadness(t: Task): number {
  return mmRss(t) + t.mm.tables.pages;
}

/** get_mm_rss(): resident pages mapped by the task (the zero page does not count) */
export function mmRss(t: Task): number {
  let rss = 0;
  for (const e of t.mm.pte.all()) {
    if (e.pattern.length === 1 && e.pattern[0] === ZERO_PAGE) continue;
    if (e.flags & PG_HUGETLB) continue; // hugetlb pages are not in the RSS
    for (let i = 0; i < e.pattern.length; i++) {
      if (e.pattern[i] === ZERO_PAGE) continue;
      rss += Math.floor(e.count / e.pattern.length) + (i < e.count % e.pattern.length ? 1 : 0);
    }
  }
  return rss;
}

/**
 * out_of_memory(): pick the victim with the highest badness (resident and page-table pages) among the
 * tasks eligible for the constraint; equal scores go to the task found last, as
 * select_bad_process() walks the task list in creation order. The victim's memory is
 * reaped at once.
 */
export function outOfMemory(k: Kernel, current: Task, oc: OomRequest): OomEvent {
  const constraint = constrainedAlloc(k, current, oc);
  const mask = constraint === "MEMORY_POLICY" ? oc.nodemask : null;
  let chosen: Task | null = null;
  let chosenPoints = Number.NEGATIVE_INFINITY;
  for (const t of k.tasks.values()) {
    if (!t.alive) continue;
    if (!oomCpusetEligible(t, current, mask)) continue;
    const points = oomBadness(t);
    if (points < chosenPoints) continue;
    chosen = t;
    chosenPoints = points;
  }
  const ev: OomEvent = {
    kind: "oom",
    step: k.step,
    task: current.name,
    victim: chosen ? chosen.name : null,
    constraint,
    nodemask: mask ? mask.toString() : null,
    victimRss: chosen ? mmRss(chosen) : 0,
    victimPgtables: chosen ? chosen.mm.tables.pages : 0,
  };
  k.pushEvent(ev);
  if (chosen) {
    chosen.state = "killed";
    releaseMm(k, chosen);
  }
  return ev;
}
