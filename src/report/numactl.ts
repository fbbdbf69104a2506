/**
 * `numactl --hardware`, byte for byte as numactl prints it (numactl.c hardware(),
 * print_node_cpus(), print_distances(), fmt_mem()), with sizes as libnuma's
 * numa_node_size64() reads them from /sys/devices/system/node/nodeN/meminfo and distances
 * as numa_distance() returns them.
 */

export interface HardwareNode {
  id: number;
  cpus: readonly number[];
  /**
   * MemTotal / MemFree of the node in bytes (the kernel shows them in kB). -1 is how
   * numa_node_size64() reports an unreadable value; fmt_mem() prints it "<not available>".
   * (A node whose meminfo file can't be opened at all gives size -1 and free 0.)
   */
  totalBytes: number;
  freeBytes: number;
}

/** printf("% 4d", n): sign or space, the digits, right-aligned in 4 columns. */
function spaceD4(n: number): string {
  return `${n < 0 ? "-" : " "}${Math.abs(n)}`.padStart(4);
}

/**
 * fmt_mem() of what numa_node_size64() returns: the kB number of meminfo shifted left by
 * 10, printed as `size >> 20` MB; -1 (as unsigned long long) is "<not available>".
 */
function fmtMem(bytes: number): string {
  if (bytes === -1) return "<not available>";
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`numactl: bad node size ${bytes}`);
  const kB = BigInt(Math.floor(bytes)) >> 10n; // the kernel's meminfo is in kB
  return `${(kB << 10n) >> 20n} MB`;
}

/**
 * The "available:" line of hardware(): a walk over node numbers 0..maxnode that opens a
 * range with "-" on the second consecutive node, closes it with the previous node when a
 * gap follows, and closes the last range only when the walk reaches maxnode inside it.
 */
function availableLine(ids: readonly number[]): string {
  const present = new Set(ids);
  const maxnode = ids.length ? ids[ids.length - 1]! : -1; // numa_max_node(): highest node in sysfs
  let s = `available: ${ids.length} nodes (`;
  let prev = -1;
  let skip = false;
  for (let i = 0; i <= maxnode; i++) {
    if (!present.has(i)) continue;
    if (prev === -1) {
      s += `${i}`;
      prev = i;
      continue;
    }
    if (i > prev + 1) {
      if (skip) {
        s += `${prev}`;
        skip = false;
      }
      s += `,${i}`;
      prev = i;
      continue;
    }
    if (i === prev + 1) {
      if (!skip) {
        s += "-";
        skip = true;
      }
      prev = i;
    }
    if (i === maxnode && skip) s += `${prev}`;
  }
  return `${s})\n`;
}

/**
 * print_node_cpus(): " N" for each cpu of the node's cpumask in ascending order, then a
 * newline (a CPU-less node prints nothing after "cpus:"); with --cpu-compress, runs of
 * consecutive cpus as " a-b" (a single cpu as " a"), segments separated by "," (which
 * makes ", " between them), then " (count)".
 */
function nodeCpus(cpus: readonly number[], compress: boolean): string {
  const set = [...new Set(cpus)].sort((a, b) => a - b);
  if (!compress) return `${set.map((c) => ` ${c}`).join("")}\n`;
  let s = "";
  let segments = 0;
  for (let k = 0; k < set.length; ) {
    const start = set[k]!;
    let end = start;
    while (k + 1 < set.length && set[k + 1] === end + 1) end = set[++k]!;
    k++;
    if (segments) s += ",";
    s += start === end ? ` ${start}` : ` ${start}-${end}`;
    segments++;
  }
  return `${s} (${set.length})\n`;
}

/**
 * print_distances(): if numa_distance(maxnode, first node) is 0 (no distance table), one
 * line saying so; otherwise a header "node  " plus "% 4d " per node, and one row per node,
 * "% 4d: " then "% 4d " per distance, so every line but the first ends in a space.
 */
function distances(ids: readonly number[], distance: (a: number, b: number) => number): string {
  // numa_distance() is 0 for node numbers outside the table, so with no node at all
  // (maxnode -1) there is no distance information either.
  if (!ids.length || distance(ids[ids.length - 1]!, ids[0]!) === 0) {
    return "No distance information available.\n";
  }
  let s = "node distances:\n";
  s += `node  ${ids.map((i) => `${spaceD4(i)} `).join("")}\n`;
  for (const i of ids) s += `${spaceD4(i)}: ${ids.map((k) => `${spaceD4(distance(i, k))} `).join("")}\n`;
  return s;
}

/** hardware(): what `numactl --hardware` (optionally with `--cpu-compress`) prints. */
export function numactlHardware(
  nodes: readonly HardwareNode[],
  distance: (a: number, b: number) => number,
  opts: { cpuCompress?: boolean } = {},
): string {
  const sorted = [...nodes].sort((a, b) => a.id - b.id);
  for (let k = 0; k < sorted.length; k++) {
    const id = sorted[k]!.id;
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`numactl: bad node id ${id}`);
    if (k && sorted[k - 1]!.id === id) throw new RangeError(`numactl: node ${id} given twice`);
  }
  const ids = sorted.map((n) => n.id);
  let s = availableLine(ids);
  for (const n of sorted) {
    s += `node ${n.id} cpus:${nodeCpus(n.cpus, opts.cpuCompress ?? false)}`;
    s += `node ${n.id} size: ${fmtMem(n.totalBytes)}\n`;
    s += `node ${n.id} free: ${fmtMem(n.freeBytes)}\n`;
  }
  return s + distances(ids, distance);
}
