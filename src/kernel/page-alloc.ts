/**
 * The zoned page allocator (mm/page_alloc.c, Linux 6.1): __alloc_pages() with its fast
 * path (prepare_alloc_pages, get_page_from_freelist at the low watermark) and slow path
 * (__alloc_pages_slowpath: the min watermark, cpuset rules, reclaim, then the OOM killer).
 *
 * The allocator is a pure decision over explicit state: decide() says which zone the next
 * allocation of a request takes, how many consecutive identical allocations would take
 * the same zone (the margin above the watermark that passed), and why, as data. commit()
 * then applies the decision. A run of N identical faults therefore costs one decision per
 * watermark crossing, not one per page.
 */
import { MAX_ORDER, PAGE_ALLOC_COSTLY_ORDER, ZONE_NORMAL, type ZoneType } from "./constants.js";
import {
  __GFP_DIRECT_RECLAIM,
  __GFP_HARDWALL,
  __GFP_HIGH,
  __GFP_KSWAPD_RECLAIM,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_RETRY_MAYFAIL,
  __GFP_THISNODE,
  __GFP_WRITE,
  gfpZone,
} from "./gfp.js";
import type { Nodemask } from "./nodemask.js";
import type { Zone } from "./zone.js";
import type { Zonelists } from "./zonelist.js";

// alloc_flags (mm/internal.h)
export const ALLOC_WMARK_MIN = 0x00;
export const ALLOC_WMARK_LOW = 0x01;
export const ALLOC_WMARK_HIGH = 0x02;
export const ALLOC_NO_WATERMARKS = 0x04;
export const ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1;
export const ALLOC_OOM = 0x08;
export const ALLOC_NON_BLOCK = 0x10;
export const ALLOC_MIN_RESERVE = 0x20;
export const ALLOC_CPUSET = 0x40;
export const ALLOC_CMA = 0x80;
export const ALLOC_KSWAPD = 0x800;
const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_MIN_RESERVE | ALLOC_OOM;

/** What the allocator needs to know about the allocating task. */
export interface AllocTask {
  /** current->mems_allowed */
  readonly memsAllowed: Nodemask;
  /** mems_allowed of the nearest mem_exclusive/mem_hardwall ancestor cpuset */
  readonly hardwallMems: Nodemask;
  /** tsk_is_oom_victim(current) */
  readonly oomVictim: boolean;
  /** numa_node_id() */
  readonly numaNodeId: number;
}

/** The machine-wide state the allocator reads. */
export interface AllocEnv {
  zonelists: ReadonlyMap<number, Zonelists>;
  /** cpusets_enabled(): some cpuset besides the root exists */
  cpusetsEnabled: boolean;
  /** cpusets_insane_config(): some cpuset's mems were ever movable-only */
  cpusetsInsaneConfig: boolean;
  /** Pages reclaim could free from a zone for this request (clean page cache; anonymous memory without swap is not). */
  reclaimable(zone: Zone): number;
  /**
   * Whether kswapd, woken for a node, would reclaim there: the node is not balanced
   * (pgdat_balanced() fails up to `highest`) and has something to reclaim.
   */
  kswapdWork?: (node: number, highest: ZoneType) => boolean;
  /** A design that exempts __GFP_THISNODE requests from cpusets. */
  thisnodeIgnoresCpuset?: boolean;
  /** How many more pages a node takes under node_dirty_ok() (__GFP_WRITE, fast path only). */
  dirtyRoom?: (node: number) => number;
  /** A design's extra zone check (for instance CDM isolation); returns a reason to skip, or undefined. */
  zoneFilter?: (zone: Zone, ac: AllocContext, allocFlags: number, gfp: number) => string | undefined;
}

export interface AllocRequest {
  gfp: number;
  order: number;
  /** preferred_nid */
  nid: number;
  /** the policy's nodemask (policy_nodemask), or null */
  nodemask: Nodemask | null;
  /** the pages are clean page cache, reclaimable as soon as allocated (reads) */
  cleanCache?: boolean;
}

