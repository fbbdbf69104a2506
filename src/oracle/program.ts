/**
 * A scenario as a program for the guest runner (src/oracle/guest/runner.c), and the
 * reasons a scenario cannot run on the real kernel.
 */

import { AUTO_ONLINE_PATH } from "../kernel/hotplug.js";
import { isHugetlbPath, MAP_HUGETLB } from "../kernel/hugetlb.js";
import type { AddrExpr, NodesExpr, PidExpr, Scenario, Step } from "../scenario/types.js";
import { unbootable } from "./machine.js";

/** The release the oracle boots. */
export const ORACLE_KERNEL_VERSION = "6.1";

/** Where the guest mounts the disk of page-cache scenarios. */
export const FILES_DIR = "/mnt/cdmsim";

const FILE_OPS: ReadonlySet<string> = new Set(["write_file", "read_file", "sync", "file_placement"]);

/** Whether the scenario needs the disk: it has files, or a step reads, writes, syncs or measures one. */
export function usesFiles(sc: Scenario): boolean {
  return sc.files.size > 0 || sc.steps.some((s) => FILE_OPS.has(s.op));
}

/** The files a scenario names (in `files` or in a write_file step): those the result reports. */
export function fileNames(sc: Scenario): string[] {
  const names = new Set(sc.files.keys());
  for (const s of sc.steps) if (s.op === "write_file") names.add(s.file);
  return [...names];
}

const MiB = 1n << 20n;
const PAGE = 4096n;
/** pages around what a step touches where the guest also looks (a readahead window, VM_READAHEAD_PAGES) */
const RANGE_MARGIN = 32n;
/** at most this many ranges per file (the closest are joined) */
const MAX_RANGES = 512;

/**
 * The page ranges of a file ([first, end) in pages) that the scenario's reads and writes
 * touch, widened by RANGE_MARGIN and joined where they meet. The guest looks for a large
 * file's page-cache pages only there (a scan of every page of a sparse file of terabytes
 * would not end); a read to the end of the file counts to the largest size it can have.
 */
export function fileRanges(sc: Scenario, name: string): [bigint, bigint][] {
  let size = sc.files.get(name) ?? 0n;
  for (const s of sc.steps)
    if (s.op === "write_file" && s.file === name && s.offset + s.length > size) size = s.offset + s.length;
  const raw: [bigint, bigint][] = [];
  for (const s of sc.steps) {
    if ((s.op !== "write_file" && s.op !== "read_file") || s.file !== name) continue;
    const end = s.op === "read_file" && s.length === "file" ? size : s.offset + (s.length as bigint);
    if (end <= s.offset) continue;
    const first = s.offset / PAGE;
    const last = (end + PAGE - 1n) / PAGE;
    raw.push([first > RANGE_MARGIN ? first - RANGE_MARGIN : 0n, last + RANGE_MARGIN]);
  }
  raw.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const r of raw) {
    const prev = out[out.length - 1];
    if (prev && r[0] <= prev[1]) {
      if (r[1] > prev[1]) prev[1] = r[1];
    } else out.push([r[0], r[1]]);
  }
  if (out.length <= MAX_RANGES) return out;
  // too many: close the smallest gaps (a wider range is still right)
  const gaps = out.slice(1).map((r, i) => ({ i: i + 1, gap: r[0] - out[i]![1] }));
  gaps.sort((a, b) => (a.gap < b.gap ? -1 : a.gap > b.gap ? 1 : a.i - b.i));
  const close = new Set(gaps.slice(0, out.length - MAX_RANGES).map((g) => g.i));
  const joined: [bigint, bigint][] = [];
  out.forEach((r, i) => {
    if (close.has(i)) joined[joined.length - 1]![1] = r[1];
    else joined.push(r);
  });
  return joined;
}

/**
 * The disk a batch of scenarios needs: 64 MiB for the file system's metadata and the
 * files' sparse sizes, plus what the largest scenario writes (an eighth more for extent
 * blocks), in MiB. The image is sparse and only the scenario's writes fill it.
 */
export function diskBytes(scenarios: readonly Scenario[]): number {
  let most = 0n;
  for (const sc of scenarios) {
    let written = 0n;
    for (const s of sc.steps) if (s.op === "write_file") written += s.length;
    if (written > most) most = written;
  }
  const bytes = 64n * MiB + most + most / 8n;
  return Number(((bytes + MiB - 1n) / MiB) * MiB);
}

/** Ops only the model can run (no user-space equivalent). */
const MODEL_ONLY: ReadonlySet<string> = new Set([
  "kalloc",
  "device_migrate",
  "memory_tiers",
  "gpu_driver_load",
]);

/** Why the scenario cannot run on the real kernel, or undefined. */
export function skipReason(sc: Scenario): string | undefined {
  if (sc.design !== "mainline") return `design ${sc.design} exists only in the model`;
  if (sc.kernel.version !== ORACLE_KERNEL_VERSION) {
    return `kernel.version ${sc.kernel.version}: the oracle boots Linux ${ORACLE_KERNEL_VERSION}`;
  }
  const modelOnly = [...new Set(sc.steps.filter((s) => MODEL_ONLY.has(s.op)).map((s) => s.op))];
  if (modelOnly.length) return `model-only op${modelOnly.length > 1 ? "s" : ""}: ${modelOnly.join(", ")}`;
  if (sc.cgroups.some((c) => c.memHardwall || c.memExclusive || c.memorySpreadPage))
    return "cgroup v1 cpuset flags (mem_hardwall, mem_exclusive, memory_spread_page): the oracle runs cgroup v2";
  return unbootable(sc.machine);
}

