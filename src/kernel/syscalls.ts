/**
 * The system calls as user space sees them, with the kernel's order of checks and errno
 * (Linux 6.1: mm/mempolicy.c kernel_mbind/do_mbind, kernel_set_mempolicy,
 * kernel_get_mempolicy, set_mempolicy_home_node; mm/mmap.c do_mmap, __do_munmap).
 * Arguments arrive as the raw values a program would pass.
 */
import {
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAX_NUMNODES,
  MODE_FLAG_NAMES,
  MODE_NAMES,
  MPOL_BIND,
  MPOL_DEFAULT,
  MPOL_F_ADDR,
  MPOL_F_MEMS_ALLOWED,
  MPOL_F_MOF,
  MPOL_F_NODE,
  MPOL_INTERLEAVE,
  MPOL_MF_LAZY,
  MPOL_MF_MOVE,
  MPOL_MF_MOVE_ALL,
  MPOL_MF_STRICT,
  MPOL_MF_VALID,
  MPOL_MODE_FLAGS,
  MPOL_PREFERRED_MANY,
  MPOL_WEIGHTED_INTERLEAVE,
  PAGE_SHIFT,
  PAGE_SIZE,
  PROT_WRITE,
  VM_CDM,
  ZONE_MOVABLE,
} from "./constants.js";
import { extentNodeCounts, makeExtent, PG_HUGE_ZERO, ZERO_PAGE } from "./extents.js";
import { type Access, pieces, touchRange, vmaPolicy } from "./fault.js";
import { exit, fork } from "./fork.js";
import { __GFP_RETRY_MAYFAIL, __GFP_THISNODE, GFP_HIGHUSER_MOVABLE } from "./gfp.js";
import {
  HPAGE_PAGES,
  HPAGE_SIZE,
  HugetlbFile,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_NORESERVE,
  reserveHugePages,
} from "./hugetlb.js";
import type { Kernel, Task } from "./kernel.js";
import {
  DEFAULT_POLICY,
  getPolicyNodemask,
  getTaskPolicy,
  type MemPolicy,
  mpolDup,
  mpolEqual,
  mpolNew,
  mpolSetNodemask,
  sanitizeMpolFlags,
} from "./mempolicy.js";
import { type Mm, Vma } from "./mm.js";
import { Nodemask } from "./nodemask.js";
import { type AllocPlan, nodeAllocPlan, taskAllocPlan, vmaAllocPlan } from "./policy-alloc.js";
import { unmapAndFree, zoneCounts } from "./release.js";
import { mapcountRuns, migrateMapped } from "./rmap.js";

const U64 = 1n << 64n;
const PAGE = BigInt(PAGE_SIZE);
/** TASK_SIZE with 4-level paging on x86_64 */
export const TASK_SIZE = 0x7ffffffff000n;
/** vm.mmap_min_addr (CONFIG_DEFAULT_MMAP_MIN_ADDR on Debian) */
export const MMAP_MIN_ADDR = 65536n;
/** Where the model's top-down mmap starts (no randomisation). */
export const MMAP_BASE = 0x7f0000000000n;

export type UserNodemask = { kind: "null" } | { kind: "bad" } | { kind: "bits"; bits: readonly number[] };

export interface SysResult {
  ret: number;
  errno: string | null;
  out?: Record<string, unknown>;
  /** the task was OOM-killed during the call */
  killed?: boolean;
}

export const ok = (ret = 0, out?: Record<string, unknown>): SysResult =>
  out ? { ret, errno: null, out } : { ret, errno: null };
export const fail = (errno: string, out?: Record<string, unknown>): SysResult =>
  out ? { ret: -1, errno, out } : { ret: -1, errno };

/** Unsigned 64-bit view of a value a program passes as unsigned long. */
export function u64(v: bigint): bigint {
  return v >= 0n && v < U64 ? v : BigInt.asUintN(64, v);
}

/**
 * get_nodes(): copy a nodemask from user space. maxnode counts bits plus one; bits at or
 * above MAX_NUMNODES must be clear in every word the kernel reads (whole words, from the
 * top); only bits below min(maxnode - 1, MAX_NUMNODES) are kept.
 */
