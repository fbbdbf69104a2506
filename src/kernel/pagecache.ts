/**
 * The page cache of a disk file system, its writeback and its reclaim (Linux 6.1:
 * mm/filemap.c, mm/readahead.c, mm/page-writeback.c, mm/vmscan.c).
 *
 * Each file keeps its cached pages as extents of page indices (extents.ts), so that a
 * write of a million pages placed by one decision is one extent. A page that reclaim took
 * out of an interleaved extent stays in the pattern as NOT_CACHED. The LRU lists are
 * approximated by one list of age chunks, oldest first: a chunk is a range of a file
 * written or read by one operation; reading or writing a range again makes it the
 * youngest. Reclaim frees the clean pages of the oldest chunks first; dirty pages are
 * not reclaimable until written back (shrink_folio_list() leaves them to the flusher).
 */
import { NUMA_NO_NODE, PAGE_SHIFT } from "./constants.js";
import { type Extent, ExtentMap, extentNodeCounts, makeExtent, nodeAt, PG_DIRTY } from "./extents.js";
import { __GFP_NORETRY, __GFP_NOWARN, __GFP_WRITE, GFP_HIGHUSER_MOVABLE } from "./gfp.js";
import type { Kernel, Task } from "./kernel.js";
import { getTaskPolicy } from "./mempolicy.js";
import { type AllocPlan, type SlotRequest, taskAllocPlan } from "./policy-alloc.js";

/** A page of a file's extent that reclaim has taken (the file's other pages stay). */
export const NOT_CACHED = -2;

/** vm.dirty_background_ratio (mm/page-writeback.c) */
export const DIRTY_BACKGROUND_RATIO = 10;

/** The page cache gfp of a regular file: mapping_gfp_mask() set by inode_init_always(). */
export const MAPPING_GFP = GFP_HIGHUSER_MOVABLE;
/** readahead_gfp_mask(): mapping gfp | __GFP_NORETRY | __GFP_NOWARN */
export const READAHEAD_GFP = MAPPING_GFP | __GFP_NORETRY | __GFP_NOWARN;
/**
 * A write's page: grab_cache_page_write_begin() asks __filemap_get_folio() with FGP_WRITE,
 * which adds __GFP_WRITE for a mapping that writes back (the fast path then skips nodes
 * over their dirty limit, node_dirty_ok()).
 */
export const WRITE_GFP = MAPPING_GFP | __GFP_WRITE;

export class CachedFile {
  readonly name: string;
  readonly ino: number;
  /** i_size in bytes */
  size: bigint;
  /** cached pages by page index; values are zone ids (or NOT_CACHED) */
  readonly pages = new ExtentMap();

  constructor(name: string, ino: number, size: bigint) {
    this.name = name;
    this.ino = ino;
    this.size = size;
  }
}

interface AgeChunk {
  file: CachedFile;
  start: number;
  end: number;
  /** zone ids with clean pages in the chunk (undefined: not known since the last change) */
  clean?: Set<number>;
  /** whether the chunk has dirty pages (undefined: not known) */
  dirty?: boolean;
}

/** What a chunk holds, computed once per change: reclaim and writeback skip chunks with nothing for them. */
function chunkInfo(c: AgeChunk): { clean: Set<number>; dirty: boolean } {
  if (c.clean === undefined || c.dirty === undefined) {
    const clean = new Set<number>();
    let dirty = false;
    for (const e of c.file.pages.range(c.start, c.end)) {
      if (e.flags & PG_DIRTY) dirty = true;
      else for (const z of e.pattern) if (z !== NOT_CACHED) clean.add(z);
    }
    c.clean = clean;
    c.dirty = dirty;
  }
  return { clean: c.clean, dirty: c.dirty };
}

const changed = (c: AgeChunk) => {
  c.clean = undefined;
  c.dirty = undefined;
};

/** Pages per zone id of an extent, NOT_CACHED entries left out. */
function zoneCounts(e: Extent, into = new Map<number, number>()): Map<number, number> {
  extentNodeCounts(e, into);
  into.delete(NOT_CACHED);
  return into;
}

