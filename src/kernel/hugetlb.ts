/**
 * hugetlb: the pool of 2 MiB huge pages per node and MAP_HUGETLB mappings (mm/hugetlb.c,
 * fs/hugetlbfs/inode.c, Linux 6.1, x86_64 with the default hstate of order 9).
 *
 * - The pool: nr_huge_pages_node, free_huge_pages_node, surplus_huge_pages_node, the
 *   global resv_huge_pages and the two rotors next_nid_to_alloc / next_nid_to_free.
 *   Growing it allocates each page from the buddy allocator on the next node of the rotor
 *   (alloc_pool_huge_page, alloc_buddy_huge_page: __alloc_pages(GFP_HIGHUSER_MOVABLE |
 *   __GFP_THISNODE | __GFP_COMP | __GFP_NOWARN | __GFP_RETRY_MAYFAIL, 9, nid,
 *   nodes_allowed)) in the writing task's context; shrinking gives free pages back to the
 *   buddy allocator, and makes in-use pages surplus when the pool must go below them.
 * - A MAP_HUGETLB mapping is a hugetlbfs file (the "anon_hugepage" inode): its pages per
 *   huge-page index and the indices still reserved. mmap reserves every page
 *   (hugetlb_reserve_pages), a fault takes a free page from the pool
 *   (dequeue_huge_page_vma), unmapping gives pages back to the pool (free_huge_page).
 *   There are no surplus pages (nr_overcommit_hugepages is 0): a fault that finds no page
 *   is a SIGBUS.
 */
import {
  MPOL_BIND,
  MPOL_INTERLEAVE,
  MPOL_LOCAL,
  MPOL_PREFERRED_MANY,
  MPOL_WEIGHTED_INTERLEAVE,
  PAGE_SIZE,
} from "./constants.js";
import { makeExtent, PG_ANON, PG_DIRTY, PG_HUGETLB, PTE_WRITE } from "./extents.js";
import { allocTables } from "./fault.js";
import {
  __GFP_COMP,
  __GFP_NOWARN,
  __GFP_RETRY_MAYFAIL,
  __GFP_THISNODE,
  GFP_HIGHUSER_MOVABLE,
  gfpZone,
} from "./gfp.js";
import type { Kernel, Task } from "./kernel.js";
import {
  DEFAULT_POLICY,
  getTaskPolicy,
  type MemPolicy,
  offsetIlNode,
  policyNode,
  weightedInterleaveNid,
} from "./mempolicy.js";
import type { Vma } from "./mm.js";
import { Nodemask } from "./nodemask.js";
import { cpusetNodeAllowed } from "./page-alloc.js";
import { PTE_LEVEL } from "./pagetable.js";
import type { AllocPlan, RunStop } from "./policy-alloc.js";

/** huge_page_order(&default_hstate) on x86_64 */
export const HPAGE_ORDER = 9;
/** pages_per_huge_page() */
export const HPAGE_PAGES = 2 ** HPAGE_ORDER;
export const HPAGE_SIZE = HPAGE_PAGES * PAGE_SIZE;
/** MAP_HUGETLB; MAP_HUGE_SHIFT and MAP_HUGE_MASK (include/uapi/asm-generic/hugetlb_encode.h) */
export const MAP_HUGETLB = 0x40000;
export const MAP_NORESERVE = 0x4000;
export const MAP_HUGE_SHIFT = 26;
export const MAP_HUGE_MASK = 0x3f;
/** htlb_alloc_mask(): 2 MiB pages are migratable, so movable */
const HTLB_ALLOC_MASK = GFP_HIGHUSER_MOVABLE;

/** The hugetlbfs inode behind a MAP_HUGETLB mapping. */
export class HugetlbFile {
  readonly shared: boolean;
  /** huge-page index → zone id of the page */
  readonly pages = new Map<number, number>();
  /** indices reserved at mmap and not faulted yet (resv_map) */
  readonly resv = new Set<number>();
  /** VMAs mapping the file */
  mappers = 0;

  constructor(shared: boolean) {
    this.shared = shared;
  }
}

