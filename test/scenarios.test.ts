/**
 * Every scenario in examples/ and test/conformance/ runs on the model with all its
 * expectations holding. Examples also have baselines (the TypeScript compiler's pattern):
 * the full text report, the explanation and the result JSON are checked in under
 * test/baselines/, so a change of behaviour is a reviewable diff. Set UPDATE_BASELINES=1
 * to rewrite them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderExplain } from "../src/report/explain.js";
import { PLAIN } from "../src/report/style.js";
import { renderRun } from "../src/report/text.js";
import { loadScenario } from "../src/scenario/loader.js";
import { runScenario } from "../src/scenario/runner.js";

const UPDATE = process.env.UPDATE_BASELINES === "1";

function scenarioFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

function failures(file: string): string[] {
  const run = runScenario(loadScenario(file));
  return run.result.steps
    .filter((s) => s.expect === "fail")
    .map((s) => `step ${s.index} ${s.op}: ${JSON.stringify(s.mismatches)}`);
}

describe("conformance scenarios (test/conformance)", () => {
  for (const f of scenarioFiles("test/conformance")) {
    it(f.replace("test/conformance/", ""), () => {
      expect(failures(f)).toEqual([]);
    });
  }
});

describe("design behaviours (test/designs)", () => {
  for (const f of scenarioFiles("test/designs")) {
    it(f.replace("test/designs/", ""), () => {
      expect(failures(f)).toEqual([]);
    });
  }
});

describe("examples", () => {
  for (const f of scenarioFiles("examples")) {
    const name = f.replace(/^examples\//, "").replace(/\.(ya?ml|json)$/, "");
    it(name, () => {
      const sc = loadScenario(f);
      const run = runScenario(sc, { explain: true });
      expect(failures(f)).toEqual([]);
      const text = `${renderRun(run, PLAIN)}\nAllocation decisions\n${renderExplain(sc, run.decisions, PLAIN)}\n`;
      const json = `${JSON.stringify(run.result, null, 2)}\n`;
      const dir = join("test", "baselines", "examples");
      const txtFile = join(dir, `${name}.txt`);
      const jsonFile = join(dir, `${name}.json`);
      if (UPDATE || !existsSync(txtFile) || !existsSync(jsonFile)) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(txtFile, text);
        writeFileSync(jsonFile, json);
        if (!UPDATE)
          throw new Error(`baseline ${txtFile} was missing and has been written; review and commit it`);
      }
      expect(text).toBe(readFileSync(txtFile, "utf8"));
      expect(json).toBe(readFileSync(jsonFile, "utf8"));
    });
  }
});
