/**
 * Files the kernel shows about placement, in its exact formats: /proc/PID/numa_maps
 * (fs/proc/task_mmu.c show_numa_map, gather_stats), /sys/devices/system/node/*
 * (drivers/base/node.c), and the fallback order lines of build_zonelists().
 */

import { extentNodeCounts, PG_ANON, PG_DIRTY, ZERO_PAGE } from "./extents.js";
import { nodeMeminfo } from "./filesys.js";
import { HPAGE_PAGES, hugetlbNodeMeminfo, hugetlbRead } from "./hugetlb.js";
import type { Kernel, Task } from "./kernel.js";
import { NUMASTAT_FIELDS } from "./kernel.js";
import { readMemoryTiering } from "./memory-tiers.js";
import { getTaskPolicy, mpolToStr } from "./mempolicy.js";
import type { Vma } from "./mm.js";
import { formatNodeList } from "./nodemask.js";
import { mapcountRuns } from "./rmap.js";

interface NumaMapsStats {
  pages: number;
  anon: number;
  dirty: number;
  active: number;
  /** the highest page_mapcount() of the VMA's pages */
  mapmax: number;
  node: Map<number, number>;
}

/** gather_stats() over the present pages of a VMA */
function gatherVma(k: Kernel, task: Task, v: Vma): NumaMapsStats {
  const md: NumaMapsStats = { pages: 0, anon: 0, dirty: 0, active: 0, mapmax: 0, node: new Map() };
  for (const r of mapcountRuns(k, task, v, v.start, v.end)) md.mapmax = Math.max(md.mapmax, r.count);
  for (const e of task.mm.pte.range(v.start, v.end)) {
    const zones = extentNodeCounts(e, new Map());
    zones.delete(ZERO_PAGE); // vm_normal_page() is NULL for the zero page
    let n = 0;
    for (const [zid, c] of zones) {
      n += c;
      const node = k.zoneById[zid]!.node;
      md.node.set(node, (md.node.get(node) ?? 0) + c);
    }
    if (!n) continue;
    md.pages += n;
    if (e.flags & PG_ANON) md.anon += n;
    if (e.flags & PG_DIRTY) md.dirty += n;
    else if (v.object) {
      // PageDirty of the shmem pages
      const i0 = v.indexOf(e.start);
      for (const o of v.object.pages.range(i0, i0 + e.count)) if (o.flags & PG_DIRTY) md.dirty += o.count;
    }
  }
  return md;
}

/** One line of /proc/PID/numa_maps (show_numa_map). */
export function numaMapsLine(k: Kernel, task: Task, v: Vma): string {
  const pol = v.object ? v.object.policyAt(v.pgoff) : v.policy;
  const polStr = mpolToStr(pol ?? getTaskPolicy(task));
  let s = `${v.startAddress.toString(16).padStart(8, "0")} ${polStr}`;
  if (v.object) s += " file=/dev/zero\\040(deleted)";
  if (v.huge) s += " file=/anon_hugepage\\040(deleted) huge";
  const md = gatherVma(k, task, v);
  if (v.huge) {
    // gather_hugetlb_stats(): one count per huge page
    const per = HPAGE_PAGES;
    for (const key of ["pages", "anon", "dirty"] as const) md[key] /= per;
    for (const [n, c] of md.node) md.node.set(n, c / per);
  }
  if (!md.pages) return s;
  if (md.anon) s += ` anon=${md.anon}`;
  if (md.dirty) s += ` dirty=${md.dirty}`;
  if (md.pages !== md.anon && md.pages !== md.dirty) s += ` mapped=${md.pages}`;
  if (md.mapmax > 1) s += ` mapmax=${md.mapmax}`;
  if (md.active < md.pages && !v.huge) s += ` active=${md.active}`;
  for (const nid of k.nMemory.ids()) {
    const c = md.node.get(nid);
    if (c) s += ` N${nid}=${c}`;
  }
  s += v.huge ? " kernelpagesize_kB=2048" : " kernelpagesize_kB=4";
  return s;
}

/** /proc/PID/numa_maps for the task's modelled mappings. */
export function numaMaps(k: Kernel, task: Task): string {
  return task.mm.vmas.map((v) => `${numaMapsLine(k, task, v)}\n`).join("");
}

/** /sys/devices/system/node/nodeN/numastat (node_read_numastat) */
export function nodeNumastat(k: Kernel, node: number): string {
  const s = k.numastat.get(node)!;
  return NUMASTAT_FIELDS.map((f) => `${f} ${s[f]}\n`).join("");
}

/** The files of /sys/devices/system/node the model can show; undefined for others. */
export function readSysNode(k: Kernel, path: string): string | undefined {
  const base = "/sys/devices/system/node/";
  const huge = hugetlbRead(k, path);
  if (huge !== undefined) return huge;
  const tiers = readMemoryTiering(k.memoryTiers(), path);
  if (tiers !== undefined) return tiers;
  // numa_demotion_enabled_show(); demotion is off by default and not modelled
  if (path === "/sys/kernel/mm/numa/demotion_enabled") return "false\n";
  if (!path.startsWith(base)) return undefined;
  const rest = path.slice(base.length);
  const states: Record<string, readonly number[]> = {
    possible: k.topo.nodeIds,
    online: k.online.ids(),
    has_cpu: k.nCpu.ids(),
    has_memory: k.nMemory.ids(),
    has_normal_memory: k.nNormalMemory.ids(),
  };
  // a design's own node states (is_coherent_device under the CDM series)
  for (const [name, mask] of Object.entries(k.design.hooks.nodeStates?.(k.nMemory, k.designCtx) ?? {}))
    states[name] = mask.ids();
  if (rest in states) return `${formatNodeList(states[rest]!)}\n`;
  const m = /^node(\d+)\/(cpulist|distance|numastat|meminfo)$/.exec(rest);
  if (!m) return undefined;
  const id = Number(m[1]);
  if (!k.online.has(id)) return undefined;
  switch (m[2]) {
    case "cpulist":
      return `${formatNodeList(k.topo.node(id).cpus)}\n`;
    case "distance":
      return `${k.online
        .ids()
        .map((j) => k.topo.distance(id, j))
        .join(" ")}\n`;
    case "numastat":
      return nodeNumastat(k, id);
    case "meminfo": {
      // node_read_meminfo()'s lines for what the model keeps, in its order
      const mi = nodeMeminfo(k, id);
      const kb = (p: number) => `${String(p * 4).padStart(8)} kB`;
      const line = (name: string, p: number) => `Node ${id} ${`${name}:`.padEnd(15)} ${kb(p)}\n`;
      return (
        line("MemTotal", mi.MemTotal) +
        line("MemFree", mi.MemFree) +
        line("MemUsed", mi.MemTotal - mi.MemFree) +
        line("Dirty", mi.Dirty) +
        line("FilePages", mi.FilePages) +
        hugetlbNodeMeminfo(k, id)
      );
    }
  }
  return undefined;
}
