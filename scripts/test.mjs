#!/usr/bin/env node
// The test command (`npm test`): type check, lint, the vitest suites (unit, conformance,
// property, CLI, and the web page in chromium, which `npm run browser:setup` installs),
// then the oracle: every scenario of test/recorded, examples and test/conformance on the
// model and on the real Linux kernel under QEMU (`cdmsim verify`; `npm run oracle:setup`
// installs it). Ends with one plain line "N passed, N failed" that counts every test,
// every verified scenario, and the type check and the lint as one check each.
// CDMSIM_ORACLE=0 leaves the oracle out (it then counts as one failed check).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
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
const r = spawnSync(
  bin("vitest"),
  ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, ...extra],
  {
    stdio: "inherit",
  },
);
try {
  const j = JSON.parse(readFileSync(report, "utf8"));
  passed += j.numPassedTests ?? 0;
  failed +=
    (j.numFailedTests ?? 0) + (j.numFailedTestSuites && !j.numFailedTests ? j.numFailedTestSuites : 0);
} catch {
  failed++;
  process.stdout.write(`== tests: vitest did not produce a report (exit status ${r.status})\n`);
}
rmSync(dir, { recursive: true, force: true });

// The oracle: a verified scenario counts as a passed test, a difference as a failed one.
const ORACLE_PATHS = ["test/recorded", "examples", "test/conformance", "test/designs"];
/** the corpus must keep at least this many scenarios that run on the real kernel */
const MIN_CONFORMANCE_VERIFIED = 80;
oracle();

function oracle() {
  process.stdout.write(`\n== oracle: cdmsim verify ${ORACLE_PATHS.join(" ")}\n`);
  if (process.env.CDMSIM_ORACLE === "0") {
    failed++;
    process.stdout.write("== oracle: left out (CDMSIM_ORACLE=0)\n");
    return;
  }
  const jobs = String(Math.max(1, Math.min(2, availableParallelism())));
  const v = spawnSync("node", ["bin/cdmsim.js", "verify", ...ORACLE_PATHS, "--jobs", jobs, "--json"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 256 * 1024 * 1024,
    timeout: 40 * 60 * 1000,
  });
  if (v.status === 3) {
    failed++;
    process.stdout.write("== oracle: not set up; run `npm run oracle:setup` first\n");
    return;
  }
  let out;
  try {
    out = JSON.parse(v.stdout);
  } catch {
    failed++;
    process.stdout.write(
      `== oracle: cdmsim verify gave no result (exit status ${v.status}, ${v.error ?? ""})\n`,
    );
    return;
  }
  const by = (s) => out.outcomes.filter((o) => o.status === s);
  for (const o of out.outcomes) {
    if (o.status === "agree" || o.status === "known") passed++;
    if (o.status !== "differ" && o.status !== "error") continue;
    failed++;
    process.stdout.write(`${o.status} ${o.file}${o.reason ? `: ${o.reason}` : ""}\n`);
    for (const d of o.differences ?? [])
      process.stdout.write(
        `    ${d.field}: model ${JSON.stringify(d.model)}, kernel ${JSON.stringify(d.kernel)}\n`,
      );
  }
  const verified = out.outcomes.filter(
    (o) => o.file.startsWith("test/conformance/") && (o.status === "agree" || o.status === "known"),
  ).length;
  if (verified >= MIN_CONFORMANCE_VERIFIED) passed++;
  else {
    failed++;
    process.stdout.write(
      `== oracle: only ${verified} conformance scenarios ran on the kernel (at least ${MIN_CONFORMANCE_VERIFIED})\n`,
    );
  }
  process.stdout.write(
    `oracle (${out.engine}): ${by("agree").length} agree, ${by("known").length} known differences ` +
      `(docs/known-differences.md), ${by("differ").length} differ, ${by("error").length} errors, ` +
      `${by("skipped").length} skipped; ${verified} conformance scenarios verified\n`,
  );
}

process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exitCode = failed ? 1 : 0;
