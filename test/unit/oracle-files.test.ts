/**
 * The oracle's side of page-cache scenarios: the guest program of the file operations, the
 * boots such scenarios get, and how `cdmsim verify` compares files and meminfo.
 */
import { describe, expect, it } from "vitest";
import { compareResults } from "../../src/oracle/compare.js";
import {
  batchProgram,
  bootKey,
  diskBytes,
  FILES_DIR,
  fileNames,
  fileRanges,
  guestProgram,
  skipReason,
  usesFiles,
} from "../../src/oracle/program.js";
import { parseScenario } from "../../src/scenario/loader.js";
import type { ResultJson, StepResult } from "../../src/scenario/runner.js";

const MACHINE = `machine:
  nodes:
    - { id: 0, cpus: "0", memory: 256MiB }
    - { id: 1, cpus: "1", memory: 256MiB }
`;

const WITH_FILES = parseScenario(`name: with-files
${MACHINE}files: { data: 1MiB }
steps:
  - { op: write_file, file: out, length: 16p, offset: 2p }
  - { op: read_file, file: data, length: 8p, offset: 4p }
  - { op: read_file, file: data }
  - { op: sync }
  - { op: file_placement, file: out }
  - { op: meminfo }
`);

const WITHOUT_FILES = parseScenario(`name: without-files
${MACHINE}steps:
  - { op: mmap, name: buf, length: 1p }
  - { op: meminfo }
`);

describe("the guest program of file operations", () => {
  it("names the files and passes their paths under the disk's directory", () => {
    const p = guestProgram(WITH_FILES, 3);
    const dir = encodeURIComponent(FILES_DIR);
    expect(p).toContain("F data 1048576 0-288\n");
    expect(p).toContain("F out - 0-50\n");
    expect(p).toContain(`P 0 main write_file path=${dir}%2Fout len=65536 off=8192\n`);
    expect(p).toContain(`P 1 main read_file path=${dir}%2Fdata len=32768 off=16384\n`);
    expect(p).toContain(`P 2 main read_file path=${dir}%2Fdata len=file off=0\n`);
    expect(p).toContain("P 3 main sync\n");
    expect(p).toContain("P 4 main file_placement file=out\n");
    expect(p).toContain("P 5 main meminfo\n");
  });

  it("starts a boot's program with the disk's directory only when a scenario uses files", () => {
    expect(batchProgram([WITH_FILES, WITHOUT_FILES], [0, 1]).startsWith(`D ${FILES_DIR}\n`)).toBe(true);
    expect(batchProgram([WITH_FILES, WITHOUT_FILES], [1]).startsWith("S 1 ")).toBe(true);
  });

  it("gives the page ranges the steps touch, widened by 32 pages and joined", () => {
    const sc = parseScenario(`name: ranges
${MACHINE}files: { big: 15TiB }
steps:
  - { op: write_file, file: big, length: 1, offset: 1TiB }
  - { op: read_file, file: big, length: 2p, offset: 1099511635968 }
  - { op: read_file, file: big, length: 8p, offset: 4p }
  - { op: read_file, file: big, length: 0, offset: 1GiB }
`);
    const tib = 2n ** 28n;
    expect(fileRanges(sc, "big")).toEqual([
      [0n, 44n],
      [tib - 32n, tib + 4n + 32n],
    ]);
    expect(fileRanges(sc, "other")).toEqual([]);
  });

  it("joins the closest ranges when there are more than 512", () => {
    const steps = Array.from(
      { length: 600 },
      (_, i) =>
        `  - { op: read_file, file: f, length: 1p, offset: ${BigInt(i) * (i < 300 ? 100n : 1000n) * 4096n} }`,
    );
    const sc = parseScenario(`name: many
${MACHINE}files: { f: 1TiB }
steps:
${steps.join("\n")}
`);
    const r = fileRanges(sc, "f");
    expect(r.length).toBe(512);
    // every touched page is still in a range
    for (let i = 0n; i < 600n; i++) {
      const page = i * (i < 300n ? 100n : 1000n);
      expect(r.some(([a, b]) => a <= page && page < b)).toBe(true);
    }
  });

  it("reports the files in `files` and those a write_file makes", () => {
    expect(usesFiles(WITH_FILES)).toBe(true);
    expect(usesFiles(WITHOUT_FILES)).toBe(false);
    expect(fileNames(WITH_FILES).sort()).toEqual(["data", "out"]);
  });
});