/** struct hstate for the 2 MiB pages. */
export class HugePool {
  readonly nr = new Map<number, number>();
  readonly surplus = new Map<number, number>();
  /** free pages per node, as zone ids; the last is the head of hugepage_freelists[node] */
  readonly freeList = new Map<number, number[]>();
  resv = 0;
  /** max_huge_pages (what /proc/sys/vm/nr_hugepages shows) */
  maxHugePages = 0;
  nextNidToAlloc: number;
  nextNidToFree: number;

  constructor(firstMemoryNode: number) {
    // hugetlb_add_hstate(): both rotors start at first_memory_node
    this.nextNidToAlloc = firstMemoryNode;
    this.nextNidToFree = firstMemoryNode;
  }

  nrNode(n: number): number {
    return this.nr.get(n) ?? 0;
  }
  freeNode(n: number): number {
    return this.freeList.get(n)?.length ?? 0;
  }
  surplusNode(n: number): number {
    return this.surplus.get(n) ?? 0;
  }
  get total(): number {
    let s = 0;
    for (const v of this.nr.values()) s += v;
    return s;
  }
  get free(): number {
    let s = 0;
    for (const l of this.freeList.values()) s += l.length;
    return s;
  }
  get surplusTotal(): number {
    let s = 0;
    for (const v of this.surplus.values()) s += v;
    return s;
  }
  /** persistent_huge_pages() */
  get persistent(): number {
    return this.total - this.surplusTotal;
  }
}

const bump = (m: Map<number, number>, n: number, d: number) => m.set(n, (m.get(n) ?? 0) + d);

/** get_valid_node_allowed() then next_node_allowed() */
function nextNode(pool: HugePool, which: "alloc" | "free", allowed: Nodemask): number {
  const cur = which === "alloc" ? pool.nextNidToAlloc : pool.nextNidToFree;
  const nid = allowed.has(cur) ? cur : allowed.nextIn(cur);
  const next = allowed.nextIn(nid);
  if (which === "alloc") pool.nextNidToAlloc = next;
  else pool.nextNidToFree = next;
  return nid;
}

/** enqueue_huge_page() */
function enqueue(pool: HugePool, node: number, zid: number): void {
  let l = pool.freeList.get(node);
  if (!l) pool.freeList.set(node, (l = []));
  l.push(zid);
}

/**
 * alloc_pool_huge_page(): a fresh page from the buddy allocator on the first node of the
 * rotor that can give one (for_each_node_mask_to_alloc), into the pool.
 */
function allocPoolHugePage(k: Kernel, task: Task, allowed: Nodemask, noretry: Set<number>): boolean {
  const pool = k.hugetlb;
  for (let n = allowed.weight(); n > 0; n--) {
    const node = nextNode(pool, "alloc", allowed);
    // alloc_buddy_huge_page(): try hard unless this node failed a hard try already
    const tryHard = !noretry.has(node);
    const gfp =
      HTLB_ALLOC_MASK | __GFP_THISNODE | __GFP_COMP | __GFP_NOWARN | (tryHard ? __GFP_RETRY_MAYFAIL : 0);
    const plan: AllocPlan = {
      policy: DEFAULT_POLICY,
      policySource: "none",
      slots: [{ req: { gfp, order: HPAGE_ORDER, nid: node, nodemask: allowed }, interleaveTarget: -1 }],
      phase: 0,
    };
    const r = k.allocate(k, task, plan, 1, "hugetlb pool", 0, "none");
    if (r.done === 1) {
      if (!tryHard) noretry.delete(node);
      const zid = r.segments[0]!.zones[0]!;
      const nid = k.zoneById[zid]!.node;
      // prep_new_huge_page(), then free_huge_page() into the pool
      bump(pool.nr, nid, 1);
      enqueue(pool, nid, zid);
      return true;
    }
    if (tryHard) noretry.add(node);
  }
  return false;
}

/**
 * remove_pool_huge_page() and update_and_free_page(): a free page back to the buddy
 * allocator (with acctSurplus, only from a node that has surplus pages, which it uncounts).
 */
function removePoolHugePage(k: Kernel, allowed: Nodemask, acctSurplus = false): boolean {
  const pool = k.hugetlb;
  for (let n = allowed.weight(); n > 0; n--) {
    const node = nextNode(pool, "free", allowed);
    const l = pool.freeList.get(node);
    if ((!acctSurplus || pool.surplusNode(node) > 0) && l?.length) {
      const zid = l.pop()!;
      bump(pool.nr, node, -1);
      if (acctSurplus) bump(pool.surplus, node, -1);
      k.freeZonePages(zid, HPAGE_PAGES);
      return true;
    }
  }
  return false;
}