export function getNodes(user: UserNodemask, maxnodeArg: bigint): Nodemask | "EINVAL" | "EFAULT" {
  const maxnode = u64(u64(maxnodeArg) - 1n);
  if (maxnode === 0n || user.kind === "null") return Nodemask.NONE;
  if (maxnode > BigInt(PAGE_SIZE * 8)) return "EINVAL";
  if (user.kind === "bad") return "EFAULT";
  const m = Number(maxnode);
  if (m > MAX_NUMNODES) {
    const topWord = Math.floor((m - 1) / 64);
    const limit = (topWord + 1) * 64;
    if (user.bits.some((b) => b >= MAX_NUMNODES && b < limit)) return "EINVAL";
  }
  const keep = Math.min(m, MAX_NUMNODES);
  return Nodemask.from(user.bits.filter((b) => b < keep));
}

function modeName(mode: number): string {
  return MODE_NAMES[mode] ?? String(mode);
}

function modeFlagNames(flags: number): string[] {
  return MODE_FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
}

// --- set_mempolicy ---------------------------------------------------------------------

/** kernel_set_mempolicy() → do_set_mempolicy() */
export function sysSetMempolicy(
  k: Kernel,
  task: Task,
  mode: number,
  nmask: UserNodemask,
  maxnode: bigint,
): SysResult {
  const s = sanitizeMpolFlags(mode, k.version);
  if ("err" in s) return fail(s.err);
  const nodes = getNodes(nmask, maxnode);
  if (typeof nodes === "string") return fail(nodes);
  const pol = mpolNew(s.mode, s.flags, nodes);
  if (pol === "EINVAL") return fail("EINVAL");
  if (mpolSetNodemask(pol, nodes, task.memsAllowed, k.nMemory, k.policyExtraNodes) === "EINVAL")
    return fail("EINVAL");
  task.mempolicy = pol;
  if (pol && (pol.mode === MPOL_INTERLEAVE || pol.mode === MPOL_WEIGHTED_INTERLEAVE)) {
    task.ilPrev = MAX_NUMNODES - 1;
    task.ilWeight = 0;
  }
  return ok();
}

// --- get_mempolicy ---------------------------------------------------------------------

/** kernel_get_mempolicy() → do_get_mempolicy() */
export function sysGetMempolicy(
  k: Kernel,
  task: Task,
  nmaskNull: boolean,
  maxnode: bigint,
  addr: bigint,
  flags: bigint,
): SysResult {
  if (!nmaskNull && u64(maxnode) < BigInt(k.topo.nrNodeIds)) return fail("EINVAL");
  const f = u64(flags);
  if (f & ~BigInt(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED)) return fail("EINVAL");
  const out: Record<string, unknown> = {};
  const putNodes = (m: Nodemask): SysResult | undefined => {
    if (nmaskNull) return undefined;
    // copy_nodes_to_user(): EINVAL when maxnode asks for more than a page (after *mode is written)
    const copy = ((u64(maxnode) - 1n + 63n) / 64n) * 8n;
    const nbytes = BigInt(Math.ceil(k.topo.nrNodeIds / 64) * 8);
    if (copy > nbytes && copy > PAGE) return fail("EINVAL"); // *mode was written, but the call failed
    out.nodes = m.toString();
    return undefined;
  };
  if (f & BigInt(MPOL_F_MEMS_ALLOWED)) {
    if (f & BigInt(MPOL_F_NODE | MPOL_F_ADDR)) return fail("EINVAL");
    out.mode = modeName(MPOL_DEFAULT);
    out.mode_flags = [];
    return putNodes(task.memsAllowed) ?? ok(0, out);
  }
  let pol: MemPolicy | null = task.mempolicy;
  let vmaAt: Vma | undefined;
  const a = u64(addr);
  if (f & BigInt(MPOL_F_ADDR)) {
    vmaAt = a < TASK_SIZE ? task.mm.vmaAt(Number(a >> BigInt(PAGE_SHIFT))) : undefined;
    if (!vmaAt) return fail("EFAULT");
    const vpn = Number(a >> BigInt(PAGE_SHIFT));
    pol = vmaAt.object ? vmaAt.object.policyAt(vmaAt.indexOf(vpn)) : vmaAt.policy;
  } else if (a !== 0n) {
    return fail("EINVAL");
  }
  const p = pol ?? DEFAULT_POLICY;
  if (f & BigInt(MPOL_F_NODE)) {
    if (f & BigInt(MPOL_F_ADDR)) {
      const node = lookupNode(k, task, vmaAt!, Number(a >> BigInt(PAGE_SHIFT)));
      if (typeof node === "string") return fail(node);
      out.node = node;
    } else if (pol && pol === task.mempolicy && pol.mode === MPOL_INTERLEAVE) {
      out.node = pol.nodes.nextIn(task.ilPrev);
    } else if (pol && pol === task.mempolicy && pol.mode === MPOL_WEIGHTED_INTERLEAVE) {
      out.node = task.ilWeight ? task.ilPrev : pol.nodes.nextIn(task.ilPrev);
    } else {
      return fail("EINVAL");
    }
  } else {
    const mode = p.kind === "default" ? MPOL_DEFAULT : p.mode;
    out.mode = modeName(mode);
    out.mode_flags = modeFlagNames(p.flags & MPOL_MODE_FLAGS);
  }
  return putNodes(getPolicyNodemask(p)) ?? ok(0, out);
}

