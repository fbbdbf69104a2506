/**
 * A scenario as a program for the guest runner (src/oracle/guest/runner.c), and the
 * reasons a scenario cannot run on the real kernel.
 */
import type { AddrExpr, NodesExpr, PidExpr, Scenario, Step } from "../scenario/types.js";
import { unbootable } from "./machine.js";

/** The release the oracle boots. */
export const ORACLE_KERNEL_VERSION = "6.1";

/** Ops only the model can run (no user-space equivalent). */
const MODEL_ONLY: ReadonlySet<string> = new Set(["kalloc"]);

/** Why the scenario cannot run on the real kernel, or undefined. */
export function skipReason(sc: Scenario): string | undefined {
  if (sc.design !== "mainline") return `design ${sc.design} exists only in the model`;
  if (sc.kernel.version !== ORACLE_KERNEL_VERSION) {
    return `kernel.version ${sc.kernel.version}: the oracle boots Linux ${ORACLE_KERNEL_VERSION}`;
  }
  const modelOnly = [...new Set(sc.steps.filter((s) => MODEL_ONLY.has(s.op)).map((s) => s.op))];
  if (modelOnly.length) return `model-only op${modelOnly.length > 1 ? "s" : ""}: ${modelOnly.join(", ")}`;
  if (sc.cgroups.some((c) => c.memHardwall || c.memExclusive))
    return "cgroup v1 cpuset flags (mem_hardwall, mem_exclusive): the oracle runs cgroup v2";
  return unbootable(sc.machine);
}

/**
 * Whether a scenario boots alone: one that puts the machine under memory pressure (it maps
 * more than a quarter of the memory) runs on a kernel that has not been through another
 * scenario's pressure (freed pages still on per-CPU lists, pageblocks stolen between
 * migrate types, boosted watermarks); one that onlines or offlines memory changes the
 * machine for whatever would run after it.
 */
export function bootsAlone(sc: Scenario): boolean {
  if (sc.steps.some((s) => s.op === "memory_offline" || s.op === "memory_online")) return true;
  const memory = sc.machine.nodes.reduce((a, n) => a + BigInt(n.memoryBytes), 0n);
  let mapped = 0n;
  for (const s of sc.steps) if (s.op === "mmap") mapped += s.length;
  return mapped * 4n > memory;
}

/** What must be equal for two scenarios to share a boot; `id` keeps a pressure scenario alone. */
export function bootKey(sc: Scenario, id: number): string {
  return JSON.stringify({
    machine: sc.machine,
    thp: sc.kernel.thp,
    minFree: sc.kernel.minFreeKbytes ?? null,
    alone: bootsAlone(sc) ? id : null,
  });
}

const pct = (s: string) => encodeURIComponent(s);

function addr(a: AddrExpr): string {
  switch (a.kind) {
    case "null":
      return "null";
    case "bad":
      return "bad";
    case "literal":
      return `l:${BigInt.asUintN(64, a.value)}`;
    case "mapping":
      return `m:${a.name}:${a.offset}`;
  }
}

function length(a: AddrExpr, l: bigint | "mapping"): string {
  if (l !== "mapping") return String(l);
  return a.kind === "mapping" ? `map:${a.name}:${a.offset}` : "0";
}

function nodes(n: NodesExpr): string {
  if (n.kind === "bits") return `b:${n.bits.join(",")}`;
  return n.kind;
}

const u64 = (v: bigint) => String(BigInt.asUintN(64, v));

/** self, t:<task> (the guest's coordinator puts the real pid in) or a raw pid */
const pidArg = (p: PidExpr) =>
  p.kind === "self" ? "self" : p.kind === "task" ? `t:${p.name}` : String(p.value);

