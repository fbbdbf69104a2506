/**
 * A picture of a machine as one self-contained SVG document: a box per NUMA node whose
 * area grows with its memory (the sides scale with the square root of the memory, relative
 * to the largest node), filled by the node's kind, with its CPU list underneath; nodes
 * whose memory is all ZONE_MOVABLE have a dashed border and say so; the SLIT as a matrix
 * (it stays readable at 8 and 16 nodes, where edges would not).
 */

import { formatNodeList } from "../kernel/nodemask.js";
import type { MachineSpec, NodeKind, NodeSpec } from "../kernel/topology.js";
import { escapeMarkup, sizeApprox } from "../report/format.js";

export const KIND_COLOURS: Record<NodeKind, string> = {
  dram: "#4e79a7",
  hbm: "#f28e2b",
  gpu: "#59a14f",
  cxl: "#b07aa1",
  pmem: "#9c755f",
};

const KIND_NAMES: Record<NodeKind, string> = {
  dram: "DRAM",
  hbm: "HBM",
  gpu: "GPU memory",
  cxl: "CXL memory",
  pmem: "persistent memory",
};

const MARGIN = 20;
const COLUMNS = 4;
const CELL_W = 190;
const BOX_MAX_W = 150;
const BOX_MAX_H = 90;
const BOX_MIN = 14;
const TEXT_LINES = 4;
const LINE = 15;
const CELL_H = BOX_MAX_H + 12 + TEXT_LINES * LINE + 16;
const MATRIX_CELL_W = 40;
const MATRIX_CELL_H = 22;
const CPU_LIST_MAX = 26;

function cpuText(n: NodeSpec): { shown: string; full: string } {
  if (!n.cpus.length) return { shown: "no CPUs", full: "no CPUs" };
  const full = `CPUs ${formatNodeList([...n.cpus].sort((a, b) => a - b))}`;
  return { shown: full.length > CPU_LIST_MAX ? `${full.slice(0, CPU_LIST_MAX - 1)}…` : full, full };
}

/** Fill of a SLIT cell: light for the node itself, darker with the distance. */
function distanceFill(d: number, max: number): string {
  if (d <= 10 || max <= 10) return "#f2f2f2";
  const t = Math.min(1, (d - 10) / (max - 10));
  const ch = (from: number, to: number) => Math.round(from + (to - from) * t);
  // from a pale blue to a deep red
  return `rgb(${ch(222, 200)},${ch(235, 60)},${ch(247, 50)})`;
}

