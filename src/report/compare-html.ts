/**
 * `cdmsim compare --html`: the comparison as one self-contained HTML page. The page loads
 * nothing (no script, font, style sheet or image from anywhere, and a Content-Security-Policy
 * that forbids it): inline CSS, and a chart per design as inline SVG in the static HTML, so
 * it reads the same from a file, a mail attachment or a CI artefact.
 *
 * It shows the scenario's name and description, the machine with its device nodes, the
 * table of the text report (the same cells, from compareTable), the steps, and per design a
 * line chart of the pages in use on each node after boot and after each step (the runs'
 * NodeUsage). The y axis is the same for every chart so that designs compare by eye; device
 * nodes are drawn dashed, in warm colours, and marked in the legend. Hovering a step shows
 * its description and every node's count (SVG <title>, no script).
 *
 * Every text from the scenario goes through `escapeHtml`.
 */

import { formatNodeList } from "../kernel/nodemask.js";
import type { Scenario } from "../scenario/types.js";
import { type CompareResult, compareTable, type DesignColumn } from "./compare.js";
import { describeStep } from "./describe.js";
import { escapeMarkup } from "./format.js";

/** Text for HTML content and attribute values. */
export const escapeHtml = escapeMarkup;

const CPU_COLOURS = ["#1f77b4", "#2ca02c", "#17becf", "#7f7f7f", "#393b79", "#637939"];
const DEVICE_COLOURS = ["#d62728", "#ff7f0e", "#e377c2", "#8c564b", "#bcbd22", "#9467bd"];

/** 12345678 → "12,345,678" */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** An axis label: 20000000 → "20M", 1200000 → "1.2M", 500 → "500". */
function compact(n: number): string {
  const trim = (v: number) => String(Number(v.toFixed(3)));
  if (n >= 1e9) return `${trim(n / 1e9)}G`;
  if (n >= 1e6) return `${trim(n / 1e6)}M`;
  if (n >= 1e3) return `${trim(n / 1e3)}k`;
  return String(n);
}

/** Round an axis maximum up to 1, 2 or 5 times a power of ten, and the tick step under it. */
export function niceAxis(max: number): { max: number; step: number } {
  if (max <= 0) return { max: 1, step: 1 };
  const raw = max / 4;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const top = Math.ceil(max / step) * step;
  return { max: top, step: Math.max(1, step) };
}