/** struct alloc_context */
export interface AllocContext {
  readonly zonelist: readonly Zone[];
  readonly highestZoneidx: ZoneType;
  nodemask: Nodemask | null;
  preferredZone: Zone | undefined;
  /** The nodemask the caller passed (restored in the slow path). */
  readonly callerNodemask: Nodemask | null;
  /** ac->spread_dirty_pages: __GFP_WRITE in the fast path */
  spreadDirtyPages: boolean;
}

export type ZoneVerdict =
  | "taken"
  | "above highest zone"
  | "not in nodemask"
  | "cpuset"
  | "watermark"
  | "dirty limit"
  | "design";

export interface ZoneStep {
  zone: string;
  node: number;
  verdict: ZoneVerdict;
  /** free pages, the watermark it was checked against and the lowmem reserve */
  free?: number;
  mark?: number;
  reserve?: number;
  detail?: string;
}

export interface PassTrace {
  /** "fast path", "slow path", "slow path (nodemask dropped)", "oom last chance" */
  pass: string;
  watermark: "low" | "min" | "high" | "none";
  nodemask: string | null;
  cpuset: "ignored" | "nodemask" | "zone check";
  preferredZone: string | null;
  zones: ZoneStep[];
}

export interface OomRequest {
  gfp: number;
  order: number;
  zonelist: readonly Zone[];
  /** oc->nodemask */
  nodemask: Nodemask | null;
}

export type AllocDecision =
  | {
      ok: true;
      zone: Zone;
      /** consecutive allocations of this request that would take the same zone */
      count: number;
      /** ac->preferred_zoneref->zone, the reference of numastat's hit/miss */
      preferredZone: Zone;
      /**
       * Ids of the zones walked before the chosen one that failed only their watermark:
       * freeing pages there could change the decision.
       */
      watermarkFailed: readonly number[];
      trace: PassTrace[] | undefined;
      /** nodes whose kswapd the slow path woke and that have reclaim to do (wake_all_kswapds) */
      kswapd?: KswapdWake;
      /**
       * The decision holds only while no other node's balance changes: it was made in the
       * slow path, where a node of the zonelist that later allocations unbalance would
       * have its kswapd woken (a batch of several requests must not carry it past one page).
       */
      wakeSensitive?: boolean;
      /** node_dirty_ok() room of the chosen zone's node, when the fast path checked it */
      nodeRoom?: number;
    }
  | {
      ok: false;
      /** set when the OOM killer would be invoked; null when the allocation just fails */
      oom: OomRequest | null;
      reason: string;
      watermarkFailed: readonly number[];
      trace: PassTrace[] | undefined;
      kswapd?: KswapdWake;
      /** direct reclaim would free pages on these nodes first (try_to_free_pages) */
      reclaim?: KswapdWake;
    };

/** Nodes to reclaim on, and the highest zone reclaim may take pages from (sc.reclaim_idx). */
export interface KswapdWake {
  nodes: number[];
  highest: ZoneType;
}

/** node_zonelist(nid, gfp) */
function nodeZonelist(env: AllocEnv, nid: number, gfp: number): readonly Zone[] {
  const zl = env.zonelists.get(nid);
  if (!zl) return [];
  return gfp & __GFP_THISNODE ? zl.nofallback : zl.fallback;
}

/** first_zones_zonelist(): the first zone not above highest_zoneidx whose node is in the mask */
export function firstZonesZonelist(
  zonelist: readonly Zone[],
  highest: ZoneType,
  nodemask: Nodemask | null,
): Zone | undefined {
  for (const z of zonelist) {
    if (z.type > highest) continue;
    if (nodemask && !nodemask.has(z.node)) continue;
    return z;
  }
  return undefined;
}

/**
 * __cpuset_node_allowed(): in mems_allowed; an OOM victim anywhere; a hardwall request
 * nowhere else; otherwise the nearest hardwalled ancestor's mems.
 */
export function cpusetNodeAllowed(task: AllocTask, node: number, gfp: number): boolean {
  if (task.memsAllowed.has(node)) return true;
  if (task.oomVictim) return true;
  if (gfp & __GFP_HARDWALL) return false;
  return task.hardwallMems.has(node);
}

