/**
 * Who maps a page (mm/rmap.c): page_mapcount() of the pages of a range, and moving pages
 * to new ones for every address space that maps them (try_to_migrate + remove_migration_ptes).
 *
 * A private page is mapped by its own address space, or, when shared copy-on-write since a
 * fork, by the members of its group at the same address (cow.ts). A page of a shared
 * memory object is mapped by every VMA of the object whose page table holds it.
 */
import type { CowGroup } from "./cow.js";
import { clip, type Extent, extentNodeCounts, makeExtent, type PageTable } from "./extents.js";
import type { Kernel, Task } from "./kernel.js";
import type { Vma } from "./mm.js";

export interface MapcountRun {
  start: number;
  end: number;
  /** page_mapcount() of each page of the run (0: nothing mapped there) */
  count: number;
}

/** The (task, VMA) pairs of the kernel that map a shared memory object. */
function objectMappers(k: Kernel, vma: Vma): { task: Task; vma: Vma }[] {
  const out: { task: Task; vma: Vma }[] = [];
  for (const t of k.tasks.values()) {
    if (!t.alive) continue;
    for (const v of t.mm.vmas) if (v.object === vma.object) out.push({ task: t, vma: v });
  }
  return out;
}

/** page_mapcount() over [from, to) of a task's VMA, as runs of equal count. */
export function mapcountRuns(k: Kernel, task: Task, vma: Vma, from: number, to: number): MapcountRun[] {
  const counts: number[] = [];
  const starts: number[] = [];
  // cut points: every extent edge; then count per piece
  const add = (at: number) => {
    if (at > from && at < to) starts.push(at);
  };
  const own = task.mm.pte.range(from, to);
  for (const e of own) {
    add(e.start);
    add(e.start + e.count);
    if (e.share) for (const r of (e.share as CowGroup).mapcounts(e.start, e.start + e.count)) add(r.start);
  }
  const mappers = vma.object ? objectMappers(k, vma) : [];
  for (const m of mappers) {
    const s = m.vma.start + (vma.indexOf(from) - m.vma.pgoff);
    for (const e of m.task.mm.pte.range(s, s + (to - from))) {
      add(from + (e.start - s));
      add(from + (e.start + e.count - s));
    }
  }
  const cuts = [from, ...new Set(starts)].sort((a, b) => a - b);
  const runs: MapcountRun[] = [];
  for (const [i, a] of cuts.entries()) {
    const b = cuts[i + 1] ?? to;
    let count = 0;
    if (vma.object) {
      for (const m of mappers) {
        const s = m.vma.start + (vma.indexOf(a) - m.vma.pgoff);
        if (s >= m.vma.start && s < m.vma.end && m.task.mm.pte.lookup(s)) count++;
      }
    } else {
      const e = task.mm.pte.lookup(a);
      if (e) count = e.share ? (e.share as CowGroup).mapcount(a) : 1;
    }
    counts.push(count);
    const last = runs[runs.length - 1];
    if (last && last.count === count) last.end = b;
    else runs.push({ start: a, end: b, count });
  }
  return runs;
}

/** The extent's pages in [from, to) with the zones `zones` laid from `zonesFrom` on. */
function relaid(e: Extent, zones: readonly number[], zonesFrom: number): Extent {
  const L = zones.length;
  const off = (((e.start - zonesFrom) % L) + L) % L;
  const rotated = off === 0 ? zones : [...zones.slice(off), ...zones.slice(0, off)];
  return makeExtent(e.start, e.count, rotated, e.flags, e.share);
}

/** Replace the pages of `map` in [from, to) by the same entries on new zones. */
function rezone(map: PageTable, from: number, to: number, zones: readonly number[], zonesFrom: number): void {
  const old = map.removeRange(from, to);
  for (const e of old) map.insert(relaid(e, zones, zonesFrom));
}

/**
 * Migrate the pages of a task's VMA in [from, to) to new pages on `zones` (a cycle laid
 * from `from` on): every page table that maps them and the shared object are updated, and
 * the old pages are returned (per zone id) to be freed.
 */
export function migrateMapped(
  k: Kernel,
  task: Task,
  vma: Vma,
  from: number,
  to: number,
  zones: readonly number[],
): Map<number, number> {
  const freed = new Map<number, number>();
  if (vma.object) {
    const i0 = vma.indexOf(from);
    for (const e of vma.object.pages.range(i0, i0 + (to - from))) extentNodeCounts(e, freed);
    rezone(vma.object.pages, i0, i0 + (to - from), zones, i0);
    for (const m of objectMappers(k, vma)) {
      const s = m.vma.start + (i0 - m.vma.pgoff);
      const a = Math.max(s, m.vma.start);
      const b = Math.min(s + (to - from), m.vma.end);
      if (b > a) rezone(m.task.mm.pte, a, b, zones, s);
    }
    return freed;
  }
  for (const e of task.mm.pte.range(from, to)) {
    extentNodeCounts(e, freed);
    if (!e.share) continue;
    // the other mappers of the group's pages at these addresses
    for (const mm of (e.share as CowGroup).members) {
      if (mm === task.mm) continue;
      for (const o of mm.pte.range(e.start, e.start + e.count)) {
        if (o.share !== e.share) continue;
        const part = clip(o, e.start, e.start + e.count)!;
        mm.pte.removeRange(part.start, part.start + part.count);
        mm.pte.insert(relaid(part, zones, from));
      }
    }
  }
  rezone(task.mm.pte, from, to, zones, from);
  return freed;
}
