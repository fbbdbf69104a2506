#!/usr/bin/env node
// The test command (`npm test`): type check, lint, then the vitest suites (unit,
// conformance, property, CLI). Ends with one plain line "N passed, N failed" that counts
// every test plus the type check and the lint as one check each.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = (name) => join("node_modules", ".bin", name);
let passed = 0;
let failed = 0;

function check(title, cmd, args) {
  process.stdout.write(`\n== ${title}: ${cmd} ${args.join(" ")}\n`);
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status === 0) {
    passed++;
    process.stdout.write(`== ${title}: ok\n`);
  } else {
    failed++;
    process.stdout.write(`== ${title}: FAILED\n`);
  }
}

check("build", "npm", ["run", "-s", "build"]);
check("type check", bin("tsc"), ["-p", "tsconfig.json", "--noEmit"]);
check("lint", bin("biome"), ["lint", "src", "test", "scripts", "bench", "bin"]);

const dir = mkdtempSync(join(tmpdir(), "cdmsim-test-"));
const report = join(dir, "vitest.json");
const extra = process.argv.slice(2);
process.stdout.write(`\n== tests: vitest run\n`);
const r = spawnSync(bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...extra], {
  stdio: "inherit",
});
try {
  const j = JSON.parse(readFileSync(report, "utf8"));
  passed += j.numPassedTests ?? 0;
  failed += (j.numFailedTests ?? 0) + (j.numFailedTestSuites && !j.numFailedTests ? j.numFailedTestSuites : 0);
} catch {
  failed++;
  process.stdout.write(`== tests: vitest did not produce a report (exit status ${r.status})\n`);
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;