/** gfp_to_alloc_flags() (6.1 with the reserve-flag rework of its stable updates) */
export function gfpToAllocFlags(gfp: number): number {
  let flags = ALLOC_WMARK_MIN | ALLOC_CPUSET;
  if (gfp & __GFP_HIGH) flags |= ALLOC_MIN_RESERVE;
  if (gfp & __GFP_KSWAPD_RECLAIM) flags |= ALLOC_KSWAPD;
  if (!(gfp & __GFP_DIRECT_RECLAIM)) {
    // ALLOC_HIGHATOMIC (order > 0) only changes which free blocks count: not modelled
    if (!(gfp & __GFP_NOMEMALLOC)) flags |= ALLOC_NON_BLOCK;
    // "Ignore cpuset mems for non-blocking __GFP_HIGH (probably GFP_ATOMIC)"
    if (flags & ALLOC_MIN_RESERVE) flags &= ~ALLOC_CPUSET;
  }
  return flags;
}

function wmarkName(allocFlags: number): PassTrace["watermark"] {
  if (allocFlags & ALLOC_NO_WATERMARKS) return "none";
  switch (allocFlags & ALLOC_WMARK_MASK) {
    case ALLOC_WMARK_LOW:
      return "low";
    case ALLOC_WMARK_HIGH:
      return "high";
    default:
      return "min";
  }
}

function wmarkPages(z: Zone, allocFlags: number): number {
  switch (allocFlags & ALLOC_WMARK_MASK) {
    case ALLOC_WMARK_LOW:
      return z.low;
    case ALLOC_WMARK_HIGH:
      return z.high;
    default:
      return z.min;
  }
}

/**
 * The threshold __zone_watermark_ok() compares free pages against: the mark lowered by the
 * reserves the flags grant, plus lowmem_reserve[highest_zoneidx]. An order-`o` request
 * passes while free - (2^o - 1) > threshold.
 */
