/**
 * `cdmsim compare`: one scenario under several designs, side by side. The numbers come
 * from each run's result (pages per mapping per node, steps, events) and from the
 * scenario (which nodes are device memory, which policies name them), never from the
 * designs themselves.
 *
 * - device nodes: the nodes marked `cdm: true`; on a machine without any, the CPU-less
 *   nodes with memory (GPU memory, CXL expanders, HBM as Linux shows them);
 * - isolation breaches: resident pages on a device node in a mapping whose policy at the
 *   end does not name that node, plus page-cache pages on device nodes (page cache follows
 *   no VMA policy);
 * - reachability: pages of mappings whose policy names a device node, on device nodes and
 *   elsewhere, and the steps that named a device node in a policy and were refused;
 * - OOM kills, and the administrative steps (cgroup operations) the scenario performs;
 * - the run's pages in use per node after boot and after each step (`usage`, for charts).
 */
import { MAX_NUMNODES } from "../kernel/constants.js";
import { parseList } from "../kernel/nodemask.js";
import { deviceNodeIds } from "../kernel/topology.js";
import type { NodeUsage, ResultJson, RunOutput, StepResult } from "../scenario/runner.js";
import type { Scenario } from "../scenario/types.js";
import type { Style } from "./style.js";

export interface DesignColumn {
  design: string;
  /** mapping → node → pages */
  mappings: Record<string, Record<string, number>>;
  /** file → node → pages */
  files: Record<string, Record<string, number>>;
  isolation: { pages: number; mappings: string[] };
  reachability: { onDevice: number; elsewhere: number; refused: { step: number; errno: string }[] };
  oomKills: { step: number; victim: string | null }[];
  adminSteps: number;
  /**
   * the administrator's updates after a device node's hot-add (cpuset-admin): the nodes,
   * the step that onlined them, the step after which the update ran, and the policy
   * requests naming a device node refused in between
   */
  hotAddWindows: { nodes: number[]; onlineStep: number; updatedAfter: number; refused: number }[];
  /** the run's expectations, when the scenario has any: held or not */
  ok: boolean;
  /** what each step returned under this design: a return value with its errno, "killed" or "skipped" */
  stepResults: string[];
  /**
   * isolation: no breach; reachability: every page asked for on a device node is there,
   * no policy naming one was refused, and no task that named one was OOM-killed
   */
  verdict: { isolation: boolean; reachability: boolean };
  /** pages in use per node after boot and after each step (the run's own counts) */
  usage: NodeUsage;
}

export interface CompareResult {
  format: "cdmsim-compare/1";
  scenario: string;
  deviceNodes: number[];
  designs: DesignColumn[];
}

const POLICY_OPS = new Set(["mbind", "set_mempolicy"]);

/** Whether a step is an mbind or set_mempolicy naming one of the device nodes. */
function policyNamesDevice(step: Scenario["steps"][number], devices: readonly number[]): boolean {
  if (!POLICY_OPS.has(step.op) || !("nodes" in step) || step.nodes.kind !== "bits") return false;
  return step.nodes.bits.some((n) => devices.includes(n));
}

/** The nodes a policy string of numa_maps names ("bind:2", "interleave:0-2", "default"). */
function policyNodes(policy: string): number[] {
  const m = /:(.*)$/.exec(policy);
  if (!m) return [];
  try {
    return parseList(m[1]!, MAX_NUMNODES);
  } catch {
    return [];
  }
}

function column(sc: Scenario, run: ResultJson, devices: readonly number[]): Omit<DesignColumn, "usage"> {
  const isDevice = (n: string) => devices.includes(Number(n));
  const mappings: DesignColumn["mappings"] = {};
  const isolation = { pages: 0, mappings: [] as string[] };
  const reach = { onDevice: 0, elsewhere: 0, refused: [] as { step: number; errno: string }[] };
  // a device driver's migration (device_migrate) asks for its node too
  const migrated = new Map<string, number[]>();
  for (const st of sc.steps) {
    if (st.op !== "device_migrate" || st.addr.kind !== "mapping") continue;
    const key = `${st.task}:${st.addr.name}`;
    migrated.set(key, [...(migrated.get(key) ?? []), st.node]);
  }
  for (const [name, m] of Object.entries(run.mappings)) {
    mappings[name] = m.pages;
    const asked = [...policyNodes(m.policy), ...(migrated.get(name) ?? [])].filter((n) =>
      devices.includes(n),
    );
    let unasked = 0;
    for (const [node, pages] of Object.entries(m.pages)) {
      if (isDevice(node) && !asked.includes(Number(node))) unasked += pages;
      if (asked.length) {
        if (isDevice(node)) reach.onDevice += pages;
        else reach.elsewhere += pages;
      }
    }
    if (unasked) {
      isolation.pages += unasked;
      isolation.mappings.push(name);
    }
  }
  const files: DesignColumn["files"] = {};
  for (const [name, f] of Object.entries(run.files ?? {})) {
    files[name] = f.pages;
    let onDevice = 0;
    for (const [node, pages] of Object.entries(f.pages)) if (isDevice(node)) onDevice += pages;
    if (onDevice) {
      isolation.pages += onDevice;
      isolation.mappings.push(`file:${name}`);
    }
  }
  for (const r of run.steps) {
    if (r.errno !== null && policyNamesDevice(sc.steps[r.index]!, devices))
      reach.refused.push({ step: r.index, errno: r.errno });
  }
  const oomKills = run.events
    .filter((e) => e.kind === "oom")
    .map((e) => ({ step: e.step, victim: e.kind === "oom" ? e.victim : null }));
  // the scenario's own cgroups and cgroup steps, and the design's administrator's actions
  const adminEvents = run.events.filter((e) => e.kind === "admin");
  const adminSteps =
    sc.steps.filter((s) => s.op.startsWith("cgroup_")).length + sc.cgroups.length + adminEvents.length;
  const hotAddWindows = adminEvents.flatMap((e) =>
    e.hotAdd
      ? [
          {
            nodes: e.hotAdd.nodes,
            onlineStep: e.hotAdd.onlineStep,
            updatedAfter: e.step,
            refused: reach.refused.filter((r) => r.step > e.hotAdd!.onlineStep && r.step <= e.step).length,
          },
        ]
      : [],
  );
  // the tasks that named a device node in a policy
  const askers = new Set(sc.steps.filter((s) => policyNamesDevice(s, devices)).map((s) => s.task));
  const verdict = {
    isolation: isolation.pages === 0,
    reachability:
      reach.elsewhere === 0 &&
      reach.refused.length === 0 &&
      !oomKills.some((o) => o.victim !== null && askers.has(o.victim)),
  };
  return {
    design: run.design,
    mappings,
    files,
    isolation,
    reachability: reach,
    oomKills,
    adminSteps,
    hotAddWindows,
    ok: run.ok,
    stepResults: run.steps.map(stepOutcome),
    verdict,
  };
}

