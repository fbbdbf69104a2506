/**
 * Page faults over a range (mm/memory.c: handle_mm_fault, do_anonymous_page, do_wp_page;
 * mm/shmem.c: shmem_fault), as the `touch` operation performs them: a write allocates,
 * a read of untouched private anonymous memory maps the shared zero page, a read of
 * shared anonymous memory allocates. Pages are allocated a run at a time.
 */
import { PROT_READ, PROT_WRITE, PROT_EXEC } from "./constants.js";
import {
  type Extent,
  makeExtent,
  type PageTable,
  PG_ANON,
  PG_DIRTY,
  PTE_WRITE,
  ZERO_PAGE,
} from "./extents.js";
import { GFP_HIGHUSER_MOVABLE } from "./gfp.js";
import type { Kernel, Task } from "./kernel.js";
import { getTaskPolicy, type MemPolicy } from "./mempolicy.js";
import type { Vma } from "./mm.js";
import { type RunStop, vmaAllocPlan } from "./policy-alloc.js";

export type Access = "read" | "write";

export interface TouchResult {
  /** pages that took a fault */
  faults: number;
  /** EFAULT: an address outside any mapping, or without the needed protection */
  efault?: boolean;
  stop?: RunStop;
}

/** A piece of [start, end): either an extent or a hole. */
interface Piece {
  start: number;
  end: number;
  ext?: Extent;
}

/** Split [start, end) into the map's extents and the holes between them. */
export function pieces(map: PageTable, start: number, end: number): Piece[] {
  const out: Piece[] = [];
  let cur = start;
  for (const e of map.range(start, end)) {
    if (e.start > cur) out.push({ start: cur, end: e.start });
    out.push({ start: e.start, end: e.start + e.count, ext: e });
    cur = e.start + e.count;
  }
  if (cur < end) out.push({ start: cur, end });
  return out;
}

/** get_vma_policy(): the shared policy at the index, the VMA's, or the task's. */
export function vmaPolicy(task: Task, vma: Vma, vpn: number): { pol: MemPolicy; source: string } {
  if (vma.object) {
    const sp = vma.object.policyAt(vma.indexOf(vpn));
    if (sp) return { pol: sp, source: "shared" };
  } else if (vma.policy) {
    return { pol: vma.policy, source: "vma" };
  }
  return { pol: getTaskPolicy(task), source: task.mempolicy ? "task" : "default" };
}

