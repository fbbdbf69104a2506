/**
 * The `cdmsim` command as a user runs it: the compiled bin in a child process.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function cdmsim(...args: string[]) {
  const r = spawnSync(process.execPath, ["bin/cdmsim.js", ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("cdmsim run", () => {
  it("prints the report and exits 0 when every expectation holds", () => {
    const r = cdmsim("run", "examples/cpuset-vs-mbind.yaml");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("mbind buf 256KiB MPOL_BIND {2}");
    expect(r.stdout).toContain("7f0000000000 bind:1 anon=64 dirty=64 active=0 N1=64 kernelpagesize_kB=4");
    // the 64 data pages on node 1; the PUD, PMD and PTE tables under them on the local node 0
    expect(r.stdout).toMatch(/numa_hit\s+3\s+64\s+0/);
    expect(r.stdout).toContain("Result: ok");
  });

  it("--json prints the result format", () => {
    const r = cdmsim("run", "examples/cpuset-vs-mbind.yaml", "--json");
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe("cdmsim-result/1");
    expect(j.engine).toBe("model");
    expect(j.mappings["app:buf"]).toEqual({
      start: "0x7f0000000000",
      length: 262144,
      policy: "bind:1",
      pages: { "1": 64 },
    });
    expect(j.steps[1]).toMatchObject({ op: "mbind", ret: -1, errno: "EINVAL", expect: "pass" });
  });

  it("--explain shows the zonelist walk of each decision", () => {
    const r = cdmsim("run", "examples/spill-onto-gpu-node.yaml", "--explain");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Allocation decisions");
    expect(r.stdout).toMatch(/Node 1 DMA32\s+below watermark/);
    expect(r.stdout).toMatch(/Node 2 Movable\s+taken/);
  });

  it("exits 1 when an expectation fails, and says which", () => {
    const r = cdmsim("run", "test/fixtures/failing-expectation.yaml");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("Expectations that did not hold");
    expect(r.stdout).toContain('pages expected {"0":8}, got {"1":8}');
  });

  it("checks every file before running any", () => {
    const r = cdmsim("run", "examples/cpuset-vs-mbind.yaml", "test/fixtures/invalid/bad-size.yaml");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
  });
});

describe("invalid scenarios: exit 2, file:line:column: field: message, no stack trace", () => {
  const expected: Record<string, RegExp> = {
    "bad-size.yaml": /bad-size\.yaml:3:27: machine\.nodes\[0\]\.memory: "64Mb" is not a size/,
    "bad-mode.yaml":
      /bad-mode\.yaml:6:27: steps\[1\]\.mode: unknown name "MPOL_BINDX" \(did you mean MPOL_BIND\?\)/,
    "broken-yaml.yaml": /broken-yaml\.yaml:\d+:\d+: /,
    "unknown-key.json": /unknown-key\.json:1:\d+: machine\.nodes\[0\]: unknown key "extra"/,
    "unknown-op.yaml": /unknown-op\.yaml:5:\d+: steps\[0\]\.op: unknown op/,
    "bad-distance.yaml":
      /bad-distance\.yaml:5:\d+: machine\.distances\[0\]\[1\]: the distance between two nodes is above 10/,
    "unknown-mapping.yaml":
      /unknown-mapping\.yaml:5:\d+: steps\[0\]\.addr: task main has no mapping "nothing"/,
    "missing-task.yaml": /missing-task\.yaml:8:\d+: steps\[0\]: `task` is required/,
    "no-boot-memory.yaml":
      /no-boot-memory\.yaml:\d+:\d+: machine\.nodes: at least one node needs memory that is not movable/,
    "cgroup-mems.yaml": /cgroup-mems\.yaml:5:\d+: cgroups\.\/a\.mems: node 3 has no memory/,
    "duplicate-node.yaml": /duplicate-node\.yaml:4:\d+: machine\.nodes\[1\]\.id: node 0 is listed twice/,
    "empty.yaml": /empty\.yaml:1:1: a scenario is a map/,
    "offline-boot-memory.yaml":
      /offline-boot-memory\.yaml:3:3: machine\.offline: node 0 is not hot-plugged memory \(movable, with memory\)/,
    "gpu-driver-online-node.yaml":
      /gpu-driver-online-node\.yaml:7:\d+: steps\[0\]\.node: node 0 is not GPU memory that is offline at boot/,
    "task-in-inner-cgroup.yaml":
      /task-in-inner-cgroup\.yaml:9:\d+: tasks\.p\.cgroup: cgroup "\/a" has child cgroups: on cgroup v2 tasks live in leaf cgroups only/,
  };
  it("covers every file in test/fixtures/invalid", () => {
    expect(readdirSync("test/fixtures/invalid").sort()).toEqual(Object.keys(expected).sort());
  });
  for (const [file, re] of Object.entries(expected)) {
    it(file, () => {
      const r = cdmsim("run", `test/fixtures/invalid/${file}`);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }
  it("a missing file", () => {
    const r = cdmsim("run", "test/fixtures/does-not-exist.yaml");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("does-not-exist.yaml: cannot read the file (no such file)");
  });
  it("verify with a missing known-differences file, before any boot", () => {
    const r = cdmsim("verify", "examples/cpuset-vs-mbind.yaml", "--known", "test/fixtures/none.md");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("test/fixtures/none.md: no such file");
    expect(r.stderr).not.toContain("    at ");
  });
  it("an unknown option or command is a usage error", () => {
    expect(cdmsim("run", "--frobnicate", "x.yaml").status).toBe(2);
    expect(cdmsim("frob").status).toBe(2);
  });
});

describe("cdmsim topo, schema, demo", () => {
  it("topo prints numactl --hardware and the fallback order", () => {
    const r = cdmsim("topo", "examples/spill-onto-gpu-node.yaml");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("available: 3 nodes (0-2)\nnode 0 cpus: 0\nnode 0 size: 332 MB\n");
    expect(r.stdout).toContain("node 2 cpus:\nnode 2 size: 384 MB\nnode 2 free: 384 MB\n");
    expect(r.stdout).toContain("node distances:\nnode     0    1    2 \n   0:   10   20   80 \n");
    expect(r.stdout).toContain("Fallback order for Node 2: 2 0 1 \n");
  });

  it("topo takes a preset", () => {
    const r = cdmsim("topo", "power9-ac922");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("available: 8 nodes (0,8,250-255)");
  });

  it("topo --format numactl is the default output without the fallback lines; --format fallback is those lines", () => {
    const all = cdmsim("topo", "examples/spill-onto-gpu-node.yaml").stdout;
    const numactl = cdmsim("topo", "examples/spill-onto-gpu-node.yaml", "--format", "numactl");
    const fallback = cdmsim("topo", "examples/spill-onto-gpu-node.yaml", "--format", "fallback");
    expect(numactl.status).toBe(0);
    expect(fallback.status).toBe(0);
    expect(numactl.stdout).not.toContain("Fallback");
    expect(fallback.stdout).toBe(
      "Fallback order for Node 0: 0 1 2 \nFallback order for Node 1: 1 0 2 \nFallback order for Node 2: 2 0 1 \n",
    );
    expect(all).toBe(`${numactl.stdout}\n${fallback.stdout}`);
  });

  it("topo --format yaml writes a machine block that a scenario takes as it stands", () => {
    const r = cdmsim("topo", "gh200", "--format", "yaml");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      '    - { id: 1, cpus: "", memory: "96GiB", movable: true, kind: "gpu", cdm: false }\n',
    );
    const file = join(mkdtempSync(join(tmpdir(), "cdmsim-")), "machine.yaml");
    writeFileSync(file, r.stdout);
    const back = cdmsim("topo", file, "--format", "json");
    expect(JSON.parse(back.stdout)).toEqual(JSON.parse(cdmsim("topo", "gh200", "--format", "json").stdout));
  });

  it("topo --json is --format json; two different formats are a usage error", () => {
    const json = cdmsim("topo", "cxl-expander", "--json");
    expect(json.status).toBe(0);
    expect(json.stdout).toBe(cdmsim("topo", "cxl-expander", "--format", "json").stdout);
    expect(JSON.parse(json.stdout).nodes[2]).toMatchObject({ id: 2, kind: "cxl", movable: true });
    const both = cdmsim("topo", "cxl-expander", "--json", "--format", "svg");
    expect(both.status).toBe(2);
    expect(both.stdout).toBe("");
  });

  it("topo --format svg draws the machine", () => {
    const r = cdmsim("topo", "power9-ac922", "--format", "svg");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(r.stdout).toContain("<title>power9-ac922</title>");
    expect(r.stdout.match(/data-node=/g)).toHaveLength(8);
  });

  it("topo shows the memory tiers and demotion targets of a machine with more than one tier", () => {
    const r = cdmsim("topo", "cxl-expander");
    expect(r.stdout).toContain(
      "Memory tiers (fastest first):\n" +
        "/sys/devices/virtual/memory_tiering/memory_tier4/nodelist: 0-1\n" +
        "/sys/devices/virtual/memory_tiering/memory_tier22/nodelist: 2-3\n" +
        "Demotion targets of node 0: 2\nDemotion targets of node 1: 3\nTop tier: 0-1\n",
    );
    expect(cdmsim("topo", "two-socket").stdout).not.toContain("Memory tiers");
  });

  it("topo --format with an unknown format is a usage error", () => {
    const r = cdmsim("topo", "gh200", "--format", "nope");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Allowed choices are numactl, yaml, json, svg, fallback");
  });

  it("topo imports a real machine: a sysfs tarball, hwloc XML, numactl text", () => {
    const r = cdmsim("topo", "test/fixtures/topology/nvidiagpunumanodes.tar.bz2");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe("available: 8 nodes (0,8,250-255)");
    expect(r.stdout).toContain("node 250 cpus:\nnode 250 size: 15360 MB\n");
    expect(r.stdout).toContain("   0:   10   40   80   80   80   80   80   80 \n");
    expect(r.stdout).toContain("Fallback order for Node 250: ");
    const x = cdmsim("topo", "test/fixtures/topology/fakeheterodistances.xml", "--json");
    expect(x.status).toBe(0);
    expect(JSON.parse(x.stdout).distances[0]).toEqual([10, 16, 16, 22, 16, 22, 16, 22]);
    expect(x.stderr).toContain("distances2hetero");
    const t = cdmsim("topo", "test/fixtures/topology/numactl/ac922.txt");
    expect(t.status).toBe(0);
    expect(t.stdout.split("\n")[0]).toBe("available: 8 nodes (0,8,250-255)");
  });

  it("topo on a damaged machine file exits 2 with file, place and what was expected, no stack trace", () => {
    const r = cdmsim("topo", "test/fixtures/topology/numactl/numactl-0.8-no-cpus.txt");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      'cdmsim: cannot import the machine\ntest/fixtures/topology/numactl/numactl-0.8-no-cpus.txt: line 2: no "node N cpus:" lines (numactl before 0.9 did not print them): the CPUs of the nodes are unknown; add a line "node N cpus: 0 1 ..." for each node\n',
    );
    const x = cdmsim("topo", "test/fixtures/topology/README.md");
    expect(x.status).toBe(2);
    expect(x.stderr).toContain("README.md: not a machine description");
    expect(x.stderr).not.toMatch(/\n\s+at /);
  });

  it("a scenario's machine.import runs", () => {
    const r = cdmsim("run", "test/fixtures/topology/ac922-import.yaml");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Result: ok");
  });

  it("schema prints a JSON Schema", () => {
    const r = cdmsim("schema");
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.$schema).toContain("json-schema.org");
    expect(s.required).toContain("machine");
  });

  it("demo runs the example shipped with the package", () => {
    const r = cdmsim("demo");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("power9-v100-demo");
    expect(r.stdout).toContain("OOM killer");
  });
});

describe("schema/scenario.schema.json", () => {
  it("is what `cdmsim schema` prints (regenerate with `npx cdmsim schema > schema/scenario.schema.json`)", async () => {
    const { readFileSync } = await import("node:fs");
    expect(readFileSync("schema/scenario.schema.json", "utf8")).toBe(cdmsim("schema").stdout);
  });
});

describe("cdmsim compare", () => {
  it("runs the scenario under each design: V2 leaks through the cpuset, V3 does not", () => {
    const r = cdmsim(
      "compare",
      "test/designs/B03-cdm-v2-cpuset-leak.yaml",
      "--designs",
      "mainline,cdm-v3,cdm-v2",
      "--json",
    );
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.format).toBe("cdmsim-compare/1");
    expect(j.deviceNodes).toEqual([2]);
    const by = Object.fromEntries(j.designs.map((d: { design: string }) => [d.design, d]));
    expect(by["cdm-v2"].mappings["t:probe"]).toEqual({ "2": 16 });
    expect(by["cdm-v2"].isolation.pages).toBeGreaterThan(16);
    expect(by["cdm-v3"].isolation.pages).toBe(0);
    expect(by["cdm-v3"].oomKills).toEqual([{ step: 1, victim: "t" }]);
    // the mainline column is `cdmsim run` of the same file
    const run = JSON.parse(
      cdmsim("run", "test/designs/B03-cdm-v2-cpuset-leak.yaml", "--design", "mainline", "--json").stdout,
    );
    expect(by.mainline.mappings).toEqual(
      Object.fromEntries(Object.entries(run.mappings).map(([k, m]) => [k, (m as { pages: unknown }).pages])),
    );
  });

  it("counts a device node reached by policy as reachability, not as a breach", () => {
    const r = cdmsim("compare", "test/designs/B08-cdm-v3-preferred-never-cdm.yaml", "--json");
    const by = Object.fromEntries(JSON.parse(r.stdout).designs.map((d: { design: string }) => [d.design, d]));
    expect(by.mainline.reachability).toEqual({ onDevice: 8, elsewhere: 0, refused: [] });
    expect(by["cdm-v3"].reachability).toEqual({ onDevice: 0, elsewhere: 8, refused: [] });
    expect(by["cdm-v3"].isolation.pages).toBe(0);
  });

  it("rejects an unknown design with exit 2", () => {
    const r = cdmsim(
      "compare",
      "test/designs/B08-cdm-v3-preferred-never-cdm.yaml",
      "--designs",
      "mainline,nope",
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown design nope");
  });
});

describe("cdmsim run under hmm-device", () => {
  it("marks the device's pages in the mappings table", () => {
    const r = cdmsim("run", "test/designs/D03-hmm-device-driver-migration-only.yaml");
    expect(r.stdout).toMatch(/N0\s+N1\s+N2 \(device\)\n\s+app:buf .* 16\s+·\s+48\n/);
    const mainline = cdmsim("run", "test/designs/B02-mainline-default-policy-spills.yaml");
    expect(mainline.stdout).not.toContain("(device)");
  });
});

describe("cdmsim run --explain under a design", () => {
  it("names the design's hooks that shaped a decision", () => {
    const r = cdmsim("run", "test/designs/B23-cdm-zonelist-cdm-only-no-ram-spill.yaml", "--explain");
    expect(r.stdout).toContain(
      "design cdm-zonelist: policyZonelistNode: node 2's zonelist instead of node 0's",
    );
    const v3 = cdmsim("run", "test/designs/B08-cdm-v3-preferred-never-cdm.yaml", "--explain");
    expect(v3.stdout).toContain("skipped by the design: CDM node: no policy nodemask (V3 rule)");
  });
});

describe("the main job", () => {
  it("compares the designs on the CDM debate, with a verdict from the runs' numbers", () => {
    const r = cdmsim("compare", "examples/cdm-debate.yaml", "--json");
    expect(r.status).toBe(0);
    const by = Object.fromEntries(JSON.parse(r.stdout).designs.map((d: { design: string }) => [d.design, d]));
    // mainline lets the service's memory onto a GPU node; the CDM isolation rules do not
    expect(by.mainline.verdict.isolation).toBe(false);
    expect(by.mainline.isolation.pages).toBeGreaterThan(0);
    expect(by["cdm-v3"].verdict.isolation).toBe(true);
    // the aware application's explicit binds reach the GPU nodes under cdm-v3, not under cdm-cpuset
    expect(by["cdm-v3"].reachability.onDevice).toBe(2621440);
    expect(by["cdm-cpuset"].reachability.refused.map((x: { step: number }) => x.step)).toContain(1);
    // the mainline column is `cdmsim run` of the same file
    const run = JSON.parse(cdmsim("run", "examples/cdm-debate.yaml", "--json").stdout);
    expect(by.mainline.mappings).toEqual(
      Object.fromEntries(Object.entries(run.mappings).map(([k, m]) => [k, (m as { pages: unknown }).pages])),
    );
    // Mel Gorman's cpusets keep isolation at the price of the administrator's writes, and a
    // node hot-added while the tasks run waits for the administrator's update
    expect(by["cpuset-admin"].verdict.isolation).toBe(true);
    const adminRun = JSON.parse(
      cdmsim("run", "examples/cdm-debate.yaml", "--design", "cpuset-admin", "--json").stdout,
    );
    const writes = adminRun.events.filter((e: { kind: string }) => e.kind === "admin");
    expect(writes.length).toBeGreaterThan(0);
    expect(by["cpuset-admin"].adminSteps).toBe(by.mainline.adminSteps + writes.length);
    expect(by["cpuset-admin"].hotAddWindows).toEqual([
      { nodes: [255], onlineStep: 9, updatedAfter: 10, refused: 0 },
    ]);
    expect(by.mainline.hotAddWindows).toEqual([]);
    const text = cdmsim("compare", "examples/cdm-debate.yaml");
    expect(text.stdout).toContain("Verdict");
    expect(text.stdout).toMatch(/keeps isolation\s+no\s+yes/);
  });
});

describe("cdmsim compare --html", () => {
  const B03 = "test/designs/B03-cdm-v2-cpuset-leak.yaml";

  it("writes the page and still prints the text report; with --json, the JSON", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdmsim-html-"));
    try {
      const out = join(dir, "report.html");
      const r = cdmsim("compare", B03, "--designs", "mainline,cdm-v3", "--html", out);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("Verdict");
      const html = readFileSync(out, "utf8");
      expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
      expect(html.match(/<svg class="usage-chart"/g)?.length).toBe(2);
      // nothing but the page is left in the directory
      expect(readdirSync(dir)).toEqual(["report.html"]);
      // an existing page is replaced
      const j = cdmsim("compare", B03, "--designs", "cdm-v2", "--json", "--html", out);
      expect(j.status).toBe(0);
      const c = JSON.parse(j.stdout);
      expect(c.designs[0].usage.nodes).toEqual([0, 1, 2]);
      expect(c.designs[0].usage.pages.length).toBe(6);
      expect(readFileSync(out, "utf8").match(/<svg class="usage-chart"/g)?.length).toBe(1);
      expect(readdirSync(dir)).toEqual(["report.html"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unwritable path is a user error: exit 2, a message, nothing written", () => {
    const dir = mkdtempSync(join(tmpdir(), "cdmsim-html-"));
    try {
      const missing = cdmsim("compare", B03, "--html", join(dir, "no", "such", "report.html"));
      expect(missing.status).toBe(2);
      expect(missing.stdout).toBe("");
      expect(missing.stderr).toMatch(
        /^cdmsim: --html: cannot write .*report\.html: its directory does not exist\n$/,
      );
      // a directory in the way
      mkdirSync(join(dir, "taken.html"));
      const isDir = cdmsim("compare", B03, "--html", join(dir, "taken.html"));
      expect(isDir.status).toBe(2);
      expect(isDir.stderr).toContain("it is a directory");
      // a file where a directory should be
      writeFileSync(join(dir, "file"), "x");
      const notDir = cdmsim("compare", B03, "--html", join(dir, "file", "report.html"));
      expect(notDir.status).toBe(2);
      expect(notDir.stderr).toContain("a part of the path is not a directory");
      expect(cdmsim("compare", B03, "--html", "").status).toBe(2);
      expect(readdirSync(dir).sort()).toEqual(["file", "taken.html"]);
      expect(readdirSync(join(dir, "taken.html"))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
