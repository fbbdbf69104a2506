/**
 * Importing real machines: every file in test/fixtures/topology imports, and its
 * `numactl --hardware` (the model booted on it) and node table are checked in under
 * test/baselines/topo/ (UPDATE_BASELINES=1 rewrites them). Damaged input of each format is
 * refused with a message naming the file, the place and what was expected.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import type { MachineSpec } from "../../src/kernel/topology.js";
import { numactlHardwareText } from "../../src/report/machine.js";
import { numactlHardware } from "../../src/report/numactl.js";
import { loadScenario, parseScenario, ScenarioError } from "../../src/scenario/loader.js";
import { resolveDesign, runScenario } from "../../src/scenario/runner.js";
import { machineYaml } from "../../src/topology-io/export.js";
import { importHwlocXml, parseHwlocBitmap } from "../../src/topology-io/hwloc.js";
import { type ImportResult, importMachine, TopologyImportError } from "../../src/topology-io/import.js";
import { importNumactlText } from "../../src/topology-io/numactl-text.js";
import { findTarRoot, importSysfs, tarTree } from "../../src/topology-io/sysfs.js";
import { decompress, readTar } from "../../src/topology-io/tar.js";
import { makeTar, paxRecord, smallSysfs } from "../helpers/tar.js";

const UPDATE = process.env.UPDATE_BASELINES === "1";
const FIX = "test/fixtures/topology";
const BASE = "test/baselines/topo";

function numactlOf(m: MachineSpec): string {
  return numactlHardwareText(new Kernel(m, { design: resolveDesign("mainline") }));
}

/** One line per node with everything the importer decided, then the notes. */
function nodeTable(r: ImportResult): string {
  const lines = [`format ${r.format}`];
  for (const n of r.machine.nodes) {
    const cpus = n.cpus.length ? `cpus ${compress(n.cpus)}` : "no cpus";
    const extra = [
      n.bandwidthMBps !== undefined ? `bandwidth ${n.bandwidthMBps} MB/s` : "",
      n.latencyNs !== undefined ? `latency ${n.latencyNs} ns` : "",
      n.adistance !== undefined ? `adistance ${n.adistance}` : "",
    ].filter(Boolean);
    lines.push(
      `node ${n.id}: ${n.kind}${n.movable ? " movable" : ""}${n.cdm ? " cdm" : ""}, ${n.memoryBytes} bytes, ${cpus}${extra.length ? `, ${extra.join(", ")}` : ""}`,
    );
  }
  for (const note of r.notes ?? []) lines.push(`note: ${note}`);
  return `${lines.join("\n")}\n`;
}

function compress(ids: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    out.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return out.join(",");
}

function checkBaseline(file: string, text: string) {
  if (UPDATE || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    if (!UPDATE) throw new Error(`baseline ${file} was missing and has been written; review and commit it`);
  }
  expect(text).toBe(readFileSync(file, "utf8"));
}

/** The error message of `f`, which must throw a TopologyImportError. */
function importError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(TopologyImportError);
    return (e as Error).message;
  }
  throw new Error("expected a TopologyImportError");
}

const fixtures = [
  ...readdirSync(FIX).filter((f) => /\.(xml|tar\.bz2)$/.test(f)),
  ...readdirSync(join(FIX, "numactl"))
    .filter((f) => f.endsWith(".txt") && !f.includes("no-cpus"))
    .map((f) => `numactl/${f}`),
].sort();

describe("every fixture imports, with checked-in baselines", () => {
  it("finds the fixtures", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(12);
  });
  for (const f of fixtures) {
    it(f, () => {
      const r = importMachine(join(FIX, f));
      const name = f.replace("/", "-");
      checkBaseline(join(BASE, `${name}.numactl.txt`), numactlOf(r.machine));
      checkBaseline(join(BASE, `${name}.machine.txt`), nodeTable(r));
    });
    it(`${f}: machine → yaml → machine is the identity`, () => {
      const { machine } = importMachine(join(FIX, f));
      expect(parseScenario(machineYaml(machine), "<yaml>").machine).toEqual(machine);
    });
  }
});