/** The guest command of a step, or undefined when the host answers it itself. */
export function stepCommand(s: Step): string | undefined {
  switch (s.op) {
    case "mmap":
      return `mmap name=${s.name} len=${s.length} prot=${s.prot} flags=${s.flags} addr=${s.addr ? addr(s.addr) : "none"}`;
    case "munmap":
      return `munmap addr=${addr(s.addr)} len=${length(s.addr, s.length)}`;
    case "touch":
      return `touch addr=${addr(s.addr)} len=${length(s.addr, s.length)} access=${s.access === "read" ? "r" : "w"}`;
    case "mbind":
      return (
        `mbind addr=${addr(s.addr)} len=${length(s.addr, s.length)} mode=${s.mode} nodes=${nodes(s.nodes)} ` +
        `maxnode=${u64(s.maxnode)} flags=${u64(s.flags)}`
      );
    case "set_mempolicy":
      return `set_mempolicy mode=${s.mode} nodes=${nodes(s.nodes)} maxnode=${u64(s.maxnode)}`;
    case "get_mempolicy":
      return `get_mempolicy addr=${addr(s.addr)} flags=${u64(s.flags)} maxnode=${u64(s.maxnode)} nmask=${s.nmaskNull ? 0 : 1}`;
    case "set_mempolicy_home_node":
      return (
        `set_mempolicy_home_node addr=${addr(s.addr)} len=${length(s.addr, s.length)} ` +
        `home=${u64(s.homeNode)} flags=${u64(s.flags)}`
      );
    case "placement":
      return `placement addr=${addr(s.addr)} len=${length(s.addr, s.length)}`;
    case "numastat":
      return "numastat";
    case "sched_setaffinity":
      return `sched_setaffinity cpu=${s.cpu}`;
    case "sysfs_write":
      return `sysfs_write path=${pct(s.path)} value=${pct(s.value)}`;
    case "cat":
      return `cat path=${pct(s.path)}`;
    case "fallback_order":
      return "fallback_order";
    case "fork":
      return `fork child=${s.child}`;
    case "madvise":
      return `madvise addr=${addr(s.addr)} len=${length(s.addr, s.length)} advice=${s.advice}`;
    case "memory_offline":
      return `memory_offline node=${s.node}`;
    case "memory_online":
      return `memory_online node=${s.node} zone=${s.zone}`;
    case "cgroup_create":
      return `cgroup_create path=${s.cgroup}`;
    case "cgroup_write":
      return `cgroup_write path=${s.cgroup} file=${s.file} value=${pct(s.value)}`;
    case "cgroup_attach":
      return `cgroup_attach path=${s.cgroup}`;
    case "migrate_pages":
      return `migrate_pages pid=${pidArg(s.pid)} from=${nodes(s.from)} to=${nodes(s.to)} maxnode=${u64(s.maxnode)}`;
    case "move_pages": {
      const pid = pidArg(s.pid);
      const runs = s.runs
        .map((r) => `${addr(r.addr)},${r.count},${r.node === null ? "q" : r.node}`)
        .join(";");
      return `move_pages pid=${pid} runs=${runs} flags=${u64(s.flags)}`;
    }
    case "exit":
      return "exit";
    case "kalloc":
      throw new Error("kalloc has no user-space equivalent");
  }
}

/** The guest program of a scenario (the index identifies it in the guest's output). */
export function guestProgram(sc: Scenario, index: number): string {
  const lines: string[] = [`S ${index} ${sc.name.replace(/\s+/g, "_")}`];
  for (const c of sc.cgroups) {
    lines.push(
      `C ${c.path} ${c.cpus?.length ? c.cpus.join(",") : "-"} ${c.mems?.length ? c.mems.join(",") : "-"}`,
    );
  }
  // a child of a fork step names its parent: the guest prepares its channel, the parent forks it
  for (const t of sc.tasks)
    lines.push(
      `T ${t.name} ${t.cgroup} ${t.cpu} ${t.privileged ? 1 : 0}${t.forkedBy ? ` ${t.forkedBy}` : ""}`,
    );
  for (const s of sc.steps) {
    const cmd = stepCommand(s);
    if (cmd) lines.push(`P ${s.index} ${s.task} ${cmd}`);
  }
  lines.push("E");
  return `${lines.join("\n")}\n`;
}