/**
 * lookup_node(): get_user_pages_fast(addr, 1, 0): a read fault if needed, then the node of
 * the page. Untouched private anonymous memory maps the zero page, which lives in the
 * kernel image on the first node with boot memory.
 */
function lookupNode(k: Kernel, task: Task, vma: Vma, vpn: number): number | "EFAULT" {
  if (!(vma.prot & 0x7)) return "EFAULT";
  let e = task.mm.pte.lookup(vpn);
  if (!e) {
    const r = touchRange(k, task, vpn, 1, "read", () => "get_mempolicy");
    if (r.efault || r.stop || r.sigbus) return "EFAULT";
    e = task.mm.pte.lookup(vpn);
  }
  if (!e) return "EFAULT";
  const zid = e.pattern[(vpn - e.start) % e.pattern.length]!;
  if (zid === ZERO_PAGE) {
    // a PMD of the huge zero page: get_user_pages_fast() finds that page
    if (e.flags & PG_HUGE_ZERO && k.hugeZeroZone !== undefined) return k.zoneById[k.hugeZeroZone]!.node;
    return zeroPageNode(k);
  }
  return k.zoneById[zid]!.node;
}

/** The node holding the kernel image (and so the zero page): the lowest node with boot memory. */
export function zeroPageNode(k: Kernel): number {
  for (const id of k.nNormalMemory.ids()) return id;
  return k.nMemory.first();
}

// --- mbind -----------------------------------------------------------------------------