describe("the machines are the real ones", () => {
  it("AC922 sysfs: nodes 0,8 with CPUs, 250-255 CPU-less movable GPU memory at distance 80", () => {
    const { machine: m, format } = importMachine(join(FIX, "nvidiagpunumanodes.tar.bz2"));
    expect(format).toBe("sysfs-tar");
    expect(m.nodes.map((n) => n.id)).toEqual([0, 8, 250, 251, 252, 253, 254, 255]);
    expect(m.nodes[0]!.cpus).toHaveLength(88);
    expect(m.nodes[1]!.cpus[0]).toBe(88);
    // hwloc's console rendering: NUMANode P#0 local=124GiB, the GPU nodes local=15GiB
    expect(m.nodes[0]!.memoryBytes).toBe(129839104 * 1024);
    for (const n of m.nodes.slice(2)) {
      expect(n).toMatchObject({ cpus: [], movable: true, kind: "gpu", memoryBytes: 15 * 1024 ** 3 });
    }
    expect(m.distances[0]).toEqual([10, 40, 80, 80, 80, 80, 80, 80]);
    expect(m.distances[7]).toEqual([80, 80, 80, 80, 80, 80, 80, 10]);
    const console = readFileSync(join(FIX, "nvidiagpunumanodes-kept.console"), "utf8");
    for (const id of [250, 251, 252, 253, 254, 255]) {
      expect(console).toContain(`NUMANode(GPUMemory) L#`);
      expect(console).toContain(`(P#${id} local=15GiB`);
    }
  });

  it("the QEMU tiers: HBM, NVM and a node with CPUs whose memory is all movable", () => {
    const { machine: m, notes } = importMachine(join(FIX, "fakeheteromemtiers.tar.bz2"));
    const by = new Map(m.nodes.map((n) => [n.id, n]));
    expect([...by.keys()]).toEqual([0, 1, 2, 4, 6, 8, 9]);
    expect(by.get(2)).toMatchObject({ kind: "hbm", movable: true, bandwidthMBps: 10000 });
    expect(by.get(2)!.cpus).toEqual([4, 5]);
    expect(by.get(4)).toMatchObject({ kind: "hbm", movable: true, cpus: [] });
    for (const id of [6, 8, 9]) expect(by.get(id)).toMatchObject({ kind: "pmem", movable: true });
    expect(by.get(0)).toMatchObject({ kind: "dram", movable: false, bandwidthMBps: 1000 });
    expect(notes).toContain("possible but offline nodes 3,5,7 are left out");
  });

  it("hwloc: DRAM + HBM behind a memory-side cache: the CPUs go to the DRAM node", () => {
    const { machine: m } = importMachine(join(FIX, "64intel64-heteromem.xml"));
    const by = new Map(m.nodes.map((n) => [n.id, n]));
    expect(by.get(0)!.cpus).toEqual([0, 1, 2, 3, 16, 17, 18, 19, 32, 33, 34, 35, 48, 49, 50, 51]);
    expect(by.get(7)).toMatchObject({ kind: "hbm", cpus: [], movable: false, bandwidthMBps: 90000 });
    expect(by.get(0)).toMatchObject({ kind: "dram", bandwidthMBps: 22500 });
  });

  it("hwloc: the NUMA latency matrix, split over several u64values, not the heterogeneous one", () => {
    const r = importMachine(join(FIX, "fakeheterodistances.xml"));
    expect(r.machine.distances[0]).toEqual([10, 16, 16, 22, 16, 22, 16, 22]);
    expect(r.machine.distances[7]).toEqual([22, 16, 16, 22, 22, 16, 16, 10]);
    expect(r.notes).toContain("heterogeneous distance matrices (distances2hetero) are ignored");
    const p8 = importMachine(join(FIX, "power8gpudistances.xml")).machine;
    expect(p8.distances).toEqual([
      [10, 40],
      [40, 10],
    ]);
    expect(p8.nodes[1]!.cpus).toEqual([80, 81, 88, 89, 96, 97, 104, 105]);
  });

  it("the same machine from sysfs, hwloc XML and numactl text", () => {
    const a = importMachine(join(FIX, "nvidia-dgx-gb10.tar.bz2")).machine;
    const b = importMachine(join(FIX, "nvidia-dgx-gb10.xml")).machine;
    expect(b.nodes[0]).toEqual({ ...a.nodes[0], cpus: a.nodes[0]!.cpus });
    const ac = importMachine(join(FIX, "nvidiagpunumanodes.tar.bz2")).machine;
    for (const f of ["ac922.txt", "ac922-cpu-compress.txt"]) {
      const t = importMachine(join(FIX, "numactl", f)).machine;
      expect(t.distances).toEqual(ac.distances);
      expect(t.nodes.map((n) => n.cpus)).toEqual(ac.nodes.map((n) => n.cpus));
      // whole MB, as numactl prints them
      expect(t.nodes.map((n) => n.memoryBytes)).toEqual(
        ac.nodes.map((n) => Math.floor(n.memoryBytes / 2 ** 20) * 2 ** 20),
      );
      expect(t.nodes.every((n) => !n.movable && n.kind === "dram")).toBe(true);
    }
  });

  it("numactl text round-trips through the numactl renderer", () => {
    const ac = importMachine(join(FIX, "nvidiagpunumanodes.tar.bz2")).machine;
    const ids = ac.nodes.map((n) => n.id);
    const text = numactlHardware(
      ac.nodes.map((n) => ({ id: n.id, cpus: n.cpus, totalBytes: n.memoryBytes, freeBytes: 0 })),
      (x, y) => ac.distances[ids.indexOf(x)]![ids.indexOf(y)]!,
    );
    const back = importNumactlText(text, "x.txt").machine;
    expect(back.nodes.map((n) => [n.id, n.cpus, n.memoryBytes])).toEqual(
      ac.nodes.map((n) => [n.id, n.cpus, Math.floor(n.memoryBytes / 2 ** 20) * 2 ** 20]),
    );
  });

  it("old numactl: a column for every id up to the highest node is dropped", () => {
    const r = importMachine(join(FIX, "numactl", "numactl-2.0.3-sparse.txt"));
    expect(r.machine.nodes.map((n) => n.id)).toEqual([0, 2]);
    expect(r.machine.distances).toEqual([
      [10, 21],
      [21, 10],
    ]);
  });
});

