/** A scenario compiled from its file: model values, checked, with source positions. */
import type { MachineSpec } from "../kernel/topology.js";

export interface SourcePos {
  line: number;
  column: number;
}

/** An address expression, resolved when the step runs (mappings are per task). */
export type AddrExpr =
  | { kind: "null" }
  | { kind: "bad" }
  | { kind: "literal"; value: bigint }
  | { kind: "mapping"; name: string; offset: bigint };

/** The pid argument of move_pages/migrate_pages: the caller (0), a task of the scenario, or a raw pid. */
export type PidExpr = { kind: "self" } | { kind: "task"; name: string } | { kind: "raw"; value: number };

/** move_pages entries: `count` consecutive pages from `addr`, each with `node` (null: query). */
export interface MovePagesRun {
  addr: AddrExpr;
  count: number;
  node: number | null;
}

export type NodesExpr = { kind: "null" } | { kind: "bad" } | { kind: "bits"; bits: number[] };

export interface Expectation {
  ret?: number;
  errno?: string | null;
  oom?: boolean;
  /** expected keys of `out`, in their written form (node lists normalised) */
  out: Record<string, unknown>;
}

interface StepBase {
  index: number;
  task: string;
  expect?: Expectation;
  comment?: string;
  pos?: SourcePos;
}

export type Step = StepBase &
  (
    | { op: "mmap"; name: string; length: bigint; flags: number; prot: number; addr: AddrExpr | null }
    | { op: "munmap"; addr: AddrExpr; length: bigint | "mapping" }
    | { op: "touch"; addr: AddrExpr; length: bigint | "mapping"; access: "read" | "write" }
    | {
        op: "mbind";
        addr: AddrExpr;
        length: bigint | "mapping";
        mode: number;
        nodes: NodesExpr;
        maxnode: bigint;
        flags: bigint;
      }
    | { op: "set_mempolicy"; mode: number; nodes: NodesExpr; maxnode: bigint }
    | { op: "get_mempolicy"; addr: AddrExpr; flags: bigint; maxnode: bigint; nmaskNull: boolean }
    | {
        op: "set_mempolicy_home_node";
        addr: AddrExpr;
        length: bigint | "mapping";
        homeNode: bigint;
        flags: bigint;
      }
    | { op: "placement"; addr: AddrExpr; length: bigint | "mapping" }
    | { op: "numastat" }
    | { op: "kalloc"; gfp: number; node: number | null; order: number; count: number }
    | { op: "sched_setaffinity"; cpu: number }
    | { op: "sysfs_write"; path: string; value: string }
    | { op: "cat"; path: string }
    | { op: "fallback_order" }
    | { op: "memory_tiers" }
    | { op: "gpu_driver_load"; node: number }
    | { op: "fork"; child: string }
    | { op: "move_pages"; pid: PidExpr; runs: MovePagesRun[]; query: boolean; flags: bigint }
    | { op: "migrate_pages"; pid: PidExpr; from: NodesExpr; to: NodesExpr; maxnode: bigint }
    | { op: "madvise"; addr: AddrExpr; length: bigint | "mapping"; advice: number }
    | { op: "memory_offline"; node: number }
    | { op: "memory_online"; node: number; zone: "movable" | "normal" }
    | { op: "cgroup_create"; cgroup: string }
    | { op: "cgroup_write"; cgroup: string; file: string; value: string }
    | { op: "cgroup_attach"; cgroup: string }
    | { op: "exit" }
    | { op: "write_file"; file: string; length: bigint; offset: bigint }
    | { op: "read_file"; file: string; length: bigint | "file"; offset: bigint }
    | { op: "sync" }
    | { op: "file_placement"; file: string }
    | { op: "meminfo" }
    | { op: "device_migrate"; addr: AddrExpr; length: bigint | "mapping"; node: number }
  );

export type StepOp = Step["op"];

export interface CgroupSpec {
  path: string;
  cpus?: number[];
  mems?: number[];
  memHardwall: boolean;
  memExclusive: boolean;
  /** cgroup v1 cpuset.memory_spread_page */
  memorySpreadPage: boolean;
}

export interface TaskSpec {
  name: string;
  cgroup: string;
  /** the CPU the task is pinned to (the lowest allowed one when the file gives none) */
  cpu: number;
  privileged: boolean;
  /** a device-aware application (design cpuset-admin starts it in the device cpuset) */
  aware: boolean;
  /** a child made by a `fork` step of this task (it exists from that step on) */
  forkedBy?: string;
}

export interface Scenario {
  /** the file it came from, if any */
  file?: string;
  name: string;
  description?: string;
  design: string;
  kernel: {
    version: string;
    thp: "never" | "madvise" | "always";
    numaBalancing: boolean;
    minFreeKbytes?: number;
    weights: Map<number, number>;
  };
  machine: MachineSpec;
  cgroups: CgroupSpec[];
  /** files on the disk file system before the first step (sparse, not in the page cache): name → bytes */
  files: Map<string, bigint>;
  tasks: TaskSpec[];
  /** design cpuset-admin: steps between a device node's hot-add and the cpuset update */
  admin: { hotplugDelay: number };
  steps: Step[];
  /** ops that only the model can run (verify skips such scenarios) */
  modelOnlyOps: string[];
}
