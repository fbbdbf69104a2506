/**
 * Property tests on generated scenarios (test/reference/scenario-arbitrary.ts):
 *
 * - differential: the fast model (ExtentMap page tables, allocateRun with one decision per
 *   watermark crossing) and the reference model (test/reference: a Map entry per page, one
 *   decide() per page) give the same steps, mappings, events, numastat, numa_maps of every
 *   task, free pages of every zone and interleave rotors;
 * - determinism: the same file run twice gives the same result JSON;
 * - conservation: per zone, the pages free at boot (plus those hotplug onlined, less those it
 *   offlined) are free, mapped by a page table, page tables, held by a shmem object, in
 *   the page cache, taken by kalloc or the huge zero page; a killed task holds nothing;
 * - cpusets: no user page is allocated outside the faulting task's mems_allowed.
 *
 * Saved counterexamples (test/reference/counterexamples/*.yaml) are replayed through all of
 * them, and their `expect` blocks (one allocation at a time, as Linux makes them) must hold.
 *
 * CDMSIM_PROPERTY_RUNS sets the number of runs per property; FC_SEED (with FC_PATH) replays
 * a reported failure.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { extentNodeCounts, makeExtent, nodeAt, PG_HUGETLB, ZERO_PAGE } from "../src/kernel/extents.js";
import { HPAGE_PAGES, type HugetlbFile } from "../src/kernel/hugetlb.js";
import type { AllocateRun, Kernel } from "../src/kernel/kernel.js";
import type { ShmemObject } from "../src/kernel/mm.js";
import { allocateRun } from "../src/kernel/policy-alloc.js";
import { numaMaps } from "../src/kernel/procfs.js";
import { loadScenario, parseScenario } from "../src/scenario/loader.js";
import { bootScenario, type RunOutput, runScenario } from "../src/scenario/runner.js";
import type { Scenario } from "../src/scenario/types.js";
import { pageByPageAllocateRun } from "./reference/page-allocator.js";
import { PageMap } from "./reference/page-map.js";
import { type ScenarioFile, scenarioFile } from "./reference/scenario-arbitrary.js";

/** Runs of the differential property (the invariants, cheaper, get as many). */
const RUNS = Number(process.env.CDMSIM_PROPERTY_RUNS ?? 400);
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

/** fc.check, failing with the shrunk counterexample as a scenario file (YAML) in the message. */
function check(prop: fc.IProperty<[ScenarioFile]>, numRuns = RUNS): void {
  // a property stops after 20 s: shrinking then reports the smallest counterexample so far
  const params: fc.Parameters<[ScenarioFile]> = { numRuns, interruptAfterTimeLimit: 20_000 };
  if (SEED !== undefined) Object.assign(params, { seed: SEED, path: process.env.FC_PATH });
  const out = fc.check(prop, params);
  if (out.interrupted && !out.failed)
    console.warn(`property interrupted after ${out.numRuns} of ${numRuns} runs`);
  if (!out.failed) return;
  const err = out.errorInstance instanceof Error ? out.errorInstance.message : String(out.errorInstance);
  throw new Error(
    `property failed after ${out.numRuns} runs and ${out.numShrinks} shrinks ` +
      `(FC_SEED=${out.seed} FC_PATH="${out.counterexamplePath}")\n` +
      `--- counterexample ---\n${stringify(out.counterexample![0], { lineWidth: 0 })}--- error ---\n${err}`,
  );
}

function load(file: ScenarioFile): Scenario {
  return parseScenario(JSON.stringify(file), "generated.json");
}

// --- differential ----------------------------------------------------------------------

/** What a run shows: the result JSON's observable parts, numa_maps of every task, free pages. */
function observe(run: RunOutput) {
  const k = run.kernel;
  return {
    steps: run.result.steps,
    mappings: run.result.mappings,
    events: run.result.events,
    numastat: run.result.numastat,
    numaMaps: Object.fromEntries([...k.tasks.values()].map((t) => [t.name, numaMaps(k, t)])),
    free: Object.fromEntries(k.zoneById.map((z) => [z.label, z.free])),
    interleave: Object.fromEntries(
      [...k.tasks.values()].map((t) => [t.name, [t.ilPrev, t.ilWeight, t.spreadRotor]]),
    ),
    files: run.result.files,
    pageCache: Object.fromEntries(
      k.zoneById.map((z) => [z.label, [k.pageCache.pagesIn(z.id), k.pageCache.dirtyIn(z.id)]]),
    ),
  };
}

