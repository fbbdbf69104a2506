/**
 * A machine from the text `numactl --hardware` prints (numactl.c hardware(),
 * print_node_cpus(), print_distances(), fmt_mem()), in the forms numactl has printed:
 *
 * - 2.0.x since 2010: "available: N nodes (0-1,4)", per node "node X cpus: 0 1 2" (or, with
 *   --cpu-compress, " 0-3, 8-11 (8)"), "node X size: M MB", "node X free: M MB", then
 *   "node distances:", a header row of node ids and one "X: d d d" row per node (columns
 *   "% 3d" before 2.0.16, "% 4d" after); or "No distance information available.".
 * - 0.9.x (2006-2010): the same lines, but "available: N nodes (0-M)" counts up to the
 *   highest node, and the distance table may have a column for every id up to it.
 * - 0.6-0.8 (2004-2005): no "cpus:" lines. CPUs are then unknown, which the model cannot
 *   run without: the import stops with an error saying so.
 *
 * Sizes are MemTotal shifted to whole MB (fmt_mem()), so a node gets M MiB, a whole number
 * of pages. numactl does not say which memory is movable or what it is: every node is an
 * ordinary, not movable, dram node (mark device memory with the scenario's `cdm:` list).
 */
import { MAX_NUMNODES } from "../kernel/constants.js";
import {
  clip,
  defaultDistances,
  finishMachine,
  type ImportedNode,
  type ImportResult,
  MAX_CPUS,
  MAX_DISTANCE,
  MAX_NODE_BYTES,
  memoryBytes,
  parseIntIn,
  TopologyImportError,
} from "./common.js";

/** Is this text numactl --hardware output? */
export function looksLikeNumactl(text: string): boolean {
  const head = text.slice(0, 65536);
  return /^available: \d+ nodes?\b/m.test(head) || /^node distances:/m.test(head);
}

interface Partial {
  id: number;
  line: number;
  cpus?: number[];
  bytes?: bigint;
  free?: boolean;
}

export function importNumactlText(text: string, file: string): ImportResult {
  const lines = text.split(/\r?\n/);
  const notes: string[] = [];
  const err = (i: number, msg: string): never => {
    throw new TopologyImportError(file, `line ${i + 1}`, msg);
  };
  const nodeId = (s: string, i: number) =>
    parseIntIn(s, 0, MAX_NUMNODES - 1, file, `line ${i + 1}`, "node id");
  let i = 0;
  while (i < lines.length && !/^available:/.test(lines[i]!)) {
    if (/^No NUMA (support )?available/.test(lines[i]!))
      err(i, "numactl found no NUMA support on that machine");
    i++;
  }
  if (i === lines.length) {
    throw new TopologyImportError(
      file,
      "line 1",
      'expected "available: N nodes (...)" (numactl --hardware output)',
    );
  }
  const avail = /^available:\s+(\d+)\s+nodes?\s+\(([^)]*)\)\s*$/.exec(lines[i]!);
  if (!avail) err(i, `expected "available: N nodes (0-1)", got "${clip(lines[i]!)}"`);
  const declared = parseIntIn(avail![1]!, 0, MAX_NUMNODES, file, `line ${i + 1}`, "the node count");
  i++;
  const nodes = new Map<number, Partial>();
  const get = (id: number, line: number) => {
    let n = nodes.get(id);
    if (!n) nodes.set(id, (n = { id, line }));
    return n;
  };
  let distLine = -1;
  let noDistances = false;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === "") continue;
    let m = /^node (\d+) cpus:(.*)$/.exec(l);
    if (m) {
      const n = get(nodeId(m[1]!, i), i);
      if (n.cpus) err(i, `node ${n.id} has a second "cpus:" line`);
      n.cpus = parseCpus(m[2]!, i, file);
      continue;
    }
    m = /^node (\d+) size:\s*(.*)$/.exec(l);
    if (m) {
      const n = get(nodeId(m[1]!, i), i);
      if (n.bytes !== undefined) err(i, `node ${n.id} has a second "size:" line`);
      const v = m[2]!.trim();
      if (v === "<not available>") {
        n.bytes = 0n;
        notes.push(`node ${n.id}: size <not available>, imported without memory`);
        continue;
      }
      const s = /^(\d{1,15}) MB$/.exec(v);
      if (!s) err(i, `expected "node ${n.id} size: <n> MB", got "${clip(l)}"`);
      n.bytes = BigInt(s![1]!) << 20n;
      if (n.bytes > MAX_NODE_BYTES)
        err(i, `node ${n.id} size ${s![1]} MB is above the 64 TiB limit of a node`);
      continue;
    }
    m = /^node (\d+) free:\s*(.*)$/.exec(l);
    if (m) {
      const v = m[2]!.trim();
      if (v !== "<not available>" && !/^\d{1,15} MB$/.test(v))
        err(i, `expected "node ${m[1]} free: <n> MB", got "${clip(l)}"`);
      get(nodeId(m[1]!, i), i).free = true;
      continue;
    }
    if (/^node distances:\s*$/.test(l)) {
      distLine = i;
      break;
    }
    if (/^No distance information available\.?\s*$/.test(l)) {
      noDistances = true;
      break;
    }
    err(i, `expected "node N cpus:", "node N size:", "node N free:" or "node distances:", got "${clip(l)}"`);
  }
  if (!nodes.size) err(i - 1, 'no "node N size:" lines');
  const list = [...nodes.values()].sort((a, b) => a.id - b.id);
  if (declared !== list.length)
    notes.push(`"available:" says ${declared} nodes; ${list.length} are described`);
  if (list.every((n) => n.cpus === undefined)) {
    throw new TopologyImportError(
      file,
      `line ${list[0]!.line + 1}`,
      'no "node N cpus:" lines (numactl before 0.9 did not print them): the CPUs of the nodes are unknown; add a line "node N cpus: 0 1 ..." for each node',
    );
  }
  for (const n of list) {
    if (n.cpus === undefined) err(n.line, `node ${n.id} has no "cpus:" line`);
    if (n.bytes === undefined) err(n.line, `node ${n.id} has no "size:" line`);
  }
  const ids = list.map((n) => n.id);
  let distances: number[][];
  let distWhere = distLine >= 0 ? `line ${distLine + 1}` : "";
  if (distLine >= 0) {
    distances = parseDistances(lines, distLine + 1, ids, file, notes);
  } else {
    if (!noDistances) notes.push("no distance table");
    notes.push("distances are 10 to the node itself and 20 to the others");
    distances = defaultDistances(ids);
    distWhere = "";
  }
  const out: ImportedNode[] = list.map((n) => ({
    id: n.id,
    cpus: n.cpus!,
    memoryBytes: memoryBytes(n.bytes!, file, `line ${n.line + 1}`),
    movable: false,
    kind: "dram",
    cdm: false,
    where: `line ${n.line + 1}`,
  }));
  const machine = finishMachine(out, distances, file, { distances: distWhere });
  return { machine, format: "numactl", notes: notes.length ? notes : undefined };
}