/** adjust_pool_surplus() */
function adjustPoolSurplus(k: Kernel, allowed: Nodemask, delta: 1 | -1): boolean {
  const pool = k.hugetlb;
  for (let n = allowed.weight(); n > 0; n--) {
    const node = nextNode(pool, delta < 0 ? "alloc" : "free", allowed);
    const ok = delta < 0 ? pool.surplusNode(node) > 0 : pool.surplusNode(node) < pool.nrNode(node);
    if (ok) {
      bump(pool.surplus, node, delta);
      return true;
    }
  }
  return false;
}

/** set_max_huge_pages(): grow or shrink the pool to `count` persistent pages. */
export function setMaxHugePages(
  k: Kernel,
  task: Task,
  countArg: bigint,
  nid: number,
  allowed: Nodemask,
): void {
  const pool = k.hugetlb;
  let count = countArg;
  if (nid >= 0) {
    // a node's file: the other nodes' pages stay
    count += BigInt(pool.total - pool.nrNode(nid));
  }
  const noretry = new Set<number>();
  const persistent = () => BigInt(pool.persistent);
  while (pool.surplusTotal > 0 && count > persistent()) if (!adjustPoolSurplus(k, allowed, -1)) break;
  let grown = true;
  while (count > persistent()) {
    if (!allocPoolHugePage(k, task, allowed, noretry)) {
      grown = false;
      break;
    }
  }
  if (grown) {
    let minCount = BigInt(pool.resv + pool.total - pool.free);
    if (count > minCount) minCount = count;
    while (minCount < persistent()) if (!removePoolHugePage(k, allowed)) break;
    while (count < persistent()) if (!adjustPoolSurplus(k, allowed, 1)) break;
  }
  pool.maxHugePages = pool.persistent;
}

/** init_nodemask_of_mempolicy(): the task policy's nodes, or null for the default policy. */
function nodemaskOfMempolicy(task: Task): Nodemask | null {
  const pol = task.mempolicy;
  if (!pol) return null;
  if (pol.mode === MPOL_LOCAL) return Nodemask.of(task.numaNodeId);
  return pol.nodes;
}

const HSTATE = "/sys/kernel/mm/hugepages/hugepages-2048kB/";
const NODE_HSTATE = /^\/sys\/devices\/system\/node\/node(\d+)\/hugepages\/hugepages-2048kB\/(\w+)$/;

/** Whether a path is one of the hugetlb files sysfs_write knows. */
export function isHugetlbPath(path: string): boolean {
  return path.startsWith("/proc/sys/vm/nr_hugepages") || path.startsWith(HSTATE) || NODE_HSTATE.test(path);
}

/** kstrtoul(buf, 10): digits with an optional leading '+' and one trailing newline. */
function kstrtoul10(v: string): bigint | null {
  const m = /^\+?([0-9]+)\n?$/.exec(v);
  if (!m) return null;
  const n = BigInt(m[1]!);
  return n < 1n << 64n ? n : null;
}

/**
 * proc_doulongvec_minmax() for one value: blanks around it, base 0 (0x.., 0..); a
 * negative value or junk is EINVAL (as Debian's 6.1 answers).
 */