describe("boots of scenarios with files", () => {
  it("are not shared with scenarios without files", () => {
    const plain = parseScenario(`name: plain\n${MACHINE}steps: [{ op: meminfo }]\n`);
    expect(bootKey(WITHOUT_FILES, 0)).toBe(bootKey(plain, 1));
    expect(bootKey(WITH_FILES, 0)).not.toBe(bootKey(WITHOUT_FILES, 1));
  });

  it("get a disk that holds what the largest scenario writes", () => {
    expect(diskBytes([WITHOUT_FILES])).toBe(64 * 2 ** 20);
    const big = parseScenario(`name: big
${MACHINE}steps:
  - { op: write_file, file: a, length: 64MiB }
  - { op: write_file, file: b, length: 16MiB, offset: 1GiB }
`);
    expect(diskBytes([WITH_FILES, big])).toBe((64 + 80 + 10) * 2 ** 20);
  });

  it("boot alone when they write more than a quarter of the memory", () => {
    const big = parseScenario(`name: big\n${MACHINE}steps: [{ op: write_file, file: a, length: 200MiB }]\n`);
    expect(bootKey(big, 0)).not.toBe(bootKey(big, 1));
    expect(bootKey(WITH_FILES, 0)).toBe(bootKey(WITH_FILES, 1));
  });

  it("skip cgroup v1's memory_spread_page", () => {
    const v1 = parseScenario(`name: v1
${MACHINE}cgroups:
  /a: { mems: "0-1", memory_spread_page: true }
tasks:
  t: { cgroup: /a }
steps: [{ op: read_file, file: f }]
`);
    expect(skipReason(v1)).toMatch(/memory_spread_page/);
  });
});

/** A result whose steps before the given ones (by index) are the same successful ones. */
function result(given: StepResult[], files?: ResultJson["files"]): ResultJson {
  const steps: StepResult[] = [];
  for (const s of given) {
    while (steps.length < s.index)
      steps.push({ index: steps.length, task: "main", op: "sync", ret: 0, errno: null });
    steps.push(s);
  }
  return {
    format: "cdmsim-result/1",
    scenario: "with-files",
    design: "mainline",
    engine: "x",
    kernel: "6.1",
    steps,
    mappings: {},
    ...(files ? { files } : {}),
    events: [],
    ok: true,
    numastat: {},
    fallback_order: [],
  };
}

describe("comparing", () => {
  const meminfo = (free: number, dirty: number): StepResult => ({
    index: 5,
    task: "main",
    op: "meminfo",
    ret: 0,
    errno: null,
    out: {
      "0": { MemTotal: 1000, MemFree: free, FilePages: 10, Dirty: dirty, AnonPages: 0 },
      "1": { MemTotal: 1000, MemFree: 900, FilePages: 0, Dirty: 0, AnonPages: 0 },
    },
  });

  it("meminfo field by field", () => {
    const d = compareResults(WITH_FILES, result([meminfo(500, 0)]), result([meminfo(510, 4)]));
    expect(d).toEqual([
      { field: "step 5 (main meminfo) out.0.MemFree", model: 500, kernel: 510 },
      { field: "step 5 (main meminfo) out.0.Dirty", model: 0, kernel: 4 },
    ]);
  });

  it("files like mappings: presence, size and pages", () => {
    const model = result([], {
      out: { size: 65536, pages: { "1": 16 } },
      data: { size: 1048576, pages: {} },
    });
    const kernel = result([], { out: { size: 73728, pages: { "0": 2, "1": 16 } } });
    expect(compareResults(WITH_FILES, model, kernel)).toEqual([
      { field: "file out size", model: 65536, kernel: 73728 },
      { field: "file out pages", model: { "1": 16 }, kernel: { "0": 2, "1": 16 } },
      { field: "file data", model: "exists", kernel: "absent" },
    ]);
    expect(compareResults(WITH_FILES, model, model)).toEqual([]);
  });
});
