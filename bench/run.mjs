#!/usr/bin/env node
// Benchmarks (`npm run bench`): figures printed, never asserted. They run on the compiled
// code in dist/ (the script builds first).
import { performance } from "node:perf_hooks";
import { parseScenario, runScenario } from "../dist/index.js";
import { sysMmap, sysTouch } from "../dist/kernel/syscalls.js";
import { bootScenario } from "../dist/scenario/runner.js";

function time(fn) {
  const t0 = performance.now();
  const r = fn();
  return { ms: performance.now() - t0, r };
}

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}

const big = (nodes, mem) => `
machine:
  nodes:
${Array.from({ length: nodes }, (_, i) => `    - { id: ${i}, cpus: "${i}", memory: ${mem} }`).join("\n")}
`;

const results = [];

// 1. Touch 1 TiB with the default policy: cost follows watermark crossings, not pages.
{
  const sc = parseScenario(`${big(2, "1TiB")}
steps:
  - { op: mmap, name: m, length: 1TiB }
  - { op: touch, addr: m }
`);
  const { ms, r } = time(() => runScenario(sc));
  results.push([
    "touch 1 TiB, default policy (2 × 1 TiB nodes)",
    `${ms.toFixed(1)} ms`,
    `${r.result.steps[1].ret} pages`,
  ]);
}

// 2. Interleave 64 GiB over 4 nodes by page.
{
  const sc = parseScenario(`${big(4, "32GiB")}
steps:
  - { op: mmap, name: m, length: 64GiB }
  - { op: mbind, addr: m, mode: MPOL_INTERLEAVE, nodes: "0-3" }
  - { op: touch, addr: m }
`);
  const { ms } = time(() => runScenario(sc));
  results.push(["touch 64 GiB interleaved over 4 nodes", `${ms.toFixed(1)} ms`, "16.8 M pages"]);
}

// 3. Scattered single-page write faults in a 64 GiB mapping.
{
  const k = bootScenario(parseScenario(big(2, "64GiB")));
  const task = k.tasks.get("main");
  const base = BigInt(sysMmap(k, task, null, 64n << 30n, 3, 0x22).ret);
  const N = 1_000_000;
  let seed = 42;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 4;
  };
  const addrs = Array.from({ length: N }, () => base + BigInt(rnd() % (16 * 1024 * 1024)) * 4096n);
  const { ms } = time(() => {
    for (const a of addrs) sysTouch(k, task, a, 1n, "write", () => "bench");
  });
  results.push([
    "scattered single-page faults (1 M, 64 GiB mapping)",
    `${ms.toFixed(0)} ms`,
    `${fmt((N / ms) * 1000)} faults/s, ${task.mm.pte.size} extents`,
  ]);
}

// 4. A thousand small scenarios end to end (parse, compile, run).
{
  const text = `${big(2, "1GiB")}
steps:
  - { op: mmap, name: a, length: 64p }
  - { op: mbind, addr: a, mode: MPOL_BIND, nodes: "1" }
  - { op: touch, addr: a }
  - { op: placement, addr: a, expect: { pages: { "1": 64 } } }
`;
  const { ms } = time(() => {
    for (let i = 0; i < 1000; i++) runScenario(parseScenario(text));
  });
  results.push([
    "1000 small scenarios, parse to result",
    `${ms.toFixed(0)} ms`,
    `${(ms / 1000).toFixed(2)} ms each`,
  ]);
}

// 5. Stream 256 GiB of page cache through a 64 GiB + 16 GiB machine: kswapd recycles the
// oldest clean cache in rounds, writeback keeps the dirty pages at the background threshold.
{
  const sc = parseScenario(`
machine:
  nodes:
    - { id: 0, cpus: "0", memory: 64GiB }
    - { id: 1, memory: 16GiB, movable: true }
steps:
  - { op: write_file, file: a.dat, length: 128GiB }
  - { op: read_file, file: b.dat }
files:
  b.dat: 128GiB
`);
  const { ms, r } = time(() => runScenario(sc));
  const reclaimed = r.result.events.filter((e) => e.kind === "reclaim").reduce((a, e) => a + e.pages, 0);
  results.push([
    "stream 256 GiB of page cache (64 + 16 GiB nodes)",
    `${ms.toFixed(0)} ms`,
    `${fmt(reclaimed)} pages reclaimed`,
  ]);
}

const w = Math.max(...results.map((r) => r[0].length));
for (const [name, t, extra] of results) console.log(`${name.padEnd(w)}  ${t.padStart(10)}  ${extra}`);
