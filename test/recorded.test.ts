/**
 * Differential test against the real kernel's recorded answers (test/recorded/): the model
 * must answer every step, mapping and fallback line as Linux 6.1 did.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadScenario } from "../src/scenario/loader.js";
import { runScenario } from "../src/scenario/runner.js";

const DIR = "test/recorded";

interface Recorded {
  steps: { index: number; op: string; ret: number | null; errno: string | null; out?: unknown }[];
  mappings: Record<string, { policy: string; pages: Record<string, number> }>;
  kernel_fallback_order?: string[];
}

describe("the model answers as the real kernel did (test/recorded)", () => {
  const files = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith(".yaml")) : [];
  for (const f of files.sort()) {
    const recorded = readdirSync(DIR).find(
      (r) => r.startsWith(f.replace(/\.yaml$/, ".linux-")) && r.endsWith(".json"),
    );
    if (!recorded) continue;
    it(f, () => {
      const real = JSON.parse(readFileSync(join(DIR, recorded), "utf8")) as Recorded;
      const model = runScenario(loadScenario(join(DIR, f))).result;
      const steps = (r: Recorded["steps"]) =>
        r.map((s) => ({
          index: s.index,
          op: s.op,
          ret: s.op === "mmap" ? "(address)" : s.ret,
          errno: s.errno,
          out: s.out,
        }));
      expect(steps(model.steps as Recorded["steps"])).toEqual(steps(real.steps));
      const maps = (m: Recorded["mappings"]) =>
        Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { policy: v.policy, pages: v.pages }]));
      expect(maps(model.mappings)).toEqual(maps(real.mappings));
      if (real.kernel_fallback_order) expect(model.fallback_order).toEqual(real.kernel_fallback_order);
    });
  }
});