/** kernel_mbind() → do_mbind() */
export function sysMbind(
  k: Kernel,
  task: Task,
  start: bigint,
  len: bigint,
  modeArg: number,
  nmask: UserNodemask,
  maxnode: bigint,
  flagsArg: bigint,
): SysResult {
  const s = sanitizeMpolFlags(modeArg, k.version);
  if ("err" in s) return fail(s.err);
  const nodes = getNodes(nmask, maxnode);
  if (typeof nodes === "string") return fail(nodes);
  let flags = Number(u64(flagsArg) & 0xffffffffn); // unsigned int
  if (flags & ~MPOL_MF_VALID) return fail("EINVAL");
  if (flags & MPOL_MF_MOVE_ALL && !task.privileged) return fail("EPERM");
  const st = u64(start);
  if (st & (PAGE - 1n)) return fail("EINVAL");
  if (s.mode === MPOL_DEFAULT) flags &= ~MPOL_MF_STRICT;
  const l = u64((u64(len) + PAGE - 1n) & ~(PAGE - 1n));
  const endRaw = st + l;
  if (endRaw >= U64) return fail("EINVAL"); // end < start: wrapped
  const end = endRaw;
  if (end === st) return ok();
  const pol = mpolNew(s.mode, s.flags, nodes);
  if (pol === "EINVAL") return fail("EINVAL");
  if (pol && flags & MPOL_MF_LAZY) pol.flags |= MPOL_F_MOF;
  const discontigOk = pol === null;
  if (mpolSetNodemask(pol, nodes, task.memsAllowed, k.nMemory, k.policyExtraNodes) === "EINVAL")
    return fail("EINVAL");

  // queue_pages_range(): holes, STRICT checks and the pages MOVE will migrate
  const sv = Number(st >> BigInt(PAGE_SHIFT));
  const ev =
    end > TASK_SIZE ? Number(TASK_SIZE >> BigInt(PAGE_SHIFT)) + 1 : Number(end >> BigInt(PAGE_SHIFT));
  const q = queuePagesRange(k, task, sv, ev, nodes, flags, discontigOk);
  if (q.err) return fail(q.err);

  // mbind_range() on every VMA of the range (split_vma() of a hugetlb VMA off a huge-page boundary: EINVAL)
  if (splitsHugetlb(task.mm, sv, ev)) return fail("EINVAL");
  for (const v of task.mm.vmasIn(sv, ev)) {
    if (mpolEqual(v.policy, pol)) continue;
    task.mm.modifyRange(v, sv, ev, (cur) => vmaReplacePolicy(cur, pol));
  }
  // a design's VM_CDM tag (RFC V2 12/12: new_pol->mode == MPOL_BIND && nodemask_has_cdm),
  // set in place on the VMAs of the range and never cleared
  if (
    k.design.hooks.tagsCdmVmas &&
    pol?.mode === MPOL_BIND &&
    pol.nodes.ids().some((n) => k.designCtx.cdmNodes.has(n))
  )
    for (const v of task.mm.vmasIn(sv, ev)) v.vmFlags |= VM_CDM;

  let nrFailed = 0;
  if (q.migrate.length) nrFailed = migrateQueued(k, task, q.migrate);
  if ((q.unmovable || nrFailed) && flags & MPOL_MF_STRICT) return fail("EIO");
  return ok();
}

/** vma_replace_policy(): shmem keeps the policy in the object's shared policy tree too */
function vmaReplacePolicy(v: Vma, pol: MemPolicy | null): void {
  const np = mpolDup(pol);
  if (v.object) v.object.replacePolicy(v.pgoff, v.pgoff + v.pages, np);
  v.policy = np;
}

interface QueueResult {
  err?: string;
  /** runs of consecutive misplaced pages to migrate: [vpn start, vpn end) */
  migrate: { start: number; end: number }[];
  unmovable: boolean;
}

/**
 * queue_pages_range() with queue_pages_test_walk() and queue_folios_pte_range(): holes
 * are EFAULT unless the policy is MPOL_DEFAULT; a page is misplaced when its node is not
 * in the user's nodemask (MPOL_MF_INVERT against the raw nmask); STRICT alone stops at
 * the first misplaced page with EIO; MOVE queues the misplaced pages mapped once, MOVE_ALL
 * all of them. Zero pages are never checked.
 */