function bytesText(bytes: number): string {
  for (const [unit, div] of [
    ["TiB", 2 ** 40],
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const) {
    if (bytes >= div) return `${Number((bytes / div).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

/** What a chart's point t shows: the state after boot (t = 0) or after step t − 1. */
export function pointLabel(sc: Scenario, t: number): string {
  if (t === 0) return "after boot";
  const step = sc.steps[t - 1];
  if (!step) return `after step ${t - 1}`;
  return `after step ${step.index} (${step.task}): ${describeStep(step)}${step.comment ? ` (${step.comment})` : ""}`;
}

/**
 * A band of a chart with its own y axis: the nodes without device memory, and below them
 * the device nodes, whose few pages would otherwise be lost at the foot of the host nodes'
 * scale. Each axis is the same in every design's chart.
 */
interface Panel {
  title: string;
  nodes: number[];
  axis: { max: number; step: number };
  height: number;
}

const WIDTH = 720;
const LEFT = 64;
const RIGHT = 16;
const TOP = 8;
/** room above each panel for its title */
const PANEL_HEAD = 28;
const BOTTOM = 36;

/** The panels of every chart: the host nodes, then the device nodes (those that exist). */
function panels(c: CompareResult, nodes: readonly number[]): Panel[] {
  const devices = c.deviceNodes;
  const groups = [
    { title: devices.length ? "other nodes" : "nodes", nodes: nodes.filter((n) => !devices.includes(n)) },
    { title: "device nodes", nodes: nodes.filter((n) => devices.includes(n)) },
  ].filter((g) => g.nodes.length);
  return groups.map((g, i) => {
    let max = 0;
    for (const d of c.designs)
      d.usage.nodes.forEach((n, j) => {
        if (!g.nodes.includes(n)) return;
        for (const row of d.usage.pages) max = Math.max(max, row[j]!);
      });
    return { ...g, axis: niceAxis(max), height: groups.length > 1 && i > 0 ? 120 : 170 };
  });
}

/** The colour and dash of each node's line, the same in every chart. */
function nodeStyles(nodes: readonly number[], devices: readonly number[]) {
  let cpu = 0;
  let dev = 0;
  return new Map(
    nodes.map((n) => {
      const device = devices.includes(n);
      const colour = device
        ? DEVICE_COLOURS[dev++ % DEVICE_COLOURS.length]!
        : CPU_COLOURS[cpu++ % CPU_COLOURS.length]!;
      return [n, { device, colour, dash: device ? "7 4" : "" }];
    }),
  );
}

/** One design's chart: a line per node over the points (after boot, after each step). */
function chart(
  sc: Scenario,
  d: DesignColumn,
  bands: readonly Panel[],
  styles: ReturnType<typeof nodeStyles>,
) {
  const plotW = WIDTH - LEFT - RIGHT;
  const height = TOP + bands.reduce((h, b) => h + PANEL_HEAD + b.height, 0) + BOTTOM;
  const plotBottom = height - BOTTOM;
  const points = d.usage.pages.length;
  const xAt = (t: number) => LEFT + (points > 1 ? (t * plotW) / (points - 1) : plotW / 2);
  const r = (v: number) => Number(v.toFixed(1));
  const out: string[] = [];
  out.push(
    `<svg class="usage-chart" data-design="${escapeHtml(d.design)}" xmlns="http://www.w3.org/2000/svg" ` +
      `viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" ` +
      `aria-label="${escapeHtml(`pages in use per node under ${d.design}, after boot and after each step`)}">`,
  );
  let top = TOP;
  for (const b of bands) {
    const y0 = top + PANEL_HEAD;
    const yAt = (v: number) => y0 + b.height - (v * b.height) / b.axis.max;
    out.push(`<g class="panel" data-panel="${escapeHtml(b.title)}">`);
    out.push(`<text class="panel-title" x="${LEFT}" y="${y0 - 6}">${escapeHtml(b.title)}</text>`);
    for (let v = 0; v <= b.axis.max; v += b.axis.step) {
      const y = r(yAt(v));
      out.push(
        `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" class="${v ? "grid" : "base"}"/>` +
          `<text x="${LEFT - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${compact(v)}</text>`,
      );
    }
    d.usage.nodes.forEach((node, j) => {
      if (!b.nodes.includes(node)) return;
      const st = styles.get(node)!;
      const values = d.usage.pages.map((row) => row[j]!);
      const pts = values.map((v, t) => `${r(xAt(t))},${r(yAt(v))}`).join(" ");
      out.push(
        `<polyline class="series${st.device ? " device" : ""}" data-node="${node}" data-values="${values.join(",")}" ` +
          `points="${pts}" stroke="${st.colour}"${st.dash ? ` stroke-dasharray="${st.dash}"` : ""}>` +
          `<title>node ${node}${st.device ? " (device)" : ""}</title></polyline>`,
      );
    });
    out.push("</g>");
    top = y0 + b.height;
  }
  out.push(
    `<text class="axis-title" transform="translate(12 ${r((TOP + plotBottom) / 2)}) rotate(-90)" text-anchor="middle">pages (4 KiB)</text>`,
  );
  // x labels: the step index of each point ("boot" for the first), thinned out on long runs
  const every = Math.max(1, Math.ceil(points / 24));
  out.push(`<g class="axis-x">`);
  for (let t = 0; t < points; t += every) {
    out.push(
      `<text x="${r(xAt(t))}" y="${plotBottom + 14}" text-anchor="middle">${t === 0 ? "boot" : t - 1}</text>`,
    );
  }
  out.push(
    `<text class="axis-title" x="${LEFT + plotW / 2}" y="${height - 4}" text-anchor="middle">after step</text>`,
  );
  out.push("</g>");
  // a hover band per point over every panel: the step and every node's count
  out.push(`<g class="steps">`);
  const band = points > 1 ? plotW / (points - 1) : plotW;
  for (let t = 0; t < points; t++) {
    const x0 = Math.max(LEFT, xAt(t) - band / 2);
    const x1 = Math.min(WIDTH - RIGHT, xAt(t) + band / 2);
    const counts = d.usage.nodes.map((n, j) => `node ${n}: ${grouped(d.usage.pages[t]![j]!)} pages`);
    const outcome = t > 0 && d.stepResults[t - 1] !== undefined ? [`returned ${d.stepResults[t - 1]}`] : [];
    out.push(
      `<rect class="step" data-point="${t}" x="${r(x0)}" y="${TOP}" width="${r(x1 - x0)}" height="${plotBottom - TOP}">` +
        `<title>${escapeHtml([pointLabel(sc, t), ...outcome, ...counts].join("\n"))}</title></rect>`,
    );
  }
  out.push("</g>");
  out.push("</svg>");
  return out.join("\n");
}

function legend(nodes: readonly number[], styles: ReturnType<typeof nodeStyles>): string {
  const items = nodes.map((n) => {
    const st = styles.get(n)!;
    return (
      `<li data-node="${n}"><svg width="28" height="10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5" ` +
      `stroke="${st.colour}" stroke-width="2.5"${st.dash ? ` stroke-dasharray="${st.dash}"` : ""}/></svg>` +
      `node ${n}${st.device ? ` <span class="device">device</span>` : ""}</li>`
    );
  });
  return `<ul class="legend">${items.join("")}</ul>`;
}

const yesNo = (b: boolean) => `<span class="${b ? "yes" : "no"}">${b ? "yes" : "no"}</span>`;

const CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #5b6470; --line: #d5dae0; --dev: #b3261e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 24px auto; max-width: 1200px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
p.description { color: var(--muted); max-width: 80ch; white-space: pre-line; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #f3f5f7; }
tbody th { font-weight: 500; white-space: nowrap; }
.scroll { overflow-x: auto; }
tbody.verdict th, tbody.verdict td { font-weight: 600; }
.yes { color: #1a7f37; }
.no { color: #b3261e; }
td.yes { background: #eaf6ec; }
td.no { background: #fbeceb; }
tr.device th { color: var(--dev); }
span.device { font-size: 11px; color: #fff; background: var(--dev); border-radius: 3px; padding: 0 4px; margin-left: 4px; }
ol.steps { padding-left: 3em; }
ol.steps .task { font-weight: 600; }
ol.steps .comment { color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 20px; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 6px; }
figure.chart figcaption .verdicts { font-weight: 400; margin-left: 8px; }
svg.usage-chart { width: 100%; height: auto; display: block; }
svg.usage-chart text { font-size: 11px; fill: var(--muted); }
svg.usage-chart .grid { stroke: #eceff2; }
svg.usage-chart .panel-title { font-size: 12px; font-weight: 600; fill: var(--fg); }
svg.usage-chart .base { stroke: #9aa3ad; }
svg.usage-chart polyline { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg.usage-chart rect.step { fill: transparent; }
svg.usage-chart rect.step:hover { fill: rgba(0, 0, 0, 0.06); }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0; margin: 6px 0 0; font-size: 12px; }
ul.legend li { display: flex; align-items: center; gap: 4px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
`;

/** The comparison of `c` (made from `sc`'s runs) as a self-contained HTML page. */
export function renderCompareHtml(sc: Scenario, c: CompareResult): string {
  const e = escapeHtml;
  const t = compareTable(c);
  const devices = c.deviceNodes;
  const nodes = [...new Set(c.designs.flatMap((d) => d.usage.nodes))].sort((a, b) => a - b);
  const styles = nodeStyles(nodes, devices);
  const bands = panels(c, nodes);
  const out: string[] = [];
  out.push(
    "<!DOCTYPE html>",
    `<html lang="en">`,
    "<head>",
    `<meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>cdmsim compare: ${e(sc.name)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    `<h1>cdmsim compare: <span class="scenario-name">${e(sc.name)}</span></h1>`,
  );
  if (sc.description) out.push(`<p class="description">${e(sc.description.trim())}</p>`);

  // the machine
  out.push(
    "<h2>Machine</h2>",
    `<p>Device nodes: <strong class="device-nodes">${devices.length ? e(formatNodeList(devices)) : "none"}</strong></p>`,
    `<div class="scroll"><table class="machine"><thead><tr><th>node</th><th>CPUs</th><th>memory</th><th>kind</th><th></th></tr></thead><tbody>`,
  );
  for (const n of [...sc.machine.nodes].sort((a, b) => a.id - b.id)) {
    const device = devices.includes(n.id);
    const marks = [device ? `<span class="device">device</span>` : "", n.movable ? "movable" : ""]
      .filter(Boolean)
      .join(" ");
    out.push(
      `<tr${device ? ` class="device"` : ""}><th>${n.id}</th><td>${e(formatNodeList(n.cpus)) || "none"}</td>` +
        `<td>${n.memoryBytes ? bytesText(n.memoryBytes) : "none"}</td><td>${e(n.kind)}</td><td>${marks}</td></tr>`,
    );
  }
  out.push("</tbody></table></div>");

  // the table of the text report, cell for cell
  out.push("<h2>Designs side by side</h2>", `<div class="scroll"><table class="compare">`);
  out.push(
    `<thead><tr>${t.heads.map((h, i) => (i === 0 ? "<th></th>" : `<th data-design="${e(h)}">${e(h)}</th>`)).join("")}</tr></thead>`,
  );
  const row = (cells: string[], verdict: boolean) =>
    `<tr>${cells
      .map((cell, i) => {
        if (i === 0) return `<th>${e(cell)}</th>`;
        const cls = verdict ? ` class="${cell === "yes" ? "yes" : "no"}"` : "";
        return `<td data-design="${e(t.heads[i]!)}"${cls}>${e(cell)}</td>`;
      })
      .join("")}</tr>`;
  out.push(`<tbody>${t.rows.map((r) => row(r, false)).join("\n")}</tbody>`);
  out.push(`<tbody class="verdict">${t.verdict.map((r) => row(r, true)).join("\n")}</tbody>`);
  out.push("</table></div>");

  // the charts
  out.push(
    "<h2>Pages in use per node, step by step</h2>",
    `<p>Per design, the pages in use on each node (the node's MemTotal − MemFree: anonymous memory, ` +
      `page cache, page tables and the kernel's own pages) after boot and after each step. ` +
      `Device nodes are dashed, in a band of their own with its own scale. Hover over a step for its description and the counts.</p>`,
    `<div class="charts">`,
  );
  for (const d of c.designs) {
    out.push(
      `<figure class="chart" data-design="${e(d.design)}">`,
      `<figcaption>${e(d.design)}<span class="verdicts">keeps isolation: ${yesNo(d.verdict.isolation)} · ` +
        `keeps reachability: ${yesNo(d.verdict.reachability)}</span></figcaption>`,
      chart(sc, d, bands, styles),
      legend(d.usage.nodes, styles),
      "</figure>",
    );
  }
  out.push("</div>");

  // the steps the charts' x axis counts
  out.push("<h2>Steps</h2>", `<ol class="steps" start="0">`);
  for (const s of sc.steps) {
    out.push(
      `<li><span class="task">${e(s.task)}</span>: ${e(describeStep(s))}` +
        `${s.comment ? ` <span class="comment">— ${e(s.comment)}</span>` : ""}</li>`,
    );
  }
  out.push("</ol>");
  out.push(
    `<footer>Made by <code>cdmsim compare${sc.file ? ` ${e(sc.file)}` : ""} --html</code>; ` +
      `every number comes from the runs of the model.</footer>`,
    "</body>",
    "</html>",
    "",
  );
  return out.join("\n");
}
