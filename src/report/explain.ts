/**
 * `--explain`: every allocation decision of a run, from the policy to the zone, as the
 * allocator recorded it (events returned as data, rendered here).
 */
import { PAGE_SIZE } from "../kernel/constants.js";
import type { AllocEvent, ReclaimEvent } from "../kernel/kernel.js";
import type { PassTrace, ZoneStep } from "../kernel/page-alloc.js";
import type { Scenario } from "../scenario/types.js";
import { describeStep } from "./describe.js";
import type { Style } from "./style.js";

function zoneLine(z: ZoneStep, s: Style): string {
  const name = z.zone.padEnd(18);
  const wm =
    z.free !== undefined
      ? `free ${z.free} ${z.verdict === "taken" ? ">" : "≤"} mark ${z.mark} + reserve ${z.reserve}`
      : "";
  switch (z.verdict) {
    case "taken":
      return `${name}${s.green("taken")}${wm ? `  (${wm})` : ""}`;
    case "watermark":
      return `${name}${s.yellow("below watermark")}  (${wm})`;
    case "not in nodemask":
      return `${name}${s.dim("skipped: node not in the nodemask")}`;
    case "cpuset":
      return `${name}${s.dim("skipped: node not allowed by the cpuset")}`;
    case "above highest zone":
      return `${name}${s.dim("skipped: zone above the gfp mask's highest zone")}`;
    case "design":
      return `${name}${s.yellow(`skipped by the design: ${z.detail ?? ""}`)}`;
    case "dirty limit":
      return `${name}${s.dim("skipped: node over its dirty limit (node_dirty_ok)")}`;
  }
}

function passLines(p: PassTrace, s: Style): string[] {
  const mask = p.nodemask === null ? "no nodemask" : `nodemask ${p.nodemask || "(empty)"}`;
  const cpuset =
    p.cpuset === "ignored"
      ? "cpuset not enforced"
      : p.cpuset === "nodemask"
        ? "cpuset as the nodemask"
        : "cpuset checked per zone";
  const head = `${p.pass}: watermark ${p.watermark}, ${mask}, ${cpuset}, preferred zone ${p.preferredZone ?? "none"}`;
  const zones = p.zones.length ? p.zones.map((z) => `      ${zoneLine(z, s)}`) : ["      (no eligible zone)"];
  return [`    ${head}`, ...zones];
}

function where(e: AllocEvent): string {
  if (e.space === "vpn") return `${e.target} at 0x${(e.first * PAGE_SIZE).toString(16)}`;
  if (e.space === "object") return `${e.target} object page ${e.first}`;
  return e.target;
}

function policyText(e: AllocEvent): string {
  switch (e.policySource) {
    case "vma":
      return `VMA policy ${e.policy}`;
    case "shared":
      return `shared policy ${e.policy}`;
    case "task":
      return `task policy ${e.policy}`;
    case "default":
      return "default policy (the local node first)";
    default:
      return "no memory policy (alloc_pages_node)";
  }
}

/** The decision events of a run, grouped by step. */
export function renderExplain(
  sc: Scenario,
  decisions: ReadonlyArray<AllocEvent | ReclaimEvent>,
  s: Style,
): string {
  const out: string[] = [];
  let lastStep = -2;
  for (const e of decisions) {
    if (e.step !== lastStep) {
      const step = sc.steps[e.step];
      out.push("", s.bold(`step ${e.step}: ${e.task} ${step ? describeStep(step) : ""}`));
      lastStep = e.step;
    }
    if (e.kind === "reclaim") {
      const who = e.by === "kswapd" ? `kswapd${e.node}` : `direct reclaim by ${e.task}`;
      out.push(
        `  ${s.yellow(`${who} freed ${e.pages} clean page-cache page${e.pages === 1 ? "" : "s"} on node ${e.node}`)}`,
      );
      continue;
    }
    const what = e.pages ? `${e.pages} page${e.pages === 1 ? "" : "s"}` : "allocation failed";
    out.push(
      `  ${what} for ${where(e)}: ${policyText(e)}, ${e.gfp}, preferred node ${e.preferredNid}, ` +
        `nodemask ${e.nodemask ?? "none"}, ${e.cpuset === null ? "cpusets disabled" : `cpuset mems ${e.cpuset}`}`,
    );
    if (e.design) out.push(`    ${s.yellow(`design ${e.design}`)}`);
    for (const p of e.passes) out.push(...passLines(p, s));
    out.push(e.zone ? `    → ${s.bold(e.zone)}` : `    → ${s.red("no page")}`);
  }
  return out.join("\n").replace(/^\n/, "");
}