export function machineSvg(m: MachineSpec, opts: { title?: string } = {}): string {
  const title = opts.title ?? "NUMA machine";
  const nodes = m.nodes;
  const ids = nodes.map((n) => n.id);
  const maxMem = Math.max(1, ...nodes.map((n) => n.memoryBytes));
  const cols = Math.max(1, Math.min(COLUMNS, nodes.length));
  const rows = Math.ceil(nodes.length / cols);
  const kinds = Object.keys(KIND_COLOURS) as NodeKind[];

  const out: string[] = [];
  let y = MARGIN;

  // heading
  out.push(`<text x="${MARGIN}" y="${y + 16}" class="heading">${escapeMarkup(title)}</text>`);
  const total = nodes.reduce((s, n) => s + n.memoryBytes, 0);
  const cpus = nodes.reduce((s, n) => s + n.cpus.length, 0);
  out.push(
    `<text x="${MARGIN}" y="${y + 34}" class="small">${nodes.length} nodes, ${cpus} CPUs, ${escapeMarkup(sizeApprox(total))}; box area grows with memory (square-root scale of the sides)</text>`,
  );
  y += 50;

  // legend: every kind, then the movable mark
  let lx = MARGIN;
  out.push('<g class="legend">');
  for (const k of kinds) {
    out.push(
      `<rect class="swatch" x="${lx}" y="${y}" width="12" height="12" fill="${KIND_COLOURS[k]}" stroke="#333"/>`,
    );
    out.push(`<text x="${lx + 17}" y="${y + 10}" class="small">${escapeMarkup(KIND_NAMES[k])}</text>`);
    lx += 17 + KIND_NAMES[k].length * 6.5 + 16;
  }
  out.push(
    `<rect class="swatch" x="${lx}" y="${y}" width="12" height="12" fill="#ffffff" stroke="#333" stroke-dasharray="3 2"/>`,
  );
  out.push(`<text x="${lx + 17}" y="${y + 10}" class="small">movable only (ZONE_MOVABLE)</text>`);
  lx += 17 + 28 * 6.5;
  out.push("</g>");
  const legendW = lx - MARGIN;
  y += 28;

  // nodes
  const gridTop = y;
  nodes.forEach((n, i) => {
    const cx = MARGIN + (i % cols) * CELL_W;
    const cy = gridTop + Math.floor(i / cols) * CELL_H;
    const s = Math.sqrt(n.memoryBytes / maxMem);
    const w = Math.max(BOX_MIN, Math.round(BOX_MAX_W * s));
    const h = Math.max(BOX_MIN, Math.round(BOX_MAX_H * s));
    const bx = cx + Math.round((CELL_W - 20 - w) / 2);
    const by = cy + BOX_MAX_H - h;
    const cpu = cpuText(n);
    const flags = [n.movable ? "movable" : "", n.cdm ? "cdm" : ""].filter(Boolean).join(", ");
    const tip = `node ${n.id}: ${KIND_NAMES[n.kind]}, ${sizeApprox(n.memoryBytes)}, ${cpu.full}${flags ? `, ${flags}` : ""}`;
    const dashed = n.movable ? ' stroke-dasharray="6 4"' : "";
    const tx = cx + (CELL_W - 20) / 2;
    let ty = cy + BOX_MAX_H + 12 + 11;
    out.push(`<g class="node" id="node-${n.id}">`);
    out.push(`<title>${escapeMarkup(tip)}</title>`);
    out.push(
      `<rect data-node="${n.id}" x="${bx}" y="${by}" width="${w}" height="${h}" rx="4" fill="${KIND_COLOURS[n.kind]}" stroke="#222" stroke-width="1.5"${dashed}/>`,
    );
    out.push(`<text x="${tx}" y="${ty}" class="label">node ${n.id}</text>`);
    ty += LINE;
    out.push(
      `<text x="${tx}" y="${ty}" class="small mid">${escapeMarkup(`${KIND_NAMES[n.kind]}, ${sizeApprox(n.memoryBytes)}`)}</text>`,
    );
    ty += LINE;
    out.push(`<text x="${tx}" y="${ty}" class="small mid">${escapeMarkup(cpu.shown)}</text>`);
    if (flags) {
      ty += LINE;
      out.push(`<text x="${tx}" y="${ty}" class="small mid flag">${escapeMarkup(flags)}</text>`);
    }
    out.push("</g>");
  });
  y = gridTop + rows * CELL_H + 10;
  const gridW = cols * CELL_W;

  // the SLIT as a matrix, rows and columns in the order of the nodes
  const maxD = Math.max(10, ...m.distances.flat());
  out.push(`<text x="${MARGIN}" y="${y + 12}" class="label start">node distances (SLIT)</text>`);
  y += 22;
  out.push('<g class="distances">');
  const mx = MARGIN + MATRIX_CELL_W;
  ids.forEach((id, j) => {
    out.push(
      `<text x="${mx + j * MATRIX_CELL_W + MATRIX_CELL_W / 2}" y="${y + 15}" class="small mid bold">${id}</text>`,
    );
  });
  y += MATRIX_CELL_H;
  ids.forEach((id, i) => {
    const ry = y + i * MATRIX_CELL_H;
    out.push(`<text x="${mx - 8}" y="${ry + 15}" class="small end bold">${id}</text>`);
    ids.forEach((_, j) => {
      const d = m.distances[i]?.[j] ?? (i === j ? 10 : 20);
      const x = mx + j * MATRIX_CELL_W;
      out.push(
        `<rect class="cell" x="${x}" y="${ry}" width="${MATRIX_CELL_W}" height="${MATRIX_CELL_H}" fill="${distanceFill(d, maxD)}" stroke="#ffffff"/>`,
      );
      const dark = maxD > 10 && (d - 10) / (maxD - 10) > 0.5;
      out.push(
        `<text x="${x + MATRIX_CELL_W / 2}" y="${ry + 15}" class="small mid${dark ? " light" : ""}">${d}</text>`,
      );
    });
  });
  out.push("</g>");
  y += ids.length * MATRIX_CELL_H;
  const matrixW = MATRIX_CELL_W * (ids.length + 1);

  const width = Math.ceil(MARGIN * 2 + Math.max(gridW, matrixW, legendW, 460));
  const height = Math.ceil(y + MARGIN);
  const style = [
    "text { font-family: sans-serif; fill: #222; }",
    ".heading { font-size: 16px; font-weight: bold; }",
    ".label { font-size: 13px; font-weight: bold; text-anchor: middle; }",
    ".label.start { text-anchor: start; }",
    ".small { font-size: 11px; }",
    ".mid { text-anchor: middle; }",
    ".end { text-anchor: end; }",
    ".bold { font-weight: bold; }",
    ".flag { font-style: italic; }",
    ".light { fill: #ffffff; }",
  ].join(" ");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`,
    `<title>${escapeMarkup(title)}</title>`,
    `<style>${style}</style>`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
