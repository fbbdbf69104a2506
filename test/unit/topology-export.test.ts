/**
 * The machine presets and `cdmsim topo --format`: every preset boots, renders in every
 * format and runs a small scenario; the YAML export is a machine block a scenario takes
 * back unchanged; the SVG is well-formed XML with a box per node. One preset's numactl and
 * SVG renderings are baselines under test/baselines/topology (UPDATE_BASELINES=1 rewrites
 * them, as for the examples).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { Kernel } from "../../src/kernel/kernel.js";
import type { MachineSpec, NodeSpec } from "../../src/kernel/topology.js";
import { parseScenario } from "../../src/scenario/loader.js";
import { resolveDesign, runScenario } from "../../src/scenario/runner.js";
import { NodeSchema } from "../../src/scenario/schema.js";
import {
  exportTopology,
  formatSize,
  machineYaml,
  nodeInput,
  TOPO_FORMATS,
} from "../../src/topology-io/export.js";
import { getPreset, presetIds } from "../../src/topology-io/presets.js";

const UPDATE = process.env.UPDATE_BASELINES === "1";

function boot(m: MachineSpec): Kernel {
  return new Kernel(m, { design: resolveDesign("mainline") });
}

/** The machine a scenario with this text's machine block compiles to. */
function compiled(machineBlock: string): MachineSpec {
  return parseScenario(machineBlock, "<export>").machine;
}

interface SvgNode {
  [key: string]: unknown;
}

function parseSvg(svg: string): SvgNode {
  expect(XMLValidator.validate(svg)).toBe(true);
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
  }).parse(svg) as SvgNode;
}

/** Every element named `name` in the parsed tree, depth first. */
function elements(tree: unknown, name: string): SvgNode[] {
  const out: SvgNode[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (k === name) out.push(...(child as SvgNode[]));
        walk(child);
      }
    }
  };
  walk(tree);
  return out;
}

/** The text of an element: the parser gives an element without attributes as its text. */
const textOf = (e: unknown): string =>
  typeof e === "object" && e !== null ? String((e as { "#text"?: unknown })["#text"] ?? "") : String(e);
const texts = (tree: unknown): string[] => elements(tree, "text").map(textOf);

