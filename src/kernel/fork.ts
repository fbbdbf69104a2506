/**
 * fork() and exit() (kernel/fork.c copy_process, dup_mmap; mm/memory.c copy_page_range;
 * kernel/exit.c do_exit -> exit_mm -> mmput -> exit_mmap).
 *
 * The child gets a copy of the task policy (mpol_dup; il_prev comes with the copied task
 * struct), the parent's CPU affinity, cpuset and credentials, and a copy of every VMA with
 * its policy (vma_dup_policy). Page tables are copied only for VMAs that have an anon_vma
 * (vma_needs_copy: private memory written at least once): the child's PUD, PMD and PTE
 * tables are allocated where the parent has them, in address order and top down, in the
 * parent's context (its policy and CPU); the ptes of private pages are write-protected in
 * both (copy_present_pte) and their pages shared copy-on-write (cow.ts). Shared memory and
 * private memory never written get no tables: the child faults them in.
 */
import { CowGroup } from "./cow.js";
import { makeExtent, PTE_WRITE, ZERO_PAGE } from "./extents.js";
import { allocTables } from "./fault.js";
import type { Kernel, Task } from "./kernel.js";
import { mpolDup } from "./mempolicy.js";
import { type Mm, Vma } from "./mm.js";
import { LEVELS, type Level } from "./pagetable.js";
import type { RunStop } from "./policy-alloc.js";
import { releaseMm } from "./release.js";

export interface ForkResult {
  child: Task | null;
  /** the parent was killed, or a table could not be allocated (-ENOMEM) */
  stop?: RunStop;
}

export function fork(k: Kernel, parent: Task, childName: string): ForkResult {
  const child = k.createTask(childName, parent.cpuset, parent.cpu, parent.privileged, true);
  child.mempolicy = mpolDup(parent.mempolicy);
  child.ilPrev = parent.ilPrev;
  child.ilWeight = parent.ilWeight;
  let group: CowGroup | undefined;
  const newGroup = () => {
    group ??= new CowGroup(k.newCowGroupId());
    return group;
  };
  for (const v of parent.mm.vmas) {
    const c = new Vma(v.start, v.end, v.pgoff, v.prot, v.flags, mpolDup(v.policy), v.object);
    if (v.object) v.object.mappers++;
    if (v.anonVma !== null) c.anonVma = k.newAnonVmaId();
    c.hugepage = v.hugepage;
    c.vmFlags = v.vmFlags;
    child.mm.vmas.push(c);
    if (v.anonVma === null) continue; // vma_needs_copy(): the child faults it in
    const stop = copyTables(k, parent, child.mm, v.start, v.end);
    if (stop) {
      // dup_mmap() failed: the child goes, fork returns -ENOMEM
      releaseMm(k, child);
      k.tasks.delete(childName);
      return { child: null, stop };
    }
    copyPtes(parent.mm, child.mm, v.start, v.end, newGroup);
  }
  return { child };
}

/**
 * copy_p4d_range() .. copy_pte_range() for [start, end): the child's tables where the
 * parent has tables, level by level, each table allocated before those under it.
 */
function copyTables(k: Kernel, parent: Task, into: Mm, start: number, end: number): RunStop | undefined {
  const walk = (level: Level, from: number, to: number): RunStop | undefined => {
    const shift = LEVELS[level].shift;
    const lo = Math.floor(from / 2 ** shift);
    const hi = Math.ceil(to / 2 ** shift);
    for (const e of parent.mm.tables.levels[level].range(lo, hi)) {
      if (level === 2) {
        // the PTE tables of a run: one run of allocations for those the child lacks
        const r = missingRuns(into, level, e.start, e.start + e.count);
        for (const [a, b] of r) {
          const got = allocTables(k, parent, into.tables, level, a, b - a);
          if (got.stop) return got.stop;
        }
        continue;
      }
      for (let t = e.start; t < e.start + e.count; t++) {
        if (!into.tables.levels[level].lookup(t)) {
          const got = allocTables(k, parent, into.tables, level, t, 1);
          if (got.stop) return got.stop;
        }
        const span = 2 ** shift;
        const stop = walk((level + 1) as Level, Math.max(from, t * span), Math.min(to, (t + 1) * span));
        if (stop) return stop;
      }
    }
    return undefined;
  };
  return walk(0, start, end);
}

/** The runs of table indices in [from, to) that the address space has no table for. */
function missingRuns(mm: Mm, level: Level, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let cur = from;
  for (const e of mm.tables.levels[level].range(from, to)) {
    if (e.start > cur) out.push([cur, e.start]);
    cur = e.start + e.count;
  }
  if (cur < to) out.push([cur, to]);
  return out;
}

/**
 * copy_present_pte(): the zero page is mapped as it is; a private page is write-protected
 * in both page tables and shared: pages the parent owned alone join this fork's group,
 * pages already in a group gain a mapper.
 */
function copyPtes(parent: Mm, child: Mm, start: number, end: number, newGroup: () => CowGroup): void {
  for (const e of parent.pte.range(start, end)) {
    if (e.pattern.length === 1 && e.pattern[0] === ZERO_PAGE) {
      child.pte.insert(e);
      continue;
    }
    const g = (e.share as CowGroup | undefined) ?? newGroup();
    const shared = makeExtent(e.start, e.count, e.pattern, e.flags & ~PTE_WRITE, g);
    g.adjust(e.start, e.start + e.count, e.share ? 1 : 2);
    g.members.add(parent);
    g.members.add(child);
    parent.pte.removeRange(e.start, e.start + e.count);
    parent.pte.insert(shared);
    child.pte.insert(shared);
  }
}

/** exit(): the task's address space goes (exit_mmap); it runs no more steps. */
export function exit(k: Kernel, task: Task): void {
  releaseMm(k, task);
  task.state = "exited";
}
