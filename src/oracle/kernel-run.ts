/**
 * Running scenarios on the real kernel: group them by machine, boot each group once, and
 * turn the guest's output into results in the format of docs/scenario-format.md.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KernelEvent } from "../kernel/kernel.js";
import { recordExpectation } from "../scenario/expect.js";
import type { FileResult, MappingResult, ResultJson, StepResult } from "../scenario/runner.js";
import type { Scenario } from "../scenario/types.js";
import { bootBatch, cacheDir, findKernel } from "./boot.js";
import { qemuMachine } from "./machine.js";
import { batchProgram, bootKey, diskBytes, fileNames, skipReason, usesFiles } from "./program.js";

export interface KernelNodes {
  possible: string;
  online: string;
  has_cpu: string;
  has_memory: string;
  has_normal_memory: string;
  [k: string]: string;
}

export type KernelOutcome =
  | {
      kind: "ran";
      result: ResultJson & { kernel_fallback_order: string[]; kernel_nodes: KernelNodes };
      seconds: number;
    }
  | { kind: "skipped"; reason: string }
  | { kind: "error"; reason: string };

interface Parsed {
  nodes?: KernelNodes;
  fallback: string[];
  steps: Map<
    number,
    Map<number, { ret: number | null; errno: string | null; out?: Record<string, unknown>; killed?: boolean }>
  >;
  oom: Map<number, { step: number; victim: string; constraint: string; nodemask: string | null }[]>;
  maps: Map<number, Record<string, MappingResult>>;
  files: Map<number, Record<string, FileResult>>;
  errors: Map<number, string[]>;
  done: Set<number>;
}

/** A guest line that is not what the runner prints (the console mixed something in). */
class GarbledLine extends Error {}

function json(line: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new GarbledLine(`garbled guest output: "@@${line.slice(0, 160)}"`);
  }
}

function parse(lines: readonly string[]): Parsed {
  const p: Parsed = {
    fallback: [],
    steps: new Map(),
    oom: new Map(),
    maps: new Map(),
    files: new Map(),
    errors: new Map(),
    done: new Set(),
  };
  const at = <T>(m: Map<number, T>, k: number, init: () => T): T => {
    let v = m.get(k);
    if (v === undefined) {
      v = init();
      m.set(k, v);
    }
    return v;
  };
  for (const line of lines) {
    const kind = line[0];
    const rest = line.slice(2);
    if (kind === "F") p.fallback.push(rest);
    else if (kind === "N") p.nodes = json(line, rest) as KernelNodes;
    else if (kind === "R") {
      const m = /^(\d+) (\d+) (.*)$/.exec(rest);
      if (m)
        at(p.steps, Number(m[1]), () => new Map()).set(
          Number(m[2]),
          json(line, m[3]!) as Record<string, unknown>,
        );
    } else if (kind === "K") {
      const m = /^(\d+) (\d+)/.exec(rest);
      if (m)
        at(p.steps, Number(m[1]), () => new Map()).set(Number(m[2]), {
          ret: null,
          errno: null,
          killed: true,
        });
    } else if (kind === "O") {
      const m = /^(\d+) (-?\d+) (.*)$/.exec(rest);
      if (m) {
        const o = json(line, m[3]!) as { victim: string; constraint: string; nodemask: string };
        at(p.oom, Number(m[1]), () => []).push({
          step: Number(m[2]),
          victim: o.victim,
          constraint: o.constraint.replace(/^CONSTRAINT_/, ""),
          nodemask: o.nodemask === "(null)" || o.nodemask === "" ? null : o.nodemask,
        });
      }
    } else if (kind === "M") {
      const m = /^(\d+) (\S+) (\S+) (.*)$/.exec(rest);
      if (m)
        at(p.maps, Number(m[1]), (): Record<string, MappingResult> => ({}))[`${m[2]}:${m[3]}`] = json(
          line,
          m[4]!,
        ) as MappingResult;
    } else if (kind === "L") {
      const m = /^(\d+) (\S+) (.*)$/.exec(rest);
      if (m)
        at(p.files, Number(m[1]), (): Record<string, FileResult> => ({}))[m[2]!] = json(
          line,
          m[3]!,
        ) as FileResult;
    } else if (kind === "X") {
      const m = /^(-?\d+) (.*)$/.exec(rest);
      if (m) at(p.errors, Number(m[1]), () => []).push(m[2]!);
    } else if (kind === "E") p.done.add(Number(rest));
  }
  return p;
}