export class PageCache {
  readonly files = new Map<string, CachedFile>();
  /** age chunks, oldest first */
  private chunks: AgeChunk[] = [];
  /** cached pages and dirty pages per zone id */
  private readonly filePages = new Map<number, number>();
  private readonly dirtyPages = new Map<number, number>();
  private dirtyTotal = 0;
  private fileTotal = 0;
  private nextIno = 12;

  file(name: string): CachedFile | undefined {
    return this.files.get(name);
  }

  /** Create a file (open with O_CREAT). */
  create(name: string, size: bigint): CachedFile {
    let f = this.files.get(name);
    if (!f) {
      f = new CachedFile(name, this.nextIno++, size);
      this.files.set(name, f);
    }
    return f;
  }

  /** NR_FILE_PAGES of a zone */
  pagesIn(zid: number): number {
    return this.filePages.get(zid) ?? 0;
  }

  /** NR_FILE_DIRTY of a zone */
  dirtyIn(zid: number): number {
    return this.dirtyPages.get(zid) ?? 0;
  }

  /** Clean cached pages of a zone: what reclaim can free there. */
  reclaimable(zid: number): number {
    return this.pagesIn(zid) - this.dirtyIn(zid);
  }

  get totalPages(): number {
    return this.fileTotal;
  }

  get totalDirty(): number {
    return this.dirtyTotal;
  }

  private count(e: Extent, sign: 1 | -1, file: boolean, dirty: boolean): void {
    for (const [zid, n] of zoneCounts(e)) {
      if (file) {
        this.filePages.set(zid, this.pagesIn(zid) + sign * n);
        this.fileTotal += sign * n;
      }
      if (dirty) {
        this.dirtyPages.set(zid, this.dirtyIn(zid) + sign * n);
        this.dirtyTotal += sign * n;
      }
    }
  }

  /** Put freshly allocated pages [first, first+count) of a file in the cache. */
  add(f: CachedFile, first: number, count: number, zones: readonly number[], dirty: boolean): void {
    f.pages.removeRange(first, first + count); // NOT_CACHED entries only
    const e = makeExtent(first, count, zones, dirty ? PG_DIRTY : 0);
    f.pages.insert(e);
    this.count(e, 1, true, dirty);
  }

  /** Mark every cached page of [s, e) dirty (a write over cached pages). */
  markDirty(f: CachedFile, s: number, e: number): void {
    for (const ext of f.pages.range(s, e)) {
      if (ext.flags & PG_DIRTY) continue;
      f.pages.removeRange(ext.start, ext.start + ext.count);
      const d = makeExtent(ext.start, ext.count, ext.pattern, ext.flags | PG_DIRTY);
      f.pages.insert(d);
      this.count(d, 1, false, true);
    }
  }

  /** The ranges of [s, e) whose pages are not cached, in order. */
  missing(f: CachedFile, s: number, e: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const push = (a: number, b: number) => {
      const last = out[out.length - 1];
      if (last && last[1] === a) last[1] = b;
      else out.push([a, b]);
    };
    let cur = s;
    for (const ext of f.pages.range(s, e)) {
      if (ext.start > cur) push(cur, ext.start);
      if (ext.pattern.includes(NOT_CACHED)) {
        // an interleaved extent that reclaim thinned: its holes, page by page
        for (let i = ext.start; i < ext.start + ext.count; i++)
          if (nodeAt(ext, i) === NOT_CACHED) push(i, i + 1);
      }
      cur = ext.start + ext.count;
    }
    if (cur < e) push(cur, e);
    return out;
  }

