/**
 * Memory hotplug at run time (mm/memory_hotplug.c online_pages, offline_pages;
 * drivers/base/memory.c): the memory blocks of a node going offline or online, as writes
 * to /sys/devices/system/memory/memoryN/state do them, one block after the other.
 *
 * Offline: every page on the node moves first (do_migrate_range: a new page from the node's
 * own zonelist without the node, GFP_USER | __GFP_MOVABLE, never the OOM killer), then the
 * zones lose their pages; init_per_zone_wmark_min() recomputes the watermarks of every
 * zone after each block. A node left without memory leaves N_MEMORY: the zonelists are
 * rebuilt without it and cpusets follow (cpuset_hotplug_workfn: the root's mems are
 * N_MEMORY, every cpuset's effective mems are recomputed and its tasks rebound).
 * Online: the node's memory comes back as ZONE_MOVABLE (online_movable) or ZONE_NORMAL
 * (online_kernel), with the same updates the other way.
 *
 * Only hot-plugged memory (a machine node with `movable: true`) goes offline here: boot
 * memory holds kernel pages that cannot move, and its offline fails with EBUSY. When the
 * pages cannot all move (no room elsewhere, or kernel pages in the node's zones), Linux
 * keeps retrying until the writer is killed; cdmsim reports EBUSY, with what moved moved.
 */
import { cpusetHotplug } from "./cgroupfs.js";
import { NUMA_NO_NODE, PAGE_SIZE, ZONE_MOVABLE, ZONE_NORMAL } from "./constants.js";
import { ZERO_PAGE } from "./extents.js";
import { __GFP_HIGHMEM, __GFP_MOVABLE, __GFP_RETRY_MAYFAIL, GFP_USER } from "./gfp.js";
import { AUTO_ONLINE_TYPES, type Kernel, type Task } from "./kernel.js";
import { DEFAULT_POLICY } from "./mempolicy.js";
import { type MigrateRange, migrateRanges } from "./migrate.js";
import type { ShmemObject } from "./mm.js";
import { Nodemask } from "./nodemask.js";
import { migrateCacheOff } from "./pagecache.js";
import type { AllocPlan } from "./policy-alloc.js";
import { initPerZoneWmarkMin, type Zone } from "./zone.js";

export interface HotplugResult {
  ret: number;
  errno: string | null;
}

const ok: HotplugResult = { ret: 0, errno: null };

/** The pages of a task on `node`: private ones by pte, a shared object's once, by index. */
function pagesOn(k: Kernel, task: Task, node: number, seen: Set<ShmemObject>): MigrateRange[] {
  const out: MigrateRange[] = [];
  const onNode = (zid: number) => zid !== ZERO_PAGE && k.zoneById[zid]!.node === node;
  for (const vma of task.mm.vmas) {
    const obj = vma.object;
    if (obj && seen.has(obj)) continue;
    if (obj) seen.add(obj);
    const map = obj ? obj.pages : task.mm.pte;
    const from = obj ? vma.pgoff : vma.start;
    const to = obj ? vma.pgoff + vma.pages : vma.end;
    for (const e of map.range(from, to)) {
      if (!e.pattern.some(onNode)) continue;
      for (let i = e.start; i < e.start + e.count; ) {
        if (!onNode(e.pattern[(i - e.start) % e.pattern.length]!)) {
          i++;
          continue;
        }
        let j = i + 1;
        while (j < e.start + e.count && onNode(e.pattern[(j - e.start) % e.pattern.length]!)) j++;
        const vpn = obj ? vma.start + (i - vma.pgoff) : i;
        out.push({ start: vpn, end: vpn + (j - i), vma });
        i = j;
      }
    }
  }
  return out;
}