function queuePagesRange(
  k: Kernel,
  task: Task,
  start: number,
  end: number,
  nmask: Nodemask,
  flags: number,
  discontigOk: boolean,
): QueueResult {
  const res: QueueResult = { migrate: [], unmovable: false };
  const vmas = task.mm.vmasIn(start, end);
  if (vmas.length === 0) return { ...res, err: "EFAULT" };
  if (!discontigOk && start < vmas[0]!.start) return { ...res, err: "EFAULT" };
  const move = (flags & (MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)) !== 0;
  const misplaced = (zid: number) => zid !== ZERO_PAGE && !nmask.has(k.zoneById[zid]!.node);
  for (const v of vmas) {
    const next = task.mm.vmas[task.mm.vmas.indexOf(v) + 1];
    if (!discontigOk && v.end < end && (!next || v.end < next.start)) return { ...res, err: "EFAULT" };
    if (!(flags & MPOL_MF_VALID)) continue;
    for (const p of pieces(task.mm.pte, Math.max(start, v.start), Math.min(end, v.end))) {
      if (!p.ext?.pattern.some(misplaced)) continue;
      if (!move) return { ...res, err: "EIO" };
      // migrate_page_add(): a page mapped more than once moves only with MPOL_MF_MOVE_ALL
      const runs =
        flags & MPOL_MF_MOVE_ALL || (!p.ext.share && !v.object)
          ? [{ start: p.start, end: p.end, count: 1 }]
          : mapcountRuns(k, task, v, p.start, p.end);
      for (const r of runs) {
        if (r.count > 1 && !(flags & MPOL_MF_MOVE_ALL)) continue;
        if (p.ext.pattern.every(misplaced)) {
          addRun(res.migrate, r.start, r.end);
          continue;
        }
        for (let vpn = r.start; vpn < r.end; vpn++) {
          if (misplaced(p.ext.pattern[(vpn - p.ext.start) % p.ext.pattern.length]!))
            addRun(res.migrate, vpn, vpn + 1);
        }
      }
    }
  }
  return res;
}

function addRun(runs: { start: number; end: number }[], start: number, end: number): void {
  const last = runs[runs.length - 1];
  if (last && last.end === start) last.end = end;
  else runs.push({ start, end });
}

/**
 * migrate_pages() with new_page(): each queued page gets a new page under its VMA's (new)
 * policy with GFP_HIGHUSER_MOVABLE|__GFP_RETRY_MAYFAIL, which never invokes the OOM
 * killer; every mapping of the old page now maps the new one and the old page is freed.
 * The first page that cannot be had ends the migration (migrate_pages returns -ENOMEM).
 * Returns the number of pages that could not move (nonzero when one could not).
 */
function migrateQueued(k: Kernel, task: Task, runs: { start: number; end: number }[]): number {
  let failed = 0;
  const gfp = GFP_HIGHUSER_MOVABLE | __GFP_RETRY_MAYFAIL;
  for (const run of runs) {
    let at = run.start;
    while (at < run.end) {
      const vma = task.mm.vmaAt(at)!;
      const { pol, source } = vmaPolicy(task, vma, at);
      const plan = vmaAllocPlan(k, task, pol, source, gfp, 0, vma.indexOf(at));
      const stop = Math.min(run.end, vma.end, at + (plan.span ?? run.end));
      // each new page replaces the old one at once (the old page is freed after the copy)
      const r = k.allocate(
        k,
        task,
        plan,
        stop - at,
        "migrate",
        at,
        "vpn",
        (first, seg) => k.freePages(migrateMapped(k, task, vma, first, first + seg.count, seg.zones)),
        (first, count) => [...zoneCounts(task.mm.pte.range(first, first + count)).keys()],
      );
      failed += stop - at - r.done;
      // a page that cannot be had ends migrate_pages() (-ENOMEM): the rest stays
      if (r.done < stop - at) return failed;
      at = stop;
    }
  }
  return failed;
}

// --- set_mempolicy_home_node -----------------------------------------------------------

export function sysSetMempolicyHomeNode(
  k: Kernel,
  task: Task,
  start: bigint,
  len: bigint,
  homeNode: bigint,
  flags: bigint,
): SysResult {
  const st = u64(start);
  if (st & (PAGE - 1n)) return fail("EINVAL");
  if (u64(flags) !== 0n) return fail("EINVAL");
  const hn = u64(homeNode);
  if (hn >= BigInt(MAX_NUMNODES) || !k.online.has(Number(hn))) return fail("EINVAL");
  const l = u64((u64(len) + PAGE - 1n) & ~(PAGE - 1n));
  const endRaw = st + l;
  if (endRaw >= U64) return fail("EINVAL");
  if (endRaw === st) return ok();
  const sv = Number(st >> BigInt(PAGE_SHIFT));
  const ev =
    endRaw > TASK_SIZE ? Number(TASK_SIZE >> BigInt(PAGE_SHIFT)) + 1 : Number(endRaw >> BigInt(PAGE_SHIFT));
  let err: string | null = "ENOENT";
  for (const v of task.mm.vmasIn(sv, ev)) {
    const np = mpolDup(v.policy);
    if (!np) continue;
    if (np.mode !== MPOL_BIND && np.mode !== MPOL_PREFERRED_MANY) {
      err = "EOPNOTSUPP";
      break;
    }
    np.homeNode = Number(hn);
    if (!mpolEqual(v.policy, np)) task.mm.modifyRange(v, sv, ev, (cur) => vmaReplacePolicy(cur, np));
    err = null;
  }
  return err ? fail(err) : ok();
}

