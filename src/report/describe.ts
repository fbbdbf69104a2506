/** One-line descriptions of scenario steps, as a reader of the scenario would write them. */
import {
  MODE_FLAG_NAMES,
  MODE_NAMES,
  MPOL_F_ADDR,
  MPOL_F_MEMS_ALLOWED,
  MPOL_F_NODE,
  MPOL_MF_LAZY,
  MPOL_MF_MOVE,
  MPOL_MF_MOVE_ALL,
  MPOL_MF_STRICT,
  MPOL_MODE_FLAGS,
} from "../kernel/constants.js";
import { formatGfp } from "../kernel/gfp.js";
import { formatNodeList } from "../kernel/nodemask.js";
import type { AddrExpr, NodesExpr, PidExpr, Step } from "../scenario/types.js";

function addr(a: AddrExpr): string {
  switch (a.kind) {
    case "null":
      return "NULL";
    case "bad":
      return "(void *)-1";
    case "literal":
      return `0x${a.value.toString(16)}`;
    case "mapping":
      return a.offset ? `${a.name}+${a.offset}` : a.name;
  }
}

function size(v: bigint | "mapping"): string {
  if (v === "mapping") return "(whole mapping)";
  if (v % 4096n === 0n && v > 0n) {
    const p = v / 4096n;
    for (const [unit, div] of [
      ["GiB", 1n << 30n],
      ["MiB", 1n << 20n],
      ["KiB", 1n << 10n],
    ] as const) {
      if (v % div === 0n && v >= div) return `${v / div}${unit}`;
    }
    return `${p}p`;
  }
  return String(v);
}

function mode(m: number): string {
  const base = m & ~MPOL_MODE_FLAGS;
  const parts = [MODE_NAMES[base] ?? String(base)];
  for (const [bit, name] of MODE_FLAG_NAMES) if (m & bit) parts.push(name);
  return parts.join("|");
}

function nodes(n: NodesExpr): string {
  if (n.kind === "null") return "NULL";
  if (n.kind === "bad") return "(bad pointer)";
  return `{${formatNodeList(n.bits)}}`;
}

function flagNames(v: number, names: [number, string][]): string {
  const parts: string[] = [];
  let rest = v;
  for (const [bit, name] of names) {
    if (rest & bit) {
      parts.push(name);
      rest &= ~bit;
    }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.join("|");
}

const getFlags = (v: number) =>
  flagNames(v, [
    [MPOL_F_NODE, "MPOL_F_NODE"],
    [MPOL_F_ADDR, "MPOL_F_ADDR"],
    [MPOL_F_MEMS_ALLOWED, "MPOL_F_MEMS_ALLOWED"],
  ]);

const mbindFlags = (v: number) =>
  flagNames(v, [
    [MPOL_MF_STRICT, "MPOL_MF_STRICT"],
    [MPOL_MF_MOVE, "MPOL_MF_MOVE"],
    [MPOL_MF_MOVE_ALL, "MPOL_MF_MOVE_ALL"],
    [MPOL_MF_LAZY, "MPOL_MF_LAZY"],
  ]);

const MADVICE: Record<number, string> = { 4: "MADV_DONTNEED", 14: "MADV_HUGEPAGE", 15: "MADV_NOHUGEPAGE" };

const pidText = (p: PidExpr) => (p.kind === "self" ? "" : ` pid ${p.kind === "task" ? p.name : p.value}`);

export function describeStep(s: Step): string {
  switch (s.op) {
    case "mmap":
      return `mmap ${s.name} ${size(s.length)}${s.addr ? ` at ${addr(s.addr)}` : ""}`;
    case "munmap":
      return `munmap ${addr(s.addr)} ${size(s.length)}`;
    case "touch":
      return `touch ${addr(s.addr)} ${size(s.length)} (${s.access})`;
    case "mbind":
      return `mbind ${addr(s.addr)} ${size(s.length)} ${mode(s.mode)} ${nodes(s.nodes)}${s.flags ? ` ${mbindFlags(Number(s.flags))}` : ""}`;
    case "set_mempolicy":
      return `set_mempolicy ${mode(s.mode)} ${nodes(s.nodes)}`;
    case "get_mempolicy":
      return `get_mempolicy${s.addr.kind !== "null" ? ` ${addr(s.addr)}` : ""}${s.flags ? ` ${getFlags(Number(s.flags))}` : ""}`;
    case "set_mempolicy_home_node":
      return `set_mempolicy_home_node ${addr(s.addr)} ${size(s.length)} node ${s.homeNode}`;
    case "placement":
      return `placement ${addr(s.addr)}`;
    case "numastat":
      return "numastat";
    case "kalloc":
      return `kalloc ${formatGfp(s.gfp)}${s.node !== null ? ` node ${s.node}` : ""} order ${s.order} ×${s.count}`;
    case "sched_setaffinity":
      return `sched_setaffinity cpu ${s.cpu}`;
    case "sysfs_write":
      return `echo ${s.value} > ${s.path}`;
    case "cat":
      return `cat ${s.path}`;
    case "gpu_driver_load":
      return `the GPU driver adds node ${s.node}'s memory`;
    case "memory_tiers":
      return "memory tiers and demotion targets";
    case "fallback_order":
      return "fallback order";
    case "fork":
      return `fork → ${s.child}`;
    case "exit":
      return "exit";
    case "madvise":
      return `madvise ${addr(s.addr)} ${size(s.length)} ${MADVICE[s.advice] ?? s.advice}`;
    case "memory_offline":
      return `offline the memory of node ${s.node}`;
    case "memory_online":
      return `online the memory of node ${s.node} (${s.zone})`;
    case "cgroup_create":
      return `mkdir ${s.cgroup}`;
    case "cgroup_write":
      return `echo ${s.value} > ${s.cgroup === "/" ? "" : s.cgroup}/${s.file}`;
    case "cgroup_attach":
      return `attach to ${s.cgroup}`;
    case "migrate_pages":
      return `migrate_pages${pidText(s.pid)} ${nodes(s.from)} → ${nodes(s.to)}`;
    case "write_file":
      return `write ${size(s.length)} to ${s.file}${s.offset ? ` at ${size(s.offset)}` : ""}`;
    case "read_file":
      return `read ${s.length === "file" ? "all of" : size(s.length)}${s.length === "file" ? "" : " of"} ${s.file}${s.offset ? ` from ${size(s.offset)}` : ""}`;
    case "sync":
      return "sync";
    case "file_placement":
      return `placement of ${s.file}'s page cache`;
    case "meminfo":
      return "per-node meminfo";
    case "device_migrate":
      return `device driver migrates ${addr(s.addr)} ${size(s.length)} to node ${s.node}`;
    case "move_pages": {
      const n = s.runs.reduce((a, r) => a + r.count, 0);
      const who = pidText(s.pid);
      const first = s.runs[0]!;
      const where = s.runs.length === 1 ? `${addr(first.addr)}` : `${s.runs.length} addresses`;
      const to = s.query
        ? "query"
        : s.runs.every((r) => r.node === first.node)
          ? `→ ${first.node}`
          : "→ nodes";
      return `move_pages${who} ${where} ${n}p ${to}${s.flags ? ` ${mbindFlags(Number(s.flags))}` : ""}`;
    }
  }
}
