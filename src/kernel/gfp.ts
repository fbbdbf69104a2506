/**
 * GFP flags and the zone a gfp mask may use (include/linux/gfp_types.h, include/linux/gfp.h,
 * Linux 6.1).
 */
import { ZONE_DMA, ZONE_DMA32, ZONE_MOVABLE, ZONE_NORMAL, type ZoneType } from "./constants.js";

export const __GFP_DMA = 0x01;
export const __GFP_HIGHMEM = 0x02;
export const __GFP_DMA32 = 0x04;
export const __GFP_MOVABLE = 0x08;
export const __GFP_RECLAIMABLE = 0x10;
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_ZERO = 0x100;
export const __GFP_ATOMIC = 0x200;
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_WRITE = 0x1000;
export const __GFP_NOWARN = 0x2000;
export const __GFP_RETRY_MAYFAIL = 0x4000;
export const __GFP_NOFAIL = 0x8000;
export const __GFP_NORETRY = 0x10000;
export const __GFP_MEMALLOC = 0x20000;
export const __GFP_COMP = 0x40000;
export const __GFP_NOMEMALLOC = 0x80000;
export const __GFP_HARDWALL = 0x100000;
export const __GFP_THISNODE = 0x200000;
export const __GFP_ACCOUNT = 0x400000;
/**
 * __GFP_PROTECTED: not a Linux 6.1 flag. The protected-memory-node RFC (Gregory Price,
 * November 2025) adds it: only requests carrying it may take memory of a protected node.
 * It means something under the protected-nodes design only; the model gives it a bit above
 * 6.1's flags.
 */
export const __GFP_PROTECTED = 0x10000000;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const GFP_ATOMIC = __GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_DMA = __GFP_DMA;
export const GFP_DMA32 = __GFP_DMA32;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;
/** GFP_TRANSHUGE_LIGHT (include/linux/gfp_types.h): THP faults, no reclaim of any kind */
export const GFP_TRANSHUGE_LIGHT =
  (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM;
/** GFP_TRANSHUGE: GFP_TRANSHUGE_LIGHT with direct reclaim (and compaction) */
export const GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM;

/** The named masks and bits a scenario's `kalloc` may combine. */
export const GFP_SYMBOLS: Readonly<Record<string, number>> = {
  GFP_KERNEL,
  GFP_USER,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  GFP_ATOMIC,
  GFP_NOWAIT,
  GFP_DMA,
  GFP_DMA32,
  __GFP_THISNODE,
  __GFP_HARDWALL,
  __GFP_MOVABLE,
  __GFP_HIGHMEM,
  __GFP_NOWARN,
  __GFP_NORETRY,
  __GFP_RETRY_MAYFAIL,
  __GFP_NOFAIL,
  __GFP_HIGH,
  __GFP_DIRECT_RECLAIM,
  __GFP_KSWAPD_RECLAIM,
  __GFP_PROTECTED,
};

const FLAG_BITS: ReadonlyArray<[number, string]> = [
  [__GFP_DMA, "__GFP_DMA"],
  [__GFP_HIGHMEM, "__GFP_HIGHMEM"],
  [__GFP_DMA32, "__GFP_DMA32"],
  [__GFP_MOVABLE, "__GFP_MOVABLE"],
  [__GFP_RECLAIMABLE, "__GFP_RECLAIMABLE"],
  [__GFP_HIGH, "__GFP_HIGH"],
  [__GFP_IO, "__GFP_IO"],
  [__GFP_FS, "__GFP_FS"],
  [__GFP_ZERO, "__GFP_ZERO"],
  [__GFP_ATOMIC, "__GFP_ATOMIC"],
  [__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"],
  [__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"],
  [__GFP_WRITE, "__GFP_WRITE"],
  [__GFP_NOWARN, "__GFP_NOWARN"],
  [__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"],
  [__GFP_NOFAIL, "__GFP_NOFAIL"],
  [__GFP_NORETRY, "__GFP_NORETRY"],
  [__GFP_MEMALLOC, "__GFP_MEMALLOC"],
  [__GFP_COMP, "__GFP_COMP"],
  [__GFP_NOMEMALLOC, "__GFP_NOMEMALLOC"],
  [__GFP_HARDWALL, "__GFP_HARDWALL"],
  [__GFP_THISNODE, "__GFP_THISNODE"],
  [__GFP_ACCOUNT, "__GFP_ACCOUNT"],
  [__GFP_PROTECTED, "__GFP_PROTECTED"],
];

const NAMED_MASKS: ReadonlyArray<[number, string]> = [
  [GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"],
  [GFP_HIGHUSER, "GFP_HIGHUSER"],
  [GFP_USER, "GFP_USER"],
  [GFP_KERNEL, "GFP_KERNEL"],
  [GFP_ATOMIC, "GFP_ATOMIC"],
  [GFP_NOWAIT, "GFP_NOWAIT"],
];

/** Format a gfp mask the way the kernel's %pGg does: a named mask, then the remaining bits. */
export function formatGfp(gfp: number): string {
  const parts: string[] = [];
  let rest = gfp;
  for (const [mask, name] of NAMED_MASKS) {
    if ((rest & mask) === mask) {
      parts.push(name);
      rest &= ~mask;
      break;
    }
  }
  for (const [bit, name] of FLAG_BITS) {
    if (rest & bit) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.length ? parts.join("|") : "0";
}

/**
 * gfp_zone(): the highest zone an allocation with this mask may use (GFP_ZONE_TABLE on
 * x86_64, where OPT_ZONE_HIGHMEM is ZONE_NORMAL). Only __GFP_HIGHMEM|__GFP_MOVABLE reaches
 * ZONE_MOVABLE; __GFP_MOVABLE with DMA32 stays in DMA32.
 */
export function gfpZone(gfp: number): ZoneType {
  if (gfp & __GFP_DMA) return ZONE_DMA;
  if (gfp & __GFP_DMA32) return ZONE_DMA32;
  if (gfp & __GFP_MOVABLE && gfp & __GFP_HIGHMEM) return ZONE_MOVABLE;
  return ZONE_NORMAL;
}

/** gfp_migratetype() == MIGRATE_MOVABLE. */
export function gfpIsMovable(gfp: number): boolean {
  return (gfp & __GFP_MOVABLE) !== 0;
}
