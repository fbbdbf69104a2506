/**
 * The report of `cdmsim run`: each step with its result and expectation, pages per node
 * of each mapping, numastat, and numa_maps per task.
 */

import { PAGE_SIZE } from "../kernel/constants.js";
import type { Kernel } from "../kernel/kernel.js";
import { numaMaps } from "../kernel/procfs.js";
import type { RunOutput, StepResult } from "../scenario/runner.js";
import { describeStep } from "./describe.js";
import { sizeApprox, sizeExact } from "./format.js";
import { numastatCompat } from "./numastat.js";
import type { Style } from "./style.js";

function fmtRet(r: StepResult, op: string, k: Kernel): string {
  if (r.skipped) return k.tasks.has(r.task) ? "skipped (task was killed)" : "skipped (task never forked)";
  if (r.oom) return "killed by the OOM killer";
  if (r.errno) return `${r.ret} ${r.errno}`;
  if (op === "mmap" && r.ret !== null) return `0x${r.ret.toString(16)}`;
  return String(r.ret);
}

/** move_pages statuses: the list when short, else each value with its count */
function statusText(st: readonly (number | null)[]): string {
  const name = (x: number | null) =>
    x === null ? "unset" : x < 0 ? (ERRNO_NAMES[-x] ?? String(x)) : `N${x}`;
  if (st.length <= 8) return st.map(name).join(",");
  const counts = new Map<string, number>();
  for (const x of st) counts.set(name(x), (counts.get(name(x)) ?? 0) + 1);
  return [...counts].map(([n, c]) => `${n}×${c}`).join(" ");
}

const ERRNO_NAMES: Record<number, string> = { 2: "-ENOENT", 13: "-EACCES", 14: "-EFAULT", 16: "-EBUSY" };

function fmtOut(out: Record<string, unknown> | undefined, op: string): string {
  if (!out) return "";
  if (op === "numastat" || op === "cat" || op === "fallback_order" || op === "meminfo") return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(out)) {
    if (k === "pages") {
      const e = Object.entries(v as Record<string, number>);
      parts.push(e.length ? e.map(([n, c]) => `N${n}=${c}`).join(" ") : "no pages");
    } else if (k === "status") {
      const st = v as (number | null)[];
      if (st.every((x) => x === null)) continue;
      parts.push(`status ${statusText(st)}`);
    } else if (k === "nodes") parts.push(`nodes {${v}}`);
    else if (k === "mode_flags") {
      if ((v as string[]).length) parts.push((v as string[]).join("|"));
    } else parts.push(`${k} ${String(v)}`);
  }
  return parts.join(", ");
}

function table(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
  );
}

/** numastat as the tool prints it, from the model's counters */
export function numastatText(k: Kernel): string {
  return numastatCompat(k.online.ids().map((id) => ({ id, stat: k.numastat.get(id)! })));
}

