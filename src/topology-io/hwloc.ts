/**
 * A machine from hwloc's XML export, format versions 2 and 3 (`<topology version="2.0">`
 * or "3.0", written by hwloc 2.x and 3.x; hwloc's topology-xml.c and hwloc2.dtd).
 *
 * What is read:
 * - NUMANode objects: os_index (the Linux node id), local_memory (bytes, rounded down to
 *   whole pages), subtype → kind: DRAM → dram, HBM and MCDRAM → hbm, GPUMemory → gpu,
 *   CXL-DRAM → cxl, NVM and CXL-NVM → pmem, SPM or none → dram (hwloc's documented subtypes).
 * - CPUs: hwloc attaches a node as a memory child of the object whose CPUs are local to it
 *   (through MemCache objects for memory-side caches), so several nodes can share one
 *   parent. Linux gives each CPU one node: a PU goes to the nodes of its nearest ancestor
 *   that has any, and there to the first node by os_index whose kind is dram (else hbm,
 *   else the first); the other nodes of that parent are CPU-less.
 * - distances2 of type NUMANode (the object indexes and u64 values may be split over
 *   several `indexes`/`u64values` elements): the matrix named NUMALatency (what hwloc's
 *   Linux backend reads from the SLIT), else the first one of kind "from the OS, means
 *   latency", else the first that means latency. Bandwidth matrices and the heterogeneous
 *   `distances2hetero` matrices (GPUs, Groups, Machine) are ignored. Nodes outside the
 *   matrix, or every node when there is none, get 10 to themselves and 20 to the others.
 * - memattr Bandwidth (hwloc: MiB/s) and Latency (ns) of a node, from the initiator that is
 *   the node's own CPU set (its locality), or the single value given without an initiator:
 *   kept as bandwidth_mbps / latency_ns.
 *
 * Where hwloc is silent, Linux's usual way of onlining such memory is assumed: a CPU-less
 * node of subtype GPUMemory, CXL-DRAM, CXL-NVM or NVM is movable (the driver or the device
 * DAX kmem driver hot-adds it to ZONE_MOVABLE); every other node is not.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { NodeKind } from "../kernel/topology.js";
import {
  clip,
  defaultDistances,
  finishMachine,
  type ImportedNode,
  type ImportResult,
  MAX_CPUS,
  MAX_NODE_BYTES,
  memoryBytes,
  parseIntIn,
  TopologyImportError,
} from "./common.js";

type Attrs = Record<string, string>;
interface XEl {
  "@"?: Attrs;
  "#text"?: string;
  [child: string]: unknown;
}

const SUBTYPE_KIND: Record<string, NodeKind> = {
  DRAM: "dram",
  SPM: "dram",
  HBM: "hbm",
  MCDRAM: "hbm",
  GPUMemory: "gpu",
  "CXL-DRAM": "cxl",
  "CXL-NVM": "pmem",
  NVM: "pmem",
};
const MOVABLE_SUBTYPES = new Set(["GPUMemory", "CXL-DRAM", "CXL-NVM", "NVM"]);

/** hwloc_distances kinds (hwloc/distances.h) */
const KIND_FROM_OS = 1;
const KIND_MEANS_LATENCY = 4;
const KIND_MEANS_BANDWIDTH = 8;

const MAX_DEPTH = 64;

interface Obj {
  type: string;
  attrs: Attrs;
  where: string;
  parent: Obj | undefined;
  /** NUMA nodes attached to this object (memory children, through MemCache) */
  nodes: NodeObj[];
}
interface NodeObj {
  obj: Obj;
  id: number;
  subtype: string | undefined;
  kind: NodeKind;
  cpus: Set<number>;
  cpuset: string | undefined;
  spec: ImportedNode;
}

function children(el: XEl, tag: string): XEl[] {
  const c = el[tag];
  return Array.isArray(c) ? (c as XEl[]) : [];
}

/**
 * An hwloc bitmap ("0x00000003,0xffffffff", most significant 32-bit word first, an empty
 * word for a zero word, "0xf...f," first for an infinite set): its set bits, canonically
 * as a sorted list in a string. hwloc_bitmap_sscanf() reads the same form.
 */