function accessAllowed(vma: Vma, access: Access): boolean {
  if (access === "write") return (vma.prot & PROT_WRITE) !== 0;
  return (vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0;
}

/**
 * Fault `pages` pages from `vpn` on, in address order, the way a program touching each
 * page would.
 */
export function touchRange(
  k: Kernel,
  task: Task,
  vpn: number,
  pages: number,
  access: Access,
  label: (v: Vma) => string,
): TouchResult {
  let faults = 0;
  let cur = vpn;
  const end = vpn + pages;
  while (cur < end) {
    const vma = task.mm.vmaAt(cur);
    if (!vma || !accessAllowed(vma, access)) return { faults, efault: true };
    const segEnd = Math.min(end, vma.end);
    const r = vma.object
      ? faultShared(k, task, vma, cur, segEnd, access, label(vma))
      : faultPrivate(k, task, vma, cur, segEnd, access, label(vma));
    faults += r.faults;
    if (r.stop) return { faults, stop: r.stop };
    cur = segEnd;
  }
  return { faults };
}

/** Private anonymous memory: do_anonymous_page() and the zero page, do_wp_page() on it. */
function faultPrivate(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
  access: Access,
  label: string,
): TouchResult {
  const pte = task.mm.pte;
  let faults = 0;
  if (access === "read") {
    for (const p of pieces(pte, start, end)) {
      if (p.ext) continue;
      pte.insert(makeExtent(p.start, p.end - p.start, [ZERO_PAGE], 0));
      faults += p.end - p.start;
    }
    return { faults };
  }
  // Write: holes and zero-page entries need a new page; merge adjacent needs into runs.
  const runs: { start: number; end: number; mapped: boolean }[] = [];
  for (const p of pieces(pte, start, end)) {
    const needs = !p.ext || p.ext.pattern.includes(ZERO_PAGE) || !(p.ext.flags & PTE_WRITE);
    if (!needs) continue;
    const last = runs[runs.length - 1];
    if (last && last.end === p.start) {
      last.end = p.end;
      last.mapped ||= p.ext !== undefined;
    } else runs.push({ start: p.start, end: p.end, mapped: p.ext !== undefined });
  }
  if (runs.length) task.mm.anonVmaPrepare(vma, () => k.newAnonVmaId());
  const { pol, source } = vmaPolicy(task, vma, start);
  for (const run of runs) {
    const plan = vmaAllocPlan(k, task, pol, source, GFP_HIGHUSER_MOVABLE, 0, vma.indexOf(run.start));
    const r = k.allocate(k, task, plan, run.end - run.start, label, run.start, "vpn", (first, seg) => {
      // zero-page entries are replaced (the zero page is not freed)
      if (run.mapped) pte.removeRange(first, first + seg.count);
      pte.insert(makeExtent(first, seg.count, seg.zones, PTE_WRITE | PG_DIRTY | PG_ANON));
    });
    faults += r.done;
    if (r.stop) return { faults, stop: r.stop };
  }
  return { faults };
}

/**
 * Shared anonymous memory (shmem_fault): a page absent from the object is allocated
 * under the shared policy at its index (or the task policy), with the interleave index
 * biased by the inode number; a page present in the object is mapped; a write to a page
 * mapped read-only takes a write-protect fault.
 */
function faultShared(
  k: Kernel,
  task: Task,
  vma: Vma,
  start: number,
  end: number,
  access: Access,
  label: string,
): TouchResult {
  const pte = task.mm.pte;
  const obj = vma.object!;
  const write = access === "write";
  let faults = 0;
  for (const p of pieces(pte, start, end)) {
    if (p.ext) {
      if (write && !(p.ext.flags & PTE_WRITE)) {
        pte.removeRange(p.start, p.end);
        pte.insert(makeExtent(p.start, p.end - p.start, p.ext.pattern, p.ext.flags | PTE_WRITE | PG_DIRTY));
        markDirty(obj.pages, vma.indexOf(p.start), vma.indexOf(p.end));
        faults += p.end - p.start;
      }
      continue;
    }
    // Not mapped: fault each page in; allocate where the object has no page.
    const i0 = vma.indexOf(p.start);
    const i1 = vma.indexOf(p.end);
    for (const op of pieces(obj.pages, i0, i1)) {
      const vs = vma.start + (op.start - vma.pgoff);
      if (op.ext) {
        if (write) markDirty(obj.pages, op.start, op.end);
        pte.insert(makeExtent(vs, op.end - op.start, op.ext.pattern, write ? PTE_WRITE | PG_DIRTY : 0));
        faults += op.end - op.start;
        continue;
      }
      // allocate, one shared-policy range at a time
      let idx = op.start;
      while (idx < op.end) {
        const sp = obj.policyAt(idx);
        let runEnd = op.end;
        for (const r of obj.sharedPolicy) {
          if (r.start > idx && r.start < runEnd) runEnd = r.start;
          if (r.start <= idx && r.end > idx && r.end < runEnd) runEnd = r.end;
        }
        const pol = sp ?? getTaskPolicy(task);
        const source = sp ? "shared" : task.mempolicy ? "task" : "default";
        const plan = vmaAllocPlan(k, task, pol, source, GFP_HIGHUSER_MOVABLE, 0, obj.ino + idx);
        const r = k.allocate(k, task, plan, runEnd - idx, label, idx, "object", (first, seg) => {
          obj.pages.insert(makeExtent(first, seg.count, seg.zones, write ? PG_DIRTY : 0));
          const v0 = vma.start + (first - vma.pgoff);
          pte.insert(makeExtent(v0, seg.count, seg.zones, write ? PTE_WRITE | PG_DIRTY : 0));
        });
        faults += r.done;
        if (r.stop) return { faults, stop: r.stop };
        idx = runEnd;
      }
    }
  }
  return { faults };
}

function markDirty(map: PageTable, from: number, to: number): void {
  for (const e of [...map.range(from, to)]) {
    if (e.flags & PG_DIRTY) continue;
    map.removeRange(e.start, e.start + e.count);
    map.insert(makeExtent(e.start, e.count, e.pattern, e.flags | PG_DIRTY));
  }
}