describe("sysfs trees: directories, tarballs, compression, tar forms", () => {
  it("a directory, a plain tar, a gzip tar, long names and pax paths", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdmsim-sysfs-"));
    for (const m of smallSysfs("")) {
      mkdirSync(dirname(join(dir, m.name)), { recursive: true });
      writeFileSync(join(dir, m.name), m.data ?? "");
    }
    const fromDir = importMachine(dir);
    expect(fromDir.format).toBe("sysfs");
    expect(fromDir.machine.nodes.map((n) => [n.id, n.cpus.length, n.movable])).toEqual([
      [0, 4, false],
      [1, 4, false],
      [2, 0, true],
    ]);
    // the node directory itself, and sys/
    expect(importMachine(join(dir, "sys/devices/system/node")).machine).toEqual(fromDir.machine);
    expect(importMachine(join(dir, "sys")).machine).toEqual(fromDir.machine);
    // the parent of the tree, and a parent of two trees
    const outer = mkdtempSync(join(tmpdir(), "cdmsim-outer-"));
    for (const sub of ["a", "b"]) {
      for (const m of smallSysfs(`${sub}/`)) {
        mkdirSync(dirname(join(outer, m.name)), { recursive: true });
        writeFileSync(join(outer, m.name), m.data ?? "");
      }
    }
    expect(importMachine(join(outer, "a")).machine).toEqual(fromDir.machine);
    expect(importError(() => importMachine(outer, "outer"))).toBe(
      "outer: holds several sysfs trees (a, b): name one of them",
    );

    const long = `${"x".repeat(120)}/`;
    const tar = makeTar(smallSysfs(long));
    writeFileSync(join(dir, "m.tar"), tar);
    writeFileSync(join(dir, "m.tgz"), gzipSync(tar));
    expect(importMachine(join(dir, "m.tar")).machine).toEqual(fromDir.machine);
    expect(importMachine(join(dir, "m.tgz"))).toMatchObject({
      format: "sysfs-tar",
      machine: fromDir.machine,
    });

    const pax = smallSysfs("p/").flatMap((m) => [
      { name: "PaxHeader", type: "x" as const, data: paxRecord("path", `renamed/${m.name}`) },
      { ...m, name: "short" },
    ]);
    const entries = readTar(makeTar(pax), "p.tar");
    expect(entries.has("renamed/p/sys/devices/system/node/node2/meminfo")).toBe(true);
  });

  it("memory tiers and HMAT access class 0 are kept", () => {
    const n = "sys/devices/system/node";
    const tar = makeTar([
      ...smallSysfs(""),
      { name: "sys/devices/virtual/memory_tiering/memory_tier4/nodelist", data: "0-1\n" },
      { name: "sys/devices/virtual/memory_tiering/memory_tier22/nodelist", data: "2\n" },
      { name: `${n}/node2/access0/initiators/read_bandwidth`, data: "20000\n" },
      { name: `${n}/node2/access0/initiators/read_latency`, data: "350\n" },
      { name: `${n}/node2/access0/initiators/node0`, type: "2", linkname: "../../../node0" },
    ]);
    const dir = mkdtempSync(join(tmpdir(), "cdmsim-tier-"));
    writeFileSync(join(dir, "t.tar"), tar);
    const m = importMachine(join(dir, "t.tar")).machine;
    expect(m.nodes.map((x) => x.adistance)).toEqual([576, 576, 2880]);
    expect(m.nodes[2]).toMatchObject({ bandwidthMBps: 20000, latencyNs: 350 });
  });
});

