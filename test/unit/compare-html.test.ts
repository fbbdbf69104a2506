/**
 * The HTML report of `cdmsim compare`: scenario text is escaped, and every chart shows the
 * runs' own per-node counts, one line per node, one point after boot and one per step.
 */
import { describe, expect, it } from "vitest";
import { compareRuns } from "../../src/report/compare.js";
import { escapeHtml, niceAxis, renderCompareHtml } from "../../src/report/compare-html.js";
import { parseScenario } from "../../src/scenario/loader.js";
import { runScenario } from "../../src/scenario/runner.js";

const HOSTILE = `
name: "<script>alert('name')</script>"
description: "a <b>bold</b> & <img src=x onerror=alert(1)> description"
machine:
  nodes:
    - { id: 0, cpus: "0", memory: 256MiB }
    - { id: 1, cpus: "1", memory: 256MiB }
    - { id: 2, memory: 128MiB, movable: true, cdm: true, kind: gpu }
  distances: [[10, 20, 80], [20, 10, 80], [80, 80, 10]]
tasks:
  t: { cpu: 0 }
steps:
  - { task: t, op: mmap, name: buf, length: 64p }
  - { task: t, op: mbind, addr: buf, mode: MPOL_BIND, nodes: "2", comment: "</title><script>alert('comment')</script>" }
  - { task: t, op: touch, addr: buf }
  - { task: t, op: mmap, name: more, length: 32p }
  - { task: t, op: mbind, addr: more, mode: MPOL_BIND, nodes: "1" }
  - { task: t, op: touch, addr: more }
`;

function page(text: string, designs = ["mainline", "cdm-v3"]) {
  const sc = parseScenario(text);
  // runs record the per-step counts only when asked, as compare asks
  const runs = designs.map((d) => {
    const r = runScenario(sc, { design: d, usage: true });
    return { ...r, usage: r.usage! };
  });
  const c = compareRuns(sc, runs);
  return { sc, runs, c, html: renderCompareHtml(sc, c) };
}

/** The polylines of each design's chart: node → values and the number of drawn points. */
function charts(html: string) {
  const out = new Map<string, Map<number, { values: number[]; points: number }>>();
  for (const m of html.matchAll(/<svg class="usage-chart" data-design="([^"]*)"[\s\S]*?<\/svg>/g)) {
    const series = new Map<number, { values: number[]; points: number }>();
    for (const p of m[0].matchAll(/<polyline [^>]*data-node="(\d+)" data-values="([^"]*)" points="([^"]*)"/g))
      series.set(Number(p[1]), { values: p[2]!.split(",").map(Number), points: p[3]!.split(" ").length });
    out.set(m[1]!, series);
  }
  return out;
}

