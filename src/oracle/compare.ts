/**
 * Comparing the model's result with the real kernel's, field by field.
 */
import type { ResultJson, StepResult } from "../scenario/runner.js";
import type { Scenario } from "../scenario/types.js";

export interface Difference {
  /** "step 3 ret", "mapping app:buf pages", "oom events", ... */
  field: string;
  model: unknown;
  kernel: unknown;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * numa_maps lines start with the VMA's address, which differs between the model and the
 * kernel unless the mapping was placed at a fixed address: rewrite addresses inside a
 * scenario mapping as "name+offset" and drop lines outside them (the program, heap, stack).
 */
function normaliseNumaMaps(
  text: string,
  mappings: Record<string, { start: string; length: number }>,
): string {
  const spans = Object.entries(mappings).map(([k, m]) => ({
    name: k.slice(k.indexOf(":") + 1),
    start: BigInt(m.start),
    length: BigInt(m.length),
  }));
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+) (.*)$/.exec(line);
    if (!m) continue;
    const a = BigInt(`0x${m[1]}`);
    const span = spans.find((s) => a >= s.start && a < s.start + s.length);
    if (!span) continue;
    out.push(`${span.name}+${a - span.start} ${m[2]}`);
  }
  return out.sort().join("\n");
}

function stepOut(r: StepResult, sc: Scenario, res: ResultJson): Record<string, unknown> | undefined {
  if (!r.out) return r.out;
  const step = sc.steps[r.index]!;
  if (step.op === "cat" && step.path === "/proc/self/numa_maps" && typeof r.out.text === "string") {
    const own = Object.fromEntries(Object.entries(res.mappings).filter(([k]) => k.startsWith(`${r.task}:`)));
    return { ...r.out, text: normaliseNumaMaps(r.out.text, own) };
  }
  return r.out;
}

/** The fields where model and kernel disagree. */
export function compareResults(sc: Scenario, model: ResultJson, kernel: ResultJson): Difference[] {
  const diffs: Difference[] = [];
  for (const ks of kernel.steps) {
    const ms = model.steps[ks.index];
    if (!ms) continue;
    const where = `step ${ks.index} (${ks.task} ${ks.op})`;
    const state = (r: StepResult) => (r.skipped ? "skipped" : r.oom ? "killed by the OOM killer" : "ran");
    if (state(ms) !== state(ks)) {
      diffs.push({ field: `${where}`, model: state(ms), kernel: state(ks) });
      continue;
    }
    if (ms.skipped || ms.oom) continue;
    if (ks.op === "mmap" || ks.op === "fork") {
      // addresses and pids differ between engines; success and failure must not
      if ((ms.ret === -1) !== (ks.ret === -1))
        diffs.push({ field: `${where} ret`, model: ms.ret, kernel: ks.ret });
    } else if (ms.ret !== ks.ret) diffs.push({ field: `${where} ret`, model: ms.ret, kernel: ks.ret });
    if (ms.errno !== ks.errno) diffs.push({ field: `${where} errno`, model: ms.errno, kernel: ks.errno });
    const mo = stepOut(ms, sc, model);
    const ko = stepOut(ks, sc, kernel);
    for (const key of new Set([...Object.keys(mo ?? {}), ...Object.keys(ko ?? {})])) {
      const mv = mo?.[key];
      const kv = ko?.[key];
      if (ks.op === "meminfo" && isRecord(mv) && isRecord(kv)) {
        // a node's counters one by one (out.<node>.<Field>), those the model keeps: the
        // kernel's file has more (AnonPages, ...) than the model counts
        for (const f of Object.keys(mv))
          if (!same(mv[f], kv[f]))
            diffs.push({ field: `${where} out.${key}.${f}`, model: mv[f], kernel: kv[f] });
      } else if (!same(mv, kv)) diffs.push({ field: `${where} out.${key}`, model: mv, kernel: kv });
    }
  }
  const names = new Set([...Object.keys(model.mappings), ...Object.keys(kernel.mappings)]);
  for (const name of names) {
    const mm = model.mappings[name];
    const km = kernel.mappings[name];
    if (!mm || !km) {
      diffs.push({
        field: `mapping ${name}`,
        model: mm ? "mapped" : "absent",
        kernel: km ? "mapped" : "absent",
      });
      continue;
    }
    if (mm.policy !== km.policy)
      diffs.push({ field: `mapping ${name} policy`, model: mm.policy, kernel: km.policy });
    if (!same(mm.pages, km.pages))
      diffs.push({ field: `mapping ${name} pages`, model: mm.pages, kernel: km.pages });
  }
  // the files of the disk at the end, as the mappings
  if (model.files || kernel.files) {
    const mf = model.files ?? {};
    const kf = kernel.files ?? {};
    for (const name of new Set([...Object.keys(mf), ...Object.keys(kf)])) {
      const m = mf[name];
      const k = kf[name];
      if (!m || !k) {
        diffs.push({
          field: `file ${name}`,
          model: m ? "exists" : "absent",
          kernel: k ? "exists" : "absent",
        });
        continue;
      }
      if (m.size !== k.size) diffs.push({ field: `file ${name} size`, model: m.size, kernel: k.size });
      if (!same(m.pages, k.pages))
        diffs.push({ field: `file ${name} pages`, model: m.pages, kernel: k.pages });
    }
  }
  const ooms = (r: ResultJson) =>
    r.events
      .filter((e) => e.kind === "oom")
      .map((e) => (e.kind === "oom" ? `step ${e.step}: ${e.victim} (${e.constraint})` : ""));
  if (!same(ooms(model), ooms(kernel)))
    diffs.push({ field: "OOM kills", model: ooms(model), kernel: ooms(kernel) });
  return diffs;
}