function watermarkThreshold(z: Zone, mark: number, highest: ZoneType, allocFlags: number): number {
  let min = mark;
  if (allocFlags & ALLOC_RESERVES) {
    if (allocFlags & ALLOC_MIN_RESERVE) {
      min -= Math.floor(min / 2);
      if (allocFlags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
    if (allocFlags & ALLOC_OOM) min -= Math.floor(min / 2);
  }
  return min + z.lowmemReserve[highest]!;
}

interface FreelistResult {
  zone: Zone;
  count: number;
  nodeRoom?: number;
}

/**
 * get_page_from_freelist(): walk the zonelist from the preferred zone, skipping zones
 * above highest_zoneidx, outside the nodemask, refused by the cpuset, or below the
 * watermark. (Node reclaim is off by default, vm.zone_reclaim_mode=0.)
 */
function getPageFromFreelist(
  env: AllocEnv,
  task: AllocTask,
  gfp: number,
  order: number,
  allocFlags: number,
  ac: AllocContext,
  trace: PassTrace | undefined,
  failed: number[],
): FreelistResult | undefined {
  const start = ac.preferredZone ? ac.zonelist.indexOf(ac.preferredZone) : ac.zonelist.length;
  for (let i = 0; i < ac.zonelist.length; i++) {
    const zone = ac.zonelist[i]!;
    const step: ZoneStep | undefined = trace
      ? { zone: zone.label, node: zone.node, verdict: "taken" }
      : undefined;
    if (i < start || zone.type > ac.highestZoneidx) {
      if (step && i >= start) {
        step.verdict = "above highest zone";
        trace!.zones.push(step);
      }
      continue;
    }
    if (ac.nodemask && !ac.nodemask.has(zone.node)) {
      if (step) {
        step.verdict = "not in nodemask";
        trace!.zones.push(step);
      }
      continue;
    }
    if (env.cpusetsEnabled && allocFlags & ALLOC_CPUSET && !cpusetNodeAllowed(task, zone.node, gfp)) {
      if (step) {
        step.verdict = "cpuset";
        trace!.zones.push(step);
      }
      continue;
    }
    // node_dirty_ok(): the fast path of a __GFP_WRITE request skips nodes over their dirty limit
    let dirtyRoom = Number.POSITIVE_INFINITY;
    if (ac.spreadDirtyPages && env.dirtyRoom) {
      dirtyRoom = env.dirtyRoom(zone.node);
      if (dirtyRoom <= 0) {
        if (step) {
          step.verdict = "dirty limit";
          trace!.zones.push(step);
        }
        continue;
      }
    }
    if (env.zoneFilter) {
      const why = env.zoneFilter(zone, ac, allocFlags, gfp);
      if (why) {
        if (step) {
          step.verdict = "design";
          step.detail = why;
          trace!.zones.push(step);
        }
        continue;
      }
    }
    const size = 2 ** order;
    // ALLOC_NO_WATERMARKS: any free block will do
    const noWmark = (allocFlags & ALLOC_NO_WATERMARKS) !== 0;
    const reserve = noWmark ? 0 : zone.lowmemReserve[ac.highestZoneidx]!;
    const threshold = noWmark
      ? 0
      : watermarkThreshold(zone, wmarkPages(zone, allocFlags), ac.highestZoneidx, allocFlags);
    if (step) {
      step.free = zone.free;
      step.mark = threshold - reserve;
      step.reserve = reserve;
    }
    const count = Math.floor((zone.free - threshold) / size);
    if (count < 1) {
      failed.push(zone.id);
      if (step) {
        step.verdict = "watermark";
        trace!.zones.push(step);
      }
      continue;
    }
    if (step) trace!.zones.push(step);
    return {
      zone,
      count: Math.min(count, dirtyRoom),
      nodeRoom: Number.isFinite(dirtyRoom) ? dirtyRoom : undefined,
    };
  }
  return undefined;
}

function newPass(
  trace: PassTrace[] | undefined,
  pass: string,
  allocFlags: number,
  ac: AllocContext,
  cpuset: PassTrace["cpuset"],
): PassTrace | undefined {
  if (!trace) return undefined;
  const p: PassTrace = {
    pass,
    watermark: wmarkName(allocFlags),
    nodemask: ac.nodemask ? ac.nodemask.toString() : null,
    cpuset,
    preferredZone: ac.preferredZone ? ac.preferredZone.label : null,
    zones: [],
  };
  trace.push(p);
  return p;
}

/**
 * __alloc_pages(): decide where the next allocation of `req` goes. Pure: nothing changes
 * until commit().
 */
export function decide(
  env: AllocEnv,
  task: AllocTask,
  req: AllocRequest,
  wantTrace: boolean,
  afterOomKill = false,
  /** direct reclaim already failed to free anything for this allocation */
  reclaimFailed = false,
): AllocDecision {
  // a design may exempt __GFP_THISNODE requests from cpusets altogether
  if (env.thisnodeIgnoresCpuset && env.cpusetsEnabled && req.gfp & __GFP_THISNODE)
    env = { ...env, cpusetsEnabled: false };
  const trace: PassTrace[] | undefined = wantTrace ? [] : undefined;
  const failed: number[] = [];
  const { gfp, order } = req;
  const nopage = (reason: string, reclaim?: KswapdWake): AllocDecision => ({
    ok: false,
    oom: null,
    reason,
    watermarkFailed: failed,
    trace,
    kswapd,
    reclaim,
  });
  if (order >= MAX_ORDER) return nopage("order too large");

  // prepare_alloc_pages()
  const highest = gfpZone(gfp);
  const zonelist = nodeZonelist(env, req.nid, gfp);
  const ac: AllocContext = {
    zonelist,
    highestZoneidx: highest,
    nodemask: req.nodemask,
    preferredZone: undefined,
    callerNodemask: req.nodemask,
    spreadDirtyPages: (gfp & __GFP_WRITE) !== 0,
  };
  let kswapd: KswapdWake | undefined;
  /** nodes the slow path would wake kswapd for (balanced now, or nothing to reclaim yet) */
  let wakeCandidates: readonly number[] = [];
  /** One get_page_from_freelist() pass, as a decision when it finds a zone. */
  const attempt = (
    pass: string,
    g: number,
    flags: number,
    cpuset: PassTrace["cpuset"],
  ): AllocDecision | undefined => {
    const r = getPageFromFreelist(
      env,
      task,
      g,
      order,
      flags,
      ac,
      newPass(trace, pass, flags, ac, cpuset),
      failed,
    );
    if (!r || !ac.preferredZone) return undefined;
    return {
      ok: true,
      zone: r.zone,
      // kswapd runs before the next allocation
      count: kswapd
        ? 1
        : wakeLimit(env, ac.zonelist, req, r.zone, r.count, ac.highestZoneidx, wakeCandidates),
      preferredZone: ac.preferredZone,
      watermarkFailed: failed,
      trace,
      kswapd,
      wakeSensitive:
        wakeCandidates.length > 0 &&
        (req.cleanCache === true ||
          ac.zonelist.some(
            (z) => wakeCandidates.includes(z.node) && z.type <= ac.highestZoneidx && env.reclaimable(z) > 0,
          )),
      nodeRoom: r.nodeRoom,
    };
  };

  let allocGfp = gfp;
  let allocFlags = ALLOC_WMARK_LOW;
  let cpusetMode: PassTrace["cpuset"] = "ignored";
  if (env.cpusetsEnabled) {
    allocGfp |= __GFP_HARDWALL;
    if (!ac.nodemask) {
      ac.nodemask = task.memsAllowed;
      cpusetMode = "nodemask";
    } else {
      allocFlags |= ALLOC_CPUSET;
      cpusetMode = "zone check";
    }
  }
  ac.preferredZone = firstZonesZonelist(zonelist, highest, ac.nodemask);

  // First allocation attempt (skipped when resuming the slow path after an OOM kill)
  const fast = afterOomKill ? undefined : attempt("fast path", allocGfp, allocFlags, cpusetMode);
  if (fast) return fast;

  // __alloc_pages_slowpath(): restore the caller's nodemask; dirty spreading is fast path only
  ac.nodemask = req.nodemask;
  ac.spreadDirtyPages = false;
  const canDirectReclaim = (gfp & __GFP_DIRECT_RECLAIM) !== 0;
  const costly = order > PAGE_ALLOC_COSTLY_ORDER;
  allocFlags = gfpToAllocFlags(gfp);
  ac.preferredZone = firstZonesZonelist(zonelist, highest, ac.nodemask);
  if (!ac.preferredZone) return nopage("no eligible zone in the zonelist");
  // cpusets_insane_config(): a movable-only cpuset cannot serve non-movable hardwall requests
  if (env.cpusetsInsaneConfig && gfp & __GFP_HARDWALL) {
    if (!firstZonesZonelist(zonelist, highest, task.memsAllowed)) {
      return nopage("cpuset has no zone for this gfp (movable-only mems)");
    }
  }
  if (allocFlags & ALLOC_KSWAPD) {
    const w = wakeAllKswapds(env, task, gfp, ac);
    kswapd = w.wake;
    wakeCandidates = w.candidates;
  }
  const slowCpuset = env.cpusetsEnabled && allocFlags & ALLOC_CPUSET ? "zone check" : "ignored";
  const slow = attempt("slow path", gfp, allocFlags, slowCpuset);
  if (slow) return slow;

  // retry: reserves for OOM victims; policies ignored without ALLOC_CPUSET
  const reserveFlags = task.oomVictim && !(gfp & __GFP_NOMEMALLOC) ? ALLOC_OOM : 0;
  if (reserveFlags) allocFlags = reserveFlags | (allocFlags & ALLOC_KSWAPD);
  if (!(allocFlags & ALLOC_CPUSET) || reserveFlags) {
    ac.nodemask = null;
    ac.preferredZone = firstZonesZonelist(zonelist, highest, null);
    if (!ac.preferredZone) return nopage("no eligible zone");
    const retry = attempt("slow path (policy nodemask dropped)", gfp, allocFlags, "ignored");
    if (retry) return retry;
  }
  if (!canDirectReclaim) return nopage("cannot reclaim (no __GFP_DIRECT_RECLAIM)");
  if (task.oomVictim) return nopage("OOM victim out of reserves");

  // direct reclaim (try_to_free_pages → shrink_zones): the eligible zones of the zonelist
  // that the cpuset allows (cpuset_zone_allowed(zone, GFP_KERNEL | __GFP_HARDWALL))
  const reclaimNodes: number[] = [];
  for (const z of ac.zonelist) {
    if (z.type > highest || (ac.nodemask && !ac.nodemask.has(z.node))) continue;
    if (env.cpusetsEnabled && !task.memsAllowed.has(z.node)) continue;
    if (env.reclaimable(z) > 0 && !reclaimNodes.includes(z.node)) reclaimNodes.push(z.node);
  }
  if (reclaimNodes.length && !reclaimFailed)
    return nopage("direct reclaim", { nodes: reclaimNodes, highest });
  if (gfp & __GFP_NORETRY) return nopage("__GFP_NORETRY");
  if (costly && !(gfp & __GFP_RETRY_MAYFAIL)) return nopage("costly order");

  // __alloc_pages_may_oom()
  if (costly) return nopage("OOM killer does not help costly orders");
  if (gfp & (__GFP_RETRY_MAYFAIL | __GFP_THISNODE))
    return nopage("no OOM kill for __GFP_THISNODE/__GFP_RETRY_MAYFAIL");
  if (highest < ZONE_NORMAL) return nopage("no OOM kill for lowmem");
  const oom = { gfp, order, zonelist, nodemask: ac.nodemask };
  return { ok: false, oom, reason: "out of memory", watermarkFailed: failed, trace };
}

/**
 * wake_all_kswapds(): each node of the zonelist up to highest_zoneidx in the nodemask,
 * once; wakeup_kswapd() skips zones the cpuset does not allow (cpuset_zone_allowed with
 * the request's gfp) and nodes that are balanced. Only nodes with reclaim to do are kept.
 */
function wakeAllKswapds(
  env: AllocEnv,
  task: AllocTask,
  gfp: number,
  ac: AllocContext,
): { wake: KswapdWake | undefined; candidates: number[] } {
  const candidates: number[] = [];
  if (!env.kswapdWork) return { wake: undefined, candidates };
  const nodes: number[] = [];
  for (const z of ac.zonelist) {
    if (z.type > ac.highestZoneidx || (ac.nodemask && !ac.nodemask.has(z.node))) continue;
    if (z.managed <= 0 || nodes.includes(z.node) || candidates.includes(z.node)) continue;
    if (env.cpusetsEnabled && !cpusetNodeAllowed(task, z.node, gfp)) continue;
    if (env.kswapdWork(z.node, ac.highestZoneidx)) nodes.push(z.node);
    else candidates.push(z.node);
  }
  return { wake: nodes.length ? { nodes, highest: ac.highestZoneidx } : undefined, candidates };
}

/**
 * How many slow-path allocations from `zone` repeat the decision before the next one
 * would wake its node's kswapd: allocations take the zone down to its high watermark,
 * where the node stops being balanced (if it has page cache to reclaim by then); a clean
 * page-cache page gives an unbalanced node something to reclaim at once.
 */
function wakeLimit(
  env: AllocEnv,
  zonelist: readonly Zone[],
  req: AllocRequest,
  zone: Zone,
  count: number,
  highest: ZoneType,
  candidates: readonly number[],
): number {
  if (!candidates.includes(zone.node)) return count;
  // a node without page cache to reclaim never wakes its kswapd (anonymous memory only)
  if (
    !req.cleanCache &&
    !zonelist.some((z) => z.node === zone.node && z.type <= highest && env.reclaimable(z) > 0)
  )
    return count;
  const room = zone.free - (zone.high + zone.lowmemReserve[highest]!);
  if (room <= 0) return req.cleanCache ? 1 : count;
  // the allocations that still find the zone above its high watermark, 2^order pages each
  return Math.min(count, Math.floor((room - 1) / 2 ** req.order) + 1);
}

/** Take `allocations` blocks of 2^order pages from the zone the decision chose. */
export function commit(zone: Zone, order: number, allocations: number): void {
  zone.free -= allocations * 2 ** order;
}