// --- mmap / munmap ---------------------------------------------------------------------

/** do_mmap() for anonymous memory (private, or shared: a shmem object). */
export function sysMmap(
  k: Kernel,
  task: Task,
  addr: bigint | null,
  length: bigint,
  prot: number,
  flags: number,
): SysResult {
  if (!(flags & MAP_ANONYMOUS)) return fail("EBADF");
  // ksys_mmap_pgoff(): MAP_HUGETLB takes the hstate of the size in the flags (only 2 MiB
  // here) and rounds the length up to it (ALIGN, modulo 2^64) before do_mmap()
  const huge = (flags & MAP_HUGETLB) !== 0;
  if (huge) {
    const log = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    if (log !== 0 && log !== 21) return fail("EINVAL");
  }
  const type = flags & 0x0f;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== 0x03) return fail("EINVAL");
  const HP = BigInt(HPAGE_SIZE);
  const len0 = huge ? u64((u64(length) + HP - 1n) & ~(HP - 1n)) : u64(length);
  if (len0 === 0n) return fail("EINVAL");
  const len = (len0 + PAGE - 1n) & ~(PAGE - 1n);
  if (len >= U64 || len === 0n) return fail("ENOMEM");
  if (len > TASK_SIZE) return fail("ENOMEM");
  const pages = Number(len >> BigInt(PAGE_SHIFT));
  let start: number;
  const fixed = addr !== null;
  if (fixed) {
    const a = u64(addr);
    // hugetlb_get_unmapped_area() → prepare_hugepage_range(): a 2 MiB-aligned address
    if (a & ((huge ? HP : PAGE) - 1n)) return fail("EINVAL");
    if (a > TASK_SIZE - len) return fail("ENOMEM");
    if (a < MMAP_MIN_ADDR) return fail("EPERM");
    start = Number(a >> BigInt(PAGE_SHIFT));
    if (task.mm.vmasIn(start, start + pages).length) return fail("EEXIST");
  } else {
    // the highest free range starting at or below MMAP_BASE and ending below TASK_SIZE
    const ceiling = Math.min(
      Number(MMAP_BASE >> BigInt(PAGE_SHIFT)),
      Number(TASK_SIZE >> BigInt(PAGE_SHIFT)) - pages,
    );
    const floor = Number(MMAP_MIN_ADDR >> BigInt(PAGE_SHIFT));
    let s = task.mm.topDownStart(ceiling, pages, floor);
    // hugetlb_get_unmapped_area_topdown(): aligned to the huge page size
    while (huge && s !== undefined && s % HPAGE_PAGES !== 0) {
      s = task.mm.topDownStart(s - (s % HPAGE_PAGES), pages, floor);
    }
    if (s === undefined) return fail("ENOMEM");
    start = s;
  }
  // __vm_enough_memory() in the default heuristic mode: one mapping may not exceed RAM + swap
  // (accountable_mapping(): never for hugetlb files)
  const accountable = !huge && (type !== MAP_PRIVATE || prot & PROT_WRITE) && !(flags & 0x4000); // MAP_NORESERVE
  if (accountable) {
    let totalram = 0;
    for (const z of k.zoneById) totalram += Math.max(0, z.managed);
    if (pages > totalram) return fail("ENOMEM");
  }
  const shared = type !== MAP_PRIVATE;
  if (huge) {
    // hugetlbfs_file_mmap() → hugetlb_reserve_pages() for the whole file, unless MAP_NORESERVE
    const file = new HugetlbFile(shared);
    const n = pages / HPAGE_PAGES;
    if (!(flags & MAP_NORESERVE)) {
      if (!reserveHugePages(k, task, n)) return fail("ENOMEM");
      for (let i = 0; i < n; i++) file.resv.add(i);
    }
    const vmFlags = (shared ? MAP_SHARED : MAP_PRIVATE) | (flags & ~(0x0f | MAP_FIXED_NOREPLACE));
    const v = new Vma(start, start + pages, 0, prot, vmFlags, null, null);
    v.huge = file;
    file.mappers++;
    task.mm.insertVma(v);
    return ok(start * PAGE_SIZE);
  }
  const object = shared ? k.newShmemObject(pages) : null;
  const vmFlags = (shared ? MAP_SHARED : MAP_PRIVATE) | (flags & ~(0x0f | MAP_FIXED_NOREPLACE));
  const v = new Vma(start, start + pages, shared ? 0 : start, prot, vmFlags, null, object);
  if (object) object.mappers++;
  task.mm.insertVma(v);
  if (!shared) task.mm.mergeAround(v);
  return ok(start * PAGE_SIZE);
}