  /** Make [s, e) of a file the youngest pages of the LRU (folio_mark_accessed, lru_add). */
  age(f: CachedFile, s: number, e: number): void {
    if (this.chunks.some((c) => c.file === f && c.end > s && c.start < e)) {
      const next: AgeChunk[] = [];
      for (const c of this.chunks) {
        if (c.file !== f || c.end <= s || c.start >= e) {
          next.push(c);
          continue;
        }
        if (c.start < s) next.push({ file: f, start: c.start, end: s });
        if (c.end > e) next.push({ file: f, start: e, end: c.end });
      }
      this.chunks = next;
    }
    // a sequential stream of one file stays one chunk
    const last = this.chunks[this.chunks.length - 1];
    if (last && last.file === f && last.end === s) {
      last.end = e;
      // what the chunk holds grows by what [s, e) holds
      if (last.clean !== undefined && last.dirty !== undefined) {
        const more = chunkInfo({ file: f, start: s, end: e });
        for (const z of more.clean) last.clean.add(z);
        last.dirty ||= more.dirty;
      }
    } else this.chunks.push({ file: f, start: s, end: e });
  }

  /**
   * Write back up to `n` dirty pages, oldest first (the flusher's writeback_sb_inodes;
   * inodes dirtied first are written first). Returns the pages written.
   */
  writeback(n: number): number {
    let left = n;
    for (const c of this.chunks) {
      if (left <= 0) break;
      if (!chunkInfo(c).dirty) continue;
      changed(c);
      for (const ext of c.file.pages.range(c.start, c.end)) {
        if (left <= 0) break;
        if (!(ext.flags & PG_DIRTY)) continue;
        const pages = ext.count - countNotCached(ext);
        const take = pages <= left ? ext.count : cutFor(ext, left, (z) => z !== NOT_CACHED);
        for (const part of c.file.pages.removeRange(ext.start, ext.start + take)) {
          const clean = makeExtent(part.start, part.count, part.pattern, part.flags & ~PG_DIRTY);
          c.file.pages.insert(clean);
          this.count(clean, -1, false, true);
          left -= part.count - countNotCached(part);
        }
      }
    }
    return n - left;
  }

  /**
   * Free the clean pages in `eligible` zones of the oldest chunks while `need()` is
   * positive (asked again after each piece, with the pages freed so far); `release` gives
   * each piece back to its zone at once. Returns pages freed per zone id.
   */
  reclaim(
    eligible: (zid: number) => boolean,
    need: (freedSoFar: number) => number,
    release: (zid: number, pages: number) => void,
  ): Map<number, number> {
    const freed = new Map<number, number>();
    const isElig = (z: number) => z !== NOT_CACHED && eligible(z);
    let total = 0;
    const touched: AgeChunk[] = [];
    for (const c of this.chunks) {
      let want = need(total);
      if (want <= 0) break;
      const info = chunkInfo(c);
      let any = false;
      for (const z of info.clean) if (eligible(z)) any = true;
      if (!any) continue;
      touched.push(c);
      // walk the chunk's extents from a cursor: a partly reclaimed extent is looked at again
      let at = c.start;
      while (want > 0 && at < c.end) {
        const ext = c.file.pages.first(at, c.end);
        if (!ext) break;
        const avail = ext.flags & PG_DIRTY ? 0 : countWhere(ext, isElig);
        if (avail === 0) {
          at = ext.start + ext.count;
          continue;
        }
        const take = avail <= want ? ext.count : cutFor(ext, want, isElig);
        for (const part of c.file.pages.removeRange(ext.start, ext.start + take)) {
          const left = part.pattern.map((z) => (isElig(z) ? NOT_CACHED : z));
          if (left.some((z) => z !== NOT_CACHED)) {
            c.file.pages.insert(makeExtent(part.start, part.count, left, part.flags));
          }
          for (const [z, n] of zoneCounts(part)) {
            if (!eligible(z)) continue;
            freed.set(z, (freed.get(z) ?? 0) + n);
            total += n;
            this.filePages.set(z, this.pagesIn(z) - n);
            this.fileTotal -= n;
            release(z, n);
          }
        }
        at = ext.start + take;
        want = need(total);
      }
      // walked to the end: no clean page of an eligible zone is left in the chunk
      if (at >= c.end || !c.file.pages.first(at, c.end))
        for (const z of [...info.clean]) if (eligible(z)) info.clean.delete(z);
    }
    // chunks left without cached pages go
    const empty = touched.filter((c) => c.file.pages.first(c.start, c.end) === undefined);
    if (empty.length) {
      const gone = new Set(empty);
      this.chunks = this.chunks.filter((c) => !gone.has(c));
    }
    return freed;
  }