/** Write `data` to a temporary file named `name` and import it. */
function importBytes(name: string, data: string | Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), "cdmsim-bad-"));
  const file = join(dir, name);
  writeFileSync(file, data);
  return importError(() => importMachine(file)).replace(dir, "<dir>");
}

function sysfsTarError(edit: (members: ReturnType<typeof smallSysfs>) => void): string {
  const m = smallSysfs();
  edit(m);
  return importBytes("m.tar", makeTar(m));
}

function setFile(members: ReturnType<typeof smallSysfs>, suffix: string, data: string) {
  const m = members.find((x) => x.name.endsWith(suffix));
  if (m) m.data = data;
  else members.push({ name: `box/sys/devices/system/node/${suffix}`, data });
}

describe("damaged sysfs trees and tarballs", () => {
  it("a truncated bzip2 tarball", () => {
    const buf = readFileSync(join(FIX, "nvidiagpunumanodes.tar.bz2"));
    expect(importBytes("t.tar.bz2", buf.subarray(0, buf.length >> 1))).toBe(
      "<dir>/t.tar.bz2: bzip2 data: ends early (the file is truncated)",
    );
  });
  it("a truncated gzip tarball", () => {
    const buf = gzipSync(makeTar(smallSysfs()));
    expect(importBytes("t.tgz", buf.subarray(0, buf.length - 20))).toMatch(/t\.tgz: gzip data: is damaged/);
  });
  it("a tar cut inside a member's data", () => {
    const tar = makeTar([{ name: "a/sys/devices/system/node/online", data: "x".repeat(2000) }]);
    expect(importBytes("t.tar", tar.subarray(0, 1024))).toMatch(
      /t\.tar: tar member 1 \("a\/sys\/devices\/system\/node\/online"\) at byte 0: its 2000 bytes of data go past the end of the archive \(truncated\)/,
    );
  });
  it("a tar header with a wrong checksum", () => {
    const tar = makeTar(smallSysfs());
    tar[10] = 0x41;
    expect(importBytes("t.tar", tar)).toMatch(/tar member 1 .*: header checksum \d+ does not match \d+/);
  });
  it("a tarball that is not sysfs", () => {
    expect(importBytes("t.tar", makeTar([{ name: "etc/passwd", data: "root" }]))).toBe(
      "<dir>/t.tar: the archive has no sys/devices/system/node directory (not a sysfs tree)",
    );
  });
  it("wrong types: a meminfo without MemTotal, a distance that is not a number, a bad cpulist", () => {
    expect(sysfsTarError((m) => setFile(m, "node1/meminfo", "Node 1 MemTotal: lots\n"))).toBe(
      '<dir>/m.tar: tar member box/sys/devices/system/node/node1/meminfo line 1: expected "Node 1 MemTotal: <n> kB", got "Node 1 MemTotal: lots"',
    );
    expect(sysfsTarError((m) => setFile(m, "node1/distance", "20 ten 40\n"))).toBe(
      '<dir>/m.tar: tar member box/sys/devices/system/node/node1/distance: distance: expected an integer, got "ten"',
    );
    expect(sysfsTarError((m) => setFile(m, "node0/cpulist", "0-3,x\n"))).toMatch(
      /node0\/cpulist: expected a cpu list such as "0-3,8", got "0-3,x"/,
    );
  });
  it("absurd sizes, node ids and distances out of range, a non-square table", () => {
    expect(sysfsTarError((m) => setFile(m, "node0/meminfo", "Node 0 MemTotal: 99999999999999 kB\n"))).toMatch(
      /node0\/meminfo: memory size \d+ bytes is above the 64 TiB limit of a node/,
    );
    expect(sysfsTarError((m) => setFile(m, "online", "0-2,4096\n"))).toMatch(
      /tar member box\/sys\/devices\/system\/node\/online: expected a node list such as "0-3,8", got "0-2,4096": 4096 is out of range \(the limit is 1023\)/,
    );
    expect(sysfsTarError((m) => setFile(m, "node2/distance", "40 40 10 40\n"))).toMatch(
      /node2\/distance: has 4 distances for 3 online nodes/,
    );
    expect(sysfsTarError((m) => setFile(m, "node2/distance", "40 400 10\n"))).toMatch(
      /node2\/distance: distance 400 is out of range \(0-255\)/,
    );
    expect(sysfsTarError((m) => setFile(m, "node1/cpulist", "0-9000\n"))).toMatch(
      /node1\/cpulist: .*out of range/,
    );
    expect(sysfsTarError((m) => setFile(m, "node1/cpulist", "3-5\n"))).toMatch(
      /cpu 3 is in node 0 and in node 1/,
    );
  });
  it("a cpumap that is not a bitmap (when cpulist is absent)", () => {
    expect(
      sysfsTarError((m) => {
        const i = m.findIndex((x) => x.name.endsWith("node1/cpulist"));
        m.splice(i, 1, { name: "box/sys/devices/system/node/node1/cpumap", data: "000000f0,zz\n" });
      }),
    ).toBe(
      '<dir>/m.tar: tar member box/sys/devices/system/node/node1/cpumap: expected a cpu mask of 32-bit hex words such as "00000000,000000ff", got "000000f0,zz"',
    );
    const ok = smallSysfs();
    ok.splice(
      ok.findIndex((x) => x.name.endsWith("node1/cpulist")),
      1,
      {
        name: "box/sys/devices/system/node/node1/cpumap",
        data: "00000000,000000f0\n",
      },
    );
    const dir = mkdtempSync(join(tmpdir(), "cdmsim-map-"));
    writeFileSync(join(dir, "m.tar"), makeTar(ok));
    expect(importMachine(join(dir, "m.tar")).machine.nodes[1]!.cpus).toEqual([4, 5, 6, 7]);
  });
  it("an online node without its directory", () => {
    expect(sysfsTarError((m) => setFile(m, "online", "0-3\n"))).toBe(
      "<dir>/m.tar: tar member box/sys/devices/system/node: node 3 is online but has no node3 directory",
    );
  });
  it("a gzip bomb stops at the limit", () => {
    const big = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(() => decompress(big, "b.gz", 1024 * 1024)).toThrow(
      /b\.gz: gzip data: unpacks to more than 1048576 bytes/,
    );
  });
});

