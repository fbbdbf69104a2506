/**
 * Allocating pages under a memory policy (mm/mempolicy.c, Linux 6.1: vma_alloc_folio,
 * alloc_pages, alloc_page_interleave, alloc_pages_preferred_many), for runs of pages.
 *
 * A policy turns into a cycle of requests: one request for every policy but interleave,
 * one per interleave slot otherwise (page i of a VMA run uses slot (ilx + i) mod period).
 * allocateRun() allocates a run of pages with as few decisions as the zones' watermarks
 * allow: as long as no zone crosses the threshold its decision depended on, whole cycles
 * repeat identically and are taken at once.
 */
import { MPOL_INTERLEAVE, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE, NUMA_NO_NODE } from "./constants.js";
import { __GFP_DIRECT_RECLAIM, __GFP_NOFAIL, __GFP_NOWARN, __GFP_THISNODE, formatGfp } from "./gfp.js";
import type { AllocEvent, Kernel, Task } from "./kernel.js";
import {
  DEFAULT_POLICY,
  ilWeight,
  type MemPolicy,
  mpolToStr,
  offsetIlNode,
  policyNode,
  policyNodemask,
  weightedInterleaveNid,
} from "./mempolicy.js";
import { outOfMemory } from "./oom.js";
import { type AllocDecision, type AllocRequest, commit, decide, type PassTrace } from "./page-alloc.js";
import type { Zone } from "./zone.js";

/** One slot of a policy's cycle. */
export interface SlotRequest {
  req: AllocRequest;
  /** for a slot of a mixed cycle (page tables among data pages): its own policy, for events */
  policy?: MemPolicy;
  policySource?: string;
  label?: string;
  /** MPOL_PREFERRED_MANY's second pass (all nodes) */
  second?: AllocRequest;
  /** the interleave target (for interleave_hit), or NUMA_NO_NODE */
  interleaveTarget: number;
  /** how the design changed this request, for --explain */
  designNote?: string;
}

/** The cycle of requests a policy produces for a run of pages. */
export interface AllocPlan {
  policy: MemPolicy;
  /** vma, shared, task, default or "none" (kernel allocations outside policy) */
  policySource: string;
  slots: SlotRequest[];
  /** the slot of the first page */
  phase: number;
  /** dynamic (no-VMA) interleave: update il_prev/il_weight after the run */
  dynamicInterleave?: "interleave" | "weighted";
  /** cpuset page-cache spreading: leave the task's cpuset_mem_spread_rotor on the last node */
  spreadRotor?: boolean;
  /** how many allocations the cycle holds for before it must be planned again (default: all) */
  span?: number;
  /** where the i-th allocation of a run lands, for events (default: firstIndex + i in the run's space) */
  locate?: (i: number) => { space: AllocEvent["space"]; first: number };
}

/** Requests of a non-interleave policy (policy_node + policy_nodemask, or the two passes of PREFERRED_MANY). */
function plainSlot(k: Kernel, task: Task, pol: MemPolicy, gfp: number, order: number): SlotRequest {
  let nid = policyNode(pol, task.numaNodeId);
  let designNote: string | undefined;
  const zonelistNode = k.design.hooks.policyZonelistNode;
  if (zonelistNode) {
    const to = zonelistNode(pol, nid, k.designCtx);
    if (to !== nid) designNote = `policyZonelistNode: node ${to}'s zonelist instead of node ${nid}'s`;
    nid = to;
  }
  if (pol.mode === MPOL_PREFERRED_MANY) {
    // alloc_pages_preferred_many(): pass 1 only on the preferred nodes, without direct reclaim
    const preferredGfp = (gfp | __GFP_NOWARN) & ~(__GFP_DIRECT_RECLAIM | __GFP_NOFAIL);
    return {
      req: { gfp: preferredGfp, order, nid, nodemask: pol.nodes },
      second: { gfp, order, nid, nodemask: null },
      interleaveTarget: NUMA_NO_NODE,
      designNote,
    };
  }
  return {
    req: {
      gfp,
      order,
      nid,
      nodemask: policyNodemask(gfp, pol, task.memsAllowed, k.policyZone, k.nNormalMemory, k.policyExtraNodes),
    },
    interleaveTarget: NUMA_NO_NODE,
    designNote,
  };
}