  /** drop_pagecache_sb(): every clean page goes (echo 1 > /proc/sys/vm/drop_caches). */
  dropClean(release: (zid: number, pages: number) => void): Map<number, number> {
    return this.reclaim(
      () => true,
      () => Number.POSITIVE_INFINITY,
      release,
    );
  }

  /** Resident pages of a file per zone id. */
  fileZones(f: CachedFile): Map<number, number> {
    const m = new Map<number, number>();
    for (const e of f.pages.all()) zoneCounts(e, m);
    return m;
  }

  /** The ranges of a file's pages whose zone satisfies `pred`, in index order. */
  rangesWhere(f: CachedFile, pred: (zid: number) => boolean): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const e of f.pages.all()) {
      if (!e.pattern.some((z) => z !== NOT_CACHED && pred(z))) continue;
      const hit = (i: number) => {
        const z = nodeAt(e, i);
        return z !== NOT_CACHED && pred(z);
      };
      if (e.pattern.every((z) => z !== NOT_CACHED && pred(z))) {
        out.push([e.start, e.start + e.count]);
        continue;
      }
      // a mixed (interleaved) extent: page by page
      for (let i = e.start; i < e.start + e.count; i++) {
        if (!hit(i)) continue;
        const last = out[out.length - 1];
        if (last && last[1] === i) last[1] = i + 1;
        else out.push([i, i + 1]);
      }
    }
    return out;
  }

  /**
   * Replace cached pages [first, first+count) by new ones in `zones` (page migration of
   * file pages, migrate_page_move_mapping): the old pages are freed, dirtiness is kept.
   * Returns the old pages per zone id.
   */
  replace(f: CachedFile, first: number, count: number, zones: readonly number[]): Map<number, number> {
    const freed = new Map<number, number>();
    for (const c of this.chunks) if (c.file === f) changed(c);
    const fresh = makeExtent(first, count, zones, 0);
    for (const old of f.pages.removeRange(first, first + count)) {
      this.count(old, -1, true, (old.flags & PG_DIRTY) !== 0);
      zoneCounts(old, freed);
      const part = clipTo(fresh, old.start, old.start + old.count);
      const e = makeExtent(part.start, part.count, part.pattern, old.flags);
      f.pages.insert(e);
      this.count(e, 1, true, (old.flags & PG_DIRTY) !== 0);
    }
    return freed;
  }
}

/** The part of an extent over [from, to) (which it covers), its pattern rotated to match. */
function clipTo(e: Extent, from: number, to: number): Extent {
  const L = e.pattern.length;
  const off = (from - e.start) % L;
  const rotated = off === 0 ? e.pattern : [...e.pattern.slice(off), ...e.pattern.slice(0, off)];
  return makeExtent(from, to - from, rotated, e.flags);
}

/**
 * Migrate every cached page on `node` to a new page the plan allocates (memory offline:
 * do_migrate_range() takes file pages like any movable page). False when a page cannot
 * get a new one.
 */
export function migrateCacheOff(k: Kernel, caller: Task, node: number, plan: AllocPlan): boolean {
  const pc = k.pageCache;
  const onNode = (zid: number) => k.zoneById[zid]!.node === node;
  for (const f of pc.files.values()) {
    for (const [a, b] of pc.rangesWhere(f, onNode)) {
      const r = k.allocate(k, caller, plan, b - a, `file:${f.name}`, a, "object", (first, seg) => {
        k.freePages(pc.replace(f, first, seg.count, seg.zones));
      });
      if (r.stop) return false;
    }
  }
  return true;
}