describe("presets", () => {
  it("include the machines the project models", () => {
    expect(presetIds()).toEqual(
      expect.arrayContaining([
        "power9-ac922",
        "two-socket",
        "gh200",
        "gh200x4",
        "mi300a",
        "spr-hbm-flat",
        "cxl-expander",
      ]),
    );
  });

  for (const id of presetIds()) {
    describe(id, () => {
      const p = getPreset(id)!;

      it("names its source and boots", () => {
        expect(p.source.length).toBeGreaterThan(40);
        const k = boot(p.machine);
        expect(k.topo.nodeIds).toEqual([...p.machine.nodes.map((n) => n.id)].sort((a, b) => a - b));
      });

      it("is a machine the scenario format accepts as it stands (compile keeps it)", () => {
        expect(compiled(`machine: { preset: ${id} }\n`)).toEqual(p.machine);
      });

      it("renders in every format", () => {
        const k = boot(p.machine);
        for (const f of TOPO_FORMATS) {
          const out = exportTopology(f, p.machine, k, { title: id });
          expect(out.endsWith("\n"), f).toBe(true);
          switch (f) {
            case "numactl":
              expect(out).toMatch(new RegExp(`^available: ${p.machine.nodes.length} nodes \\(`));
              expect(out).toContain("node distances:\n");
              expect(out).not.toContain("Fallback order");
              break;
            case "fallback":
              expect(out.trimEnd().split("\n")).toHaveLength(p.machine.nodes.length);
              expect(out).toMatch(/^Fallback order for Node \d+: /);
              break;
            case "json":
              expect(JSON.parse(out)).toEqual(p.machine);
              break;
            case "yaml":
              expect(out.startsWith("machine:\n  nodes:\n")).toBe(true);
              break;
            case "svg":
              parseSvg(out);
              break;
          }
        }
      });

      it("round-trips through the YAML machine block: machine → yaml → scenario → machine", () => {
        expect(compiled(machineYaml(p.machine))).toEqual(p.machine);
      });

      it("draws an SVG with one box per node, its labels and a legend", () => {
        const svg = exportTopology("svg", p.machine, boot(p.machine), { title: id });
        const tree = parseSvg(svg);
        const boxes = elements(tree, "rect").filter((r) => r["@data-node"] !== undefined);
        expect(boxes.map((r) => Number(r["@data-node"]))).toEqual(p.machine.nodes.map((n) => n.id));
        for (const r of boxes) {
          const n = p.machine.nodes.find((x) => x.id === Number(r["@data-node"]))!;
          expect(r["@stroke-dasharray"] !== undefined, `node ${n.id} dashed`).toBe(n.movable);
        }
        const labels = texts(tree);
        for (const n of p.machine.nodes) expect(labels).toContain(`node ${n.id}`);
        expect(labels.filter((t) => t === "movable" || t.startsWith("movable,"))).toHaveLength(
          p.machine.nodes.filter((n) => n.movable).length,
        );
        for (const kind of ["DRAM", "HBM", "GPU memory", "CXL memory"]) expect(labels).toContain(kind);
        expect(labels).toContain("node distances (SLIT)");
        expect(textOf(elements(tree, "title")[0])).toBe(id);
        // the SLIT: one cell per pair
        expect(elements(tree, "rect").filter((r) => r["@class"] === "cell")).toHaveLength(
          p.machine.nodes.length ** 2,
        );
      });

      it("runs a scenario: first touch lands on the CPU's node; an mbind to a CPU-less node lands there", () => {
        const m = p.machine;
        const home = m.nodes.find((n) => n.cpus.includes(0))!;
        const other =
          m.nodes.find((n) => n.cpus.length === 0 && n.memoryBytes > 0) ?? m.nodes.find((n) => n !== home)!;
        const sc = parseScenario(
          [
            `machine: { preset: ${id} }`,
            "tasks:",
            "  app: { cpu: 0 }",
            "steps:",
            "  - { op: mmap, task: app, name: local, length: 64KiB }",
            "  - { op: touch, task: app, addr: local, expect: { ret: 16 } }",
            `  - { op: placement, task: app, addr: local, expect: { pages: { "${home.id}": 16 } } }`,
            "  - { op: mmap, task: app, name: far, length: 64KiB }",
            `  - { op: mbind, task: app, addr: far, mode: MPOL_BIND, nodes: "${other.id}", expect: { ret: 0 } }`,
            "  - { op: touch, task: app, addr: far, expect: { ret: 16 } }",
            `  - { op: placement, task: app, addr: far, expect: { pages: { "${other.id}": 16 } } }`,
          ].join("\n"),
          `${id}.yaml`,
        );
        const run = runScenario(sc);
        expect(run.result.steps.filter((s) => s.expect === "fail").map((s) => s.mismatches)).toEqual([]);
        expect(run.result.mappings["app:local"]!.pages).toEqual({ [home.id]: 16 });
        expect(run.result.mappings["app:far"]!.pages).toEqual({ [other.id]: 16 });
        if (["gh200", "gh200x4", "power9-ac922"].includes(id)) expect(other.kind).toBe("gpu");
      });
    });
  }
});

describe("the presets' shapes", () => {
  const nodesOf = (id: string) => getPreset(id)!.machine.nodes;
  const GiB = 1024 ** 3;

  it("gh200: Grace node 0 with 72 CPUs and 480 GiB, the GPU's 96 GiB as movable, CPU-less node 1 at 80", () => {
    const [cpu, gpu] = nodesOf("gh200");
    expect(cpu).toMatchObject({ id: 0, memoryBytes: 480 * GiB, movable: false, kind: "dram" });
    expect(cpu!.cpus).toHaveLength(72);
    expect(gpu).toMatchObject({ id: 1, cpus: [], memoryBytes: 96 * GiB, movable: true, kind: "gpu" });
    expect(getPreset("gh200")!.machine.distances).toEqual([
      [10, 80],
      [80, 10],
    ]);
  });

  it("gh200x4: Grace nodes 0-3, GPU memory on nodes 4, 12, 20, 28 (eight node ids per GPU)", () => {
    const nodes = nodesOf("gh200x4");
    expect(nodes.filter((n) => n.cpus.length).map((n) => n.id)).toEqual([0, 1, 2, 3]);
    expect(nodes.filter((n) => n.kind === "gpu" && n.movable && !n.cpus.length).map((n) => n.id)).toEqual([
      4, 12, 20, 28,
    ]);
    const k = boot(getPreset("gh200x4")!.machine);
    // each Grace's own GPU is the first GPU node in its fallback order; a GPU node falls
    // back to its own Grace, the other Graces, then the other GPUs (distance 255)
    expect(k.fallbackOrderLines()[1]).toBe("Fallback order for Node 1: 1 2 3 0 12 20 28 4 ");
    expect(k.fallbackOrderLines()[4]).toBe("Fallback order for Node 4: 4 0 1 2 3 12 20 28 ");
    expect(k.topo.distance(4, 12)).toBe(255);
    expect(k.topo.distance(0, 12)).toBe(120);
  });

  it("mi300a: four APU nodes with CPUs and HBM, no CPU-less node", () => {
    const nodes = nodesOf("mi300a");
    expect(nodes.map((n) => [n.id, n.cpus.length, n.kind, n.movable])).toEqual([
      [0, 48, "hbm", false],
      [1, 48, "hbm", false],
      [2, 48, "hbm", false],
      [3, 48, "hbm", false],
    ]);
  });

  it("spr-hbm-flat: DRAM nodes 0-1 with CPUs, HBM nodes 2-3 of 64 GiB without CPUs, nearest to their socket", () => {
    const nodes = nodesOf("spr-hbm-flat");
    expect(nodes.map((n) => [n.id, n.kind, n.cpus.length > 0])).toEqual([
      [0, "dram", true],
      [1, "dram", true],
      [2, "hbm", false],
      [3, "hbm", false],
    ]);
    expect(nodes[2]!.memoryBytes).toBe(64 * GiB);
    const k = boot(getPreset("spr-hbm-flat")!.machine);
    expect(k.fallbackOrderLines()[0]).toBe("Fallback order for Node 0: 0 2 1 3 ");
  });

  it("cxl-expander: two sockets and two CPU-less, movable CXL nodes", () => {
    const nodes = nodesOf("cxl-expander");
    expect(nodes.filter((n) => n.kind === "cxl").map((n) => [n.id, n.cpus.length, n.movable])).toEqual([
      [2, 0, true],
      [3, 0, true],
    ]);
  });
});