/** __do_munmap() */
export function sysMunmap(k: Kernel, task: Task, addr: bigint, length: bigint): SysResult {
  const a = u64(addr);
  const l = u64(length);
  if (a & (PAGE - 1n) || a > TASK_SIZE || l > TASK_SIZE - a) return fail("EINVAL");
  const len = (l + PAGE - 1n) & ~(PAGE - 1n);
  if (len === 0n) return fail("EINVAL");
  const s = Number(a >> BigInt(PAGE_SHIFT));
  const e = s + Number(len >> BigInt(PAGE_SHIFT));
  if (splitsHugetlb(task.mm, s, e)) return fail("EINVAL");
  unmapAndFree(k, task, s, e);
  return ok();
}

/** Whether [start, end) would split a hugetlb VMA off a huge-page boundary (hugetlb_vm_op_split: EINVAL). */
export function splitsHugetlb(mm: Mm, start: number, end: number): boolean {
  for (const v of mm.vmasIn(start, end)) {
    if (!v.huge) continue;
    if (v.start < start && start % HPAGE_PAGES) return true;
    if (v.end > end && end % HPAGE_PAGES) return true;
  }
  return false;
}

// --- touch, placement ------------------------------------------------------------------

/** Access every page of [addr, addr+length): ret = pages that took a fault. */
export function sysTouch(
  k: Kernel,
  task: Task,
  addr: bigint,
  length: bigint,
  access: Access,
  label: (v: Vma) => string,
): SysResult {
  const a = u64(addr);
  const l = u64(length);
  if (l === 0n) return ok(0);
  const first = a >> BigInt(PAGE_SHIFT);
  const last = (a + l - 1n) >> BigInt(PAGE_SHIFT);
  if (last >= TASK_SIZE >> BigInt(PAGE_SHIFT)) return fail("EFAULT");
  const r = touchRange(k, task, Number(first), Number(last - first + 1n), access, label);
  if (r.stop?.kind === "killed") return { ret: -1, errno: null, killed: true };
  if (r.stop?.kind === "failed") return fail("ENOMEM");
  if (r.efault) return fail("EFAULT");
  // a hugetlb fault without a page is a SIGBUS: the oracle's runner reports it as EFAULT
  if (r.sigbus) return fail("EFAULT");
  return ok(r.faults);
}

/** Resident pages of a range per node (zero-page mappings not counted), from the page table. */
export function residentPages(k: Kernel, mm: Mm, start: number, end: number): Map<number, number> {
  const byZone = mm.pte.nodeCounts(start, end);
  const byNode = new Map<number, number>();
  for (const [zid, n] of byZone) {
    if (zid === ZERO_PAGE) continue;
    const node = k.zoneById[zid]!.node;
    byNode.set(node, (byNode.get(node) ?? 0) + n);
  }
  return byNode;
}