function interleaveSlot(nid: number, gfp: number, order: number): SlotRequest {
  return { req: { gfp, order, nid, nodemask: null }, interleaveTarget: nid };
}

/** The node of each slot of a weighted-interleave cycle (weighted_interleave_nid for ilx 0..total-1). */
function weightedCycle(k: Kernel, pol: MemPolicy, numaNodeId: number): number[] {
  let total = 0;
  for (const n of pol.nodes.ids()) total += ilWeight(k.weights, n);
  const out: number[] = [];
  for (let i = 0; i < total; i++) out.push(weightedInterleaveNid(pol, i, k.weights, numaNodeId));
  return out;
}

interface CachedPlan {
  nodes: unknown;
  homeNode: number;
  mode: number;
  task: Task;
  memsAllowed: unknown;
  numaNodeId: number;
  policyZone: number;
  gfp: number;
  order: number;
  source: string;
  generation: number;
  plan: AllocPlan;
}

/** Plans depend only on the policy, the task's CPU and cpuset, and the request: reuse them. */
const planCache = new WeakMap<MemPolicy, CachedPlan>();

/**
 * vma_alloc_folio() for a run of pages whose interleave index starts at `ilx`
 * (vm_pgoff + page offset; i_ino + index for shmem).
 */
export function vmaAllocPlan(
  k: Kernel,
  task: Task,
  pol: MemPolicy,
  policySource: string,
  gfp: number,
  order: number,
  ilx: number,
): AllocPlan {
  const c = planCache.get(pol);
  if (
    c &&
    c.nodes === pol.nodes &&
    c.homeNode === pol.homeNode &&
    c.mode === pol.mode &&
    c.task === task &&
    c.memsAllowed === task.memsAllowed &&
    c.numaNodeId === task.numaNodeId &&
    c.policyZone === k.policyZone &&
    c.gfp === gfp &&
    c.order === order &&
    c.source === policySource &&
    c.generation === k.generation
  ) {
    return atIndex(k, pol, c.plan, ilx);
  }
  const plan = buildVmaAllocPlan(k, task, pol, policySource, gfp, order);
  planCache.set(pol, {
    nodes: pol.nodes,
    homeNode: pol.homeNode,
    mode: pol.mode,
    task,
    memsAllowed: task.memsAllowed,
    numaNodeId: task.numaNodeId,
    policyZone: k.policyZone,
    gfp,
    order,
    source: policySource,
    generation: k.generation,
    plan,
  });
  return atIndex(k, pol, plan, ilx);
}

/**
 * The plan from interleave index `ilx` on: the slot of the first page. Before 6.7
 * offset_il_node() cuts the index to 32 bits (`(unsigned int)n % nnodes`), so the cycle
 * holds only up to the next multiple of 2^32, where the phase jumps.
 */
function atIndex(k: Kernel, pol: MemPolicy, plan: AllocPlan, ilx: number): AllocPlan {
  const n = plan.slots.length;
  if (n === 1) return plan;
  if (pol.mode === MPOL_INTERLEAVE && !k.version.interleaveIndex64) {
    const idx = ilx % 2 ** 32;
    return { ...plan, phase: idx % n, span: 2 ** 32 - idx };
  }
  return { ...plan, phase: ilx % n };
}