export function renderRun(run: RunOutput, s: Style): string {
  const { result, scenario: sc, kernel: k } = run;
  const out: string[] = [];
  out.push(
    s.bold(`${result.scenario}`) +
      ` — design ${result.design}, model of Linux ${result.kernel}${sc.file ? `, from ${sc.file}` : ""}`,
  );
  if (sc.description) out.push(s.dim(sc.description.trim()));

  out.push("", s.bold("Steps"));
  const rows: string[][] = [["#", "task", "call", "result", "out", "expect"]];
  const notes: string[] = [];
  for (const r of result.steps) {
    const step = sc.steps[r.index]!;
    let ex = "";
    if (r.expect === "pass") ex = s.green("pass");
    if (r.expect === "fail") {
      ex = s.red("FAIL");
      for (const m of r.mismatches ?? []) {
        notes.push(
          `  step ${r.index} (${r.task} ${step.op}): ${m.key} expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`,
        );
      }
    }
    rows.push([
      String(r.index),
      r.task,
      describeStep(step),
      fmtRet(r, step.op, k),
      fmtOut(r.out, step.op),
      ex,
    ]);
  }
  out.push(...table(rows));
  if (notes.length) out.push("", s.red("Expectations that did not hold"), ...notes);

  const textOuts = result.steps.filter((r) => r.out && (r.op === "cat" || r.op === "fallback_order"));
  for (const r of textOuts) {
    out.push("", s.bold(`Step ${r.index} output`));
    const text = r.out!.text ?? (r.out!.lines as string[] | undefined)?.join("\n");
    out.push(String(text ?? "").replace(/\n$/, ""));
  }

  for (const r of result.steps.filter((x) => x.out && x.op === "meminfo")) {
    out.push("", s.bold(`Step ${r.index} output (per-node meminfo, kB)`));
    const per = r.out as Record<string, Record<string, number>>;
    const ids = Object.keys(per);
    const fields = ids.length ? Object.keys(per[ids[0]!]!) : [];
    const mrows: string[][] = [["", ...ids.map((n) => `Node ${n}`)]];
    for (const f of fields) mrows.push([f, ...ids.map((n) => String(per[n]![f]))]);
    out.push(...table(mrows));
  }

  const maps = Object.entries(result.mappings);
  if (maps.length) {
    out.push("", s.bold("Mappings (resident pages per node at the end)"));
    const nodes = k.nMemory.ids();
    const device = k.design.hooks.zoneDeviceNodes?.(k.designCtx);
    const col = (n: number) => (device?.has(n) ? `N${n} (device)` : `N${n}`);
    const mrows: string[][] = [["mapping", "start", "length", "policy", ...nodes.map(col)]];
    for (const [name, m] of maps) {
      mrows.push([
        name,
        m.start,
        sizeExact(m.length),
        m.policy,
        ...nodes.map((n) => String(m.pages[String(n)] ?? "·")),
      ]);
    }
    out.push(...table(mrows));
    if (device && !device.isEmpty())
      out.push(
        `  (device): the device's own memory (ZONE_DEVICE), which only its driver's migration fills; no page allocation`,
      );
  }

  const files = Object.entries(result.files ?? {});
  if (files.length) {
    out.push("", s.bold("Page cache (cached pages per node at the end)"));
    const nodes = k.nMemory.ids();
    const frows: string[][] = [["file", "size", ...nodes.map((n) => `N${n}`)]];
    for (const [name, f] of files)
      frows.push([name, sizeExact(f.size), ...nodes.map((n) => String(f.pages[String(n)] ?? "·"))]);
    out.push(...table(frows));
  }

  if (result.events.length) {
    out.push("", s.bold("Events"));
    for (const e of result.events) {
      if (e.kind === "oom") {
        out.push(
          `  step ${e.step}: ${s.red("OOM killer")} invoked by ${e.task} (constraint ${e.constraint}` +
            `${e.nodemask ? `, nodemask ${e.nodemask}` : ""}): killed ${e.victim ?? "nobody"}` +
            `${e.victim ? ` (${e.victimRss} resident pages, ${sizeApprox(e.victimRss * PAGE_SIZE)}; page tables ${sizeApprox(e.victimPgtables * PAGE_SIZE)})` : ""}`,
        );
      } else if (e.kind === "reclaim") {
        const who = e.by === "kswapd" ? `kswapd${e.node}` : `direct reclaim by ${e.task}`;
        out.push(
          `  step ${e.step}: ${who} freed ${e.pages} clean page-cache pages on node ${e.node} (allocations of ${e.task})`,
        );
      } else if (e.kind === "alloc_failure") {
        out.push(`  step ${e.step}: ${s.yellow("allocation failed")} for ${e.task}: ${e.reason}`);
      } else if (e.kind === "admin") {
        const when = e.step < 0 ? "before step 0" : `after step ${e.step}`;
        const hot = e.hotAdd
          ? ` (node ${e.hotAdd.nodes.join(",")} online since step ${e.hotAdd.onlineStep})`
          : "";
        out.push(`  ${when}: administrator: ${e.action}${e.errno ? ` -> ${e.errno}` : ""}${hot}`);
      }
    }
  }

  out.push("", s.bold("numastat"));
  out.push(numastatText(k).replace(/\n$/, ""));

  out.push("", s.bold("numa_maps"));
  for (const t of k.tasks.values()) {
    if (!t.alive) {
      out.push(`  ${t.name}: ${t.state}`);
      continue;
    }
    const text = numaMaps(k, t);
    out.push(`  ${t.name} (pid ${t.pid}, cpu ${t.cpu}, node ${t.numaNodeId}):`);
    out.push(
      text
        ? text
            .replace(/\n$/, "")
            .split("\n")
            .map((l) => `    ${l}`)
            .join("\n")
        : "    (no mappings)",
    );
  }

  const checked = result.steps.filter((r) => r.expect).length;
  const failed = result.steps.filter((r) => r.expect === "fail").length;
  out.push("");
  if (failed) out.push(s.red(`Result: ${failed} of ${checked} expectations failed.`));
  else
    out.push(
      s.green(`Result: ok${checked ? ` — ${checked} expectation${checked === 1 ? "" : "s"} held` : ""}.`),
    );
  return `${out.join("\n")}\n`;
}