const XML = readFileSync(join(FIX, "8intel64-4n2t-memattrs.xml"), "utf8");
const HETERO = readFileSync(join(FIX, "fakeheterodistances.xml"), "utf8");

describe("damaged hwloc XML", () => {
  const err = (text: string) => importError(() => importHwlocXml(text, "m.xml"));
  it("truncated", () => {
    expect(err(XML.slice(0, XML.length >> 1))).toMatch(/^m\.xml: line \d+, column \d+: malformed XML: /);
  });
  it("wrong types", () => {
    expect(err(XML.replace('os_index="1" cpuset="0x0000000c"', 'os_index="one" cpuset="0x0000000c"'))).toBe(
      'm.xml: <object type="NUMANode"> at topology/object[1]/object[2]/object[1]: os_index (the node id): expected an integer, got "one"',
    );
    expect(err(XML.replace('local_memory="1073741824"', 'local_memory="1 GB"'))).toMatch(
      /<object type="NUMANode"> at topology\/object\[1\]\/object\[1\]\/object\[1\]: local_memory: expected bytes as an integer, got "1 GB"/,
    );
  });
  it("absurd sizes", () => {
    expect(err(XML.replace('local_memory="1073741824"', 'local_memory="1152921504606846976"'))).toMatch(
      /local_memory 1152921504606846976 bytes is above the 64 TiB limit of a node/,
    );
  });
  it("node ids out of range", () => {
    expect(
      err(XML.replace('os_index="3" cpuset="0x000000c0"', 'os_index="1024" cpuset="0x000000c0"')),
    ).toMatch(/object\[4\]\/object\[1\]: os_index \(the node id\) 1024 is out of range \(0-1023\)/);
    expect(err(XML.replace('os_index="3" cpuset="0x000000c0"', 'os_index="2" cpuset="0x000000c0"'))).toMatch(
      /: node 2 is described twice/,
    );
  });
  it("a non-square distance matrix", () => {
    expect(
      err(
        HETERO.replace(
          '<u64values length="12">22 16 16 10 </u64values>',
          '<u64values length="9">22 16 16 </u64values>',
        ),
      ),
    ).toBe(
      "m.xml: <distances2> at topology/distances2[1]: 63 u64values for a 8x8 matrix (expected 64; it must be square)",
    );
    expect(
      err(
        HETERO.replace(
          '<indexes length="16">0 1 2 3 4 5 6 7 </indexes>',
          '<indexes length="14">0 1 2 3 4 5 6 </indexes>',
        ),
      ),
    ).toBe('m.xml: <distances2> at topology/distances2[1]: 7 indexes for nbobjs="8"');
    expect(
      err(
        HETERO.replace(
          "10 16 16 22 16 22 16 22 16 10 </u64values>",
          "10 16 16 22 16 22 16 22 16 300 </u64values>",
        ),
      ),
    ).toMatch(/value \[1\]\[1\] \(a distance\) 300 is out of range \(0-255\)/);
  });
  it("a bad bitmap", () => {
    expect(
      err(XML.replace('cpuset="0x0000000c" complete_cpuset', 'cpuset="0x0000000c,0xzz" complete_cpuset')),
    ).toMatch(
      /attribute cpuset: expected a bitmap of comma-separated 32-bit hex words such as "0x00000003,0xffffffff", got "0x0000000c,0xzz"/,
    );
    expect(parseHwlocBitmap("0x00000002,,,0x0", "f", "w").bits).toEqual([97]);
    expect(parseHwlocBitmap("0xf...f,0x00000001", "f", "w")).toEqual({ bits: [0], infinite: true });
  });
  it("format version 1, and XML that is not a topology", () => {
    expect(err('<?xml version="1.0"?><topology><object type="Machine"/></topology>')).toMatch(
      /<topology>: no version attribute: this is hwloc's format version 1/,
    );
    expect(importBytes("x.xml", "<?xml version='1.0'?><html></html>")).toBe(
      "<dir>/x.xml: root element: expected <topology> (an hwloc XML export)",
    );
  });
});

