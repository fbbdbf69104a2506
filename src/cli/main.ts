/**
 * The `cdmsim` command: argument parsing, then calls into the core. Every option is defined
 * once in OPTIONS, with its help text; commander builds parsing and --help from it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import { designIds } from "../designs/index.js";
import { Kernel } from "../kernel/kernel.js";
import type { MachineSpec } from "../kernel/topology.js";
import { OracleSetupError } from "../oracle/boot.js";
import { KnownDifferencesError, loadKnownDifferences } from "../oracle/known.js";
import { recordExpectations, verifyScenarios } from "../oracle/verify.js";
import { compareRuns, renderCompare } from "../report/compare.js";
import { renderCompareHtml } from "../report/compare-html.js";
import { renderExplain } from "../report/explain.js";
import { topoText } from "../report/machine.js";
import { styleFor } from "../report/style.js";
import { renderRun } from "../report/text.js";
import { loadScenario, ScenarioError } from "../scenario/loader.js";
import { bootScenario, resolveDesign, runScenario } from "../scenario/runner.js";
import { scenarioJsonSchema } from "../scenario/schema.js";
import type { Scenario } from "../scenario/types.js";
import { exportTopology, TOPO_FORMATS, type TopoFormat } from "../topology-io/export.js";
import { TopologyImportError, topoSource } from "../topology-io/import.js";
import { presetIds } from "../topology-io/presets.js";
import { checkWritable, fsMessage, writeFileAtomic } from "./files.js";

interface OptionDef {
  flags: string;
  description: string;
  commands: readonly string[];
  choices?: readonly string[];
}

const OPTIONS: Record<string, OptionDef> = {
  json: {
    flags: "--json",
    description: "print the result as JSON (machine-readable)",
    commands: ["run", "topo", "demo", "verify", "compare"],
  },
  explain: {
    flags: "--explain",
    description: "show every allocation decision: policy, nodemask, cpuset, zonelist walk, zone verdicts",
    commands: ["run", "demo"],
  },
  design: {
    flags: "--design <id>",
    description: "run under this design instead of the scenario's",
    commands: ["run", "topo"],
    choices: designIds(),
  },
  format: {
    flags: "--format <f>",
    description:
      "numactl (numactl --hardware), fallback (the kernel's fallback order), yaml (a scenario's machine block), json (the machine; as --json), svg (a picture)",
    commands: ["topo"],
    choices: TOPO_FORMATS,
  },
  zones: {
    flags: "--zones",
    description: "also list zones with managed pages and watermarks",
    commands: ["topo"],
  },
  record: {
    flags: "--record",
    description: "write the real kernel's answers into the scenario files as their expectations",
    commands: ["verify"],
  },
  known: {
    flags: "--known <file>",
    description:
      "differences documented in this file count as known, not as failures (default: the package's docs/known-differences.md; 'none' to disable)",
    commands: ["verify"],
  },
  designs: {
    flags: "--designs <ids>",
    description: `the designs to compare, comma-separated (default: all: ${designIds().join(",")})`,
    commands: ["compare"],
  },
  html: {
    flags: "--html <file>",
    description:
      "also write the comparison as a self-contained HTML page, with a chart per design of the pages per node after each step (the text or JSON still goes to stdout)",
    commands: ["compare"],
  },
  jobs: {
    flags: "--jobs <n>",
    description: "boot up to n guests at a time (default 1)",
    commands: ["verify"],
  },
};

function addOptions(cmd: Command, name: string): Command {
  for (const def of Object.values(OPTIONS)) {
    if (!def.commands.includes(name)) continue;
    const o = new Option(def.flags, def.description);
    if (def.choices) o.choices(def.choices as string[]);
    cmd.addOption(o);
  }
  return cmd;
}

/** The folder the package was installed in (dist/cli/ → package root). */
function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
}

export const DEMO_SCENARIO = "examples/power9-v100-demo.yaml";

function version(): string {
  try {
    return JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version;
  } catch {
    return "0.0.0";
  }
}

interface RunFlags {
  json?: boolean;
  explain?: boolean;
  design?: string;
}

/** Run scenario files; returns the exit status (0 ok, 1 an expectation failed). */
function runFiles(files: string[], opts: RunFlags): number {
  const style = styleFor(process.stdout);
  let status = 0;
  const results: unknown[] = [];
  // check every file before running any, so that an invalid one leaves no partial output
  const scenarios = loadAll(files);
  // progress on a terminal while the results go to a file or a pipe
  const progress = process.stderr.isTTY && !process.stdout.isTTY && scenarios.length > 1 && !process.env.CI;
  for (const [i, sc] of scenarios.entries()) {
    const f = files[i]!;
    if (progress) process.stderr.write(`\r\x1b[K[${i + 1}/${scenarios.length}] ${f}`);
    const run = runScenario(sc, { design: opts.design, explain: opts.explain });
    if (!run.result.ok) status = 1;
    if (opts.json) {
      results.push(opts.explain ? { ...run.result, decisions: run.decisions } : run.result);
      continue;
    }
    if (files.length > 1) process.stdout.write(`${style.bold(`== ${f}`)}\n`);
    process.stdout.write(renderRun(run, style));
    if (opts.explain)
      process.stdout.write(
        `\n${style.bold("Allocation decisions")}\n${renderExplain(sc, run.decisions, style)}\n`,
      );
  }
  if (opts.json)
    process.stdout.write(`${JSON.stringify(results.length === 1 ? results[0] : results, null, 2)}\n`);
  return status;
}

