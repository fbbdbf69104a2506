/**
 * The scenario file format, version 1 (docs/scenario-format.md): one zod schema that
 * validates files, gives the TypeScript types, and generates the JSON Schema editors use
 * (`cdmsim schema`). Values keep their written form here; compile.ts turns them into the
 * model's values with the checks a schema cannot express.
 */
import * as z from "zod";

const SIZE_HINT = "a size: bytes (4096), a unit (64KiB, 512MiB, 16GiB, 1TiB) or pages (16p)";
const LIST_HINT = 'a node list: "0-2,5", "" or a list of ids';

export const Size = z.union([z.number().int().nonnegative(), z.string().min(1)], {
  error: `expected ${SIZE_HINT}`,
});
export const IdList = z.union([z.string(), z.array(z.number().int().nonnegative())], {
  error: `expected ${LIST_HINT}`,
});
/** A nodemask argument: a list, null (NULL pointer) or "bad" (an unreadable pointer). */
export const NodesArg = z.union([z.string(), z.array(z.number().int().nonnegative()), z.null()], {
  error: `expected ${LIST_HINT}, null or "bad"`,
});
/** An address: <mapping>, <mapping>+<size>, an integer, null or "bad". */
export const Addr = z.union([z.string().min(1), z.number().int(), z.null()], {
  error: "expected an address: a mapping name, name+size, an integer, null or bad",
});
/** A symbolic name, a raw integer, or a list of names/integers OR-ed together. */
export const Flags = z.union(
  [z.string(), z.number().int(), z.array(z.union([z.string(), z.number().int()]))],
  {
    error: "expected a flag name, an integer or a list of them",
  },
);
export const Int = z.union([z.number().int(), z.string().regex(/^-?(0x[0-9a-fA-F]+|\d+)$/)], {
  error: "expected an integer",
});

/** move_pages: pages in one step (a run), and entries of an explicit list */
export const MOVE_PAGES_MAX = 65536;
export const MOVE_PAGES_LIST_MAX = 1024;

/** A cgroup: "/" or /name/name... */
const CgroupPath = z.string().regex(/^\/([A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*)?$/, {
  error: "a cgroup path: / or /name/... (letters, digits, _ . -)",
});

export const DESIGN_IDS = [
  "mainline",
  "cdm-v3",
  "cdm-v2",
  "cdm-zonelist",
  "cdm-cpuset",
  "coherent-memory",
  "cpuset-admin",
  "hmm-device",
  "protected-nodes",
] as const;

export const NodeSchema = z.strictObject({
  id: z.number().int().min(0).max(1023),
  cpus: IdList.optional(),
  memory: Size.optional(),
  movable: z.boolean().optional(),
  kind: z.enum(["dram", "hbm", "gpu", "cxl", "pmem"]).optional(),
  cdm: z.boolean().optional(),
  /** false: movable memory present but offline at boot, onlined later by memory_online */
  online: z.boolean().optional(),
  /** memory bandwidth from the nearest CPUs in MB/s (ACPI HMAT); carried, not used for placement */
  bandwidth_mbps: z.number().int().min(0).optional(),
  /** memory latency from the nearest CPUs in nanoseconds (ACPI HMAT); carried, not used for placement */
  latency_ns: z.number().int().min(0).optional(),
  /** the abstract distance of the node's memory type (memory tiers); default 576, DRAM's */
  adistance: z.number().int().min(0).max(65535).optional(),
});

export const MachineSchema = z.strictObject({
  preset: z.string().optional(),
  /** a real machine's description: hwloc XML, a sysfs directory or tarball, or `numactl --hardware` text */
  import: z.string().min(1).optional(),
  /** nodes to mark as coherent device memory (for a preset's nodes) */
  cdm: IdList.optional(),
  /** movable nodes whose memory is offline at boot (for a preset's nodes), as `online: false` */
  offline: IdList.optional(),
  nodes: z.array(NodeSchema).min(1).max(1024).optional(),
  distances: z.array(z.array(z.number().int().min(0).max(255))).optional(),
});

export const KernelSchema = z.strictObject({
  version: z
    .string()
    .regex(/^\d+\.\d+/)
    .optional(),
  thp: z.enum(["never", "madvise", "always"]).optional(),
  numa_balancing: z.boolean().optional(),
  min_free_kbytes: z.number().int().min(128).max(67108864).optional(),
  weighted_interleave: z.record(z.string().regex(/^\d+$/), z.number().int().min(1).max(255)).optional(),
  page_size: z.literal(4096).optional(),
});

export const CgroupSchema = z.strictObject({
  cpus: IdList.optional(),
  mems: IdList.optional(),
  mem_hardwall: z.boolean().optional(),
  mem_exclusive: z.boolean().optional(),
  memory_spread_page: z.boolean().optional(),
});

/** A file name on the scenario's disk file system (one directory, no paths). */
export const FileName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, {
  error: "a file name is up to 64 letters, digits, _ . - (no directories)",
});

