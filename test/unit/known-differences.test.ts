/**
 * docs/known-differences.md: the entries `cdmsim verify` reads, and how they match.
 */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  KnownDifferencesError,
  knownFor,
  loadKnownDifferences,
  numericDistance,
} from "../../src/oracle/known.js";
import { loadScenario } from "../../src/scenario/loader.js";

const DOC = "docs/known-differences.md";

function scenarioNames(): Set<string> {
  const names = new Set<string>();
  for (const dir of ["test/conformance", "examples", "test/recorded", "test/designs"]) {
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

describe("an entry with a tolerance", () => {
  const known = loadKnownDifferences(
    tempDoc(
      '# x\n\n```yaml\nscenario: s\nfields:\n  - "step 2 (t meminfo) out.*"\n  - file f pages\n  - step 3 (t cat) out.text\n' +
        "reason: counters drift\ntolerance: 8\n```\n",
    ),
  );
  const d = (field: string, model: unknown, kernel: unknown) => ({ field, model, kernel });

  it("is read from the block", () => {
    expect(known[0]?.tolerance).toBe(8);
  });

  it("covers numbers that differ by at most the tolerance", () => {
    expect(knownFor(known, "s", [d("step 2 (t meminfo) out.0.MemFree", 1000, 1008)])?.reason).toBe(
      "counters drift",
    );
    expect(knownFor(known, "s", [d("step 2 (t meminfo) out.1.Dirty", 16, 8)])).toBeDefined();
  });

  it("does not cover a larger difference of a listed field", () => {
    expect(knownFor(known, "s", [d("step 2 (t meminfo) out.0.MemFree", 1000, 1009)])).toBeUndefined();
    expect(
      knownFor(known, "s", [
        d("step 2 (t meminfo) out.0.MemFree", 1000, 1004),
        d("step 2 (t meminfo) out.0.FilePages", 100, 120),
      ]),
    ).toBeUndefined();
  });

  it("compares records of numbers key by key, a missing key as 0", () => {
    expect(knownFor(known, "s", [d("file f pages", { "0": 16 }, { "0": 10, "1": 6 })])).toBeDefined();
    expect(knownFor(known, "s", [d("file f pages", { "0": 16 }, { "1": 16 })])).toBeUndefined();
    expect(knownFor(known, "s", [d("file f pages", {}, { "1": 9 })])).toBeUndefined();
  });

  it("covers other values of a listed field as an entry without tolerance does", () => {
    expect(knownFor(known, "s", [d("step 3 (t cat) out.text", "a", "b")])).toBeDefined();
    expect(knownFor(known, "s", [d("step 4 (t cat) out.text", "a", "b")])).toBeUndefined();
  });

  it("must be a number of at least 0", () => {
    const file = tempDoc("# x\n\n```yaml\nscenario: s\nfields: [a]\nreason: r\ntolerance: -1\n```\n");
    expect(() => loadKnownDifferences(file)).toThrow(`${file}:3: tolerance:`);
  });
});

describe("numericDistance", () => {
  it("of numbers, records of numbers, and anything else", () => {
    expect(numericDistance(3, 10)).toBe(7);
    expect(numericDistance({ "0": 1, "1": 5 }, { "0": 4 })).toBe(5);
    expect(numericDistance({}, {})).toBe(0);
    expect(numericDistance(1, "1")).toBeUndefined();
    expect(numericDistance({ "0": "x" }, { "0": 1 })).toBeUndefined();
    expect(numericDistance([1], [2])).toBeUndefined();
    expect(numericDistance(null, 0)).toBeUndefined();
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
