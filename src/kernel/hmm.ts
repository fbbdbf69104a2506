/**
 * Device-private memory under HMM (mm/migrate_device.c migrate_vma_setup/pages/finalize,
 * mm/memremap.c; the `hmm-device` design): a device driver moves a process's private
 * anonymous pages into its own memory, which is ZONE_DEVICE memory outside the page
 * allocator. The op `device_migrate` stands for that driver call.
 *
 * - Only resident private anonymous pages move (migrate_vma_collect skips holes, the zero
 *   page, and pages mapped by more than one process: HMM of 2017 handled private anonymous
 *   memory only), as many as the device has room for.
 * - A device page is no page-allocator page: moving to it frees the old page and counts
 *   no allocation in numastat; the device's capacity is the node's memory.
 */
import { PAGE_SHIFT, ZONE_MOVABLE } from "./constants.js";
import { extentNodeCounts, makeExtent, PG_ANON, ZERO_PAGE } from "./extents.js";
import type { Kernel, Task } from "./kernel.js";
import { fail, ok, type SysResult } from "./syscalls.js";

/** device_migrate(addr, length, node): the pages moved, or EINVAL for a node that is no device. */
export function deviceMigrate(k: Kernel, task: Task, addr: bigint, length: bigint, node: number): SysResult {
  if (!k.designCtx.cdmNodes.has(node)) return fail("EINVAL");
  const device = k.zone(node, ZONE_MOVABLE);
  const s = Number(addr >> BigInt(PAGE_SHIFT));
  const e = Number((addr + length + BigInt((1 << PAGE_SHIFT) - 1)) >> BigInt(PAGE_SHIFT));
  let moved = 0;
  for (const vma of task.mm.vmasIn(s, e)) {
    if (vma.object || vma.huge) continue; // private anonymous memory only
    for (const ext of task.mm.pte.range(Math.max(s, vma.start), Math.min(e, vma.end))) {
      if (!(ext.flags & PG_ANON) || ext.share || ext.pattern.includes(ZERO_PAGE)) continue;
      if (ext.pattern.includes(device.id)) continue;
      const room = Math.max(0, device.free);
      const take = Math.min(ext.count, room);
      if (take === 0) break;
      const freed = new Map<number, number>();
      for (const part of task.mm.pte.removeRange(ext.start, ext.start + take)) {
        extentNodeCounts(part, freed);
        task.mm.pte.insert(makeExtent(part.start, part.count, [device.id], part.flags));
      }
      k.freePages(freed);
      device.free -= take;
      moved += take;
    }
  }
  return ok(moved);
}