/** Whether a scenario sizes the hugetlb pool or maps huge pages. */
export function usesHugetlb(sc: Scenario): boolean {
  return sc.steps.some(
    (s) =>
      (s.op === "sysfs_write" && isHugetlbPath(s.path)) || (s.op === "mmap" && (s.flags & MAP_HUGETLB) !== 0),
  );
}

/**
 * Whether a scenario boots alone: one that puts the machine under memory pressure (it maps,
 * writes or reads more than a quarter of the memory) runs on a kernel that has not been
 * through another scenario's pressure (freed pages still on per-CPU lists, pageblocks
 * stolen between migrate types, boosted watermarks); one that onlines or offlines memory
 * changes the machine for whatever would run after it; the huge page pool and the huge
 * zero page outlive the scenario that made them.
 */
export function bootsAlone(sc: Scenario): boolean {
  if (sc.steps.some((s) => s.op === "memory_offline" || s.op === "memory_online")) return true;
  if (sc.machine.nodes.some((n) => n.online === false)) return true;
  // the onlining policy of hot-added memory outlives the scenario
  if (sc.steps.some((s) => s.op === "sysfs_write" && s.path === AUTO_ONLINE_PATH)) return true;
  // the huge page pool and its rotors outlive a scenario
  if (usesHugetlb(sc)) return true;
  // so does the huge zero page; and THP faults need order-9 blocks, which an earlier
  // scenario's pages (on the per-CPU lists, or scattered) could take
  if (sc.kernel.thp !== "never") return true;
  const memory = sc.machine.nodes.reduce((a, n) => a + BigInt(n.memoryBytes), 0n);
  const sizes = new Map(sc.files);
  let mapped = 0n;
  for (const s of sc.steps) {
    if (s.op === "mmap") mapped += s.length;
    else if (s.op === "write_file") {
      mapped += s.length;
      const end = s.offset + s.length;
      if (end > (sizes.get(s.file) ?? 0n)) sizes.set(s.file, end);
    } else if (s.op === "read_file") {
      const size = sizes.get(s.file) ?? 0n;
      const rest = size > s.offset ? size - s.offset : 0n;
      mapped += s.length === "file" || s.length > rest ? rest : s.length;
    }
  }
  return mapped * 4n > memory;
}

/**
 * What must be equal for two scenarios to share a boot; `id` keeps a pressure scenario
 * alone. Scenarios with files boot with the disk (its modules and mount cost memory), so
 * they share boots only with each other.
 */
export function bootKey(sc: Scenario, id: number): string {
  return JSON.stringify({
    machine: sc.machine,
    thp: sc.kernel.thp,
    minFree: sc.kernel.minFreeKbytes ?? null,
    files: usesFiles(sc),
    alone: bootsAlone(sc) ? id : null,
  });
}

const pct = (s: string) => encodeURIComponent(s);
const filePath = (name: string) => `${FILES_DIR}/${name}`;

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
    case "write_file":
      return `write_file path=${pct(filePath(s.file))} len=${s.length} off=${s.offset}`;
    case "read_file":
      return `read_file path=${pct(filePath(s.file))} len=${s.length} off=${s.offset}`;
    case "sync":
      return "sync";
    case "file_placement":
      return `file_placement file=${s.file}`;
    case "meminfo":
      return "meminfo";
    case "kalloc":
      throw new Error("kalloc has no user-space equivalent");
    case "device_migrate":
      throw new Error(
        "device_migrate stands for a device driver's call, under a design the oracle does not boot",
      );
  }
}

/** The program of a boot: the disk's directory when it has one, then each scenario's program. */
export function batchProgram(scenarios: readonly Scenario[], indices: readonly number[]): string {
  const disk = indices.some((i) => usesFiles(scenarios[i]!));
  return (disk ? `D ${FILES_DIR}\n` : "") + indices.map((i) => guestProgram(scenarios[i]!, i)).join("");
}

/** The guest program of a scenario (the index identifies it in the guest's output). */
export function guestProgram(sc: Scenario, index: number): string {
  const lines: string[] = [`S ${index} ${sc.name.replace(/\s+/g, "_")}`];
  // memory that is offline at boot: the guest's pc-dimm is onlined at boot
  // (memhp_default_state), so the guest offlines it before anything else
  for (const n of sc.machine.nodes) if (n.online === false) lines.push(`O ${n.id}`);
  for (const c of sc.cgroups) {
    lines.push(
      `C ${c.path} ${c.cpus?.length ? c.cpus.join(",") : "-"} ${c.mems?.length ? c.mems.join(",") : "-"}`,
    );
  }
  // the files: made sparse before the first step, or only named (written by a step), and
  // where their steps can bring pages into the page cache
  for (const name of fileNames(sc)) {
    const size = sc.files.get(name);
    const ranges = fileRanges(sc, name).map(([a, b]) => `${a}-${b}`);
    lines.push(`F ${name} ${size === undefined ? "-" : size} ${ranges.length ? ranges.join(",") : "-"}`);
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