function countWhere(e: Extent, pred: (z: number) => boolean): number {
  const L = e.pattern.length;
  const q = Math.floor(e.count / L);
  const r = e.count % L;
  let n = 0;
  for (let i = 0; i < L; i++) if (pred(e.pattern[i]!)) n += q + (i < r ? 1 : 0);
  return n;
}

function countNotCached(e: Extent): number {
  return countWhere(e, (z) => z === NOT_CACHED);
}

/** The shortest prefix of `e` (in pages) holding `k` pages that satisfy `pred` (k ≥ 1, enough exist). */
function cutFor(e: Extent, k: number, pred: (z: number) => boolean): number {
  const pos: number[] = [];
  e.pattern.forEach((z, i) => {
    if (pred(z)) pos.push(i);
  });
  const q = pos.length;
  const full = Math.floor((k - 1) / q);
  return full * e.pattern.length + pos[(k - 1) % q]! + 1;
}

// --- dirty limits ------------------------------------------------------------------------

/** calculate_totalreserve_pages(): per zone, its largest lowmem reserve plus its high watermark. */
function totalReservePages(k: Kernel): number {
  let sum = 0;
  for (const z of k.zoneById) {
    if (z.managed <= 0) continue;
    const max = Math.max(0, ...z.lowmemReserve);
    sum += Math.min(max + z.high, z.managed);
  }
  return sum;
}

/**
 * The background writeback threshold (domain_dirty_limits() with dirty_background_ratio
 * over global_dirtyable_memory(): free pages above the reserves plus the file LRU).
 */
export function backgroundThresh(k: Kernel): number {
  let free = 0;
  for (const z of k.zoneById) free += Math.max(0, z.free);
  const dirtyable = Math.max(0, free - totalReservePages(k)) + k.pageCache.totalPages;
  return Math.floor((dirtyable * DIRTY_BACKGROUND_RATIO) / 100);
}

/** node_dirty_limit(): vm_dirty_ratio (20) of the node's dirtyable memory (node_dirtyable_memory()). */
export const VM_DIRTY_RATIO = 20;

/**
 * How many more pages the node takes under node_dirty_ok() (its dirty pages at most its
 * limit before each allocation): 0 when it is over its limit. A page-cache page allocated
 * for a write moves a page from free to file, so the limit holds while the run lasts.
 */
export function nodeDirtyRoom(k: Kernel, node: number): number {
  let free = 0;
  let reserve = 0;
  let file = 0;
  let dirty = 0;
  for (const z of k.zones.get(node) ?? []) {
    if (!z.populated) continue;
    free += Math.max(0, z.free);
    if (z.managed > 0) reserve += Math.min(Math.max(0, ...z.lowmemReserve) + z.high, z.managed);
    file += k.pageCache.pagesIn(z.id);
    dirty += k.pageCache.dirtyIn(z.id);
  }
  const dirtyable = free - Math.min(free, reserve) + file;
  const limit = Math.floor((VM_DIRTY_RATIO * dirtyable) / 100);
  return Math.max(0, limit - dirty + 1);
}

// --- reclaim -----------------------------------------------------------------------------

/** pgdat_balanced(): some zone of the node up to `highest` is above its high watermark. */
export function nodeNeed(k: Kernel, node: number, highest: number): number {
  let need = Number.POSITIVE_INFINITY;
  for (const z of k.zones.get(node) ?? []) {
    if (z.type > highest || z.managed <= 0) continue;
    need = Math.min(need, z.high + z.lowmemReserve[highest]! + 1 - z.free);
  }
  return need === Number.POSITIVE_INFINITY ? 0 : need;
}

/**
 * Reclaim on a node until it is balanced: the oldest clean page-cache pages of its zones
 * up to `highest` (sc.reclaim_idx) are freed. kswapd (balance_pgdat()) reclaims in rounds
 * of kswapd_shrink_node()'s nr_to_reclaim, the sum over those zones of
 * max(high watermark, SWAP_CLUSTER_MAX), and looks at the balance after each round; the
 * direct reclaimer (shrink_zones()) is modelled as reclaiming until balanced and at least
 * `atLeast` pages. Returns the pages freed.
 */
