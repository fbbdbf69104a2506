/**
 * A machine from a Linux sysfs tree: a directory (a captured copy, or /sys itself) or a
 * tarball of one. What the kernel prints there (Linux 6.1):
 *
 * - sys/devices/system/node/{possible,online,has_cpu,has_memory,has_normal_memory}: node
 *   lists ("%*pbl", show_node_state() in drivers/base/node.c).
 * - nodeN/cpulist ("%*pbl"), nodeN/meminfo ("Node N MemTotal: %8lu kB", node_read_meminfo()),
 *   nodeN/distance (node_distance() to each online node in order, node_read_distance()).
 * - nodeN/accessC/initiators/{read,write}_{bandwidth,latency} (the HMAT access classes, in
 *   MB/s and nanoseconds, node_access_release()/ACCESS_ATTR() in drivers/base/node.c).
 * - sys/devices/virtual/memory_tiering/memory_tierN/nodelist (mm/memory-tiers.c).
 *
 * The choices where sysfs is silent:
 * - Nodes are the online ones; possible but offline nodes are left out (with a note).
 * - movable: a node with memory (has_memory) but not in has_normal_memory has only
 *   ZONE_MOVABLE memory (node_states_set_node() sets N_NORMAL_MEMORY only for zones up to
 *   ZONE_NORMAL). Without has_normal_memory no node is movable (with a note).
 * - kind: `gpu` for a node that the NVIDIA driver names in
 *   /proc/driver/nvidia/gpus/<bus>/numa_status (the POWER9 and Grace coherent GPU memory,
 *   read the same way by hwloc's Linux backend); for a node a device-DAX instance onlined
 *   (sys/bus/dax/devices/daxX.Y/target_node): `pmem` under an NVDIMM bus (ndbus), `cxl` under
 *   the CXL root (ACPI0017), and for EFI specific-purpose memory (hmem) `hbm` when its HMAT
 *   bandwidth is above every other node's, else `dram`; `dram` for every other node.
 *   Memory tiers do not say the technology, so they only give the node's `adistance` (the
 *   middle of its tier's chunk of abstract distance); without them, a node device-DAX
 *   onlined gets what Linux 6.1's kmem driver gives it, dax_slowmem_type's adistance.
 * - bandwidth_mbps / latency_ns: read_bandwidth and read_latency of access class 0 (any
 *   initiator), or of class 1 (CPU initiators) when class 0 is absent.
 */

import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { MAX_NUMNODES } from "../kernel/constants.js";
import { MEMTIER_CHUNK_SIZE, MEMTIER_DEFAULT_DAX_ADISTANCE } from "../kernel/memory-tiers.js";
import { parseList } from "../kernel/nodemask.js";
import type { NodeKind } from "../kernel/topology.js";
import {
  clip,
  defaultDistances,
  finishMachine,
  type ImportedNode,
  type ImportResult,
  MAX_CPUS,
  MAX_DISTANCE,
  memoryBytes,
  parseIntIn,
  TopologyImportError,
} from "./common.js";
import { normalise, type TarEntry } from "./tar.js";

const NODE_DIR = "sys/devices/system/node";
/** A sysfs attribute is at most a page; a captured file larger than this is not one. */
const MAX_ATTR_BYTES = 1024 * 1024;

/** Read access to a tree of files, with paths relative to the directory that holds `sys/`. */
export interface FileTree {
  read(path: string): string | undefined;
  list(path: string): string[] | undefined;
  readlink(path: string): string | undefined;
  /** how an error names the place of `path` */
  where(path: string): string;
}

/** A tree on disk. */
export function diskTree(root: string, shown: string): FileTree {
  return {
    read(p) {
      const f = join(root, p);
      try {
        const st = statSync(f);
        if (!st.isFile()) return undefined;
        if (st.size > MAX_ATTR_BYTES) {
          throw new TopologyImportError(
            shown,
            p,
            `is ${st.size} bytes, larger than a sysfs attribute can be`,
          );
        }
        return readFileSync(f, "utf8");
      } catch (e) {
        if (e instanceof TopologyImportError) throw e;
        return undefined;
      }
    },
    list(p) {
      try {
        return readdirSync(join(root, p)).sort();
      } catch {
        return undefined;
      }
    },
    readlink(p) {
      try {
        return lstatSync(join(root, p)).isSymbolicLink() ? readlinkSync(join(root, p)) : undefined;
      } catch {
        return undefined;
      }
    },
    where: (p) => p,
  };
}