describe("compare --html: escaping", () => {
  it("escapes the scenario's name, description and step comments", () => {
    const { html } = page(HOSTILE);
    // the page has no script element at all, and no markup from the scenario
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain("<b>bold</b>");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;");
    expect(html).toContain("<title>cdmsim compare: &lt;script&gt;");
    expect(html).toContain("a &lt;b&gt;bold&lt;/b&gt; &amp; &lt;img src=x onerror=alert(1)&gt; description");
    // a comment shows in the step list and in the chart's hover text, escaped in both
    expect(html.match(/&lt;\/title&gt;&lt;script&gt;alert\(&#39;comment&#39;\)/g)?.length).toBe(
      1 + 2 /* designs */,
    );
  });

  it("escapeHtml escapes the five characters of markup and attributes", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });
});

describe("compare --html: charts", () => {
  it("draws each design's run: a line per node with the run's counts after boot and each step", () => {
    const { sc, runs, c, html } = page(HOSTILE);
    const drawn = charts(html);
    expect([...drawn.keys()]).toEqual(["mainline", "cdm-v3"]);
    for (const run of runs) {
      const series = drawn.get(run.result.design)!;
      expect([...series.keys()]).toEqual(run.usage.nodes);
      run.usage.nodes.forEach((n, j) => {
        const s = series.get(n)!;
        expect(s.values).toEqual(run.usage.pages.map((row) => row[j]));
        expect(s.values.length).toBe(sc.steps.length + 1);
        expect(s.points).toBe(sc.steps.length + 1);
      });
    }
    // the compare result carries the same counts
    expect(c.designs.map((d) => d.usage)).toEqual(runs.map((r) => r.usage));
    // device nodes are marked, and the hover text names each step
    expect(html).toMatch(/<polyline class="series device" data-node="2"/);
    expect(html).toMatch(/<polyline class="series" data-node="0"/);
    expect(html).toContain("after step 2 (t): touch buf (whole mapping) (write)");
  });

  it("a run records the counts only when asked", () => {
    expect(runScenario(parseScenario(HOSTILE)).usage).toBeUndefined();
  });

  it("the counts are the nodes' pages in use, step by step", () => {
    const { sc, runs } = page(HOSTILE, ["mainline"]);
    const run = runs[0]!;
    expect(run.usage.nodes).toEqual([0, 1, 2]);
    expect(run.usage.pages.length).toBe(sc.steps.length + 1);
    const col = (n: number) => run.usage.pages.map((row) => row[run.usage.nodes.indexOf(n)]!);
    // touching the buffer bound to node 2 (step 2) takes its 64 pages there
    expect(col(2)[3]! - col(2)[2]!).toBe(64);
    // the 32 pages bound to node 1 (step 5); their page tables go to the task's node 0
    expect(col(1)[6]! - col(1)[5]!).toBe(32);
    // the last point is the kernel's state at the end
    const k = run.kernel;
    expect(run.usage.pages.at(-1)).toEqual(
      [0, 1, 2].map((n) => k.nodeMeminfo(n).total - k.nodeMeminfo(n).free),
    );
    // mmap and mbind take no page
    expect(run.usage.pages[1]).toEqual(run.usage.pages[0]);
  });

  it("has the table of the text report, the verdicts by design", () => {
    const { c, html } = page(HOSTILE);
    for (const d of c.designs) {
      expect(html).toContain(`<th data-design="${d.design}">${d.design}</th>`);
      const yes = (b: boolean) => (b ? "yes" : "no");
      const verdict = html.slice(html.indexOf(`<tbody class="verdict">`));
      expect(verdict).toContain(`<td data-design="${d.design}" class="${yes(d.verdict.isolation)}">`);
    }
    expect(html).toContain("<th>isolation breaches (pages)</th>");
    expect(html).toContain("<th>t:buf</th>");
  });

  it("loads nothing: a Content-Security-Policy that forbids it, and no external reference", () => {
    const { html } = page(HOSTILE);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    expect(html).not.toMatch(/\s(src|href)\s*=\s*"/);
    expect(html).not.toMatch(/@import|url\(/);
  });
});

describe("niceAxis", () => {
  it("rounds up to 1, 2 or 5 times a power of ten", () => {
    expect(niceAxis(0)).toEqual({ max: 1, step: 1 });
    expect(niceAxis(3)).toEqual({ max: 3, step: 1 });
    expect(niceAxis(33_000_000)).toEqual({ max: 40_000_000, step: 10_000_000 });
    expect(niceAxis(2_097_152 + 4096)).toEqual({ max: 3_000_000, step: 1_000_000 });
    expect(niceAxis(64)).toEqual({ max: 80, step: 20 });
  });
});

describe("compare --html: what each step returned", () => {
  it("the hover text of a step says what it returned under that design", () => {
    const { html, c } = page(HOSTILE, ["mainline", "cdm-cpuset"]);
    const hover = (design: string, point: number) => {
      const svg = new RegExp(`<svg class="usage-chart" data-design="${design}"[\\s\\S]*?</svg>`).exec(
        html,
      )![0];
      return new RegExp(`data-point="${point}"[^>]*><title>([^<]*)</title>`).exec(svg)![1]!;
    };
    // step 1, the mbind naming the CDM node: allowed under mainline, EINVAL under cdm-cpuset
    expect(hover("mainline", 2)).toContain("\nreturned 0\n");
    expect(hover("cdm-cpuset", 2)).toContain("\nreturned -1 EINVAL\n");
    expect(c.designs.map((d) => d.stepResults[1])).toEqual(["0", "-1 EINVAL"]);
    expect(hover("mainline", 0)).not.toContain("returned");
  });
});