export function reclaimNode(
  k: Kernel,
  node: number,
  highest: number,
  by: "kswapd" | "direct",
  task: string,
  atLeast = 0,
): number {
  const pc = k.pageCache;
  const eligible = (zid: number) => {
    const z = k.zoneById[zid]!;
    return z.node === node && z.type <= highest;
  };
  let round = 0;
  if (by === "kswapd") {
    for (const z of k.zones.get(node) ?? []) {
      if (z.type <= highest && z.managed > 0) round += Math.max(z.high, SWAP_CLUSTER_MAX);
    }
  }
  const need = (sofar: number) => {
    if (round > 0) {
      const inRound = sofar % round;
      if (inRound !== 0) return round - inRound;
      return nodeNeed(k, node, highest) > 0 ? round : 0;
    }
    return Math.max(nodeNeed(k, node, highest), atLeast - sofar);
  };
  const freed = pc.reclaim(eligible, need, (zid, pages) => k.freeZonePages(zid, pages));
  let n = 0;
  for (const v of freed.values()) n += v;
  if (n) k.noteReclaim(node, n, by, task);
  return n;
}

/** SWAP_CLUSTER_MAX: what one direct reclaim pass asks for (sc.nr_to_reclaim) */
export const SWAP_CLUSTER_MAX = 32;

/** kswapd of a woken node: it reclaims when the node is not balanced and has clean page cache. */
export function kswapdHasWork(k: Kernel, node: number, highest: number): boolean {
  if (nodeNeed(k, node, highest) <= 0) return false;
  for (const z of k.zones.get(node) ?? [])
    if (z.type <= highest && k.pageCache.reclaimable(z.id) > 0) return true;
  return false;
}

// --- reads and writes ----------------------------------------------------------------------

/**
 * filemap_alloc_folio() in the task's context: cpuset_mem_spread_node() when the task's
 * cpuset spreads the page cache (cgroup v1 memory_spread_page), else alloc_pages() under
 * the task policy (no VMA: dynamic interleave advances il_prev).
 */
export function pageCachePlan(k: Kernel, task: Task, gfp: number): AllocPlan {
  if (task.cpuset.memorySpreadPage) {
    const ids = task.memsAllowed.ids();
    const slots: SlotRequest[] = ids.map((nid) => ({
      req: { gfp, order: 0, nid, nodemask: null },
      interleaveTarget: NUMA_NO_NODE,
    }));
    // cpuset_spread_node(): the rotor moves to next_node_in(rotor, mems_allowed); Linux
    // starts it at node_random(mems_allowed), cdmsim at the first allowed node
    const next = task.spreadRotor === NUMA_NO_NODE ? ids[0]! : task.memsAllowed.nextIn(task.spreadRotor);
    return {
      policy: getTaskPolicy(task),
      policySource: "cpuset spread",
      slots,
      phase: Math.max(0, ids.indexOf(next)),
      spreadRotor: true,
    };
  }
  const pol = getTaskPolicy(task);
  return taskAllocPlan(k, task, pol, task.mempolicy ? "task" : "default", gfp, 0);
}

export interface FileIoResult {
  /** bytes read or written */
  bytes: bigint;
  /** the task was killed by the OOM killer */
  killed?: boolean;
  /** the allocation failed (ENOMEM) */
  failed?: boolean;
}

/** The plan with its requests marked as allocating clean page cache (reads). */
function cleanCachePlan(plan: AllocPlan): AllocPlan {
  return {
    ...plan,
    slots: plan.slots.map((sl) => ({
      ...sl,
      req: { ...sl.req, cleanCache: true },
      second: sl.second ? { ...sl.second, cleanCache: true } : undefined,
    })),
  };
}