/** A step's outcome in a word or two: "0", "-1 EINVAL", "killed" (OOM) or "skipped". */
export function stepOutcome(r: StepResult): string {
  if (r.skipped) return "skipped";
  if (r.oom) return "killed";
  return r.errno ? `${r.ret} ${r.errno}` : String(r.ret);
}

export function compareRuns(sc: Scenario, runs: readonly RunOutput[]): CompareResult {
  const devices = deviceNodeIds(sc.machine);
  return {
    format: "cdmsim-compare/1",
    scenario: sc.name,
    deviceNodes: devices,
    designs: runs.map((r) => {
      if (!r.usage) throw new Error("compareRuns needs runs made with { usage: true }");
      return { ...column(sc, r.result, devices), usage: r.usage };
    }),
  };
}

const nodesText = (pages: Record<string, number>) => {
  const e = Object.entries(pages).filter(([, n]) => n > 0);
  return e.length ? e.map(([n, c]) => `N${n}=${c}`).join(" ") : "·";
};

/** The cells of the comparison table: a header, then a row per line, each with a column per design. */
export interface CompareTable {
  heads: string[];
  rows: string[][];
  verdict: string[][];
}

/** The comparison table's cells, shared by the text and the HTML reports. */
export function compareTable(c: CompareResult): CompareTable {
  const heads = ["", ...c.designs.map((d) => d.design)];
  const rows: string[][] = [];
  const names = new Set(c.designs.flatMap((d) => Object.keys(d.mappings)));
  for (const n of names)
    rows.push([n, ...c.designs.map((d) => (d.mappings[n] ? nodesText(d.mappings[n]!) : "(gone)"))]);
  const files = new Set(c.designs.flatMap((d) => Object.keys(d.files)));
  for (const f of files) rows.push([`file:${f}`, ...c.designs.map((d) => nodesText(d.files[f] ?? {}))]);
  rows.push(["isolation breaches (pages)", ...c.designs.map((d) => String(d.isolation.pages))]);
  rows.push(["asked for a device node: there", ...c.designs.map((d) => String(d.reachability.onDevice))]);
  rows.push([
    "asked for a device node: elsewhere",
    ...c.designs.map((d) => String(d.reachability.elsewhere)),
  ]);
  rows.push([
    "policy requests refused",
    ...c.designs.map((d) =>
      d.reachability.refused.length
        ? d.reachability.refused.map((r) => `step ${r.step} ${r.errno}`).join(", ")
        : "0",
    ),
  ]);
  rows.push([
    "OOM kills",
    ...c.designs.map((d) =>
      d.oomKills.length ? d.oomKills.map((o) => `step ${o.step} ${o.victim ?? "none"}`).join(", ") : "0",
    ),
  ]);
  rows.push(["administrative steps", ...c.designs.map((d) => String(d.adminSteps))]);
  if (c.designs.some((d) => d.hotAddWindows.length))
    rows.push([
      "hot-add window (steps)",
      ...c.designs.map((d) =>
        d.hotAddWindows.length
          ? d.hotAddWindows
              .map(
                (w) =>
                  `node ${w.nodes.join(",")}: ${w.updatedAfter - w.onlineStep}` +
                  (w.refused ? `, ${w.refused} refused` : ""),
              )
              .join("; ")
          : "-",
      ),
    ]);
  const yes = (b: boolean) => (b ? "yes" : "no");
  const verdict: string[][] = [
    ["keeps isolation", ...c.designs.map((d) => yes(d.verdict.isolation))],
    ["keeps reachability", ...c.designs.map((d) => yes(d.verdict.reachability))],
  ];
  return { heads, rows, verdict };
}

/** The comparison as a table, one column per design. */
export function renderCompare(c: CompareResult, s: Style): string {
  const { heads, rows, verdict } = compareTable(c);
  const width = heads.map((_, i) =>
    Math.max(heads[i]!.length, ...rows.map((r) => r[i]!.length), ...verdict.map((r) => r[i]!.length)),
  );
  const line = (r: string[]) =>
    `  ${r.map((cell, i) => (i === 0 ? cell.padEnd(width[i]!) : cell.padEnd(width[i]!))).join("  ")}`.trimEnd();
  const out = [
    s.bold(`${c.scenario} — device nodes ${c.deviceNodes.join(",") || "none"}`),
    "",
    s.bold(line(heads)),
    ...rows.map(line),
    "",
    s.bold("Verdict"),
    ...verdict.map(line),
    "",
  ];
  return out.join("\n");
}
