/**
 * The Linux release whose behaviour the model follows (the scenario's `kernel.version`).
 * Behaviours introduced after 6.1 apply only from the release that brought them.
 */
export class KernelVersion {
  readonly major: number;
  readonly minor: number;

  constructor(text: string) {
    const m = /^(\d+)\.(\d+)/.exec(text);
    if (!m) throw new Error(`"${text}" is not a kernel version such as 6.1`);
    this.major = Number(m[1]);
    this.minor = Number(m[2]);
  }

  atLeast(major: number, minor: number): boolean {
    return this.major > major || (this.major === major && this.minor >= minor);
  }

  /** MPOL_WEIGHTED_INTERLEAVE and its sysfs weights (commit fa3bea4e1f82, 6.9). */
  get weightedInterleave(): boolean {
    return this.atLeast(6, 9);
  }

  /**
   * sanitize_mpol_flags() accepts MPOL_F_NUMA_BALANCING with MPOL_PREFERRED_MANY
   * ("mm/numa_balancing: allow migrate on protnone reference with MPOL_PREFERRED_MANY
   * policy", 6.10); before, only with MPOL_BIND.
   */
  get numaBalancingPreferredMany(): boolean {
    return this.atLeast(6, 10);
  }

  /**
   * interleave_nid() takes the interleave index modulo the node count in 64 bits (commit
   * "mempolicy: alloc_pages_mpol() for NUMA policy without vma", 6.7); before,
   * offset_il_node() cut it to 32 bits first: `target = (unsigned int)n % nnodes`.
   */
  get interleaveIndex64(): boolean {
    return this.atLeast(6, 7);
  }

  /** Weighted-interleave weights outside 1..255 are EINVAL, and "auto" appears (6.16). */
  get weightedInterleaveAuto(): boolean {
    return this.atLeast(6, 16);
  }

  toString(): string {
    return `${this.major}.${this.minor}`;
  }
}