/** The kernel's last "Fallback order for Node N:" lines, one per node. */
function lastFallbackLines(lines: readonly string[]): string[] {
  const byNode = new Map<number, string>();
  for (const l of lines) {
    const m = /^Fallback order for Node (\d+):/.exec(l);
    if (m) byNode.set(Number(m[1]), l);
  }
  return [...byNode.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
}

function buildResult(sc: Scenario, index: number, p: Parsed, engine: string): ResultJson {
  const got = p.steps.get(index) ?? new Map();
  const alive = new Set(sc.tasks.map((t) => t.name));
  const steps: StepResult[] = [];
  const events: KernelEvent[] = [];
  const ooms = p.oom.get(index) ?? [];
  let ok = true;
  for (const s of sc.steps) {
    let r: StepResult;
    const g = got.get(s.index);
    if (s.op === "fallback_order" && !g) {
      // a guest without the command: the lines of the boot
      r = {
        index: s.index,
        task: s.task,
        op: s.op,
        ret: 0,
        errno: null,
        out: { lines: lastFallbackLines(p.fallback) },
      };
    } else if (!alive.has(s.task) || !g) {
      r = { index: s.index, task: s.task, op: s.op, ret: null, errno: null, skipped: true };
    } else if (g.killed) {
      r = { index: s.index, task: s.task, op: s.op, ret: null, errno: null, oom: true };
    } else {
      r = { index: s.index, task: s.task, op: s.op, ret: g.ret, errno: g.errno };
      if (g.out) r.out = g.out;
    }
    for (const o of ooms.filter((x) => x.step === s.index)) {
      events.push({
        kind: "oom",
        step: s.index,
        task: s.task,
        victim: o.victim,
        constraint: o.constraint as "NONE" | "CPUSET" | "MEMORY_POLICY",
        nodemask: o.nodemask,
        victimRss: 0,
        victimPgtables: 0,
      });
      alive.delete(o.victim);
    }
    if (r.oom) alive.delete(s.task);
    if (!recordExpectation(s, r)) ok = false;
    steps.push(r);
  }
  // the files the scenario names, as they are at its end (one that does not exist is left out)
  let files: Record<string, FileResult> | undefined;
  if (usesFiles(sc)) {
    const got = p.files.get(index) ?? {};
    files = {};
    for (const name of fileNames(sc).sort()) if (got[name]) files[name] = got[name];
  }
  return {
    format: "cdmsim-result/1",
    scenario: sc.name,
    design: "mainline",
    engine,
    kernel: "6.1",
    steps,
    mappings: p.maps.get(index) ?? {},
    ...(files ? { files } : {}),
    events,
    ok,
    numastat: {},
    fallback_order: lastFallbackLines(p.fallback),
  };
}

export interface KernelRunOptions {
  jobs?: number;
  /** called when a boot starts and ends, for progress */
  onProgress?: (done: number, total: number, label: string) => void;
  /** the guest's node states the scenario's machine should show (from the model) */
  expectNodes: (sc: Scenario) => KernelNodes;
}

/** Run scenarios on the real kernel; scenarios that cannot run are reported as skipped. */
export async function runOnKernel(
  scenarios: readonly Scenario[],
  opts: KernelRunOptions,
): Promise<KernelOutcome[]> {
  const outcomes: KernelOutcome[] = scenarios.map(() => ({ kind: "skipped", reason: "" }));
  const groups = new Map<string, number[]>();
  scenarios.forEach((sc, i) => {
    const why = skipReason(sc);
    if (why) {
      outcomes[i] = { kind: "skipped", reason: why };
      return;
    }
    const key = bootKey(sc, i);
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  if (groups.size === 0) return outcomes;
  const kernel = findKernel();
  const batches = [...groups.values()];
  let done = 0;
  const runBatch = async (b: number) => {
    const members = batches[b]!;
    const first = scenarios[members[0]!]!;
    const program = batchProgram(scenarios, members);
    const disk = members.some((i) => usesFiles(scenarios[i]!))
      ? diskBytes(members.map((i) => scenarios[i]!))
      : undefined;
    opts.onProgress?.(
      done,
      batches.length,
      `${first.name}${members.length > 1 ? ` and ${members.length - 1} more` : ""}`,
    );
    const workDir = join(cacheDir(), "work", `batch-${process.pid}-${b}`);
    /** the console of a guest whose output could not be read is kept for a look */
    let keep = false;
    try {
      const boot = await bootBatch(
        qemuMachine(first.machine),
        program,
        { thp: first.kernel.thp, minFreeKbytes: first.kernel.minFreeKbytes, diskBytes: disk },
        workDir,
      );
      let p: Parsed;
      try {
        p = parse(boot.lines);
      } catch (e) {
        // keep the console for a look
        writeFileSync(join(workDir, "console.log"), boot.console);
        keep = true;
        throw new Error(`${(e as Error).message} (console in ${join(workDir, "console.log")})`);
      }
      const want = opts.expectNodes(first);
      const mismatch = p.nodes ? nodesMismatch(want, p.nodes) : "the guest printed no node states";
      for (const i of members) {
        const sc = scenarios[i]!;
        if (mismatch) {
          outcomes[i] = {
            kind: "skipped",
            reason: `the guest's nodes differ from the scenario's (${mismatch})`,
          };
          continue;
        }
        // the runner's own failures (-1) concern every scenario of the boot
        const errs = [...(p.errors.get(-1) ?? []), ...(p.errors.get(i) ?? [])];
        if (errs?.length) {
          outcomes[i] = { kind: "error", reason: errs.join("; ") };
          continue;
        }
        if (!p.done.has(i)) {
          outcomes[i] = { kind: "error", reason: "the guest runner did not finish the scenario" };
          continue;
        }
        outcomes[i] = {
          kind: "ran",
          result: {
            ...buildResult(sc, i, p, kernel.engine),
            kernel_fallback_order: lastFallbackLines(p.fallback),
            kernel_nodes: p.nodes!,
          },
          seconds: boot.seconds / members.length,
        };
      }
    } catch (e) {
      for (const i of members) outcomes[i] = { kind: "error", reason: (e as Error).message };
      if ((e as Error).name === "OracleSetupError" || (e as Error).constructor.name === "OracleSetupError")
        throw e;
    } finally {
      // the initrd and the disk image go, whatever happened to the boot
      if (!keep) rmSync(workDir, { recursive: true, force: true });
    }
    done++;
    opts.onProgress?.(done, batches.length, "");
  };
  const jobs = Math.max(1, opts.jobs ?? 1);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, batches.length) }, async () => {
      while (next < batches.length) await runBatch(next++);
    }),
  );
  return outcomes;
}

function nodesMismatch(want: KernelNodes, got: KernelNodes): string | undefined {
  const diffs: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    if (got[k] !== v) diffs.push(`${k}: expected "${v}", the guest has "${got[k] ?? "(none)"}"`);
  }
  return diffs.length ? diffs.join("; ") : undefined;
}
