/** How a machine looks: `numactl --hardware`, the kernel's fallback order lines, zones. */

import { PAGE_SIZE, ZONE_NAMES } from "../kernel/constants.js";
import type { Kernel } from "../kernel/kernel.js";
import { formatNodeList } from "../kernel/nodemask.js";
import { numactlHardware } from "./numactl.js";

/** `numactl --hardware` of the modelled machine (sizes from the nodes' MemTotal/MemFree). */
export function numactlHardwareText(k: Kernel): string {
  const nodes = k.topo.nodeIds
    .filter((id) => k.online.has(id))
    .map((id) => {
      const mi = k.nodeMeminfo(id);
      return {
        id,
        cpus: k.topo.node(id).cpus,
        totalBytes: mi.total * PAGE_SIZE,
        freeBytes: mi.free * PAGE_SIZE,
      };
    });
  return numactlHardware(nodes, (a, b) => k.topo.distance(a, b));
}

/** The populated zones with their pages and watermarks, as /proc/zoneinfo reports them. */
export function zonesText(k: Kernel): string {
  const rows: string[][] = [["zone", "present", "managed", "free", "min", "low", "high", "protection"]];
  for (const z of k.zoneById) {
    if (!z.populated) continue;
    rows.push([
      `Node ${z.node} ${ZONE_NAMES[z.type]}`,
      String(z.present),
      String(z.managed),
      String(z.free),
      String(z.min),
      String(z.low),
      String(z.high),
      `(${z.lowmemReserve.join(", ")})`,
    ]);
  }
  const w: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      w[i] = Math.max(w[i] ?? 0, c.length);
    });
  }
  const lines = rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  "));
  return `${lines.join("\n")}\nmin_free_kbytes ${k.minFreeKbytes}, policy_zone ${ZONE_NAMES[k.policyZone]}\n`;
}

export function topoText(k: Kernel, opts: { zones?: boolean } = {}): string {
  let s = numactlHardwareText(k);
  s += `\n${k.fallbackOrderLines().join("\n")}\n`;
  // the design's own node states, as its sysfs files would show them
  const states = k.design.hooks.nodeStates?.(k.nMemory, k.designCtx) ?? {};
  const names = Object.keys(states);
  if (names.length) {
    s += `\ndesign ${k.design.id}:\n`;
    for (const n of names) s += `/sys/devices/system/node/${n}: ${formatNodeList(states[n]!.ids())}\n`;
  }
  // memory tiers, when the machine has more than one (mm/memory-tiers.c)
  const t = k.memoryTiers();
  if (t.tiers.length > 1) {
    s += "\nMemory tiers (fastest first):\n";
    for (const tier of t.tiers)
      s += `/sys/devices/virtual/memory_tiering/memory_tier${tier.id}/nodelist: ${tier.nodes}\n`;
    for (const [n, targets] of t.demotion) s += `Demotion targets of node ${n}: ${targets}\n`;
    s += `Top tier: ${t.topTier}\n`;
  }
  if (opts.zones) s += `\n${zonesText(k)}`;
  return s;
}