export function parseHwlocBitmap(
  text: string,
  file: string,
  where: string,
): { bits: number[]; infinite: boolean } {
  const t = text.trim();
  let words = t.split(",");
  let infinite = false;
  if (words[0] === "0xf...f") {
    infinite = true;
    words = words.slice(1);
  }
  const bad = () =>
    new TopologyImportError(
      file,
      where,
      `expected a bitmap of comma-separated 32-bit hex words such as "0x00000003,0xffffffff", got "${clip(t)}"`,
    );
  if (words.length > MAX_CPUS / 32 + 1) throw bad();
  const bits: number[] = [];
  const n = words.length;
  words.forEach((w, i) => {
    if (w === "" && i < n - 1) return; // a zero word
    if (!/^0x[0-9a-fA-F]{1,8}$/.test(w)) throw bad();
    const v = Number.parseInt(w.slice(2), 16);
    const base = (n - 1 - i) * 32;
    for (let b = 0; b < 32; b++) if (v & (2 ** b)) bits.push(base + b);
  });
  return { bits: bits.sort((a, b) => a - b), infinite };
}

function xmlParse(text: string, file: string): XEl {
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const e = valid.err;
    throw new TopologyImportError(file, `line ${e.line}, column ${e.col}`, `malformed XML: ${e.msg}`);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    attributesGroupName: "@",
    parseAttributeValue: false,
    parseTagValue: false,
    processEntities: true,
    ignoreDeclaration: true,
    isArray: (name, _j, _leaf, isAttr) => !isAttr && name !== "topology",
  });
  try {
    return parser.parse(text) as XEl;
  } catch (e) {
    throw new TopologyImportError(file, "", `malformed XML: ${(e as Error).message}`);
  }
}

/** Is this XML text an hwloc topology (root element <topology>)? */
export function looksLikeHwloc(text: string): boolean {
  const head = text
    .slice(0, 4096)
    .replace(/<\?[^>]*\?>/g, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<!DOCTYPE[^>]*>/g, "")
    .trimStart();
  return /^<topology[\s>/]/.test(head);
}