function buildVmaAllocPlan(
  k: Kernel,
  task: Task,
  pol: MemPolicy,
  policySource: string,
  gfp: number,
  order: number,
): AllocPlan {
  if (pol.mode === MPOL_INTERLEAVE) {
    const ids = pol.nodes.ids();
    if (ids.length === 0)
      return { policy: pol, policySource, slots: [plainSlot(k, task, pol, gfp, order)], phase: 0 };
    const slots = ids.map((_, i) => interleaveSlot(offsetIlNode(pol, i, task.numaNodeId), gfp, order));
    return { policy: pol, policySource, slots, phase: 0 };
  }
  if (pol.mode === MPOL_WEIGHTED_INTERLEAVE) {
    const cycle = weightedCycle(k, pol, task.numaNodeId);
    const slots = cycle.map((nid) => interleaveSlot(nid, gfp, order));
    return { policy: pol, policySource, slots, phase: 0 };
  }
  return { policy: pol, policySource, slots: [plainSlot(k, task, pol, gfp, order)], phase: 0 };
}

/** __alloc_pages(gfp, order, nid, NULL) outside any policy (alloc_pages_node, migration targets). */
export function nodeAllocPlan(gfp: number, order: number, nid: number): AllocPlan {
  return {
    policy: DEFAULT_POLICY,
    policySource: "none",
    slots: [{ req: { gfp, order, nid, nodemask: null }, interleaveTarget: NUMA_NO_NODE }],
    phase: 0,
  };
}

/**
 * alloc_pages() in task context (no VMA): the task policy, or local allocation for
 * __GFP_THISNODE requests; interleave advances the task's il_prev rotor.
 */
export function taskAllocPlan(
  k: Kernel,
  task: Task,
  pol: MemPolicy,
  policySource: string,
  gfp: number,
  order: number,
): AllocPlan {
  if (pol.mode === MPOL_INTERLEAVE) {
    const ids = pol.nodes.ids();
    const slots = ids.map((nid) => interleaveSlot(nid, gfp, order));
    // the first page goes to next_node_in(il_prev)
    const first = pol.nodes.nextIn(task.ilPrev);
    return {
      policy: pol,
      policySource,
      slots,
      phase: Math.max(0, ids.indexOf(first)),
      dynamicInterleave: "interleave",
    };
  }
  if (pol.mode === MPOL_WEIGHTED_INTERLEAVE) {
    const ids = pol.nodes.ids();
    const cycle: number[] = [];
    for (const n of ids) for (let i = 0; i < ilWeight(k.weights, n); i++) cycle.push(n);
    // weighted_interleave_nodes(): continue il_prev while il_weight lasts
    let phase: number;
    if (task.ilWeight && pol.nodes.has(task.ilPrev)) {
      phase = cycle.indexOf(task.ilPrev) + (ilWeight(k.weights, task.ilPrev) - task.ilWeight);
    } else {
      phase = cycle.indexOf(pol.nodes.nextIn(task.ilPrev));
    }
    const slots = cycle.map((nid) => interleaveSlot(nid, gfp, order));
    return { policy: pol, policySource, slots, phase: Math.max(0, phase), dynamicInterleave: "weighted" };
  }
  return { policy: pol, policySource, slots: [plainSlot(k, task, pol, gfp, order)], phase: 0 };
}

/**
 * Leave il_prev (and il_weight) where `calls` dynamic interleave allocations would:
 * interleave_nodes() moves il_prev to each node it returns; weighted_interleave_nodes()
 * also counts down the weight left on it.
 */
export function advanceDynamicInterleave(task: Task, plan: AllocPlan, calls: number): void {
  if (calls === 0) return;
  const n = plan.slots.length;
  const last = (plan.phase + calls - 1) % n;
  const node = plan.slots[last]!.req.nid;
  if (plan.spreadRotor) task.spreadRotor = node;
  if (!plan.dynamicInterleave) return;
  task.ilPrev = node;
  if (plan.dynamicInterleave === "weighted") {
    let blockEnd = last;
    while (blockEnd + 1 < n && plan.slots[blockEnd + 1]!.req.nid === node) blockEnd++;
    task.ilWeight = blockEnd - last;
  }
}