/** A tree from tar members, `prefix` being the members' path to the directory holding `sys/`. */
export function tarTree(entries: ReadonlyMap<string, TarEntry>, prefix: string): FileTree {
  const children = new Map<string, Set<string>>();
  for (const name of entries.keys()) {
    if (!name.startsWith(prefix)) continue;
    const parts = name.slice(prefix.length).split("/");
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      let set = children.get(dir);
      if (!set) children.set(dir, (set = new Set()));
      set.add(parts[i]!);
    }
  }
  const entry = (p: string): TarEntry | undefined => {
    let e = entries.get(prefix + p);
    // a hard link's data is its target's
    for (let hops = 0; e?.type === "hardlink" && e.linkname !== undefined && hops < 8; hops++) {
      e = entries.get(normalise(e.linkname));
    }
    return e;
  };
  return {
    read(p) {
      const e = entry(p);
      return e?.type === "file" ? e.data.toString("utf8") : undefined;
    },
    list(p) {
      const s = children.get(p);
      return s ? [...s].sort() : undefined;
    },
    readlink(p) {
      const e = entries.get(prefix + p);
      return e?.type === "symlink" ? e.linkname : undefined;
    },
    where: (p) => `tar member ${prefix}${p}`,
  };
}

/** The member-path prefix of the tree's root in a tarball: where `sys/devices/system/node` is. */
export function findTarRoot(entries: ReadonlyMap<string, TarEntry>, file: string): string {
  let best: string | undefined;
  for (const name of entries.keys()) {
    const i = name.indexOf(NODE_DIR);
    if (i === -1 || (i > 0 && name[i - 1] !== "/")) continue;
    const rest = name.slice(i + NODE_DIR.length);
    if (rest !== "" && !rest.startsWith("/")) continue;
    const prefix = name.slice(0, i);
    if (best === undefined || prefix.length < best.length) best = prefix;
  }
  if (best === undefined) {
    throw new TopologyImportError(file, "", `the archive has no ${NODE_DIR} directory (not a sysfs tree)`);
  }
  return best;
}

/**
 * The directory holding `sys/` for a directory the user named (that directory, its `sys/`,
 * the node directory itself, or one subdirectory holding such a tree), or undefined.
 */
export function findDiskRoot(dir: string, shown: string = dir): string | undefined {
  const isNodeDir = (d: string) => {
    try {
      return statSync(join(d, "online")).isFile() || readdirSync(d).some((n) => /^node\d+$/.test(n));
    } catch {
      return false;
    }
  };
  const abs = resolve(dir);
  if (isNodeDir(join(abs, NODE_DIR))) return abs;
  if (isNodeDir(join(abs, "devices/system/node"))) return resolve(abs, "..");
  if (abs.endsWith(`/${NODE_DIR}`) && isNodeDir(abs)) return resolve(abs, "../../../..");
  let subs: string[];
  try {
    subs = readdirSync(abs)
      .sort()
      .filter((sub) => isNodeDir(join(abs, sub, NODE_DIR)));
  } catch {
    return undefined;
  }
  if (subs.length > 1) {
    throw new TopologyImportError(
      shown,
      "",
      `holds several sysfs trees (${subs.join(", ")}): name one of them`,
    );
  }
  return subs.length ? join(abs, subs[0]!) : undefined;
}

interface Ctx {
  tree: FileTree;
  file: string;
  notes: string[];
}

function fail(c: Ctx, path: string, msg: string): never {
  throw new TopologyImportError(c.file, c.tree.where(path), msg);
}

/** A "%*pbl" list file (node or cpu list); undefined when the file is absent. */
function readList(c: Ctx, path: string, limit: number, what: string): number[] | undefined {
  const text = c.tree.read(path);
  if (text === undefined) return undefined;
  try {
    return parseList(text.trim(), limit);
  } catch (e) {
    return fail(
      c,
      path,
      `expected a ${what} list such as "0-3,8", got "${clip(text.trim())}": ${(e as Error).message}`,
    );
  }
}

/** cpumap: comma-separated 32-bit hex words, most significant first (bitmap_print_to_pagebuf()). */
function parseCpumap(c: Ctx, path: string, text: string): number[] {
  const words = text.trim().split(",");
  if (words.length > MAX_CPUS / 32 || !words.every((w) => /^[0-9a-fA-F]{1,8}$/.test(w))) {
    return fail(
      c,
      path,
      `expected a cpu mask of 32-bit hex words such as "00000000,000000ff", got "${clip(text.trim())}"`,
    );
  }
  const cpus: number[] = [];
  words.reverse().forEach((w, i) => {
    const v = Number.parseInt(w, 16);
    for (let b = 0; b < 32; b++) if (v & (1 << b)) cpus.push(i * 32 + b);
  });
  return cpus.sort((a, b) => a - b);
}

