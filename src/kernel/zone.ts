/**
 * Zones: how a node's memory splits into DMA, DMA32, NORMAL and MOVABLE on x86_64, the
 * pages the buddy allocator manages, and the watermarks and lowmem reserves Linux derives
 * from them (mm/page_alloc.c: __setup_per_zone_wmarks, calculate_min_free_kbytes,
 * setup_per_zone_lowmem_reserve; mm/memory_hotplug.c: online_pages).
 */
import {
  LOWMEM_RESERVE_RATIO,
  MAX_NR_ZONES,
  PAGE_SIZE,
  WATERMARK_SCALE_FACTOR,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_MOVABLE,
  ZONE_NAMES,
  ZONE_NORMAL,
  type ZoneType,
} from "./constants.js";
import type { Topology } from "./topology.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** x86: pfn 0 and the legacy hole 640 KiB..1 MiB are not RAM, so ZONE_DMA has 3998 pages. */
const DMA_HOLE_PAGES = 98;
/** QEMU's firmware keeps the last 128 KiB of RAM below 4 GiB (e820 reserved). */
const LOWMEM_TOP_HOLE_PAGES = 32;
/** sizeof(struct page) on x86_64: the memmap costs 64 bytes per 4 KiB page. */
const STRUCT_PAGE_BYTES = 64;
/** Memory block sizes of x86_64 (probe_memory_block_size). */
const MIN_MEMORY_BLOCK = 128 * MiB;
const MAX_MEMORY_BLOCK = 2 * GiB;
const MEM_SIZE_FOR_LARGE_BLOCK = 64 * GiB;

/**
 * Boot-time reservations of Debian's 6.1 kernel (linux-image-6.1.0-56-amd64) under QEMU,
 * measured from /proc/zoneinfo on six machines (one to four nodes, with and without
 * hot-plugged memory); with them the model's present and managed pages equal the
 * kernel's on every one of them.
 */
export const BOOT_RESERVATIONS = {
  /** firmware and real-mode areas below 16 MiB: ZONE_DMA manages 3840 of its 3998 pages */
  dmaReserved: 158,
  /** the kernel image and early allocations, on the first node's highest zone */
  kernel: 11428,
  /** node data of every other boot node, and 13 more on the last one */
  perNode: 106,
  lastNode: 13,
  /** node data of a node with CPUs but no memory, allocated on the last boot node */
  memorylessNode: 104,
  /** the 64 MiB software IO TLB (and its tables) when memory may exist above 4 GiB */
  swiotlb: 16576,
  /** per hot-pluggable (movable) node, on the last boot node */
  hotplugNode: 43,
  /**
   * the per-CPU area of an absent CPU, on the first boot node: QEMU's SRAT names a CPU-less
   * node that is not the last one only through such a CPU (src/oracle/machine.ts)
   */
  absentCpu: 62,
  /** freed at the end of boot (init sections), after the watermarks were computed */
  initMemory: 2002,
  /** what the running kernel holds after boot (slab, per-cpu data, page tables, rootfs): MemFree < MemTotal */
  inUse: 4096,
} as const;

export class Zone {
  /** index in Kernel.zoneById: the value page tables store */
  id = -1;
  readonly node: number;
  readonly type: ZoneType;
  present = 0;
  managed = 0;
  free = 0;
  /** _watermark[WMARK_MIN..WMARK_PROMO] */
  min = 0;
  low = 0;
  high = 0;
  promo = 0;
  readonly lowmemReserve: number[] = new Array(MAX_NR_ZONES).fill(0);

  constructor(node: number, type: ZoneType) {
    this.node = node;
    this.type = type;
  }

  get name(): string {
    return ZONE_NAMES[this.type];
  }

  /** populated_zone() */
  get populated(): boolean {
    return this.present > 0;
  }

  /** "Node 0 Normal": how the kernel names a zone in its logs and /proc/zoneinfo */
  get label(): string {
    return `Node ${this.node} ${this.name}`;
  }
}

