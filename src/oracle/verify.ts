/**
 * `cdmsim verify`: each scenario on the model and on the real kernel, compared field by
 * field; `--record` writes the kernel's answers into the scenario files as expectations.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { isMap, isSeq, parseDocument } from "yaml";
import { formatNodeList, Nodemask } from "../kernel/nodemask.js";
import { bootScenario, type ResultJson, runScenario, type StepResult } from "../scenario/runner.js";
import type { Scenario } from "../scenario/types.js";
import { findKernel } from "./boot.js";
import { compareResults, type Difference } from "./compare.js";
import { type KernelNodes, runOnKernel } from "./kernel-run.js";
import { type KnownDifference, knownFor } from "./known.js";

/** agree; differ; known: differs only where docs/known-differences.md says it may */
export type VerifyStatus = "agree" | "differ" | "known" | "skipped" | "error";

export interface VerifyOutcome {
  file: string;
  scenario: string;
  status: VerifyStatus;
  /** why it was skipped or failed to run; for `known`, the documented reason */
  reason?: string;
  differences?: Difference[];
  /** the kernel's result, when it ran */
  kernel?: ResultJson;
  seconds?: number;
}

/**
 * What /sys/devices/system/node should show for the scenario's machine when the guest has
 * booted: memory that is offline at boot (`online: false`) is still online then, as the
 * guest offlines it just before the scenario.
 */
export function expectedNodes(sc: Scenario): KernelNodes {
  const k = bootScenario(sc);
  const offline = Nodemask.from(sc.machine.nodes.filter((n) => n.online === false).map((n) => n.id));
  const nodes: KernelNodes = {
    possible: formatNodeList(k.topo.nodeIds),
    online: k.online.toString(),
    has_cpu: k.nCpu.toString(),
    has_memory: k.nMemory.or(offline).toString(),
    has_normal_memory: k.nNormalMemory.toString(),
  };
  for (const id of k.online.ids()) {
    nodes[`node${id}_distance`] = k.online
      .ids()
      .map((j) => k.topo.distance(id, j))
      .join(" ");
    const cpus = k.topo.node(id).cpus;
    nodes[`node${id}_cpus`] = cpus.length ? formatNodeList(cpus) : "-";
  }
  return nodes;
}

export interface VerifyOptions {
  jobs?: number;
  /** differences that are documented, not failures */
  known?: readonly KnownDifference[];
  onProgress?: (done: number, total: number, label: string) => void;
}

export async function verifyScenarios(
  items: readonly { file: string; scenario: Scenario }[],
  opts: VerifyOptions = {},
): Promise<{ engine: string; outcomes: VerifyOutcome[] }> {
  const runnable = items.map((i) => i.scenario);
  const kernelOutcomes = await runOnKernel(runnable, {
    jobs: opts.jobs,
    onProgress: opts.onProgress,
    expectNodes: expectedNodes,
  });
  let engine = "linux";
  const outcomes: VerifyOutcome[] = items.map(({ file, scenario }, i) => {
    const ko = kernelOutcomes[i]!;
    const base = { file, scenario: scenario.name };
    if (ko.kind === "skipped") return { ...base, status: "skipped", reason: ko.reason };
    if (ko.kind === "error") return { ...base, status: "error", reason: ko.reason };
    engine = ko.result.engine;
    const model = runScenario(scenario).result;
    const differences = compareResults(scenario, model, ko.result);
    const known = differences.length ? knownFor(opts.known ?? [], scenario.name, differences) : undefined;
    return {
      ...base,
      status: differences.length ? (known ? "known" : "differ") : "agree",
      reason: known?.reason,
      differences,
      kernel: ko.result,
      seconds: ko.seconds,
    };
  });
  if (engine === "linux") {
    try {
      engine = findKernel().engine;
    } catch {
      /* nothing ran */
    }
  }
  return { engine, outcomes };
}

/** The expectation that records what the kernel answered for a step. */
function recordedExpect(sc: Scenario, r: StepResult): Record<string, unknown> | undefined {
  const step = sc.steps[r.index]!;
  if (r.skipped) return undefined;
  if (r.oom) return { oom: true };
  const e: Record<string, unknown> = {};
  if (step.op !== "mmap" && step.op !== "fork") e.ret = r.ret; // addresses, pids
  e.errno = r.errno;
  for (const [k, v] of Object.entries(r.out ?? {})) {
    if (step.op === "cat" && step.path === "/proc/self/numa_maps") continue; // addresses differ
    e[k] = v;
  }
  return e;
}

/** Write the kernel's answers as the `expect` of each step (comments and layout are kept). */
export function recordExpectations(file: string, sc: Scenario, kernel: ResultJson): number {
  const doc = parseDocument(readFileSync(file, "utf8"));
  const steps = doc.get("steps", true);
  if (!isSeq(steps)) return 0;
  let n = 0;
  for (const r of kernel.steps) {
    const e = recordedExpect(sc, r);
    const item = steps.items[r.index];
    if (!e || !isMap(item)) continue;
    const node = doc.createNode(e, { flow: true });
    item.set("expect", node);
    n++;
  }
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  return n;
}
