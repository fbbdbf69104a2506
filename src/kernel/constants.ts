/**
 * The user-space ABI and the kernel constants the model needs, with their Linux values.
 * Sources: include/uapi/linux/mempolicy.h, include/uapi/asm-generic/errno*.h,
 * include/linux/gfp_types.h, include/linux/mmzone.h (Linux 6.1, x86_64 config).
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** CONFIG_NODES_SHIFT=10 on Debian's x86_64 kernels. */
export const NODES_SHIFT = 10;
export const MAX_NUMNODES = 1 << NODES_SHIFT;
export const NUMA_NO_NODE = -1;
export const BITS_PER_LONG = 64;
/** PAGE_ALLOC_COSTLY_ORDER (include/linux/mmzone.h). */
export const PAGE_ALLOC_COSTLY_ORDER = 3;
/** MAX_ORDER in 6.1 (exclusive bound on the buddy order). */
export const MAX_ORDER = 11;

// --- include/uapi/linux/mempolicy.h ---------------------------------------------------------

export const MPOL_DEFAULT = 0;
export const MPOL_PREFERRED = 1;
export const MPOL_BIND = 2;
export const MPOL_INTERLEAVE = 3;
export const MPOL_LOCAL = 4;
export const MPOL_PREFERRED_MANY = 5;
/** Added in 6.9 (commit fa3bea4e1f82); MPOL_MAX is 6 before it and 7 from it on. */
export const MPOL_WEIGHTED_INTERLEAVE = 6;

export const MPOL_F_STATIC_NODES = 1 << 15;
export const MPOL_F_RELATIVE_NODES = 1 << 14;
export const MPOL_F_NUMA_BALANCING = 1 << 13;
export const MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;

/** get_mempolicy() flags. */
export const MPOL_F_NODE = 1 << 0;
export const MPOL_F_ADDR = 1 << 1;
export const MPOL_F_MEMS_ALLOWED = 1 << 2;

/** mbind() flags. */
export const MPOL_MF_STRICT = 1 << 0;
export const MPOL_MF_MOVE = 1 << 1;
export const MPOL_MF_MOVE_ALL = 1 << 2;
export const MPOL_MF_LAZY = 1 << 3;
export const MPOL_MF_VALID = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL;

/** Internal policy flags (never exposed to user space). */
export const MPOL_F_SHARED = 1 << 0;
export const MPOL_F_MOF = 1 << 3;
export const MPOL_F_MORON = 1 << 4;

export const MODE_NAMES: Readonly<Record<number, string>> = {
  [MPOL_DEFAULT]: "MPOL_DEFAULT",
  [MPOL_PREFERRED]: "MPOL_PREFERRED",
  [MPOL_BIND]: "MPOL_BIND",
  [MPOL_INTERLEAVE]: "MPOL_INTERLEAVE",
  [MPOL_LOCAL]: "MPOL_LOCAL",
  [MPOL_PREFERRED_MANY]: "MPOL_PREFERRED_MANY",
  [MPOL_WEIGHTED_INTERLEAVE]: "MPOL_WEIGHTED_INTERLEAVE",
};

export const MODE_FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [MPOL_F_STATIC_NODES, "MPOL_F_STATIC_NODES"],
  [MPOL_F_RELATIVE_NODES, "MPOL_F_RELATIVE_NODES"],
  [MPOL_F_NUMA_BALANCING, "MPOL_F_NUMA_BALANCING"],
];

/** Every symbolic integer a scenario may use in a syscall argument. */
/** madvise advice (include/uapi/asm-generic/mman-common.h) */
export const MADV_DONTNEED = 4;
export const MADV_HUGEPAGE = 14;
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;
/** vm_flags cdmsim keeps beyond protection and mapping type */
export const VM_MERGEABLE = 0x80000000;
/** RFC V2 08/12 (CDM): the VMA holds coherent device memory */
export const VM_CDM = 0x00800000;
export const MADV_NOHUGEPAGE = 15;

export const SYMBOLS: Readonly<Record<string, number>> = {
  MPOL_DEFAULT,
  MPOL_PREFERRED,
  MPOL_BIND,
  MPOL_INTERLEAVE,
  MPOL_LOCAL,
  MPOL_PREFERRED_MANY,
  MPOL_WEIGHTED_INTERLEAVE,
  MPOL_F_STATIC_NODES,
  MPOL_F_RELATIVE_NODES,
  MPOL_F_NUMA_BALANCING,
  MPOL_F_NODE,
  MPOL_F_ADDR,
  MPOL_F_MEMS_ALLOWED,
  MPOL_MF_STRICT,
  MPOL_MF_MOVE,
  MPOL_MF_MOVE_ALL,
  MPOL_MF_LAZY,
  PROT_NONE: 0,
  PROT_READ: 1,
  PROT_WRITE: 2,
  PROT_EXEC: 4,
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20,
  MAP_NORESERVE: 0x4000,
  MAP_POPULATE: 0x8000,
  MAP_HUGETLB: 0x40000,
  MAP_FIXED_NOREPLACE: 0x100000,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
};

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_FIXED_NOREPLACE = 0x100000;

// --- errno (include/uapi/asm-generic/errno-base.h, errno.h) ---------------------------------

export const ERRNO: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
};

export type ErrnoName = keyof typeof ERRNO & string;

const ERRNO_BY_NUMBER = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));

export function errnoName(n: number): string {
  return ERRNO_BY_NUMBER.get(n) ?? `E${n}`;
}

// --- zones (include/linux/mmzone.h, x86_64 with ZONE_DMA and ZONE_DMA32, no HIGHMEM) --------

export const ZONE_DMA = 0;
export const ZONE_DMA32 = 1;
export const ZONE_NORMAL = 2;
export const ZONE_MOVABLE = 3;
export const MAX_NR_ZONES = 4;
export const ZONE_NAMES = ["DMA", "DMA32", "Normal", "Movable"] as const;
export type ZoneType = 0 | 1 | 2 | 3;

/** sysctl_lowmem_reserve_ratio defaults (mm/page_alloc.c). */
export const LOWMEM_RESERVE_RATIO = [256, 256, 32, 0] as const;
/** vm.watermark_scale_factor default. */
export const WATERMARK_SCALE_FACTOR = 10;