export interface ZoneLayoutOptions {
  /** vm.min_free_kbytes written by the administrator after boot */
  minFreeKbytes?: number;
  /** transparent_hugepage= at boot: khugepaged raises min_free_kbytes when THP is enabled */
  thp?: "never" | "madvise" | "always";
  /** pages of the initrd, reserved until the end of boot (default: the oracle's, INITRD_PAGES) */
  initrdPages?: number;
}

/**
 * The initrd the oracle boots is padded to this size (src/oracle/boot.ts), so that the
 * watermarks, computed while it is still reserved, do not depend on its contents.
 */
export const INITRD_PAGES = 512;

/** pageblock_nr_pages (order 9 on x86_64) */
const PAGEBLOCK_NR_PAGES = 512;
const MIGRATE_PCPTYPES = 3;

/**
 * set_recommended_min_free_kbytes() (mm/khugepaged.c), run by hugepage_init() at boot and
 * again whenever memory is onlined with THP enabled: with THP disabled it recomputes
 * calculate_min_free_kbytes(); with THP it asks for 11 pageblocks per populated zone up to
 * ZONE_NORMAL, at most 5% of lowmem.
 */
function recommendedMinFreeKbytes(zones: readonly Zone[], current: number, thp: boolean): number {
  if (!thp) return calculateMinFreeKbytes(zones);
  const nrZones = zones.filter((z) => z.populated && z.type <= ZONE_NORMAL).length;
  let recommended =
    PAGEBLOCK_NR_PAGES * nrZones * 2 + PAGEBLOCK_NR_PAGES * nrZones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES;
  recommended = Math.min(recommended, Math.floor(nrFreeBufferPages(zones) / 20));
  recommended <<= 12 - 10;
  return Math.max(current, recommended);
}

/** nr_free_buffer_pages(): managed pages above the high watermark in zones up to ZONE_NORMAL */
function nrFreeBufferPages(zones: readonly Zone[]): number {
  let pages = 0;
  for (const z of zones) {
    if (z.type > ZONE_NORMAL) continue;
    if (z.managed > z.high) pages += z.managed - z.high;
  }
  return pages;
}

export interface ZoneLayout {
  /** zones[node] = the node's four zones, indexed by zone type */
  zones: Map<number, Zone[]>;
  minFreeKbytes: number;
  /** Pages of each node taken by memmap and not managed by the buddy allocator. */
  reservedPages: Map<number, number>;
  /** memory_block_size_bytes() in pages: the unit of memory hotplug */
  blockPages: number;
  /** transparent huge pages enabled after hugepage_init() */
  thp: boolean;
}

/**
 * init_per_zone_wmark_min() after a memory block went online or offline at run time:
 * min_free_kbytes is recomputed unless the administrator set a larger one
 * (user_min_free_kbytes), then the watermarks and lowmem reserves of every zone; with THP
 * khugepaged raises min_free_kbytes again (khugepaged_min_free_kbytes_update).
 */
export function initPerZoneWmarkMin(
  nodes: readonly (readonly Zone[])[],
  current: number,
  userMinFreeKbytes: number,
  thp: boolean,
): number {
  const populated = nodes.flatMap((zs) => zs.filter((z) => z.populated));
  const computed = calculateMinFreeKbytes(populated);
  let minFreeKbytes = computed > userMinFreeKbytes ? computed : current;
  setupPerZoneWmarks(populated, minFreeKbytes);
  for (const zs of nodes) setupPerZoneLowmemReserve(zs);
  if (thp) {
    minFreeKbytes = recommendedMinFreeKbytes(populated, minFreeKbytes, true);
    setupPerZoneWmarks(populated, minFreeKbytes);
  }
  return minFreeKbytes;
}