function topo(
  source: string,
  opts: { json?: boolean; zones?: boolean; design?: string; format?: TopoFormat },
): number {
  // --json is --format json; asking for two different formats is a usage error
  if (opts.json && opts.format !== undefined && opts.format !== "json") {
    process.stderr.write(`cdmsim: --json and --format ${opts.format} ask for two formats\n`);
    return 2;
  }
  let k: Kernel;
  let machine: MachineSpec;
  const given = topoSource(source);
  if (given) {
    machine = given.machine;
    for (const note of given.notes ?? []) process.stderr.write(`cdmsim: ${source}: ${note}\n`);
    k = new Kernel(machine, { design: resolveDesign(opts.design ?? "mainline") });
  } else if (existsSync(source)) {
    const sc = loadScenario(source);
    machine = sc.machine;
    k = bootScenario(sc, { design: opts.design });
  } else {
    throw new ScenarioError(source, [
      {
        line: 0,
        column: 0,
        field: "",
        message: `no such file, and no preset of that name (presets: ${presetIds().join(", ")})`,
      },
    ]);
  }
  const format = opts.json ? "json" : opts.format;
  if (format !== undefined) {
    process.stdout.write(exportTopology(format, machine, k, { title: source }));
    return 0;
  }
  process.stdout.write(topoText(k, { zones: opts.zones }));
  return 0;
}

/** Scenario files named on the command line, directories searched for *.yaml, *.yml, *.json. */
function scenarioPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (existsSync(p) && statSync(p).isDirectory()) {
      const found = readdirSync(p, { recursive: true, encoding: "utf8" })
        .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.split("/").some((part) => part.startsWith(".")))
        .map((f) => join(p, f))
        .sort();
      // result files (format cdmsim-result/1) sit beside their scenarios; they are not scenarios
      const isResult = (f: string) =>
        f.endsWith(".json") && /"format"\s*:\s*"cdmsim-result/.test(readFileSync(f, "utf8").slice(0, 200));
      out.push(...found.filter((f) => statSync(f).isFile() && !isResult(f)));
    } else out.push(p);
  }
  return out;
}

/** Load every file first: an invalid one stops everything before anything runs. */
function loadAll(files: string[]): Scenario[] {
  const scenarios: Scenario[] = [];
  const problems: ScenarioError[] = [];
  for (const f of files) {
    try {
      scenarios.push(loadScenario(f));
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      problems.push(e);
    }
  }
  if (problems.length) {
    throw new ScenarioError(
      problems[0]!.file,
      problems.flatMap((p) => p.problems.map((q) => ({ ...q, file: p.file }))),
    );
  }
  return scenarios;
}