export interface Segment {
  /** pages (2^order each allocation) */
  count: number;
  /** zone id per page of the cycle, starting with the segment's first page */
  zones: number[];
}

export type RunStop = { kind: "killed" } | { kind: "failed"; reason: string };

export interface RunResult {
  segments: Segment[];
  /** pages allocated */
  done: number;
  stop?: RunStop;
}

interface SlotDecision {
  d: AllocDecision;
  /** traces of PREFERRED_MANY's first pass when the second pass decided */
  firstPass?: PassTrace[];
}

function decideSlot(
  k: Kernel,
  task: Task,
  slot: SlotRequest,
  afterOom: boolean,
  noReclaim = false,
): SlotDecision {
  const env = k.allocEnv();
  const at = k.allocTask(task);
  const d = decide(env, at, slot.req, k.explain, afterOom, noReclaim);
  if (d.ok || !slot.second) return { d };
  // the first pass woke kswapd: it runs before the second pass's decision, and the next
  // allocation's first pass sees what it freed
  if (d.kswapd) k.runKswapd(d.kswapd, task.name);
  let d2 = decide(env, at, slot.second, k.explain, afterOom, noReclaim);
  if (d.kswapd && d2.ok)
    d2 = { ...d2, count: 1, kswapd: d2.kswapd ?? { nodes: [], highest: d.kswapd.highest } };
  // zones that failed the first pass's watermarks also decide the outcome
  return { d: { ...d2, watermarkFailed: [...d.watermarkFailed, ...d2.watermarkFailed] }, firstPass: d.trace };
}

/**
 * Whether pages freed during a batch (`freed`: zone ids) could change one of its
 * decisions: a zone that failed its watermark on the way to the chosen one may pass again.
 */
function freesInvalidate(ds: readonly SlotDecision[], freed: readonly number[]): boolean {
  if (freed.length === 0) return false;
  for (const x of ds) for (const z of x.d.watermarkFailed) if (freed.includes(z)) return true;
  return false;
}

/**
 * Make `pages` allocations (of the plan's order) for a run, following the plan's cycle.
 * Stops early when the task is killed by the OOM killer or the allocation fails.
 * `onSegment` receives each segment as soon as it is allocated, so that the caller maps
 * the pages before anything else can happen (the OOM killer counts and frees mapped pages).
 */