function procUlong(v: string): bigint | null {
  const m = /^[ \t\n]*(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([ \t\n].*)?$/s.exec(v);
  if (!m) return null;
  const digits = m[2]!;
  const n = /^0[xX]/.test(digits)
    ? BigInt(digits)
    : digits.length > 1 && digits[0] === "0"
      ? BigInt(`0o${digits.slice(1)}`)
      : BigInt(digits);
  if (n >= 1n << 64n) return null;
  return m[1] ? null : n;
}

/**
 * Writes to the pool's files: /proc/sys/vm/nr_hugepages (hugetlb_sysctl_handler),
 * /proc/sys/vm/nr_hugepages_mempolicy (hugetlb_mempolicy_sysctl_handler), the hstate's and
 * a node's nr_hugepages in sysfs (nr_hugepages_store_common). The files are root's (0644):
 * EACCES for other users at open.
 */
export function hugetlbWrite(
  k: Kernel,
  task: Task,
  path: string,
  value: string,
): { ret: number; errno: string | null } {
  const node = NODE_HSTATE.exec(path);
  let nid = -1;
  let sysctl = false;
  let mempolicy = false;
  if (path === "/proc/sys/vm/nr_hugepages") sysctl = true;
  else if (path === "/proc/sys/vm/nr_hugepages_mempolicy") sysctl = mempolicy = true;
  else if (path === `${HSTATE}nr_hugepages`) nid = -1;
  else if (path === `${HSTATE}nr_hugepages_mempolicy`) mempolicy = true;
  else if (node && node[2] === "nr_hugepages" && k.hasHugetlbNodeDir(Number(node[1]))) nid = Number(node[1]);
  else {
    const ro =
      (path.startsWith(HSTATE) && /^(free|resv|surplus)_hugepages$/.test(path.slice(HSTATE.length))) ||
      (node && k.hasHugetlbNodeDir(Number(node[1])) && /^(free|surplus)_hugepages$/.test(node[2]!));
    if (ro) return { ret: -1, errno: "EACCES" }; // 0444
    return { ret: -1, errno: "ENOENT" };
  }
  if (!task.privileged) return { ret: -1, errno: "EACCES" };
  let count: bigint;
  if (sysctl) {
    const v = procUlong(value);
    if (v === null) return { ret: -1, errno: "EINVAL" };
    count = v;
  } else {
    const v = kstrtoul10(value);
    if (v === null) return { ret: -1, errno: "EINVAL" };
    count = v;
  }
  // __nr_hugepages_store_common()
  let allowed: Nodemask;
  if (nid >= 0) allowed = Nodemask.of(nid);
  else allowed = (mempolicy ? nodemaskOfMempolicy(task) : null) ?? k.hugetlbMemory;
  setMaxHugePages(k, task, count, nid, allowed);
  return { ret: value.length, errno: null };
}

/** The hugetlb files `cat` shows; undefined for other paths. */
export function hugetlbRead(k: Kernel, path: string): string | undefined {
  const pool = k.hugetlb;
  const line = (n: number) => `${n}\n`;
  if (path === "/proc/sys/vm/nr_hugepages" || path === "/proc/sys/vm/nr_hugepages_mempolicy")
    return line(pool.maxHugePages);
  if (path === "/proc/sys/vm/nr_overcommit_hugepages") return line(0);
  if (path.startsWith(HSTATE)) {
    switch (path.slice(HSTATE.length)) {
      case "nr_hugepages":
      case "nr_hugepages_mempolicy":
        return line(pool.total);
      case "free_hugepages":
        return line(pool.free);
      case "resv_hugepages":
        return line(pool.resv);
      case "surplus_hugepages":
        return line(pool.surplusTotal);
      case "nr_overcommit_hugepages":
        return line(0);
    }
    return undefined;
  }
  const m = NODE_HSTATE.exec(path);
  if (!m || !k.hasHugetlbNodeDir(Number(m[1]))) return undefined;
  const id = Number(m[1]);
  switch (m[2]) {
    case "nr_hugepages":
      return line(pool.nrNode(id));
    case "free_hugepages":
      return line(pool.freeNode(id));
    case "surplus_hugepages":
      return line(pool.surplusNode(id));
  }
  return undefined;
}

/** hugetlb_report_node_meminfo() */
export function hugetlbNodeMeminfo(k: Kernel, id: number): string {
  const p = k.hugetlb;
  const f = (n: number) => String(n).padStart(5);
  return (
    `Node ${id} HugePages_Total: ${f(p.nrNode(id))}\n` +
    `Node ${id} HugePages_Free:  ${f(p.freeNode(id))}\n` +
    `Node ${id} HugePages_Surp:  ${f(p.surplusNode(id))}\n`
  );
}

// --- reservations --------------------------------------------------------------------------

/**
 * allowed_mems_nr(): free huge pages on the nodes of the task's cpuset, and of its task
 * policy when that is MPOL_BIND (policy_mbind_nodemask()).
 */
function allowedMemsNr(k: Kernel, task: Task): number {
  const pol = getTaskPolicy(task);
  const mbind = pol.mode === MPOL_BIND && pol.nodes.intersects(task.memsAllowed) ? pol.nodes : null;
  let nr = 0;
  for (const n of task.memsAllowed.ids()) if (!mbind || mbind.has(n)) nr += k.hugetlb.freeNode(n);
  return nr;
}

/**
 * hugetlb_reserve_pages() → hugetlb_acct_memory(): reserve `delta` pages, or false
 * (gather_surplus_pages() cannot add surplus pages: nr_overcommit_hugepages is 0).
 */
export function reserveHugePages(k: Kernel, task: Task, delta: number): boolean {
  const pool = k.hugetlb;
  if (delta === 0) return true;
  if (pool.resv + delta - pool.free > 0) return false;
  pool.resv += delta;
  if (delta > allowedMemsNr(k, task)) {
    returnUnusedSurplusPages(k, delta);
    return false;
  }
  return true;
}

/**
 * return_unused_surplus_pages(): uncommit reservations, and free as many free surplus
 * pages (to the buddy allocator, over N_MEMORY from next_nid_to_free).
 */
function returnUnusedSurplusPages(k: Kernel, unused: number): void {
  const pool = k.hugetlb;
  pool.resv -= unused;
  for (let n = Math.min(unused, pool.surplusTotal); n > 0; n--)
    if (!removePoolHugePage(k, k.hugetlbMemory, true)) break;
}

// --- faults --------------------------------------------------------------------------------

/** free_huge_page(): a page goes back to its node's free list, or to the buddy allocator when the node has surplus pages. */
export function freeHugePage(k: Kernel, zid: number): void {
  const pool = k.hugetlb;
  const node = k.zoneById[zid]!.node;
  if (pool.surplusNode(node) > 0) {
    bump(pool.surplus, node, -1);
    bump(pool.nr, node, -1);
    k.freeZonePages(zid, HPAGE_PAGES);
    return;
  }
  enqueue(pool, node, zid);
}

/** The huge-page index in the file of the page at vpn (vma_hugecache_offset). */
export function hugeIndex(vma: Vma, vpn: number): number {
  return Math.floor(vma.indexOf(vpn) / HPAGE_PAGES);
}

/** dequeue_huge_page_nodemask(): the first node of nid's zonelist, in the mask and the cpuset, with a free page. */
function dequeueNodemask(k: Kernel, task: Task, nid: number, mask: Nodemask | null): number | undefined {
  const zl = k.zonelists.get(nid)?.fallback ?? [];
  const highest = gfpZone(HTLB_ALLOC_MASK);
  const at = k.allocTask(task);
  let last = -1;
  for (const z of zl) {
    if (z.type > highest) continue;
    if (mask && !mask.has(z.node)) continue;
    // cpuset_zone_allowed(): __GFP_HARDWALL, so only mems_allowed
    if (k.cpusetsEnabled && !cpusetNodeAllowed(at, z.node, HTLB_ALLOC_MASK)) continue;
    if (z.node === last) continue;
    last = z.node;
    const l = k.hugetlb.freeList.get(z.node);
    if (l?.length) return l.pop();
  }
  return undefined;
}

/**
 * dequeue_huge_page_vma(): the node from huge_node() under the VMA's or the task's
 * policy (interleave by huge-page index in the file), a page from the first node of its
 * zonelist that has one; MPOL_PREFERRED_MANY tries its nodes first, then every node.
 */
function dequeueForFault(
  k: Kernel,
  task: Task,
  vma: Vma,
  vpn: number,
  hasReserve: boolean,
): number | undefined {
  const pool = k.hugetlb;
  if (!hasReserve && pool.free - pool.resv <= 0) return undefined;
  const pol: MemPolicy = vma.policy ?? getTaskPolicy(task);
  let nid: number;
  let mask: Nodemask | null = null;
  if (pol.mode === MPOL_INTERLEAVE) {
    nid = offsetIlNode(pol, hugeIndex(vma, vpn), task.numaNodeId);
  } else if (pol.mode === MPOL_WEIGHTED_INTERLEAVE) {
    nid = weightedInterleaveNid(pol, hugeIndex(vma, vpn), k.weights, task.numaNodeId);
  } else {
    nid = policyNode(pol, task.numaNodeId);
    if (pol.mode === MPOL_BIND || pol.mode === MPOL_PREFERRED_MANY) mask = pol.nodes;
  }
  let zid: number | undefined;
  if (pol.mode === MPOL_PREFERRED_MANY) zid = dequeueNodemask(k, task, nid, mask);
  zid ??= dequeueNodemask(k, task, nid, pol.mode === MPOL_PREFERRED_MANY ? null : mask);
  if (zid !== undefined && hasReserve) pool.resv--;
  return zid;
}

export interface HugeFaultResult {
  faults: number;
  /** a fault found no huge page: SIGBUS */
  sigbus?: boolean;
  stop?: RunStop;
}

/**
 * hugetlb_fault() over [start, end) of a hugetlb VMA (2 MiB-aligned by the caller): the
 * PUD and PMD tables first (huge_pte_alloc), then hugetlb_no_page() for a missing page;
 * a write to a private page mapped read-only takes a write-protect fault (hugetlb_wp,
 * reusing the page).
 */
export function hugetlbFault(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
  write: boolean,
): HugeFaultResult {
  const file = vma.huge!;
  const pte = task.mm.pte;
  let faults = 0;
  const first = start - (start % HPAGE_PAGES);
  for (let vpn = first; vpn < end; vpn += HPAGE_PAGES) {
    const e = pte.lookup(vpn);
    if (e) {
      if (write && !(e.flags & PTE_WRITE)) {
        faults++;
        pte.removeRange(vpn, vpn + HPAGE_PAGES);
        pte.insert(makeExtent(vpn, HPAGE_PAGES, e.pattern, e.flags | PTE_WRITE | PG_DIRTY));
      }
      continue;
    }
    for (const level of task.mm.tables.missing(vpn)) {
      if (level === PTE_LEVEL) continue;
      const r = allocTables(
        k,
        task,
        task.mm.tables,
        level,
        Math.floor(vpn / 2 ** (level === 0 ? 27 : 18)),
        1,
      );
      if (r.done !== 1) return { faults, stop: r.stop ?? { kind: "failed", reason: "page table" } };
    }
    const idx = hugeIndex(vma, vpn);
    let zid = file.pages.get(idx);
    if (zid === undefined) {
      const hasReserve = file.resv.has(idx);
      zid = dequeueForFault(k, task, vma, vpn, hasReserve);
      if (zid === undefined) return { faults, sigbus: true };
      if (hasReserve) file.resv.delete(idx);
      file.pages.set(idx, zid);
    }
    faults++;
    // make_huge_pte(): writable (and dirty) for a shared writable mapping or a write
    let flags = PG_HUGETLB;
    if (file.shared) flags |= (vma.prot & 2 ? PTE_WRITE : 0) | PG_DIRTY;
    else flags |= PG_ANON | (write ? PTE_WRITE | PG_DIRTY : 0);
    pte.insert(makeExtent(vpn, HPAGE_PAGES, [zid], flags));
  }
  return { faults };
}

/**
 * The pages of [start, end) of a hugetlb VMA that is going away: a private mapping's
 * pages go back to the pool and its reservations there are released
 * (hugetlb_vm_op_close); a shared file keeps them until its last mapping goes
 * (hugetlbfs_evict_inode → remove_inode_hugepages, hugetlb_unreserve_pages).
 */
export function releaseHugetlb(k: Kernel, vma: Vma, start: number, end: number): void {
  const file = vma.huge!;
  const from = hugeIndex(vma, start);
  const to = hugeIndex(vma, end - 1) + 1;
  if (file.shared) {
    if (file.mappers > 0) return;
    // remove_inode_hugepages(), then hugetlb_unreserve_pages()
    for (const zid of file.pages.values()) freeHugePage(k, zid);
    file.pages.clear();
    const unused = file.resv.size;
    file.resv.clear();
    if (unused) returnUnusedSurplusPages(k, unused);
    return;
  }
  // the pages are zapped first (unmap_vmas), the VMA closed after (remove_vma)
  let unused = 0;
  for (let i = from; i < to; i++) {
    const zid = file.pages.get(i);
    if (zid !== undefined) {
      freeHugePage(k, zid);
      file.pages.delete(i);
    }
    if (file.resv.delete(i)) unused++;
  }
  if (unused) returnUnusedSurplusPages(k, unused);
}