export function importHwlocXml(text: string, file: string): ImportResult {
  const doc = xmlParse(text, file);
  const top = doc.topology as XEl | undefined;
  if (!top || typeof top !== "object") {
    throw new TopologyImportError(file, "root element", "expected <topology> (an hwloc XML export)");
  }
  const notes: string[] = [];
  const version = top["@"]?.version;
  if (version === undefined) {
    throw new TopologyImportError(
      file,
      "<topology>",
      "no version attribute: this is hwloc's format version 1 (hwloc 1.x); export the machine with hwloc 2 or later (lstopo machine.xml)",
    );
  }
  if (!/^[23]\.\d+$/.test(version)) {
    throw new TopologyImportError(file, "<topology>", `format version "${clip(version)}" is not 2.x or 3.x`);
  }
  const roots = children(top, "object");
  if (roots.length !== 1) {
    throw new TopologyImportError(
      file,
      "<topology>",
      `expected one root <object type="Machine">, found ${roots.length}`,
    );
  }

  const nodes: NodeObj[] = [];
  const pus: { os: number; obj: Obj }[] = [];
  const byGp = new Map<string, Obj>();
  const cpusetOf = new Map<Obj, string>();

  const walk = (el: XEl, where: string, parent: Obj | undefined, depth: number) => {
    if (depth > MAX_DEPTH)
      throw new TopologyImportError(file, where, `objects nested deeper than ${MAX_DEPTH}`);
    const attrs = el["@"] ?? {};
    const type = attrs.type;
    if (!type) throw new TopologyImportError(file, where, 'expected a type attribute (<object type="...">)');
    const obj: Obj = {
      type,
      attrs,
      where: `<object type="${clip(type, 20)}"> at ${where}`,
      parent,
      nodes: [],
    };
    if (attrs.gp_index !== undefined) byGp.set(`${type}:${attrs.gp_index}`, obj);
    if (attrs.cpuset !== undefined) {
      const bm = parseHwlocBitmap(attrs.cpuset, file, `${obj.where}, attribute cpuset`);
      cpusetOf.set(obj, bm.infinite ? "inf" : bm.bits.join(","));
    }
    if (type === "NUMANode") {
      const id = parseIntIn(attrs.os_index ?? "", 0, 1023, file, obj.where, "os_index (the node id)");
      let bytes = 0n;
      if (attrs.local_memory !== undefined) {
        const lm = attrs.local_memory.trim();
        if (!/^\d{1,20}$/.test(lm)) {
          throw new TopologyImportError(
            file,
            obj.where,
            `local_memory: expected bytes as an integer, got "${clip(lm)}"`,
          );
        }
        bytes = BigInt(lm);
        if (bytes > MAX_NODE_BYTES) {
          throw new TopologyImportError(
            file,
            obj.where,
            `local_memory ${lm} bytes is above the 64 TiB limit of a node`,
          );
        }
      }
      const subtype = attrs.subtype;
      let kind: NodeKind = "dram";
      if (subtype !== undefined) {
        const k = SUBTYPE_KIND[subtype];
        if (k) kind = k;
        else notes.push(`node ${id}: unknown subtype "${clip(subtype)}" taken as dram`);
      }
      // the object whose CPUs the node is local to: the nearest ancestor that is not a memory-side cache
      let home = parent;
      while (home && home.type === "MemCache") home = home.parent;
      const n: NodeObj = {
        obj,
        id,
        subtype,
        kind,
        cpus: new Set(),
        cpuset: cpusetOf.get(obj),
        spec: {
          id,
          cpus: [],
          memoryBytes: memoryBytes(bytes, file, obj.where),
          movable: false,
          kind,
          cdm: false,
          where: obj.where,
        },
      };
      nodes.push(n);
      (home ?? obj).nodes.push(n);
    } else if (type === "PU") {
      const os = parseIntIn(attrs.os_index ?? "", 0, MAX_CPUS - 1, file, obj.where, "os_index (the cpu id)");
      pus.push({ os, obj });
    }
    for (const [i, c] of children(el, "object").entries())
      walk(c, `${where}/object[${i + 1}]`, obj, depth + 1);
  };
  walk(roots[0]!, "topology/object[1]", undefined, 1);
  if (!nodes.length) throw new TopologyImportError(file, "", "no NUMANode object found");

  // each PU to one node (see the file comment)
  const rank = (k: NodeKind) => (k === "dram" ? 0 : k === "hbm" ? 1 : 2);
  for (const pu of pus) {
    let a: Obj | undefined = pu.obj.parent;
    while (a && !a.nodes.length) a = a.parent;
    if (!a) continue;
    const owner = [...a.nodes].sort((x, y) => rank(x.kind) - rank(y.kind) || x.id - y.id)[0]!;
    owner.cpus.add(pu.os);
  }
  for (const n of nodes) {
    n.spec.cpus = [...n.cpus];
    n.spec.movable = n.cpus.size === 0 && n.spec.memoryBytes > 0 && MOVABLE_SUBTYPES.has(n.subtype ?? "");
  }

  memoryAttributes(top, nodes, byGp, cpusetOf, file);
  const { distances, where } = numaDistances(top, nodes, byGp, file, notes);
  const machine = finishMachine(
    nodes.map((n) => n.spec),
    distances,
    file,
    { distances: where },
  );
  return { machine, format: "hwloc-xml", notes: notes.length ? notes : undefined };
}

function memoryAttributes(
  top: XEl,
  nodes: readonly NodeObj[],
  byGp: ReadonlyMap<string, Obj>,
  cpusetOf: ReadonlyMap<Obj, string>,
  file: string,
) {
  const fields = { Bandwidth: "bandwidthMBps", Latency: "latencyNs" } as const;
  const byObj = new Map<Obj, NodeObj>(nodes.map((n) => [n.obj, n]));
  children(top, "memattr").forEach((ma, i) => {
    const name = ma["@"]?.name;
    if (name !== "Bandwidth" && name !== "Latency") return;
    const field = fields[name];
    const perNode = new Map<NodeObj, { value: number; local: boolean; hasInitiator: boolean }[]>();
    children(ma, "memattr_value").forEach((v, j) => {
      const where = `<memattr name="${name}"> at topology/memattr[${i + 1}]/memattr_value[${j + 1}]`;
      const a = v["@"] ?? {};
      if (a.target_obj_type !== "NUMANode") return;
      const target = byGp.get(`NUMANode:${a.target_obj_gp_index}`);
      const node = target && byObj.get(target);
      if (!node) {
        throw new TopologyImportError(
          file,
          where,
          `target_obj_gp_index ${clip(a.target_obj_gp_index ?? "")} is no NUMANode's gp_index`,
        );
      }
      const value = parseIntIn(a.value ?? "", 0, Number.MAX_SAFE_INTEGER, file, where, "value");
      let initiator: string | undefined;
      if (a.initiator_cpuset !== undefined) {
        const bm = parseHwlocBitmap(a.initiator_cpuset, file, `${where}, attribute initiator_cpuset`);
        initiator = bm.infinite ? "inf" : bm.bits.join(",");
      } else if (a.initiator_obj_gp_index !== undefined) {
        const o = byGp.get(`${a.initiator_obj_type}:${a.initiator_obj_gp_index}`);
        initiator = o ? cpusetOf.get(o) : undefined;
        if (initiator === undefined) initiator = "?";
      }
      const list = perNode.get(node) ?? [];
      list.push({
        value,
        local: initiator !== undefined && initiator === node.cpuset,
        hasInitiator: initiator !== undefined,
      });
      perNode.set(node, list);
    });
    for (const [node, list] of perNode) {
      const local = list.find((x) => x.local);
      const pick = local ?? (list.length === 1 && !list[0]!.hasInitiator ? list[0] : undefined);
      if (pick && pick.value > 0) node.spec[field] = pick.value;
    }
  });
}