/** Where two observations differ: "path: fast … / reference …" lines (at most `max`). */
function differences(fast: unknown, ref: unknown, path = "", out: string[] = [], max = 12): string[] {
  if (out.length >= max || JSON.stringify(fast) === JSON.stringify(ref)) return out;
  if (fast && ref && typeof fast === "object" && typeof ref === "object") {
    for (const key of new Set([...Object.keys(fast), ...Object.keys(ref)])) {
      const f = (fast as Record<string, unknown>)[key];
      differences(f, (ref as Record<string, unknown>)[key], `${path}/${key}`, out, max);
    }
    return out;
  }
  out.push(`${path}: fast ${JSON.stringify(fast)} / reference ${JSON.stringify(ref)}`);
  return out;
}

/** Run a scenario on both models; throws with the differences, if any. */
function compareModels(sc: Scenario): void {
  const fast = observe(runScenario(sc));
  const ref = observe(runScenario(sc, { pageTable: () => new PageMap(), allocator: pageByPageAllocateRun }));
  const diff = differences(fast, ref);
  if (diff.length) throw new Error(`the fast model and the reference model differ:\n${diff.join("\n")}`);
}

// --- determinism -----------------------------------------------------------------------

function checkDeterminism(text: string): void {
  const a = runScenario(parseScenario(text));
  const b = runScenario(parseScenario(text));
  expect(JSON.stringify(b.result)).toBe(JSON.stringify(a.result));
  expect(JSON.stringify(observe(b))).toBe(JSON.stringify(observe(a)));
}

// --- conservation ----------------------------------------------------------------------

/** Pages per zone id of a run's segments (2^order pages per allocation). */
function segmentZonePages(r: ReturnType<AllocateRun>, order: number, into: Map<number, number>): void {
  for (const s of r.segments) {
    for (const [zid, c] of extentNodeCounts(makeExtent(0, s.count, s.zones, 0), new Map())) {
      into.set(zid, (into.get(zid) ?? 0) + c * 2 ** order);
    }
  }
}

function addPages(m: Map<number, number>, from: Map<number, number>): void {
  for (const [zid, c] of from) if (zid !== ZERO_PAGE) m.set(zid, (m.get(zid) ?? 0) + c);
}

/**
 * Pages per zone in use: every pte of every task outside its shared mappings (private
 * pages, a page shared copy-on-write once; the zero page is no page), its page tables,
 * every page of the shmem objects its VMAs map, kalloc.
 */
function pagesInUse(k: Kernel, kalloc: Map<number, number>): Map<number, number> {
  const used = new Map<number, number>(kalloc);
  const objects = new Set<ShmemObject>();
  /** pages shared copy-on-write since a fork count once: group id and vpn */
  const sharedSeen = new Set<string>();
  for (const t of k.tasks.values()) {
    const all = new Map<number, number>();
    for (const e of t.mm.pte.all()) {
      // hugetlb pages are counted once, with the pool, below
      if (e.flags & PG_HUGETLB) continue;
      if (!e.share) {
        extentNodeCounts(e, all);
        continue;
      }
      for (let v = e.start; v < e.start + e.count; v++) {
        const key = `${e.share.id}:${v}`;
        if (sharedSeen.has(key)) continue;
        sharedSeen.add(key);
        const z = nodeAt(e, v);
        all.set(z, (all.get(z) ?? 0) + 1);
      }
    }
    const shared = new Map<number, number>();
    for (const v of t.mm.vmas) {
      if (!v.object) continue;
      objects.add(v.object);
      t.mm.pte.nodeCounts(v.start, v.end, shared);
    }
    for (const [zid, c] of shared) all.set(zid, all.get(zid)! - c);
    addPages(used, all);
    addPages(used, t.mm.tables.zoneCounts());
  }
  for (const o of objects) addPages(used, o.pages.nodeCounts(0, Number.MAX_SAFE_INTEGER));
  for (const f of k.pageCache.files.values()) addPages(used, k.pageCache.fileZones(f));
  // hugetlb: the pool's free pages and the pages of every hugetlb file still mapped
  const huge = new Map<number, number>();
  const files = new Set<HugetlbFile>();
  for (const t of k.tasks.values()) for (const v of t.mm.vmas) if (v.huge) files.add(v.huge);
  for (const list of k.hugetlb.freeList.values())
    for (const z of list) huge.set(z, (huge.get(z) ?? 0) + HPAGE_PAGES);
  for (const f of files) for (const z of f.pages.values()) huge.set(z, (huge.get(z) ?? 0) + HPAGE_PAGES);
  addPages(used, huge);
  // the huge zero page, allocated once and kept
  if (k.hugeZeroZone !== undefined) addPages(used, new Map([[k.hugeZeroZone, 512]]));
  return used;
}

