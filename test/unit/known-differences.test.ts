/**
 * docs/known-differences.md: the entries `cdmsim verify` reads, and how they match.
 */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KnownDifferencesError, knownFor, loadKnownDifferences } from "../../src/oracle/known.js";
import { loadScenario } from "../../src/scenario/loader.js";

const DOC = "docs/known-differences.md";

function scenarioNames(): Set<string> {
  const names = new Set<string>();
  for (const dir of ["test/conformance", "examples", "test/recorded"]) {
    for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x)))
      names.add(loadScenario(join(dir, f)).name);
  }
  return names;
}

function tempDoc(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "cdmsim-known-")), "known.md");
  writeFileSync(file, text);
  return file;
}

describe("docs/known-differences.md", () => {
  it("names only scenarios of the corpus, each once", () => {
    const known = loadKnownDifferences(DOC);
    expect(known.length).toBeGreaterThan(0);
    const names = scenarioNames();
    for (const k of known) expect(names, k.scenario).toContain(k.scenario);
    expect(new Set(known.map((k) => k.scenario)).size).toBe(known.length);
  });
});

describe("knownFor", () => {
  const known = loadKnownDifferences(
    tempDoc(
      '# x\n\n```yaml\nscenario: s\nfields:\n  - "step 9 (t numastat) out.*"\n  - mapping t:big pages\nreason: because\n```\n',
    ),
  );
  const d = (field: string) => ({ field, model: 1, kernel: 2 });

  it("covers a scenario whose every difference matches a field pattern", () => {
    expect(knownFor(known, "s", [d("step 9 (t numastat) out.1"), d("mapping t:big pages")])?.reason).toBe(
      "because",
    );
  });

  it("does not cover a difference outside the patterns, or another scenario", () => {
    expect(knownFor(known, "s", [d("step 9 (t numastat) out.1"), d("step 3 (t touch) ret")])).toBeUndefined();
    expect(knownFor(known, "other", [d("mapping t:big pages")])).toBeUndefined();
    expect(knownFor(known, "s", [d("mapping t:big pages policy")])).toBeUndefined();
  });
});

describe("a malformed file", () => {
  it("names the file, the line of the block and the field", () => {
    const file = tempDoc("# x\n\ntext\n\n```yaml\nscenario: s\nfields: []\nreason: r\n```\n");
    expect(() => loadKnownDifferences(file)).toThrow(KnownDifferencesError);
    expect(() => loadKnownDifferences(file)).toThrow(`${file}:5: fields:`);
  });

  it("a missing file", () => {
    expect(() => loadKnownDifferences("/nonexistent/known.md")).toThrow(
      "/nonexistent/known.md: no such file",
    );
  });
});