export const TaskSchema = z.strictObject({
  cgroup: z.string().optional(),
  cpu: z.number().int().min(0).optional(),
  privileged: z.boolean().optional(),
  /** a device-aware application (design cpuset-admin starts it in the device cpuset) */
  aware: z.boolean().optional(),
});

/** The administrator of design cpuset-admin. */
export const AdminSchema = z.strictObject({
  /** steps that run between a device node's hot-add and the administrator's cpuset update */
  hotplug_delay: z.number().int().min(0).max(100000).optional(),
});

/** Expectations: ret, errno, oom, and any key of the step's `out`. */
export const ExpectSchema = z
  .object({
    ret: z.number().int().optional(),
    errno: z.union([z.string().regex(/^E[A-Z0-9]+$/), z.null()]).optional(),
    oom: z.boolean().optional(),
    mode: z.string().optional(),
    mode_flags: z.array(z.string()).optional(),
    nodes: IdList.optional(),
    node: z.number().int().optional(),
    pages: z.record(z.string().regex(/^\d+$/), z.number().int().nonnegative()).optional(),
    text: z.string().optional(),
    lines: z.array(z.string()).optional(),
  })
  .catchall(z.unknown());

const common = {
  task: z.string().optional(),
  expect: ExpectSchema.optional(),
  comment: z.string().optional(),
};

