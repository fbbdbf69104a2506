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
/** sizeof(struct page) on x86_64: the memmap costs 64 bytes per 4 KiB page. */
const STRUCT_PAGE_BYTES = 64;
/** Memory block sizes of x86_64 (probe_memory_block_size). */
const MIN_MEMORY_BLOCK = 128 * MiB;
const MAX_MEMORY_BLOCK = 2 * GiB;
const MEM_SIZE_FOR_LARGE_BLOCK = 64 * GiB;

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
}

export interface ZoneLayout {
  /** zones[node] = the node's four zones, indexed by zone type */
  zones: Map<number, Zone[]>;
  minFreeKbytes: number;
  /** Pages of each node taken by memmap and not managed by the buddy allocator. */
  reservedPages: Map<number, number>;
}

/**
 * Lay the machine's memory out as x86_64 Linux under QEMU's pc machine does: boot memory
 * of the nodes that are not movable is contiguous from physical address 0 in node id
 * order; with 3.5 GiB or more, only the first 3 GiB stay below 4 GiB and the rest is
 * relocated above it (QEMU's gigabyte-aligned PCI hole). ZONE_DMA is below 16 MiB,
 * ZONE_DMA32 below 4 GiB, ZONE_NORMAL above. A movable node's memory is hot-plugged and
 * onlined movable: it has only ZONE_MOVABLE.
 *
 * Managed pages are the present pages minus the memmap (struct page array) of the node,
 * taken from its highest zone; a movable node's memmap is allocated from the nearest
 * node with boot memory (vmemmap_populate without memmap_on_memory). Other boot-time
 * reservations (kernel image, initramfs, firmware tables) are not modelled, so a real
 * machine has somewhat fewer free pages than the model.
 */
export function layoutZones(topo: Topology, opts: ZoneLayoutOptions = {}): ZoneLayout {
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
  const bootTotal = bootNodes.reduce((s, id) => s + topo.node(id).memoryBytes, 0);
  const lowmem = bootTotal >= 3.5 * GiB ? 3 * GiB : bootTotal;
  const dmaEnd = 16 * MiB;
  const dma32End = 4 * GiB;

  // Boot memory: RAM offsets map to physical addresses, with the part past `lowmem`
  // placed from 4 GiB upwards.
  let ramOffset = 0;
  for (const id of bootNodes) {
    const z = zones.get(id)!;
    const bytes = topo.node(id).memoryBytes;
    const start = ramOffset;
    const end = ramOffset + bytes;
    ramOffset = end;
    // below 4 GiB part: [start, min(end, lowmem))
    const lowA = Math.min(start, lowmem);
    const lowB = Math.min(end, lowmem);
    if (lowB > lowA) {
      const dmaBytes = Math.max(0, Math.min(lowB, dmaEnd) - lowA);
      z[ZONE_DMA]!.present += dmaBytes / PAGE_SIZE;
      z[ZONE_DMA32]!.present += (lowB - lowA - dmaBytes) / PAGE_SIZE;
      if (lowA === 0 && dmaBytes > 0) {
        z[ZONE_DMA]!.present = Math.max(0, z[ZONE_DMA]!.present - DMA_HOLE_PAGES);
      }
    }
    // relocated above 4 GiB: [max(start, lowmem), end) → physical 4 GiB + (x - lowmem)
    const highBytes = Math.max(0, end - Math.max(start, lowmem));
    if (highBytes > 0) {
      // everything relocated lands at or above 4 GiB, so in ZONE_NORMAL
      const physStart = dma32End + Math.max(start, lowmem) - lowmem;
      if (physStart >= dma32End) z[ZONE_NORMAL]!.present += highBytes / PAGE_SIZE;
    }
  }

  for (const id of topo.nodeIds) {
    const n = topo.node(id);
    if (n.movable && n.memoryBytes > 0) zones.get(id)![ZONE_MOVABLE]!.present = n.memoryBytes / PAGE_SIZE;
  }

  // memmap: 64 bytes per present page, from the node's own highest boot zone, or for a
  // movable node from the nearest node with boot memory.
  const chargeMemmap = (owner: number, pages: number) => {
    const memmapPages = Math.ceil((pages * STRUCT_PAGE_BYTES) / PAGE_SIZE);
    const target = zones.get(owner)!;
    const zone = [ZONE_NORMAL, ZONE_DMA32, ZONE_DMA].map((t) => target[t]!).find((zz) => zz.present > 0);
    if (!zone) return;
    zone.managed -= memmapPages;
    reserved.set(owner, (reserved.get(owner) ?? 0) + memmapPages);
  };
  for (const [, zs] of zones) for (const zz of zs) zz.managed = zz.present;
  for (const id of bootNodes) {
    chargeMemmap(id, zones.get(id)!.reduce((s, zz) => s + zz.present, 0));
  }

  // Boot: watermarks from boot memory only (init_per_zone_wmark_min at postcore time).
  const online: Zone[] = [];
  for (const id of bootNodes) online.push(...zones.get(id)!.filter((zz) => zz.populated));
  let minFreeKbytes = calculateMinFreeKbytes(online);
  setupPerZoneWmarks(online, minFreeKbytes);

  // Hot-plugged movable memory, onlined one memory block at a time (online_pages calls
  // init_per_zone_wmark_min for every block).
  const blockBytes = ramOffset < MEM_SIZE_FOR_LARGE_BLOCK ? MIN_MEMORY_BLOCK : MAX_MEMORY_BLOCK;
  for (const id of topo.nodeIds) {
    const n = topo.node(id);
    if (!n.movable || n.memoryBytes === 0) continue;
    const mz = zones.get(id)![ZONE_MOVABLE]!;
    const total = mz.present;
    const memmapOwner = nearestBootNode(topo, id, bootNodes);
    if (memmapOwner !== undefined) chargeMemmap(memmapOwner, total);
    mz.managed = 0;
    if (!online.includes(mz)) online.push(mz);
    const blockPages = blockBytes / PAGE_SIZE;
    for (let done = 0; done < total; done += blockPages) {
      mz.managed += Math.min(blockPages, total - done);
      minFreeKbytes = calculateMinFreeKbytes(online);
      setupPerZoneWmarks(online, minFreeKbytes);
    }
  }

  if (opts.minFreeKbytes !== undefined) minFreeKbytes = opts.minFreeKbytes;
  setupPerZoneWmarks(online, minFreeKbytes);
  for (const [, zs] of zones) setupPerZoneLowmemReserve(zs);
  for (const [, zs] of zones) for (const zz of zs) zz.free = Math.max(0, zz.managed);
  return { zones, minFreeKbytes, reservedPages: reserved };
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
  let pages = 0;
  for (const z of zones) {
    if (z.type > ZONE_NORMAL) continue;
    if (z.managed > z.high) pages += z.managed - z.high;
  }
  const lowmemKbytes = pages * (PAGE_SIZE >> 10);
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