/** Allocate the missing pages of [s, e) into the cache; false when the task died or the allocation failed. */
function fill(
  k: Kernel,
  task: Task,
  f: CachedFile,
  s: number,
  e: number,
  dirty: boolean,
  gfp: number,
): "ok" | "killed" | "failed" {
  const pc = k.pageCache;
  for (const [a, b] of pc.missing(f, s, e)) {
    let at = a;
    while (at < b) {
      const plan = dirty ? pageCachePlan(k, task, gfp) : cleanCachePlan(pageCachePlan(k, task, gfp));
      // each page goes on the LRU as it is added (folio_add_lru), so reclaim during a long
      // read or write sees it
      const r = k.allocate(k, task, plan, b - at, `file:${f.name}`, at, "object", (first, seg) => {
        pc.add(f, first, seg.count, seg.zones, dirty);
        pc.age(f, first, first + seg.count);
      });
      at += r.done;
      if (!r.stop) break;
      if (r.stop.kind === "killed") return "killed";
      if (gfp & __GFP_NORETRY) {
        // page_cache_ra_unbounded() gives up; filemap_create_folio() takes the page with
        // the mapping's gfp, then reading goes on with readahead
        const one = k.allocate(
          k,
          task,
          cleanCachePlan(pageCachePlan(k, task, MAPPING_GFP)),
          1,
          `file:${f.name}`,
          at,
          "object",
          (first, seg) => {
            pc.add(f, first, seg.count, seg.zones, dirty);
            pc.age(f, first, first + seg.count);
          },
        );
        if (one.stop) return one.stop.kind === "killed" ? "killed" : "failed";
        at += 1;
        continue;
      }
      return "failed";
    }
  }
  return "ok";
}

const pageOf = (b: bigint) => Number(b >> BigInt(PAGE_SHIFT));
const pageEnd = (b: bigint) => Number((b + BigInt((1 << PAGE_SHIFT) - 1)) >> BigInt(PAGE_SHIFT));

/**
 * pwrite() to a file (generic_perform_write): each page of the range is found in the cache
 * or allocated (WRITE_GFP), then dirtied. balance_dirty_pages() keeps the dirty pages near
 * the background threshold: the model writes in pieces and, after each, the flusher writes
 * back the oldest dirty pages down to that threshold.
 */
export function fileWrite(
  k: Kernel,
  task: Task,
  f: CachedFile,
  offset: bigint,
  length: bigint,
): FileIoResult {
  if (length === 0n) return { bytes: 0n };
  const s = pageOf(offset);
  const e = pageEnd(offset + length);
  const pc = k.pageCache;
  let at = s;
  while (at < e) {
    const piece = Math.max(256, Math.floor(backgroundThresh(k) / 2));
    const to = Math.min(e, at + piece);
    const r = fill(k, task, f, at, to, true, WRITE_GFP);
    if (r !== "ok") {
      // the pages written before the failing one count (a short write)
      const done = (BigInt(at) << BigInt(PAGE_SHIFT)) - offset;
      const bytes = done > 0n ? done : 0n;
      if (offset + bytes > f.size) f.size = offset + bytes;
      return r === "killed" ? { bytes, killed: true } : { bytes, failed: true };
    }
    pc.markDirty(f, at, to);
    pc.age(f, at, to);
    at = to;
    const over = pc.totalDirty - backgroundThresh(k);
    if (over > 0) pc.writeback(over);
  }
  if (offset + length > f.size) f.size = offset + length;
  return { bytes: length };
}

/**
 * pread() of a file opened with POSIX_FADV_RANDOM (no readahead beyond the range):
 * force_page_cache_ra() reads the missing pages of the range with readahead_gfp_mask().
 */
export function fileRead(k: Kernel, task: Task, f: CachedFile, offset: bigint, length: bigint): FileIoResult {
  if (offset >= f.size || length === 0n) return { bytes: 0n };
  const n = offset + length > f.size ? f.size - offset : length;
  const s = pageOf(offset);
  const e = pageEnd(offset + n);
  const r = fill(k, task, f, s, e, false, READAHEAD_GFP);
  if (r === "killed") return { bytes: 0n, killed: true };
  if (r === "failed") return { bytes: 0n, failed: true };
  k.pageCache.age(f, s, e);
  return { bytes: n };
}
