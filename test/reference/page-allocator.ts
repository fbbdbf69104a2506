/**
 * The reference run allocator: allocateRun()'s contract, one page (one allocation of the
 * plan's order) at a time, each with its own decide() against the current state, the way
 * the kernel calls __alloc_pages() once per fault. No cycles, no counts carried over from
 * one decision to the next.
 *
 * - page i uses slot (plan.phase + i) mod the cycle length;
 * - PREFERRED_MANY: the slot's second request when the first pass fails;
 * - success: commit one allocation, count it (zone_statistics, interleave_hit), and hand
 *   its one-page segment to `onSegment` at once (the caller maps it before the next page);
 * - OOM: out_of_memory(); the task itself killed (or nothing to kill) stops the run,
 *   otherwise the same page is retried with the OOM-kill flag (the slow path's retry);
 * - plain failure: an alloc_failure event, and the run stops;
 * - dynamic (task) interleave: every alloc_pages() call moves il_prev (and il_weight) with
 *   interleave_nodes()/weighted_interleave_nodes(); the OOM retry is inside the same call;
 *   cpuset page-cache spreading moves the task's spread rotor the same way;
 * - reclaim: kswapd woken by a decision runs before the next one; a decision that asks for
 *   direct reclaim gets it and is retried (without reclaim once reclaim freed nothing).
 *
 * Explain events are not produced (the comparison runs without --explain).
 */
import { NUMA_NO_NODE } from "../../src/kernel/constants.js";
import type { AllocateRun, AllocEvent, Kernel, Task } from "../../src/kernel/kernel.js";
import { interleaveNodes, weightedInterleaveNodes } from "../../src/kernel/mempolicy.js";
import { outOfMemory } from "../../src/kernel/oom.js";
import { type AllocDecision, commit, decide } from "../../src/kernel/page-alloc.js";
import type { AllocPlan, RunResult, Segment, SlotRequest } from "../../src/kernel/policy-alloc.js";

function decideOne(
  k: Kernel,
  task: Task,
  slot: SlotRequest,
  afterOomKill: boolean,
  noReclaim: boolean,
): AllocDecision {
  const d = decide(k.allocEnv(), k.allocTask(task), slot.req, false, afterOomKill, noReclaim);
  if (d.ok || !slot.second) return d;
  if (d.kswapd) k.runKswapd(d.kswapd, task.name);
  return decide(k.allocEnv(), k.allocTask(task), slot.second, false, afterOomKill, noReclaim);
}

/** What the dynamic interleave rotor gives for the next alloc_pages() call (and moves it). */
function nextDynamicNode(k: Kernel, task: Task, plan: AllocPlan): number {
  return plan.dynamicInterleave === "weighted"
    ? weightedInterleaveNodes(plan.policy, task, k.weights)
    : interleaveNodes(plan.policy, task);
}

export function pageByPageAllocateRun(
  k: Kernel,
  task: Task,
  plan: AllocPlan,
  pages: number,
  _target: string,
  firstIndex: number,
  _space: AllocEvent["space"] = "vpn",
  onSegment?: (first: number, seg: Segment) => void,
  // one page at a time sees every page freed by onSegment: nothing to check
  _freedZones?: (first: number, count: number) => readonly number[],
): RunResult {
  const n = plan.slots.length;
  const segments: Segment[] = [];
  let done = 0;
  while (done < pages) {
    const slot = plan.slots[(plan.phase + done) % n]!;
    if (plan.dynamicInterleave) {
      const node = nextDynamicNode(k, task, plan);
      if (node !== slot.req.nid) {
        throw new Error(
          `reference: dynamic interleave gives node ${node} for call ${done}, the plan's slot has node ${slot.req.nid}`,
        );
      }
    }
    if (plan.spreadRotor) {
      // cpuset_spread_node(): next_node_in(rotor, mems_allowed), the first allowed node at first
      const ids = task.memsAllowed.ids();
      const node = task.spreadRotor === NUMA_NO_NODE ? ids[0]! : task.memsAllowed.nextIn(task.spreadRotor);
      if (node !== slot.req.nid)
        throw new Error(
          `reference: spread rotor gives node ${node}, the plan's slot has node ${slot.req.nid}`,
        );
      task.spreadRotor = node;
    }
    let afterOomKill = false;
    let noReclaim = false;
    for (;;) {
      const d = decideOne(k, task, slot, afterOomKill, noReclaim);
      // kswapd, woken by the slow path, reclaims before the next allocation
      if (d.kswapd) k.runKswapd(d.kswapd, task.name);
      if (d.ok) {
        commit(d.zone, slot.req.order, 1);
        k.countAllocation(d.zone, d.preferredZone, task.numaNodeId, 1, slot.interleaveTarget);
        const seg: Segment = { count: 1, zones: [d.zone.id] };
        segments.push(seg);
        onSegment?.(firstIndex + done, seg);
        done++;
        break;
      }
      if (d.oom) {
        const ev = outOfMemory(k, task, d.oom);
        if (ev.victim === task.name || !task.alive) return { segments, done, stop: { kind: "killed" } };
        if (ev.victim === null) {
          return { segments, done, stop: { kind: "failed", reason: "out of memory and no killable task" } };
        }
        afterOomKill = true;
        continue;
      }
      if (d.reclaim) {
        // direct reclaim; one that frees nothing goes on to the OOM killer
        if (k.directReclaim(d.reclaim, task.name) === 0) noReclaim = true;
        afterOomKill = false;
        continue;
      }
      k.events.push({ kind: "alloc_failure", step: k.step, task: task.name, reason: d.reason });
      return { segments, done, stop: { kind: "failed", reason: d.reason } };
    }
  }
  return { segments, done };
}

/** Fails to compile when allocateRun's parameters change and the reference was not updated. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export type SameSignatureAsAllocateRun = Assert<
  Equal<Parameters<typeof pageByPageAllocateRun>, Parameters<AllocateRun>>
>;
type Assert<T extends true> = T;