export function allocateRun(
  k: Kernel,
  task: Task,
  plan: AllocPlan,
  pages: number,
  target: string,
  firstIndex: number,
  space: AllocEvent["space"] = "vpn",
  onSegment?: (first: number, seg: Segment) => void,
  /** the zones `onSegment` frees pages of, for pages [first, first+count) (page migration) */
  freedZones?: (first: number, count: number) => readonly number[],
): RunResult {
  const n = plan.slots.length;
  const segments: Segment[] = [];
  let done = 0;
  let afterOom = false;
  let noReclaim = false;
  const emit = (seg: Segment) => {
    segments.push(seg);
    onSegment?.(firstIndex + done, seg);
    done += seg.count;
  };

  /** commit `count` allocations of a slot; `at` is the position in the run of the first */
  const record = (slotIdx: number, sd: SlotDecision, count: number, at: number) => {
    if (!sd.d.ok) return;
    const slot = plan.slots[slotIdx]!;
    const z = sd.d.zone;
    commit(z, slot.req.order, count);
    k.countAllocation(z, sd.d.preferredZone, task.numaNodeId, count, slot.interleaveTarget);
    if (k.explain) k.pushEvent(allocEvent(k, task, plan, slot, sd, z, target, space, firstIndex, at, count));
  };

  while (done < pages) {
    const remaining = pages - done;
    if (n > 1 && remaining >= n && !afterOom) {
      // Decide every slot of the cycle against the current state (slots with the same
      // request get the same decision: decide each request once).
      const ds: SlotDecision[] = [];
      const seen = new Map<AllocRequest, Map<AllocRequest | undefined, SlotDecision>>();
      for (let j = 0; j < n; j++) {
        const slot = plan.slots[(plan.phase + done + j) % n]!;
        let bySecond = seen.get(slot.req);
        if (!bySecond) seen.set(slot.req, (bySecond = new Map()));
        let sd = bySecond.get(slot.second);
        if (!sd) bySecond.set(slot.second, (sd = decideSlot(k, task, slot, false)));
        ds.push(sd);
      }
      const blocker = ds.findIndex((x) => !x.d.ok || x.d.kswapd || x.d.wakeSensitive);
      if (blocker < 0) {
        const use = new Map<Zone, number>();
        for (const x of ds) if (x.d.ok) use.set(x.d.zone, (use.get(x.d.zone) ?? 0) + 1);
        let cycles = Math.floor(remaining / n);
        for (const x of ds) if (x.d.ok) cycles = Math.min(cycles, Math.floor(x.d.count / use.get(x.d.zone)!));
        // node_dirty_ok() rooms are per node: the zones of one node share theirs
        const nodeUse = new Map<number, number>();
        for (const x of ds)
          if (x.d.ok && x.d.nodeRoom !== undefined)
            nodeUse.set(x.d.zone.node, (nodeUse.get(x.d.zone.node) ?? 0) + 1);
        for (const x of ds)
          if (x.d.ok && x.d.nodeRoom !== undefined)
            cycles = Math.min(cycles, Math.floor(x.d.nodeRoom / nodeUse.get(x.d.zone.node)!));
        if (cycles >= 1 && freedZones && freesInvalidate(ds, freedZones(firstIndex + done, cycles * n)))
          cycles = 0;
        if (cycles >= 1) {
          const zones: number[] = [];
          for (let j = 0; j < n; j++) {
            const x = ds[j]!;
            if (x.d.ok) zones.push(x.d.zone.id);
            record((plan.phase + done + j) % n, x, cycles, done + j);
          }
          emit({ count: cycles * n, zones });
          continue;
        }
      }
      // Not a whole cycle: the slots before the first one that fails, wakes kswapd or would
      // take more pages from a zone than its decision allows hold for one page each.
      const use = new Map<Zone, number>();
      const nodeUse = new Map<number, number>();
      let prefix = 0;
      for (const x of ds) {
        if (!x.d.ok || x.d.kswapd || x.d.wakeSensitive) break;
        const u = (use.get(x.d.zone) ?? 0) + 1;
        if (u > x.d.count) break;
        if (x.d.nodeRoom !== undefined) {
          const nu = (nodeUse.get(x.d.zone.node) ?? 0) + 1;
          if (nu > x.d.nodeRoom) break;
          nodeUse.set(x.d.zone.node, nu);
        }
        use.set(x.d.zone, u);
        prefix++;
      }
      if (
        prefix > 1 &&
        freedZones &&
        freesInvalidate(ds.slice(0, prefix), freedZones(firstIndex + done, prefix))
      )
        prefix = 0;
      if (prefix > 1) {
        const zones: number[] = [];
        for (let j = 0; j < prefix; j++) {
          const x = ds[j]!;
          if (x.d.ok) zones.push(x.d.zone.id);
          record((plan.phase + done + j) % n, x, 1, done + j);
        }
        emit({ count: prefix, zones });
        continue;
      }
    }
    // One slot at a time: all pages of a single-slot plan, or one page of a cycle.
    const slotIdx = (plan.phase + done) % n;
    const sd = decideSlot(k, task, plan.slots[slotIdx]!, afterOom, noReclaim);
    // kswapd, woken by the slow path, has reclaimed by the next allocation
    if (sd.d.kswapd) k.runKswapd(sd.d.kswapd, task.name);
    if (sd.d.ok) {
      // after an OOM kill the slow path retries only the allocation that invoked it; the
      // next fault is a new __alloc_pages() call with its own fast path
      let count = n === 1 && !afterOom ? Math.min(remaining, sd.d.count) : 1;
      if (count > 1 && freedZones && freesInvalidate([sd], freedZones(firstIndex + done, count))) count = 1;
      afterOom = false;
      noReclaim = false;
      record(slotIdx, sd, count, done);
      emit({ count, zones: [sd.d.zone.id] });
      continue;
    }
    afterOom = false;
    if (sd.d.reclaim) {
      // __alloc_pages_direct_reclaim(), then the allocation is tried again; a reclaim that
      // frees nothing goes on to the OOM killer (should_reclaim_retry() gives up)
      if (k.directReclaim(sd.d.reclaim, task.name) === 0) noReclaim = true;
      continue;
    }
    if (k.explain) {
      k.pushEvent(
        allocEvent(k, task, plan, plan.slots[slotIdx]!, sd, null, target, space, firstIndex, done, 0),
      );
    }
    if (sd.d.oom) {
      const ev = outOfMemory(k, task, sd.d.oom);
      if (ev.victim === task.name || !task.alive) {
        advanceDynamicInterleave(task, plan, done + 1);
        return { segments, done, stop: { kind: "killed" } };
      }
      if (ev.victim === null) {
        advanceDynamicInterleave(task, plan, done + 1);
        return { segments, done, stop: { kind: "failed", reason: "out of memory and no killable task" } };
      }
      afterOom = true;
      continue;
    }
    k.pushEvent({ kind: "alloc_failure", step: k.step, task: task.name, reason: sd.d.reason });
    advanceDynamicInterleave(task, plan, done + 1);
    return { segments, done, stop: { kind: "failed", reason: sd.d.reason } };
  }
  advanceDynamicInterleave(task, plan, done);
  return { segments, done };
}

