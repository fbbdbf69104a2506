/**
 * The page of `cdmsim compare --html` in a real browser: Debian's chromium, driven by
 * playwright-core (`npm run browser:setup` installs it). The page is made by the CLI from
 * examples/cdm-debate.yaml and opened from its file: it must load nothing from anywhere,
 * log no error, draw a chart per design with a line per node and a point after boot and
 * after each step, show the verdicts of `cdmsim compare --json`, and paint something.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../src/scenario/loader.js";

const CHROMIUM = "/usr/bin/chromium";

// What the checks read of the page, run in the browser (the type check has no DOM library).
declare const getComputedStyle: (e: unknown) => { stroke: string; strokeDasharray: string };
interface PolylineElement {
  dataset: Record<string, string | undefined>;
  points: { numberOfItems: number };
  classList: { contains(c: string): boolean };
}
const SCENARIO = "examples/cdm-debate.yaml";

interface CompareJson {
  deviceNodes: number[];
  designs: {
    design: string;
    verdict: { isolation: boolean; reachability: boolean };
    usage: { nodes: number[]; pages: number[][] };
  }[];
}

function cdmsim(...args: string[]) {
  const r = spawnSync(process.execPath, ["bin/cdmsim.js", ...args], {
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status !== 0) throw new Error(`cdmsim ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

let dir: string;
let browser: Browser | undefined;
let page: Page | undefined;
let compare: CompareJson;
const problems: string[] = [];
const requests: string[] = [];

/** The page, opened once; a missing chromium fails every test with what to do. */
async function opened(): Promise<Page> {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium is missing at ${CHROMIUM}: run \`npm run browser:setup\` to install it`);
  if (page) return page;
  browser = await chromium.launch({ executablePath: CHROMIUM });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // every request goes through here: files are let through, anything else is refused and counted
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    requests.push(url);
    return route.abort();
  });
  page = await context.newPage();
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) requests.push(r.url());
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  await page.goto(pathToFileURL(join(dir, "compare.html")).href, { waitUntil: "load" });
  return page;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cdmsim-browser-"));
  cdmsim("compare", SCENARIO, "--html", join(dir, "compare.html"));
  compare = JSON.parse(cdmsim("compare", SCENARIO, "--json"));
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("compare --html in chromium", () => {
  it("loads with no error and no request beyond its own file", async () => {
    const p = await opened();
    expect(await p.title()).toBe("cdmsim compare: cdm-debate");
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });

  it("draws a chart per design, a line per node with a point after boot and after each step", async () => {
    const p = await opened();
    const sc = loadScenario(SCENARIO);
    const memoryNodes = sc.machine.nodes
      .filter((n) => n.memoryBytes > 0)
      .map((n) => n.id)
      .sort((a, b) => a - b);
    const charts = await p.$$eval("svg.usage-chart", (svgs) =>
      svgs.map((svg) => ({
        design: svg.getAttribute("data-design"),
        width: svg.getBoundingClientRect().width,
        height: svg.getBoundingClientRect().height,
        series: ([...svg.querySelectorAll("polyline.series")] as unknown as PolylineElement[]).map((l) => ({
          node: Number(l.dataset.node),
          points: l.points.numberOfItems,
          values: (l.dataset.values ?? "").split(",").map(Number),
          device: l.classList.contains("device"),
          dash: getComputedStyle(l).strokeDasharray,
          stroke: getComputedStyle(l).stroke,
        })),
        hover: [...svg.querySelectorAll("rect.step > title")].map((t) => t.textContent ?? ""),
      })),
    );
    expect(charts.map((c) => c.design)).toEqual(compare.designs.map((d) => d.design));
    for (const [i, c] of charts.entries()) {
      expect(c.width).toBeGreaterThan(300);
      expect(c.height).toBeGreaterThan(150);
      expect(c.series.map((s) => s.node)).toEqual(memoryNodes);
      for (const [j, s] of c.series.entries()) {
        expect(s.points).toBe(sc.steps.length + 1);
        // the line is the run's counts, as `compare --json` gives them
        expect(s.values).toEqual(compare.designs[i]!.usage.pages.map((row) => row[j]));
        const device = compare.deviceNodes.includes(s.node);
        expect(s.device).toBe(device);
        // device nodes are dashed, the others solid
        expect(s.dash === "none").toBe(!device);
      }
      // the colours tell the nodes apart
      expect(new Set(c.series.map((s) => s.stroke)).size).toBe(c.series.length);
      expect(c.hover.length).toBe(sc.steps.length + 1);
      expect(c.hover[0]).toMatch(/^after boot\n/);
      expect(c.hover[3]).toMatch(/^after step 2 \(gpu-app\): touch weights/);
    }
    // a legend per chart, with the device nodes marked
    const legends = await p.$$eval("figure.chart ul.legend", (uls) =>
      uls.map((ul) => [...ul.querySelectorAll("li")].map((li) => li.textContent ?? "")),
    );
    expect(legends.length).toBe(compare.designs.length);
    expect(legends[0]).toContain("node 251 device");
    expect(legends[0]).toContain("node 0");
  });

  it("shows the verdicts of `cdmsim compare --json`", async () => {
    const p = await opened();
    const rows = await p.$$eval("table.compare tbody.verdict tr", (trs) =>
      trs.map((tr) => ({
        label: tr.querySelector("th")?.textContent ?? "",
        cells: [...tr.querySelectorAll("td")].map((td) => [td.getAttribute("data-design"), td.textContent]),
      })),
    );
    const key = { "keeps isolation": "isolation", "keeps reachability": "reachability" } as const;
    expect(rows.map((r) => r.label)).toEqual(Object.keys(key));
    for (const r of rows) {
      const field = key[r.label as keyof typeof key];
      expect(r.cells).toEqual(compare.designs.map((d) => [d.design, d.verdict[field] ? "yes" : "no"]));
    }
    // and the header of the table has the designs in the same order
    const heads = await p.$$eval("table.compare thead th[data-design]", (ths) =>
      ths.map((th) => th.textContent),
    );
    expect(heads).toEqual(compare.designs.map((d) => d.design));
  });

  it("paints the page: a screenshot is not blank", async () => {
    const p = await opened();
    const full = join(dir, "compare.png");
    await p.screenshot({ path: full, fullPage: true });
    const chart = join(dir, "chart.png");
    await p.locator("figure.chart").first().screenshot({ path: chart });
    // a blank page of this size compresses to a few kilobytes; text, tables and lines do not
    expect(statSync(full).size).toBeGreaterThan(100_000);
    expect(statSync(chart).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });
});