const AC922 = readFileSync(join(FIX, "numactl", "ac922.txt"), "utf8");

describe("damaged numactl --hardware text", () => {
  const err = (text: string) => importError(() => importNumactlText(text, "n.txt"));
  it("truncated", () => {
    expect(err(AC922.slice(0, AC922.indexOf("node 8 size")))).toMatch(
      /^n\.txt: line 5: node 8 has no "size:" line$/,
    );
    expect(err(AC922.split("\n").slice(0, 30).join("\n"))).toBe(
      "n.txt: line 27: the distance table has 3 rows for 8 columns (it must be square)",
    );
  });
  it("wrong types", () => {
    expect(err(AC922.replace("node 0 size: 126796 MB", "node 0 size: 126796 GB"))).toBe(
      'n.txt: line 3: expected "node 0 size: <n> MB", got "node 0 size: 126796 GB"',
    );
    expect(err(AC922.replace("node 0 cpus: 0 1 2", "node 0 cpus: 0 one 2"))).toBe(
      'n.txt: line 2: expected cpu numbers such as "0 1 2" or "0-3, 8-11", got "one"',
    );
    expect(err("hello\n")).toBe(
      'n.txt: line 1: expected "available: N nodes (...)" (numactl --hardware output)',
    );
  });
  it("absurd sizes and ids out of range", () => {
    expect(err(AC922.replace("node 0 size: 126796 MB", "node 0 size: 999999999999 MB"))).toBe(
      "n.txt: line 3: node 0 size 999999999999 MB is above the 64 TiB limit of a node",
    );
    expect(err(AC922.replaceAll("node 250 ", "node 2500 "))).toMatch(
      /line \d+: node id 2500 is out of range \(0-1023\)/,
    );
    expect(err(AC922.replace("node 0 cpus: 0 1 2", "node 0 cpus: 0 1 9000"))).toMatch(
      /line 2: cpu 9000 is out of range \(0-8191\)/,
    );
  });
  it("a non-square distance table", () => {
    expect(err(AC922.replace("   0:   10   40 ", "   0:   10 "))).toMatch(
      /line 28: row 0 has 7 distances for 8 columns \(the table must be square\)/,
    );
  });
  it("numactl before 0.9 prints no cpus", () => {
    expect(importBytes("old.txt", readFileSync(join(FIX, "numactl", "numactl-0.8-no-cpus.txt")))).toMatch(
      /old\.txt: line 2: no "node N cpus:" lines \(numactl before 0\.9 did not print them\)/,
    );
  });
});