export const StepSchema = z.discriminatedUnion("op", [
  z.strictObject({
    op: z.literal("mmap"),
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, {
      error: "a mapping name is a letter or _ followed by letters, digits, _ . -",
    }),
    length: Size,
    flags: Flags.optional(),
    prot: Flags.optional(),
    addr: Addr.optional(),
    ...common,
  }),
  z.strictObject({ op: z.literal("munmap"), addr: Addr, length: Size.optional(), ...common }),
  z.strictObject({
    op: z.literal("touch"),
    addr: Addr,
    length: Size.optional(),
    access: z.enum(["read", "write"]).optional(),
    ...common,
  }),
  z.strictObject({
    op: z.literal("mbind"),
    addr: Addr,
    length: Size.optional(),
    mode: Flags,
    mode_flags: Flags.optional(),
    nodes: NodesArg.optional(),
    maxnode: Int.optional(),
    flags: Flags.optional(),
    ...common,
  }),
  z.strictObject({
    op: z.literal("set_mempolicy"),
    mode: Flags,
    mode_flags: Flags.optional(),
    nodes: NodesArg.optional(),
    maxnode: Int.optional(),
    ...common,
  }),
  z.strictObject({
    op: z.literal("get_mempolicy"),
    addr: Addr.optional(),
    flags: Flags.optional(),
    maxnode: Int.optional(),
    nodes: z.null().optional(),
    ...common,
  }),
  z.strictObject({
    op: z.literal("set_mempolicy_home_node"),
    addr: Addr,
    length: Size.optional(),
    home_node: Int,
    flags: Flags.optional(),
    ...common,
  }),
  z.strictObject({ op: z.literal("placement"), addr: Addr, length: Size.optional(), ...common }),
  z.strictObject({ op: z.literal("numastat"), ...common }),
  z.strictObject({
    op: z.literal("kalloc"),
    gfp: Flags,
    node: z.number().int().min(0).max(1023).optional(),
    order: z.number().int().min(0).max(10).optional(),
    count: z
      .number()
      .int()
      .min(1)
      .max(1 << 30)
      .optional(),
    ...common,
  }),
  z.strictObject({ op: z.literal("sched_setaffinity"), cpu: z.number().int().min(0), ...common }),
  z.strictObject({
    op: z.literal("sysfs_write"),
    path: z.string(),
    value: z.union([z.string(), z.number()]),
    ...common,
  }),
  z.strictObject({ op: z.literal("cat"), path: z.string(), ...common }),
  z.strictObject({ op: z.literal("memory_tiers"), ...common }),
  z.strictObject({ op: z.literal("gpu_driver_load"), node: z.number().int().min(0).max(1023), ...common }),
  z.strictObject({
    op: z.literal("fork"),
    child: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, {
      error: "a task name is a letter or _ followed by letters, digits, _ . -",
    }),
    ...common,
  }),
  z.strictObject({ op: z.literal("exit"), ...common }),
  z.strictObject({
    op: z.literal("madvise"),
    addr: Addr,
    length: Size.optional(),
    advice: Flags,
    ...common,
  }),
  z.strictObject({ op: z.literal("memory_offline"), node: z.number().int().min(0).max(1023), ...common }),
  z.strictObject({
    op: z.literal("memory_online"),
    node: z.number().int().min(0).max(1023),
    zone: z.enum(["movable", "normal"]).optional(),
    ...common,
  }),
  z.strictObject({ op: z.literal("cgroup_create"), cgroup: CgroupPath, ...common }),
  z.strictObject({
    op: z.literal("cgroup_write"),
    cgroup: CgroupPath,
    file: z.enum(["cpuset.mems", "cpuset.cpus", "cpuset.cpus.partition"]),
    value: z.union([z.string(), z.number().int().nonnegative()]),
    ...common,
  }),
  z.strictObject({ op: z.literal("cgroup_attach"), cgroup: CgroupPath, ...common }),
  z.strictObject({
    op: z.literal("migrate_pages"),
    pid: z.union([z.string().min(1), z.number().int()]).optional(),
    from: NodesArg,
    to: NodesArg,
    maxnode: Int.optional(),
    ...common,
  }),
  z.strictObject({
    op: z.literal("move_pages"),
    pid: z.union([z.string().min(1), z.number().int()]).optional(),
    pages: z.union([
      z.array(Addr).min(1).max(MOVE_PAGES_LIST_MAX),
      z.strictObject({ addr: Addr, count: z.number().int().min(1).max(MOVE_PAGES_MAX) }),
    ]),
    nodes: z.union([z.null(), z.number().int(), z.array(z.number().int())]).optional(),
    flags: Flags.optional(),
    ...common,
  }),
  z.strictObject({ op: z.literal("fallback_order"), ...common }),
  z.strictObject({
    op: z.literal("write_file"),
    file: FileName,
    length: Size,
    offset: Size.optional(),
    ...common,
  }),
  z.strictObject({
    op: z.literal("read_file"),
    file: FileName,
    length: Size.optional(),
    offset: Size.optional(),
    ...common,
  }),
  z.strictObject({ op: z.literal("sync"), ...common }),
  z.strictObject({ op: z.literal("file_placement"), file: FileName, ...common }),
  z.strictObject({ op: z.literal("meminfo"), ...common }),
  z.strictObject({
    op: z.literal("device_migrate"),
    addr: Addr,
    length: Size.optional(),
    node: z.number().int().min(0).max(1023),
    ...common,
  }),
]);

export const ScenarioSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  design: z.enum(DESIGN_IDS).optional(),
  kernel: KernelSchema.optional(),
  machine: MachineSchema,
  cgroups: z.record(CgroupPath, CgroupSchema).optional(),
  files: z.record(FileName, Size).optional(),
  tasks: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/), TaskSchema).optional(),
  admin: AdminSchema.optional(),
  steps: z.array(StepSchema).max(100000).optional(),
});

export type ScenarioInput = z.infer<typeof ScenarioSchema>;
export type StepInput = z.infer<typeof StepSchema>;
export type ExpectInput = z.infer<typeof ExpectSchema>;

/** The JSON Schema of scenario files. */
export function scenarioJsonSchema(): unknown {
  const schema = z.toJSONSchema(ScenarioSchema, { target: "draft-2020-12" }) as Record<string, unknown>;
  return { title: "cdmsim scenario (format version 1)", ...schema };
}
