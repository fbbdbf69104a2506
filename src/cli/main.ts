/**
 * The `cdmsim` command: argument parsing, then calls into the core. Every option is defined
 * once in OPTIONS, with its help text; commander builds parsing and --help from it.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, Option } from "commander";
import { designIds } from "../designs/index.js";
import { Kernel } from "../kernel/kernel.js";
import type { MachineSpec } from "../kernel/topology.js";
import { renderExplain } from "../report/explain.js";
import { topoText } from "../report/machine.js";
import { styleFor } from "../report/style.js";
import { renderRun } from "../report/text.js";
import { loadScenario, ScenarioError } from "../scenario/loader.js";
import { bootScenario, resolveDesign, runScenario } from "../scenario/runner.js";
import { scenarioJsonSchema } from "../scenario/schema.js";
import { getPreset, presetIds } from "../topology-io/presets.js";

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
    commands: ["run", "topo", "demo"],
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
  zones: {
    flags: "--zones",
    description: "also list zones with managed pages and watermarks",
    commands: ["topo"],
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
  const scenarios = [];
  const problems: ScenarioError[] = [];
  for (const f of files) {
    try {
      scenarios.push(loadScenario(f));
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      problems.push(e);
    }
  }
  if (problems.length)
    throw new ScenarioError(
      problems[0]!.file,
      problems.flatMap((p) => p.problems.map((q) => ({ ...q, file: p.file }))),
    );
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

function topo(source: string, opts: { json?: boolean; zones?: boolean; design?: string }): number {
  let k: Kernel;
  let machine: MachineSpec;
  const preset = getPreset(source);
  if (preset) {
    machine = preset.machine;
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
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(machine, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(topoText(k, { zones: opts.zones }));
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
      .description("show a machine as `numactl --hardware` does, with the kernel's fallback order")
      .argument("<source>", `a scenario file or a preset (${presetIds().join(", ")})`),
    "topo",
  ).action((source: string, opts) => setStatus(topo(source, opts)));
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
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === "string" && ce.code.startsWith("commander.")) {
      return ce.code === "commander.helpDisplayed" || ce.code === "commander.version" ? 0 : 2;
    }
    throw e;
  }
}