async function verify(
  paths: string[],
  opts: { json?: boolean; record?: boolean; jobs?: string; known?: string },
): Promise<number> {
  const style = styleFor(process.stdout);
  const files = scenarioPaths(paths);
  const scenarios = loadAll(files);
  const jobs = opts.jobs === undefined ? 1 : Number(opts.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) {
    throw new ScenarioError("--jobs", [
      { line: 0, column: 0, field: "", message: "expects a number from 1 to 16" },
    ]);
  }
  const knownFile = opts.known ?? join(packageRoot(), "docs", "known-differences.md");
  const known =
    opts.known === "none" || (opts.known === undefined && !existsSync(knownFile))
      ? []
      : loadKnownDifferences(knownFile);
  const progress = process.stderr.isTTY && !process.env.CI;
  const t0 = Date.now();
  const { engine, outcomes } = await verifyScenarios(
    scenarios.map((scenario, i) => ({ file: files[i]!, scenario })),
    {
      jobs,
      known,
      onProgress: progress
        ? (done, total, label) =>
            process.stderr.write(`\r\x1b[K[${done}/${total} boots]${label ? ` booting: ${label}` : ""}`)
        : undefined,
    },
  );
  if (progress) process.stderr.write("\r\x1b[K");
  if (opts.record) {
    for (const [i, o] of outcomes.entries()) {
      if (o.kernel) recordExpectations(o.file, scenarios[i]!, o.kernel);
    }
  }
  const count = (s: string) => outcomes.filter((o) => o.status === s).length;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ engine, outcomes }, null, 2)}\n`);
  } else {
    for (const o of outcomes) {
      const tag = {
        agree: style.green("agree  "),
        differ: style.red("differ "),
        known: style.yellow("known  "),
        skipped: style.yellow("skipped"),
        error: style.red("error  "),
      }[o.status];
      process.stdout.write(`${tag} ${o.file}${o.reason ? `: ${o.reason}` : ""}\n`);
      if (o.status === "known") continue;
      for (const d of o.differences ?? []) {
        process.stdout.write(
          `          ${d.field}: model ${JSON.stringify(d.model)}, kernel ${JSON.stringify(d.kernel)}\n`,
        );
      }
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(0);
    process.stdout.write(
      `verify (${engine}): ${count("agree")} agree, ${count("known")} known differences, ${count("differ")} differ, ` +
        `${count("skipped")} skipped, ` +
        `${count("error")} errors in ${secs} s${opts.record ? "; the kernel's answers were recorded as expectations" : ""}\n`,
    );
  }
  return count("differ") || count("error") ? 1 : 0;
}

/** Run one scenario under several designs and print them side by side. */
function compareFile(file: string, opts: { json?: boolean; designs?: string; html?: string }): number {
  const sc = loadScenario(file);
  const ids = opts.designs
    ? opts.designs
        .split(",")
        .map((d) => d.trim())
        .filter(Boolean)
    : designIds();
  const bad = ids.filter((d) => !designIds().includes(d));
  if (bad.length || !ids.length) {
    process.stderr.write(
      `cdmsim: --designs: ${bad.length ? `unknown design ${bad.join(", ")}` : "no design"} (designs: ${designIds().join(", ")})\n`,
    );
    return 2;
  }
  // an unwritable page fails before the runs, and the page is written whole or not at all
  if (opts.html !== undefined) {
    if (opts.html === "") {
      process.stderr.write("cdmsim: --html: expects a file name\n");
      return 2;
    }
    try {
      checkWritable(opts.html);
    } catch (e) {
      process.stderr.write(`cdmsim: --html: cannot write ${opts.html}: ${fsMessage(e)}\n`);
      return 2;
    }
  }
  const c = compareRuns(
    sc,
    ids.map((d) => runScenario(sc, { design: d, usage: true })),
  );
  if (opts.html !== undefined) {
    try {
      writeFileAtomic(opts.html, renderCompareHtml(sc, c));
    } catch (e) {
      if (!(e as NodeJS.ErrnoException).code) throw e;
      process.stderr.write(`cdmsim: --html: cannot write ${opts.html}: ${fsMessage(e)}\n`);
      return 2;
    }
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(c, null, 2)}\n`);
  else process.stdout.write(renderCompare(c, styleFor(process.stdout)));
  return 0;
}

export function buildProgram(setStatus: (n: number) => void): Command {
  const program = new Command("cdmsim")
    .description(
      "An executable model of Linux NUMA page placement, with the CDM node and its alternatives as designs",
    )
    .version(version())
    .showHelpAfterError()
    .exitOverride();
  addOptions(
    program
      .command("run")
      .description("run scenario files on the model and show where every page landed, and why")
      .argument("<files...>", "scenario files (YAML or JSON)"),
    "run",
  ).action((files: string[], opts: RunFlags) => setStatus(runFiles(files, opts)));
  addOptions(
    program
      .command("topo")
      .description(
        "show a machine as `numactl --hardware` does, with the kernel's fallback order, or write it in one format (--format)",
      )
      .argument(
        "<source>",
        `a scenario file, a preset (${presetIds().join(", ")}), or a machine to import: hwloc XML, a sysfs directory or tarball, numactl --hardware text`,
      ),
    "topo",
  ).action((source: string, opts) => setStatus(topo(source, opts)));
  addOptions(
    program
      .command("verify")
      .description("run scenarios on the model and on the real Linux kernel under QEMU, and compare")
      .argument("<paths...>", "scenario files or directories"),
    "verify",
  ).action(async (paths: string[], opts) => setStatus(await verify(paths, opts)));
  addOptions(
    program
      .command("compare")
      .description("run one scenario under several designs and compare isolation, reachability and OOM kills")
      .argument("<file>", "a scenario file"),
    "compare",
  ).action((file: string, opts) => setStatus(compareFile(file, opts)));
  program
    .command("schema")
    .description("print the JSON Schema of scenario files")
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
      setStatus(0);
    });
  addOptions(
    program.command("demo").description(`run the example scenario shipped with cdmsim (${DEMO_SCENARIO})`),
    "demo",
  ).action((opts: RunFlags) => setStatus(runFiles([join(packageRoot(), DEMO_SCENARIO)], opts)));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const program = buildProgram((n) => {
    status = n;
  });
  try {
    await program.parseAsync(argv);
    return status;
  } catch (e) {
    if (e instanceof ScenarioError) {
      process.stderr.write(`cdmsim: invalid scenario\n${e.message}\n`);
      return 2;
    }
    if (e instanceof TopologyImportError) {
      process.stderr.write(`cdmsim: cannot import the machine\n${e.message}\n`);
      return 2;
    }
    if (e instanceof KnownDifferencesError) {
      process.stderr.write(`cdmsim: invalid known-differences file\n${e.message}\n`);
      return 2;
    }
    if (e instanceof OracleSetupError) {
      process.stderr.write(`cdmsim: the real-kernel oracle is not ready: ${e.message}\n`);
      return 3;
    }
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === "string" && ce.code.startsWith("commander.")) {
      return ce.code === "commander.helpDisplayed" || ce.code === "commander.version" ? 0 : 2;
    }
    throw e;
  }
}