function checkConservation(sc: Scenario): void {
  // memory hotplug adds and removes free pages with the managed ones: free - managed holds
  const boot = bootScenario(sc).zoneById;
  const initial = boot.map((z) => z.free - z.managed);
  const kalloc = new Map<number, number>();
  const counting: AllocateRun = (...args) => {
    const r = allocateRun(...args);
    const [, , plan, , target] = args;
    if (target === "kalloc") segmentZonePages(r, plan.slots[0]!.req.order, kalloc);
    return r;
  };
  const k = runScenario(sc, { allocator: counting }).kernel;
  const used = pagesInUse(k, kalloc);
  const problems: string[] = [];
  for (const z of k.zoneById) {
    const inUse = used.get(z.id) ?? 0;
    if (z.free < 0) problems.push(`${z.label}: ${z.free} free pages`);
    if (z.free + inUse - z.managed !== initial[z.id]) {
      problems.push(
        `${z.label}: free - managed ${initial[z.id]} at boot, now ${z.free} free + ${inUse} in use - ${z.managed} managed`,
      );
    }
  }
  for (const t of k.tasks.values()) {
    if (!t.alive && (t.mm.vmas.length || t.mm.pte.pages || t.mm.tables.pages)) {
      problems.push(
        `${t.name} was killed but keeps ${t.mm.vmas.length} VMAs, ${t.mm.pte.pages} ptes and ${t.mm.tables.pages} table pages`,
      );
    }
  }
  if (problems.length) throw new Error(`pages are not conserved:\n${problems.join("\n")}`);
}

// --- cpusets ---------------------------------------------------------------------------

/*
 * A task's mems_allowed changes only with its cpuset (cgroup_write, cgroup_attach), never
 * during an allocation. Every user allocation (faults, shmem, migration: GFP_HIGHUSER_MOVABLE, which has __GFP_HARDWALL)
 * is confined to it whatever the policy: the fast path filters by mems_allowed (no
 * policy nodemask) or checks each zone (ALLOC_CPUSET), the slow path keeps ALLOC_CPUSET
 * (the mask has __GFP_DIRECT_RECLAIM), and the cpuset is only dropped for an OOM victim's
 * reserves, which the model never gives (a killed task stops allocating). kalloc and page
 * tables are not user allocations (GFP_KERNEL and GFP_PGTABLE_USER have no __GFP_HARDWALL:
 * the slow path may use the nearest hardwall ancestor's mems) and are left out.
 */
function checkMemsAllowed(sc: Scenario): void {
  const outside: string[] = [];
  const checking: AllocateRun = (...args) => {
    const r = allocateRun(...args);
    const [k, task, plan, , target] = args;
    if (target === "kalloc" || target.startsWith("page table")) return r;
    // a stretch of faults alternates PTE tables and data pages: check the data pages only
    const isUser = plan.slots.map((s) => !s.label?.startsWith("page table"));
    let at = 0;
    for (const s of r.segments) {
      for (const [j, zid] of s.zones.entries()) {
        if (!isUser[(plan.phase + at + j) % plan.slots.length]) continue;
        const node = k.zoneById[zid]!.node;
        if (!task.memsAllowed.has(node)) {
          outside.push(
            `step ${k.step}: ${task.name} got a page on node ${node}, mems_allowed ${task.memsAllowed}`,
          );
        }
      }
      at += s.count;
    }
    return r;
  };
  runScenario(sc, { allocator: checking });
  if (outside.length) throw new Error(`user pages outside mems_allowed:\n${outside.slice(0, 10).join("\n")}`);
}

// --- the tests -------------------------------------------------------------------------

describe("property: fast model = page-by-page reference model", () => {
  it(`agrees on generated scenarios (${RUNS} runs)`, () => {
    check(fc.property(scenarioFile, (file) => compareModels(load(file))));
  });
});

describe("property: invariants of the fast model", () => {
  it("is deterministic: the same file gives the same result JSON", () => {
    check(fc.property(scenarioFile, (file) => checkDeterminism(JSON.stringify(file))));
  });

  it("conserves pages: free at boot = free + mapped + shmem objects + kalloc, per zone", () => {
    check(fc.property(scenarioFile, (file) => checkConservation(load(file))));
  });

  it("never places a user page outside the faulting task's mems_allowed", () => {
    check(fc.property(scenarioFile, (file) => checkMemsAllowed(load(file))));
  });
});

const COUNTEREXAMPLES = join(import.meta.dirname, "reference", "counterexamples");
const counterexamples = readdirSync(COUNTEREXAMPLES).filter((f) => /\.ya?ml$/.test(f));

describe("saved counterexamples", () => {
  it.each(counterexamples)("%s", (name) => {
    const sc = loadScenario(join(COUNTEREXAMPLES, name));
    compareModels(sc);
    checkConservation(sc);
    checkMemsAllowed(sc);
    const r = runScenario(sc).result;
    const failed = r.steps
      .filter((s) => s.expect === "fail")
      .map((s) => ({ step: s.index, mismatches: s.mismatches }));
    expect(failed).toEqual([]);
  });
});