/** print_node_cpus(): " 0 1 2", or with --cpu-compress " 0-3, 8-11 (8)". */
function parseCpus(text: string, i: number, file: string): number[] {
  const where = `line ${i + 1}`;
  let t = text.trim();
  const count = /\((\d+)\)$/.exec(t);
  if (count) t = t.slice(0, count.index).trim();
  const out = new Set<number>();
  for (const part of t.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m)
      throw new TopologyImportError(
        file,
        where,
        `expected cpu numbers such as "0 1 2" or "0-3, 8-11", got "${clip(part)}"`,
      );
    const a = parseIntIn(m[1]!, 0, MAX_CPUS - 1, file, where, "cpu");
    const b = m[2] === undefined ? a : parseIntIn(m[2], 0, MAX_CPUS - 1, file, where, "cpu");
    if (b < a) throw new TopologyImportError(file, where, `cpu range ${a}-${b} is backwards`);
    for (let c = a; c <= b; c++) out.add(c);
  }
  if (count && Number(count[1]) !== out.size) {
    throw new TopologyImportError(
      file,
      where,
      `the count (${count[1]}) does not match the ${out.size} cpus listed`,
    );
  }
  return [...out];
}

/**
 * print_distances(): a header "node   0   1" and rows "  0:  10  20". Columns are the ids
 * of the header; old numactl printed a column and a row for every id up to the highest
 * node, described or not: those are dropped.
 */
function parseDistances(
  lines: readonly string[],
  start: number,
  ids: readonly number[],
  file: string,
  notes: string[],
): number[][] {
  let i = start;
  const hdr = /^node((?:\s+\d+)+)\s*$/.exec(lines[i] ?? "");
  if (!hdr) {
    throw new TopologyImportError(
      file,
      `line ${i + 1}`,
      `expected the header "node   0   1 ..." of the distance table, got "${clip(lines[i] ?? "")}"`,
    );
  }
  const cols = hdr[1]!
    .trim()
    .split(/\s+/)
    .map((s) => parseIntIn(s, 0, MAX_NUMNODES - 1, file, `line ${i + 1}`, "node id"));
  const rows = new Map<number, number[]>();
  for (i++; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === "") continue;
    const m = /^\s*(\d+):((?:\s+\d+)*)\s*$/.exec(l);
    if (!m)
      throw new TopologyImportError(
        file,
        `line ${i + 1}`,
        `expected a distance row "  0:  10  20 ...", got "${clip(l)}"`,
      );
    const id = parseIntIn(m[1]!, 0, MAX_NUMNODES - 1, file, `line ${i + 1}`, "node id");
    const vals = m[2]!.trim().split(/\s+/).filter(Boolean);
    if (vals.length !== cols.length) {
      throw new TopologyImportError(
        file,
        `line ${i + 1}`,
        `row ${id} has ${vals.length} distances for ${cols.length} columns (the table must be square)`,
      );
    }
    if (rows.has(id)) throw new TopologyImportError(file, `line ${i + 1}`, `a second row for node ${id}`);
    rows.set(
      id,
      vals.map((v) => parseIntIn(v, 0, MAX_DISTANCE, file, `line ${i + 1}`, "distance")),
    );
  }
  if (rows.size !== cols.length) {
    throw new TopologyImportError(
      file,
      `line ${start + 1}`,
      `the distance table has ${rows.size} rows for ${cols.length} columns (it must be square)`,
    );
  }
  const extra = cols.filter((c) => !ids.includes(c));
  if (extra.length) notes.push(`distance columns of undescribed nodes ${extra.join(",")} are dropped`);
  return ids.map((a) => {
    const row = rows.get(a);
    if (!row)
      throw new TopologyImportError(file, `line ${start + 1}`, `the distance table has no row for node ${a}`);
    return ids.map((b) => {
      const k = cols.indexOf(b);
      if (k === -1)
        throw new TopologyImportError(
          file,
          `line ${start + 1}`,
          `the distance table has no column for node ${b}`,
        );
      return row[k]!;
    });
  });
}