/**
 * Lay the machine's memory out as x86_64 Linux under QEMU's pc machine does: boot memory
 * of the nodes that are not movable is contiguous from physical address 0 in node id
 * order; with 3.5 GiB or more, only the first 3 GiB stay below 4 GiB and the rest is
 * relocated above it (QEMU's gigabyte-aligned PCI hole). ZONE_DMA is below 16 MiB,
 * ZONE_DMA32 below 4 GiB, ZONE_NORMAL above. A movable node's memory is hot-plugged and
 * onlined movable: it has only ZONE_MOVABLE, and all of it is managed.
 *
 * Managed pages are the present pages minus the node's memmap (struct page array) and the
 * boot reservations above, all taken from the node's highest boot zone. The memmap of
 * hot-plugged memory comes from the buddy allocator of the nearest boot node (vmemmap
 * without memmap_on_memory), so it lowers that node's free pages, not its managed ones.
 * Watermarks are computed as boot does: once from boot memory, then again for every
 * memory block onlined (online_pages), before init memory is freed.
 */
/** hugepage_init(): 512 << (20 - PAGE_SHIFT) pages */
export const THP_MIN_TOTALRAM_PAGES = 512 << (20 - 12);

export function layoutZones(topo: Topology, opts: ZoneLayoutOptions = {}): ZoneLayout {
  const R = BOOT_RESERVATIONS;
  const zones = new Map<number, Zone[]>();
  const reserved = new Map<number, number>();
  for (const id of topo.nodeIds) {
    zones.set(
      id,
      [ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE].map((t) => new Zone(id, t as ZoneType)),
    );
    reserved.set(id, 0);
  }

  const bootNodes = topo.nodeIds.filter((id) => !topo.node(id).movable && topo.node(id).memoryBytes > 0);
  const movableNodes = topo.nodeIds.filter((id) => topo.node(id).movable && topo.node(id).memoryBytes > 0);
  const bootTotal = bootNodes.reduce((s, id) => s + topo.node(id).memoryBytes, 0);
  const lowmem = bootTotal >= 3.5 * GiB ? 3 * GiB : bootTotal;
  const dmaEnd = 16 * MiB;

  // Boot memory: RAM offsets map to physical addresses, the part past `lowmem` from 4 GiB up.
  let ramOffset = 0;
  for (const id of bootNodes) {
    const z = zones.get(id)!;
    const start = ramOffset;
    const end = ramOffset + topo.node(id).memoryBytes;
    ramOffset = end;
    const lowA = Math.min(start, lowmem);
    const lowB = Math.min(end, lowmem);
    if (lowB > lowA) {
      const dmaBytes = Math.max(0, Math.min(lowB, dmaEnd) - lowA);
      z[ZONE_DMA]!.present += dmaBytes / PAGE_SIZE;
      z[ZONE_DMA32]!.present += (lowB - lowA - dmaBytes) / PAGE_SIZE;
      if (lowA === 0 && dmaBytes > 0)
        z[ZONE_DMA]!.present = Math.max(0, z[ZONE_DMA]!.present - DMA_HOLE_PAGES);
      if (lowB === lowmem && z[ZONE_DMA32]!.present > LOWMEM_TOP_HOLE_PAGES) {
        z[ZONE_DMA32]!.present -= LOWMEM_TOP_HOLE_PAGES;
      }
    }
    z[ZONE_NORMAL]!.present += Math.max(0, end - Math.max(start, lowmem)) / PAGE_SIZE;
  }
  // memory added but left offline (online: false) has its memmap and no zone pages
  const onlineAtBoot = (id: number) => topo.node(id).online !== false;
  for (const id of movableNodes)
    if (onlineAtBoot(id)) zones.get(id)![ZONE_MOVABLE]!.present = topo.node(id).memoryBytes / PAGE_SIZE;
  for (const [, zs] of zones) for (const zz of zs) zz.managed = zz.present;

  const highestBootZone = (id: number) =>
    [ZONE_NORMAL, ZONE_DMA32, ZONE_DMA].map((t) => zones.get(id)![t]!).find((zz) => zz.present > 0)!;
  const reserve = (id: number, pages: number, zone = highestBootZone(id)) => {
    zone.managed -= pages;
    reserved.set(id, (reserved.get(id) ?? 0) + pages);
  };
  const first = bootNodes[0]!;
  const last = bootNodes[bootNodes.length - 1]!;
  for (const id of bootNodes) {
    const zs = zones.get(id)!;
    if (zs[ZONE_DMA]!.present) reserve(id, Math.min(R.dmaReserved, zs[ZONE_DMA]!.present), zs[ZONE_DMA]);
    const present = zs.reduce((sum, zz) => sum + zz.present, 0);
    reserve(id, Math.ceil((present * STRUCT_PAGE_BYTES) / PAGE_SIZE));
    if (id === first) reserve(id, R.kernel);
    else reserve(id, R.perNode + (id === last ? R.lastNode : 0));
  }
  const memoryless = topo.nodeIds.filter((id) => topo.node(id).memoryBytes === 0 && topo.hasCpus(id)).length;
  if (memoryless) reserve(last, memoryless * R.memorylessNode);
  if (movableNodes.length || lowmem < bootTotal) {
    // the software IO TLB sits at the top of memory below 4 GiB
    const top = [...bootNodes].reverse().find((id) => zones.get(id)![ZONE_DMA32]!.present > 0);
    if (top !== undefined) reserve(top, R.swiotlb, zones.get(top)![ZONE_DMA32]);
  }
  if (movableNodes.length) reserve(last, movableNodes.length * R.hotplugNode);
  reserve(first, absentCpus(topo) * R.absentCpu);

  // Boot: watermarks from boot memory while init memory and the initrd are still reserved.
  const initZone = highestBootZone(first);
  const initrdZone = highestBootZone(last);
  initZone.managed -= R.initMemory;
  const initrd = opts.initrdPages ?? INITRD_PAGES;
  initrdZone.managed -= initrd;
  const online: Zone[] = [];
  for (const id of bootNodes) online.push(...zones.get(id)!.filter((zz) => zz.populated));
  let minFreeKbytes = calculateMinFreeKbytes(online);
  setupPerZoneWmarks(online, minFreeKbytes);
  // hugepage_init(): THP stays off on a machine with less than 512 MiB of RAM (totalram_pages()
  // then: the boot nodes' managed pages, init memory and the initrd not yet freed), whatever
  // transparent_hugepage= says; otherwise start_stop_khugepaged() →
  // set_recommended_min_free_kbytes()
  let totalram = 0;
  for (const z of online) totalram += Math.max(0, z.managed);
  const thp = opts.thp !== undefined && opts.thp !== "never" && totalram >= THP_MIN_TOTALRAM_PAGES;
  minFreeKbytes = recommendedMinFreeKbytes(online, minFreeKbytes, thp);
  setupPerZoneWmarks(online, minFreeKbytes);

  // Hot-plugged movable memory, onlined one memory block at a time (online_pages calls
  // init_per_zone_wmark_min for every block).
  const blockBytes = ramOffset < MEM_SIZE_FOR_LARGE_BLOCK ? MIN_MEMORY_BLOCK : MAX_MEMORY_BLOCK;
  const blockPages = blockBytes / PAGE_SIZE;
  const memmapFromFree = new Map<Zone, number>();
  for (const id of movableNodes) {
    const mz = zones.get(id)![ZONE_MOVABLE]!;
    const total = topo.node(id).memoryBytes / PAGE_SIZE;
    const owner = nearestBootNode(topo, id, bootNodes);
    if (owner !== undefined) {
      const oz = highestBootZone(owner);
      memmapFromFree.set(
        oz,
        (memmapFromFree.get(oz) ?? 0) + Math.ceil((total * STRUCT_PAGE_BYTES) / PAGE_SIZE),
      );
    }
    mz.managed = 0;
    if (!onlineAtBoot(id)) continue;
    online.push(mz);
    for (let done = 0; done < total; done += blockPages) {
      mz.managed += Math.min(blockPages, total - done);
      // init_per_zone_wmark_min(): calculate, set watermarks, then khugepaged_min_free_kbytes_update()
      minFreeKbytes = calculateMinFreeKbytes(online);
      setupPerZoneWmarks(online, minFreeKbytes);
      if (thp) {
        minFreeKbytes = recommendedMinFreeKbytes(online, minFreeKbytes, true);
        setupPerZoneWmarks(online, minFreeKbytes);
      }
    }
  }
  for (const [, zs] of zones) setupPerZoneLowmemReserve(zs);
  initZone.managed += R.initMemory;
  initrdZone.managed += initrd;
  // vm.min_free_kbytes written after boot recomputes the watermarks with the memory then managed
  if (opts.minFreeKbytes !== undefined) {
    minFreeKbytes = opts.minFreeKbytes;
    setupPerZoneWmarks(online, minFreeKbytes);
    for (const [, zs] of zones) setupPerZoneLowmemReserve(zs);
  }
  for (const [, zs] of zones) for (const zz of zs) zz.free = Math.max(0, zz.managed);
  for (const id of bootNodes) {
    const zz = highestBootZone(id);
    zz.free = Math.max(0, zz.free - R.inUse - (memmapFromFree.get(zz) ?? 0));
  }
  return { zones, minFreeKbytes, reservedPages: reserved, blockPages, thp };
}

