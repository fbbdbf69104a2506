/**
 * A scenario's machine as a QEMU x86_64 guest: boot memory per node as memory backends,
 * movable (hot-plugged) nodes as pc-dimm devices onlined movable, CPU-less nodes kept in
 * the ACPI tables by a hot-pluggable (absent) CPU, and the SLIT.
 */
import { MEMTIER_ADISTANCE_DRAM } from "../kernel/memory-tiers.js";
import type { MachineSpec } from "../kernel/topology.js";

const MiB = 1024 * 1024;
/** Linux hot-adds memory in 128 MiB sections on x86_64 */
const SECTION = 128 * MiB;
/** QEMU's NUMA node limit (MAX_NODES) */
const QEMU_MAX_NODES = 128;
/** What this host can boot under TCG in reasonable time */
export const ORACLE_LIMITS = { memoryBytes: 6 * 1024 * MiB, cpus: 8, nodes: 16 } as const;

export interface GuestMachine {
  args: string[];
  /** kernel command line additions */
  append: string[];
  /** how long a boot may take before it is retried (ms) */
  timeoutMs: number;
}

/** Why this machine cannot be booted, or undefined. */
export function unbootable(m: MachineSpec): string | undefined {
  // every guest node is DRAM to the kernel: no driver registers another memory type
  const typed = m.nodes.find((n) => n.adistance !== undefined && n.adistance !== MEMTIER_ADISTANCE_DRAM);
  if (typed) return `node ${typed.id} has a memory type of its own (adistance ${typed.adistance})`;
  const ids = m.nodes.map((n) => n.id).sort((a, b) => a - b);
  if (ids.length > QEMU_MAX_NODES || ids.some((id) => id >= QEMU_MAX_NODES)) {
    return `node ids above ${QEMU_MAX_NODES - 1} (QEMU's limit)`;
  }
  if (ids.some((id, i) => id !== i)) {
    return "node ids are not 0..N-1 (Linux on x86 numbers ACPI proximity domains in order, so sparse ids cannot be reproduced)";
  }
  if (ids.length > ORACLE_LIMITS.nodes) return `more than ${ORACLE_LIMITS.nodes} nodes`;
  const cpus = m.nodes.flatMap((n) => n.cpus).sort((a, b) => a - b);
  if (cpus.some((c, i) => c !== i)) return "CPU ids are not 0..N-1";
  if (cpus.length > ORACLE_LIMITS.cpus)
    return `more than ${ORACLE_LIMITS.cpus} CPUs (too slow under TCG here)`;
  const total = m.nodes.reduce((s, n) => s + n.memoryBytes, 0);
  if (total > ORACLE_LIMITS.memoryBytes) {
    return `${total / MiB} MiB of memory is more than this host boots (${ORACLE_LIMITS.memoryBytes / MiB} MiB)`;
  }
  for (const n of m.nodes) {
    if (n.memoryBytes % (2 * MiB) !== 0) return `node ${n.id}'s memory is not a multiple of 2 MiB`;
    if (n.movable && n.memoryBytes % SECTION !== 0) {
      return `node ${n.id} is movable and its memory is not a multiple of 128 MiB (the hot-plug section size)`;
    }
  }
  return undefined;
}

/** The QEMU arguments for the machine. */
export function qemuMachine(m: MachineSpec): GuestMachine {
  const args: string[] = ["-accel", "tcg"];
  const nodes = [...m.nodes].sort((a, b) => a.id - b.id);
  const boot = nodes.filter((n) => !n.movable && n.memoryBytes > 0);
  const dimms = nodes.filter((n) => n.movable && n.memoryBytes > 0);
  const bootMiB = boot.reduce((s, n) => s + n.memoryBytes / MiB, 0);
  const dimmMiB = dimms.reduce((s, n) => s + n.memoryBytes / MiB, 0);
  const present = nodes.reduce((s, n) => s + n.cpus.length, 0);
  // QEMU's SRAT names a node for its CPUs, its boot memory, or (the last node only) the
  // hot-plug memory range; any other CPU-less node gets an absent, hot-pluggable CPU so
  // that the SRAT names it at boot (its per-CPU area costs the kernel some pages)
  const last = nodes[nodes.length - 1];
  const cpuless = nodes.filter(
    (n) => n.cpus.length === 0 && (n.movable || n.memoryBytes === 0) && n !== last,
  );
  const maxcpus = present + cpuless.length;
  if (dimms.length) {
    const maxmem = Math.ceil((bootMiB + dimmMiB) / 1024 + 1) * 1024;
    args.push("-m", `${bootMiB}M,slots=${dimms.length},maxmem=${maxmem}M`);
  } else {
    args.push("-m", `${bootMiB}M`);
  }
  args.push("-smp", `${present},maxcpus=${maxcpus},sockets=${maxcpus},cores=1,threads=1`);
  for (const n of boot) args.push("-object", `memory-backend-ram,id=m${n.id},size=${n.memoryBytes / MiB}M`);
  for (const n of dimms) args.push("-object", `memory-backend-ram,id=d${n.id},size=${n.memoryBytes / MiB}M`);
  for (const n of nodes) {
    const memdev = !n.movable && n.memoryBytes > 0 ? `,memdev=m${n.id}` : "";
    args.push("-numa", `node,nodeid=${n.id}${memdev}`);
  }
  // CPUs: socket s is CPU s; absent sockets follow the present CPUs
  let absent = present;
  for (const n of nodes) {
    for (const c of n.cpus) args.push("-numa", `cpu,node-id=${n.id},socket-id=${c}`);
    if (cpuless.includes(n)) args.push("-numa", `cpu,node-id=${n.id},socket-id=${absent++}`);
  }
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i]!;
      const b = nodes[j]!;
      const ia = m.nodes.indexOf(a);
      const ib = m.nodes.indexOf(b);
      const dab = m.distances[ia]?.[ib] ?? 20;
      const dba = m.distances[ib]?.[ia] ?? 20;
      args.push("-numa", `dist,src=${a.id},dst=${b.id},val=${dab}`);
      if (dba !== dab) args.push("-numa", `dist,src=${b.id},dst=${a.id},val=${dba}`);
    }
  }
  for (const n of dimms) args.push("-device", `pc-dimm,id=dimm${n.id},memdev=d${n.id},node=${n.id}`);
  const memGiB = (bootMiB + dimmMiB) / 1024;
  return { args, append: [], timeoutMs: Math.round(60_000 + memGiB * 60_000) };
}