/** Offline the memory of `node`, block by block; `caller` writes the state files. */
export function memoryOffline(k: Kernel, caller: Task, node: number): HotplugResult {
  const zs = k.zones.get(node)!;
  const populated = zs.filter((z) => z.populated);
  if (!populated.length) return ok; // already offline
  if (!k.topo.node(node).movable) return { ret: -1, errno: "EBUSY" };
  // do_migrate_range(): from the node's zonelist, other nodes only (the node itself if alone)
  let others = k.nMemory.without(node);
  if (others.isEmpty()) others = Nodemask.ofNode(node);
  // alloc_migration_target() adds __GFP_HIGHMEM for a page of ZONE_MOVABLE
  const gfp = GFP_USER | __GFP_MOVABLE | __GFP_HIGHMEM | __GFP_RETRY_MAYFAIL;
  const plan: AllocPlan = {
    policy: DEFAULT_POLICY,
    policySource: "none",
    slots: [{ req: { gfp, order: 0, nid: node, nodemask: others }, interleaveTarget: NUMA_NO_NODE }],
    phase: 0,
  };
  const seen = new Set<ShmemObject>();
  for (const t of [...k.tasks.values()]) {
    if (!t.alive) continue;
    if (!migrateRanges(k, caller, t, pagesOn(k, t, node, seen), plan)) return { ret: -1, errno: "EBUSY" };
  }
  if (!migrateCacheOff(k, caller, node, plan)) return { ret: -1, errno: "EBUSY" };
  // pages nothing maps (kernel allocations) cannot move
  if (populated.some((z) => z.free < z.managed)) return { ret: -1, errno: "EBUSY" };
  for (const z of populated) {
    const blocks = Math.ceil(z.present / k.blockPages);
    for (let b = 0; b < blocks; b++) {
      const n = Math.min(k.blockPages, z.present);
      z.present -= n;
      z.managed -= n;
      z.free -= n;
      recompute(k);
    }
  }
  // offline_pages() rebuilds the zonelists while the node is still in N_MEMORY (they keep
  // it, with no zone), then clears its node states
  k.buildZonelists();
  k.computeNodeStates();
  cpusetHotplug(k);
  return ok;
}

/** Online the memory of `node` as ZONE_MOVABLE or ZONE_NORMAL, block by block. */
export function memoryOnline(k: Kernel, node: number, zone: "movable" | "normal"): HotplugResult {
  const spec = k.topo.node(node);
  const zs = k.zones.get(node)!;
  if (!spec.movable || zs.some((z) => z.populated)) return ok; // online already
  const z: Zone = zs[zone === "movable" ? ZONE_MOVABLE : ZONE_NORMAL]!;
  const total = spec.memoryBytes / PAGE_SIZE;
  for (let done = 0; done < total; done += k.blockPages) {
    const n = Math.min(k.blockPages, total - done);
    z.present += n;
    z.managed += n;
    z.free += n;
    recompute(k);
  }
  // online_pages(): node_states_set_node(), then build_all_zonelists()
  k.computeNodeStates();
  k.buildZonelists();
  cpusetHotplug(k);
  return ok;
}

function recompute(k: Kernel): void {
  k.minFreeKbytes = initPerZoneWmarkMin(
    [...k.zones.values()],
    k.minFreeKbytes,
    k.userMinFreeKbytes,
    k.thpEnabled,
  );
}

export const AUTO_ONLINE_PATH = "/sys/devices/system/memory/auto_online_blocks";

/** A write of auto_online_blocks (auto_online_blocks_store: mhp_online_type_from_str). */
export function autoOnlineWrite(k: Kernel, caller: Task, value: string): HotplugResult {
  if (!caller.privileged) return { ret: -1, errno: "EACCES" };
  const v = AUTO_ONLINE_TYPES.find((t) => t === value.trim());
  if (!v) return { ret: -1, errno: "EINVAL" };
  k.autoOnlineBlocks = v;
  return { ret: value.length, errno: null };
}

/** auto_online_blocks_show() */
export function autoOnlineRead(k: Kernel, path: string): string | undefined {
  return path === AUTO_ONLINE_PATH ? `${k.autoOnlineBlocks}\n` : undefined;
}

/** NVIDIA's NUMA status of a coherent GPU's memory (NV_IOCTL_NUMA_STATUS_*). */
export const NV_NUMA_STATUS = { online: 3, numa_online_failed: 4 } as const;

/**
 * The NVIDIA driver adding a Grace Hopper GPU's memory (os_numa_add_gpu_memory in the
 * open kernel modules): add_memory_driver_managed() onlines the blocks as
 * auto_online_blocks says, under a memory notifier (os_numa_verify_gpu_memory_zone) that
 * answers NOTIFY_BAD at MEM_GOING_ONLINE unless the pages go to ZONE_MOVABLE; the driver
 * then requires the node's ZONE_MOVABLE to span the whole GPU memory, else it removes the
 * memory again (offline_and_remove_memory) and sets the status ONLINE_FAILED. So only
 * online_movable brings the memory online: online and online_kernel online to the kernel
 * zone (zone_for_pfn_range for a node without movable memory), which the notifier refuses,
 * and offline leaves it offline. The node must be memory that is offline (`online: false`).
 */
export function gpuDriverLoad(k: Kernel, node: number): { status: keyof typeof NV_NUMA_STATUS } {
  if (k.zones.get(node)!.some((z) => z.populated)) return { status: "online" };
  if (k.autoOnlineBlocks !== "online_movable") return { status: "numa_online_failed" };
  memoryOnline(k, node, "movable");
  return { status: "online" };
}