describe("machine: {import: PATH} in a scenario", () => {
  it("runs on the imported AC922, with cdm marking nodes", () => {
    const sc = loadScenario(join(FIX, "ac922-import.yaml"));
    expect(sc.machine.nodes.map((n) => n.id)).toEqual([0, 8, 250, 251, 252, 253, 254, 255]);
    expect(sc.machine.nodes.find((n) => n.id === 250)).toMatchObject({
      cdm: true,
      movable: true,
      kind: "gpu",
    });
    const run = runScenario(sc);
    expect(run.result.steps.filter((s) => s.expect === "fail")).toEqual([]);
    expect(run.result.ok).toBe(true);
  });
  it("names the scenario field and the imported file's problem", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdmsim-scn-"));
    writeFileSync(join(dir, "bad.xml"), '<topology version="2.0"><object type="Machine"></topology>');
    writeFileSync(join(dir, "s.yaml"), "machine:\n  import: bad.xml\n");
    let msg = "";
    try {
      loadScenario(join(dir, "s.yaml"));
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/s\.yaml:2:3: machine\.import: bad\.xml: line 1, column \d+: malformed XML/);
  });
  it("import excludes preset, nodes and distances", () => {
    expect(() => parseScenario("machine:\n  import: x.xml\n  preset: two-socket\n", "s.yaml")).toThrow(
      /machine\.preset: `preset` and `import` exclude each other/,
    );
  });
});

describe("bounds and robustness", () => {
  it("a file above 64 MiB is refused before it is read", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdmsim-big-"));
    const f = join(dir, "big.xml");
    writeFileSync(f, "");
    truncateSync(f, 64 * 1024 * 1024 + 1);
    expect(importError(() => importMachine(f))).toBe(
      `${f}: the file is 67108865 bytes, larger than the 67108864 bytes allowed`,
    );
  });
  it("bzip2 data that unpacks past the limit stops there", () => {
    const buf = readFileSync(join(FIX, "nvidiagpunumanodes.tar.bz2"));
    expect(() => decompress(buf, "n.tar.bz2", 100_000)).toThrow(
      /n\.tar\.bz2: bzip2 data: unpacks to more than 100000 bytes/,
    );
    const flipped = Buffer.from(buf);
    flipped[buf.length >> 1] ^= 0x55;
    expect(importBytes("f.tar.bz2", flipped)).toMatch(/f\.tar\.bz2: bzip2 data: is damaged/);
  });
  it("damaged copies of every fixture import or are refused with a TopologyImportError", () => {
    const texts = [
      ...readdirSync(FIX).filter((f) => f.endsWith(".xml")),
      "numactl/ac922.txt",
      "numactl/numactl-2.0.3-sparse.txt",
    ];
    const tar = decompress(readFileSync(join(FIX, "fakeheteromemtiers.tar.bz2")), "t");
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: texts.length }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (k, at, byte, cut) => {
          const file = k === texts.length ? undefined : texts[k]!;
          const data = file === undefined ? Buffer.from(tar) : readFileSync(join(FIX, file));
          const pos = Math.floor(at * (data.length - 1));
          const damaged = cut
            ? data.subarray(0, pos)
            : (() => {
                data[pos] = byte;
                return data;
              })();
          try {
            if (file === undefined) {
              const entries = readTar(damaged, "t.tar");
              importSysfs(tarTree(entries, findTarRoot(entries, "t.tar")), "t.tar", "sysfs-tar");
            } else if (file.endsWith(".xml")) importHwlocXml(damaged.toString("utf8"), file);
            else importNumactlText(damaged.toString("utf8"), file);
          } catch (e) {
            if (!(e instanceof TopologyImportError)) throw e;
          }
        },
      ),
      { numRuns: 300, seed: 20261126 },
    );
  });
});