function readMemTotal(c: Ctx, node: number): bigint | undefined {
  const path = `${NODE_DIR}/node${node}/meminfo`;
  const text = c.tree.read(path);
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  const i = lines.findIndex((l) => /^Node\s+\d+\s+MemTotal:/.test(l));
  if (i === -1) return fail(c, path, `expected a line "Node ${node} MemTotal: <n> kB"`);
  const m = /^Node\s+(\d+)\s+MemTotal:\s*(\d+)\s+kB\s*$/.exec(lines[i]!);
  if (!m)
    return fail(
      c,
      `${path} line ${i + 1}`,
      `expected "Node ${node} MemTotal: <n> kB", got "${clip(lines[i]!)}"`,
    );
  if (Number(m[1]) !== node)
    return fail(c, `${path} line ${i + 1}`, `is about node ${m[1]}, expected node ${node}`);
  if (m[2]!.length > 20) return fail(c, `${path} line ${i + 1}`, "MemTotal is absurdly large");
  return BigInt(m[2]!) * 1024n;
}

function readUint(c: Ctx, path: string, what: string): number | undefined {
  const t = c.tree.read(path);
  if (t === undefined) return undefined;
  return parseIntIn(t, 0, 2 ** 32 - 1, c.file, c.tree.where(path), what);
}

/** The HMAT performance of a node from its nearest initiators (access class 0, else 1). */
function accessClass(c: Ctx, node: number): { bandwidthMBps?: number; latencyNs?: number } {
  for (const cls of [0, 1]) {
    const dir = `${NODE_DIR}/node${node}/access${cls}/initiators`;
    if (!c.tree.list(dir)) continue;
    const bw = readUint(c, `${dir}/read_bandwidth`, "read_bandwidth");
    const lat = readUint(c, `${dir}/read_latency`, "read_latency");
    const out: { bandwidthMBps?: number; latencyNs?: number } = {};
    if (bw) out.bandwidthMBps = bw;
    if (lat) out.latencyNs = lat;
    return out;
  }
  return {};
}

/** memory_tierN → N for each node listed in a tier. */
function memoryTiers(c: Ctx): Map<number, number> {
  const out = new Map<number, number>();
  const base = "sys/devices/virtual/memory_tiering";
  for (const name of c.tree.list(base) ?? []) {
    const m = /^memory_tier(\d+)$/.exec(name);
    if (!m) continue;
    const tier = Number(m[1]);
    for (const n of readList(c, `${base}/${name}/nodelist`, MAX_NUMNODES, "node") ?? []) out.set(n, tier);
  }
  return out;
}