function allocEvent(
  k: Kernel,
  task: Task,
  plan: AllocPlan,
  slot: SlotRequest,
  sd: SlotDecision,
  zone: Zone | null,
  target: string,
  space: AllocEvent["space"],
  firstIndex: number,
  /** the allocation's position in the run */
  i: number,
  pages: number,
): AllocEvent {
  const at = plan.locate ? plan.locate(i) : { space, first: firstIndex + i };
  const req = sd.firstPass && slot.second ? slot.second : slot.req;
  const passes = [
    ...(sd.firstPass ?? []).map((p) => ({ ...p, pass: `preferred-many pass 1: ${p.pass}` })),
    ...(sd.d.trace ?? []),
  ];
  // the design's hooks that shaped this decision (beyond a zone skipped by its check)
  const hooks = k.design.hooks;
  const notes = [
    slot.designNote,
    hooks.zonelistSkip ? "zonelistSkip: fallback lists without the nodes it keeps out" : undefined,
    hooks.cpusetMems ? `cpusetMems: mems_allowed ${task.memsAllowed}` : undefined,
    hooks.thisnodeIgnoresCpuset && req.gfp & __GFP_THISNODE
      ? "thisnodeIgnoresCpuset: no cpuset check"
      : undefined,
    hooks.policyExtraNodes && req.nodemask
      ? "policyExtraNodes: the mask may hold nodes outside mems_allowed"
      : undefined,
  ].filter((x): x is string => x !== undefined);
  return {
    ...(notes.length ? { design: `${k.design.id}: ${notes.join("; ")}` } : {}),
    kind: "alloc",
    step: k.step,
    task: task.name,
    target: slot.label ?? target,
    space: at.space,
    first: at.first,
    pages,
    gfp: formatGfp(req.gfp),
    policy:
      (slot.policySource ?? plan.policySource) === "none" ? "none" : mpolToStr(slot.policy ?? plan.policy),
    policySource: slot.policySource ?? plan.policySource,
    preferredNid: req.nid,
    nodemask: req.nodemask ? req.nodemask.toString() : null,
    cpuset: k.cpusetsEnabled ? task.memsAllowed.toString() : null,
    passes,
    zone: zone ? zone.label : null,
    node: zone ? zone.node : null,
  };
}
