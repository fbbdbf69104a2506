/**
 * Checking a step's `expect` against what it returned.
 */
import { parseList } from "../kernel/nodemask.js";
import type { StepResult } from "./runner.js";
import type { Expectation, Step } from "./types.js";

export interface Mismatch {
  key: string;
  expected: unknown;
  actual: unknown;
}

function normNodes(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return parseList(v, 1 << 16).join(",");
  } catch {
    return v;
  }
}

/** Pages per node maps are equal when they agree on every node with pages. */
function samePages(a: unknown, b: unknown): boolean {
  const clean = (m: unknown) =>
    Object.entries((m ?? {}) as Record<string, number>)
      .filter(([, n]) => n !== 0)
      .sort(([x], [y]) => Number(x) - Number(y));
  return JSON.stringify(clean(a)) === JSON.stringify(clean(b));
}

/** Expected values of nested records (numastat per node) name only the counters they check. */
function partialMatch(expected: unknown, actual: unknown): boolean {
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== "object") return false;
    return Object.entries(expected as Record<string, unknown>).every(([k, v]) =>
      partialMatch(v, (actual as Record<string, unknown>)[k]),
    );
  }
  return JSON.stringify(expected) === JSON.stringify(actual);
}

export function checkExpectation(step: Step, e: Expectation, r: StepResult): Mismatch[] {
  const out: Mismatch[] = [];
  if (r.skipped) {
    if (e.oom !== true)
      out.push({ key: "skipped", expected: "the step to run", actual: "its task was killed earlier" });
    return out;
  }
  if (e.oom !== undefined && e.oom !== Boolean(r.oom))
    out.push({ key: "oom", expected: e.oom, actual: Boolean(r.oom) });
  if (e.ret !== undefined && e.ret !== r.ret) out.push({ key: "ret", expected: e.ret, actual: r.ret });
  if (e.errno !== undefined && e.errno !== r.errno)
    out.push({ key: "errno", expected: e.errno, actual: r.errno });
  for (const [key, expected] of Object.entries(e.out)) {
    const actual = r.out?.[key];
    let same: boolean;
    if (key === "pages") same = samePages(expected, actual);
    else if (key === "nodes") same = normNodes(expected) === normNodes(actual);
    else if (key === "mode_flags") {
      same =
        JSON.stringify([...((expected as string[]) ?? [])].sort()) ===
        JSON.stringify([...((actual as string[]) ?? [])].sort());
    } else if (step.op === "numastat") same = partialMatch(expected, actual);
    else same = JSON.stringify(expected) === JSON.stringify(actual);
    if (!same) out.push({ key, expected, actual: actual === undefined ? "(absent)" : actual });
  }
  return out;
}

/** Check a step's expectation, if it has one, and record the outcome on its result. */
export function recordExpectation(step: Step, r: StepResult): boolean {
  if (!step.expect) return true;
  const mism = checkExpectation(step, step.expect, r);
  r.expect = mism.length ? "fail" : "pass";
  if (mism.length) r.mismatches = mism;
  return mism.length === 0;
}