/**
 * The CPUs QEMU adds, absent, so that its SRAT names every node: one per node without CPUs
 * and without boot memory, except the last node, which the hot-plug memory range names.
 */
export function absentCpus(topo: Topology): number {
  const ids = topo.nodeIds;
  const lastId = ids[ids.length - 1];
  return ids.filter((id) => {
    const n = topo.node(id);
    return !topo.hasCpus(id) && (n.movable || n.memoryBytes === 0) && id !== lastId;
  }).length;
}

function nearestBootNode(topo: Topology, node: number, bootNodes: readonly number[]): number | undefined {
  let best: number | undefined;
  let bestDist = Number.POSITIVE_INFINITY;
  for (const b of bootNodes) {
    const d = topo.distance(node, b);
    if (d < bestDist) {
      bestDist = d;
      best = b;
    }
  }
  return best;
}

/** int_sqrt() */
function intSqrt(x: number): number {
  let r = Math.floor(Math.sqrt(x));
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/**
 * calculate_min_free_kbytes(): sqrt(lowmem_kbytes * 16) clamped to [128, 262144], where
 * lowmem_kbytes comes from nr_free_buffer_pages(): managed pages above the high watermark
 * in zones up to ZONE_NORMAL.
 */
export function calculateMinFreeKbytes(zones: readonly Zone[]): number {
  const lowmemKbytes = nrFreeBufferPages(zones) * (PAGE_SIZE >> 10);
  return Math.min(262144, Math.max(128, intSqrt(lowmemKbytes * 16)));
}

/** __setup_per_zone_wmarks() (no highmem on x86_64, so every zone counts as lowmem) */
export function setupPerZoneWmarks(zones: readonly Zone[], minFreeKbytes: number): void {
  const pagesMin = minFreeKbytes >> (12 - 10);
  let lowmemPages = 0;
  for (const z of zones) lowmemPages += Math.max(0, z.managed);
  for (const z of zones) {
    const managed = Math.max(0, z.managed);
    const tmp = lowmemPages ? Math.floor((pagesMin * managed) / lowmemPages) : 0;
    z.min = tmp;
    const gap = Math.max(tmp >> 2, Math.floor((managed * WATERMARK_SCALE_FACTOR) / 10000));
    z.low = z.min + gap;
    z.high = z.low + gap;
    z.promo = z.high + gap;
  }
}

/** setup_per_zone_lowmem_reserve() for one node's zones */
export function setupPerZoneLowmemReserve(zs: readonly Zone[]): void {
  for (let i = 0; i < MAX_NR_ZONES - 1; i++) {
    const zone = zs[i]!;
    const ratio = LOWMEM_RESERVE_RATIO[i]!;
    const clear = !ratio || zone.managed <= 0;
    let managed = 0;
    for (let j = i + 1; j < MAX_NR_ZONES; j++) {
      managed += Math.max(0, zs[j]!.managed);
      zone.lowmemReserve[j] = clear ? 0 : Math.floor(managed / ratio);
    }
  }
}