describe("the YAML machine block", () => {
  it("writes every key of NodeSchema, so a field added to both NodeSchema and NodeSpec is exported", () => {
    const n: NodeSpec = {
      id: 3,
      cpus: [4, 5, 6, 9],
      memoryBytes: 3 * 1024 ** 3,
      movable: true,
      kind: "cxl",
      cdm: true,
      online: false,
      bandwidthMBps: 20000,
      latencyNs: 250,
      adistance: 832,
    };
    expect(Object.keys(nodeInput(n))).toEqual(Object.keys(NodeSchema.shape));
    expect(nodeInput(n)).toEqual({
      id: 3,
      cpus: "4-6,9",
      memory: "3GiB",
      movable: true,
      kind: "cxl",
      cdm: true,
      online: false,
      bandwidth_mbps: 20000,
      latency_ns: 250,
      adistance: 832,
    });
  });

  it("writes sizes with the largest exact unit, pages or bytes otherwise", () => {
    expect(formatSize(480 * 1024 ** 3)).toBe("480GiB");
    expect(formatSize(1024 ** 4)).toBe("1TiB");
    expect(formatSize(1536 * 1024 ** 2)).toBe("1536MiB");
    expect(formatSize(12 * 1024)).toBe("12KiB");
    expect(formatSize(100)).toBe("100");
    expect(formatSize(0)).toBe("0");
  });

  it("keeps a cdm node, sparse ids and an asymmetric SLIT", () => {
    const m: MachineSpec = {
      nodes: [
        { id: 0, cpus: [0, 1], memoryBytes: 1024 ** 3, movable: false, kind: "dram", cdm: false },
        { id: 7, cpus: [], memoryBytes: 512 * 1024 ** 2, movable: true, kind: "gpu", cdm: true },
        { id: 9, cpus: [], memoryBytes: 256 * 1024 ** 2, movable: false, kind: "pmem", cdm: false },
      ],
      distances: [
        [10, 80, 30],
        [70, 10, 90],
        [31, 91, 10],
      ],
    };
    expect(compiled(machineYaml(m))).toEqual(m);
  });
});

describe("baselines (test/baselines/topology)", () => {
  const id = "gh200x4";
  const p = getPreset(id)!;
  const k = boot(p.machine);
  for (const [format, ext] of [
    ["numactl", "numactl.txt"],
    ["svg", "svg"],
  ] as const) {
    it(`${id} --format ${format}`, () => {
      const out = exportTopology(format, p.machine, k, { title: id });
      const dir = join("test", "baselines", "topology");
      const file = join(dir, `${id}.${ext}`);
      if (UPDATE || !existsSync(file)) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, out);
        if (!UPDATE)
          throw new Error(`baseline ${file} was missing and has been written; review and commit it`);
      }
      expect(out).toBe(readFileSync(file, "utf8"));
    });
  }
});