/** Nodes holding NVIDIA GPU memory: "Node: N" in /proc/driver/nvidia/gpus/<bus>/numa_status. */
function nvidiaGpuNodes(c: Ctx): Set<number> {
  const out = new Set<number>();
  const base = "proc/driver/nvidia/gpus";
  for (const bus of c.tree.list(base) ?? []) {
    const text = c.tree.read(`${base}/${bus}/numa_status`);
    const m = text && /^Node:\s*(\d+)\s*$/m.exec(text);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

type DaxKind = "pmem" | "cxl" | "spm";

/** Nodes onlined from device-DAX instances, with where the instance sits. */
function daxNodes(c: Ctx): Map<number, DaxKind> {
  const out = new Map<number, DaxKind>();
  const base = "sys/bus/dax/devices";
  for (const dev of c.tree.list(base) ?? []) {
    const link = c.tree.readlink(`${base}/${dev}`);
    const target = link ? posix.normalize(posix.join(base, link)) : `${base}/${dev}`;
    const t = c.tree.read(`${target}/target_node`) ?? c.tree.read(`${base}/${dev}/target_node`);
    if (t === undefined || !/^\s*\d+\s*$/.test(t)) continue;
    const node = Number(t.trim());
    const kind: DaxKind | undefined = /\/ndbus\d+\//.test(target)
      ? "pmem"
      : /ACPI0017|\/cxl/.test(target)
        ? "cxl"
        : /\/hmem\.\d+\//.test(target)
          ? "spm"
          : undefined;
    if (kind) out.set(node, kind);
  }
  return out;
}

export function importSysfs(tree: FileTree, file: string, format: "sysfs" | "sysfs-tar"): ImportResult {
  const c: Ctx = { tree, file, notes: [] };
  const dirs = (tree.list(NODE_DIR) ?? []).filter((n) => /^node\d+$/.test(n)).map((n) => Number(n.slice(4)));
  let online = readList(c, `${NODE_DIR}/online`, MAX_NUMNODES, "node");
  if (online === undefined) {
    if (!dirs.length)
      throw new TopologyImportError(
        file,
        tree.where(NODE_DIR),
        "has neither an online file nor nodeN directories",
      );
    online = dirs.filter((d) => d < MAX_NUMNODES).sort((a, b) => a - b);
    c.notes.push(`no ${NODE_DIR}/online file: the nodes are the nodeN directories`);
  }
  const possible = readList(c, `${NODE_DIR}/possible`, MAX_NUMNODES, "node");
  const offline = (possible ?? []).filter((n) => !online.includes(n));
  if (offline.length) c.notes.push(`possible but offline nodes ${offline.join(",")} are left out`);
  const hasMemory = readList(c, `${NODE_DIR}/has_memory`, MAX_NUMNODES, "node");
  const hasNormal = readList(c, `${NODE_DIR}/has_normal_memory`, MAX_NUMNODES, "node");
  if (hasNormal === undefined) c.notes.push("no has_normal_memory file: no node is taken as movable-only");
  const tiers = memoryTiers(c);
  const gpus = nvidiaGpuNodes(c);
  const dax = daxNodes(c);

  const nodes: ImportedNode[] = [];
  const rows: number[][] = [];
  let haveDistances = true;
  for (const id of online) {
    if (!tree.list(`${NODE_DIR}/node${id}`))
      fail(c, NODE_DIR, `node ${id} is online but has no node${id} directory`);
  }
  for (const id of online) {
    const dir = `${NODE_DIR}/node${id}`;
    let cpus = readList(c, `${dir}/cpulist`, MAX_CPUS, "cpu");
    if (cpus === undefined) {
      const map = tree.read(`${dir}/cpumap`);
      if (map === undefined) fail(c, dir, "has neither cpulist nor cpumap");
      cpus = parseCpumap(c, `${dir}/cpumap`, map);
    }
    const total = readMemTotal(c, id);
    if (total === undefined && (hasMemory === undefined || hasMemory.includes(id))) {
      fail(c, dir, 'has no meminfo file (expected "Node N MemTotal: <n> kB")');
    }
    const bytes = memoryBytes(total ?? 0n, file, tree.where(`${dir}/meminfo`));
    const withMemory = hasMemory ? hasMemory.includes(id) && bytes > 0 : bytes > 0;
    const movable = withMemory && hasNormal !== undefined && !hasNormal.includes(id);
    const perf = accessClass(c, id);
    const node: ImportedNode = {
      id,
      cpus,
      memoryBytes: withMemory ? bytes : 0,
      movable,
      kind: "dram",
      cdm: false,
      ...perf,
      where: tree.where(dir),
    };
    // a tier covers one chunk of abstract distance: take its middle, as DRAM's 576 is tier 4's
    const tier = tiers.get(id);
    if (tier !== undefined) node.adistance = tier * MEMTIER_CHUNK_SIZE + MEMTIER_CHUNK_SIZE / 2;
    nodes.push(node);
    const dist = tree.read(`${dir}/distance`);
    if (dist === undefined) {
      haveDistances = false;
      continue;
    }
    const words = dist.trim().split(/\s+/).filter(Boolean);
    if (words.length !== online.length) {
      fail(
        c,
        `${dir}/distance`,
        `has ${words.length} distances for ${online.length} online nodes (expected one per online node)`,
      );
    }
    rows.push(
      words.map((w) => parseIntIn(w, 0, MAX_DISTANCE, file, tree.where(`${dir}/distance`), "distance")),
    );
  }
  // kinds, after all nodes are read (hmem compares bandwidths)
  const plainBandwidth = Math.max(
    0,
    ...nodes.filter((n) => !dax.has(n.id) && !gpus.has(n.id)).map((n) => n.bandwidthMBps ?? 0),
  );
  const daxTyped: number[] = [];
  for (const n of nodes) {
    let kind: NodeKind = "dram";
    const d = dax.get(n.id);
    if (gpus.has(n.id)) kind = "gpu";
    else if (d === "pmem") kind = "pmem";
    else if (d === "cxl") kind = "cxl";
    else if (d === "spm" && plainBandwidth > 0 && (n.bandwidthMBps ?? 0) > plainBandwidth) kind = "hbm";
    n.kind = kind;
    // Linux 6.1 gives memory that device-DAX onlines (kmem) dax_slowmem_type
    if (d && n.adistance === undefined) {
      n.adistance = MEMTIER_DEFAULT_DAX_ADISTANCE;
      daxTyped.push(n.id);
    }
  }
  if (daxTyped.length)
    c.notes.push(
      `nodes ${daxTyped.join(",")} are device-DAX memory: in Linux 6.1 of memory type dax_slowmem_type (adistance ${MEMTIER_DEFAULT_DAX_ADISTANCE}, memory_tier${MEMTIER_DEFAULT_DAX_ADISTANCE >> 7})`,
    );
  if (!haveDistances) c.notes.push("no distance files: 10 to the node itself, 20 to the others");
  const distances = haveDistances ? rows : defaultDistances(online);
  const machine = finishMachine(nodes, distances, file, { distances: tree.where(NODE_DIR) });
  return { machine, format, notes: c.notes.length ? c.notes : undefined };
}