function numaDistances(
  top: XEl,
  nodes: readonly NodeObj[],
  byGp: ReadonlyMap<string, Obj>,
  file: string,
  notes: string[],
): { distances: number[][]; where: string } {
  const ids = nodes.map((n) => n.id);
  const candidates = children(top, "distances2")
    .map((el, i) => ({ el, i, a: el["@"] ?? {} }))
    .filter((d) => d.a.type === "NUMANode");
  const kindOf = (a: Attrs) => Number(a.kind ?? 0);
  const chosen =
    candidates.find((d) => d.a.name === "NUMALatency") ??
    candidates.find(
      (d) => (kindOf(d.a) & (KIND_FROM_OS | KIND_MEANS_LATENCY)) === (KIND_FROM_OS | KIND_MEANS_LATENCY),
    ) ??
    candidates.find((d) => kindOf(d.a) & KIND_MEANS_LATENCY && !(kindOf(d.a) & KIND_MEANS_BANDWIDTH));
  if (children(top, "distances2hetero").length)
    notes.push("heterogeneous distance matrices (distances2hetero) are ignored");
  if (!chosen) {
    if (ids.length > 1)
      notes.push("no NUMANode latency matrix: distances are 10 to the node itself and 20 to the others");
    return { distances: defaultDistances(ids), where: "topology" };
  }
  const where = `<distances2${chosen.a.name ? ` name="${clip(chosen.a.name)}"` : ""}> at topology/distances2[${chosen.i + 1}]`;
  const nb = parseIntIn(chosen.a.nbobjs ?? "", 1, 1024, file, where, "nbobjs");
  const tokens = (tag: string) =>
    children(chosen.el, tag).flatMap((e) =>
      String(e["#text"] ?? "")
        .split(/\s+/)
        .filter(Boolean),
    );
  const idx = tokens("indexes");
  const vals = tokens("u64values");
  if (idx.length !== nb)
    throw new TopologyImportError(file, where, `${idx.length} indexes for nbobjs="${nb}"`);
  if (vals.length !== nb * nb) {
    throw new TopologyImportError(
      file,
      where,
      `${vals.length} u64values for a ${nb}x${nb} matrix (expected ${nb * nb}; it must be square)`,
    );
  }
  const indexing = chosen.a.indexing ?? "os";
  const objNode = new Map<Obj, NodeObj>(nodes.map((n) => [n.obj, n]));
  const pos = idx.map((t) => {
    if (indexing === "gp") {
      const o = byGp.get(`NUMANode:${t}`);
      const n = o && objNode.get(o);
      if (!n) throw new TopologyImportError(file, where, `index ${clip(t)} is no NUMANode's gp_index`);
      return nodes.indexOf(n);
    }
    const id = parseIntIn(t, 0, 1023, file, where, "index");
    const k = ids.indexOf(id);
    if (k === -1) throw new TopologyImportError(file, where, `index ${id} is no NUMANode's os_index`);
    return k;
  });
  const dist = defaultDistances(ids);
  const covered = new Set(pos);
  for (let r = 0; r < nb; r++) {
    for (let c = 0; c < nb; c++) {
      dist[pos[r]!]![pos[c]!] = parseIntIn(
        vals[r * nb + c]!,
        0,
        255,
        file,
        where,
        `value [${r}][${c}] (a distance)`,
      );
    }
  }
  const missing = ids.filter((_, k) => !covered.has(k));
  if (missing.length)
    notes.push(`nodes ${missing.join(",")} are not in the distance matrix: 20 to the others`);
  return { distances: dist, where };
}