export function pagesOut(m: Map<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of [...m.keys()].sort((a, b) => a - b)) out[String(id)] = m.get(id)!;
  return out;
}

// --- kalloc, sched_setaffinity, sysfs_write --------------------------------------------

/**
 * An in-kernel allocation in the task's context: alloc_pages_node(node, gfp, order) when
 * a node is given (no memory policy), else alloc_pages(gfp, order) under the task policy
 * (the default policy for __GFP_THISNODE requests).
 */
export function sysKalloc(
  k: Kernel,
  task: Task,
  gfp: number,
  node: number | null,
  order: number,
  count: number,
): SysResult {
  let plan: AllocPlan;
  if (node !== null) {
    plan = nodeAllocPlan(gfp, order, node);
  } else {
    const useTask = !(gfp & __GFP_THISNODE);
    const pol = useTask ? getTaskPolicy(task) : DEFAULT_POLICY;
    const source = useTask ? (task.mempolicy ? "task" : "default") : "default";
    plan = taskAllocPlan(k, task, pol, source, gfp, order);
  }
  const r = k.allocate(k, task, plan, count, "kalloc", 0, "none");
  const byNode = new Map<number, number>();
  for (const s of r.segments) {
    const per = new Map<number, number>();
    extentNodeCounts(makeExtent(0, s.count, s.zones, 0), per);
    for (const [zid, n] of per) {
      const nd = k.zoneById[zid]!.node;
      byNode.set(nd, (byNode.get(nd) ?? 0) + n * 2 ** order);
    }
  }
  const out = { pages: pagesOut(byNode) };
  if (r.stop?.kind === "killed") return { ret: -1, errno: null, out, killed: true };
  if (r.stop) return fail("ENOMEM", out);
  return ok(0, out);
}

export function sysSchedSetaffinity(k: Kernel, task: Task, cpu: number): SysResult {
  if (!task.cpuset.effectiveCpus.includes(cpu) || k.topo.cpuToNode(cpu) === undefined) return fail("EINVAL");
  task.cpu = cpu;
  return ok();
}

const WEIGHT_PATH = /^\/sys\/kernel\/mm\/mempolicy\/weighted_interleave\/node(\d+)$/;

/** Writes to the weighted-interleave weights (mm/mempolicy.c node_store, 6.9+). */
export function sysSysfsWrite(k: Kernel, task: Task, path: string, value: string): SysResult {
  const m = WEIGHT_PATH.exec(path);
  if (!m || !k.version.weightedInterleave || !k.topo.possible.has(Number(m[1]))) return fail("ENOENT");
  if (!task.privileged) return fail("EACCES");
  const v = value.trim();
  let w: number;
  if (v === "") w = 0;
  else {
    const n = /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 0 || n > 255) return fail("EINVAL");
    w = n;
  }
  if (k.version.weightedInterleaveAuto && (w < 1 || w > 255)) return fail("EINVAL");
  k.weights.set(Number(m[1]), w);
  k.invalidateAllocEnv(); // weighted-interleave cycles change
  return ok(value.length);
}

/** Used by reports: is a zone id on a movable zone */
export function isMovableZone(k: Kernel, zid: number): boolean {
  return zid >= 0 && k.zoneById[zid]!.type === ZONE_MOVABLE;
}

// --- fork, exit --------------------------------------------------------------------------

/** fork(): the child's pid, or -1 ENOMEM when its page tables cannot be allocated. */
export function sysFork(k: Kernel, task: Task, childName: string): SysResult {
  const r = fork(k, task, childName);
  if (r.child) return ok(r.child.pid);
  if (r.stop?.kind === "killed") return { ret: -1, errno: null, killed: true };
  return fail("ENOMEM");
}

/** exit(): the address space goes; the task runs no more steps. */
export function sysExit(k: Kernel, task: Task): SysResult {
  exit(k, task);
  return ok(0);
}
