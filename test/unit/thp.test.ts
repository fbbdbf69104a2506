import { describe, expect, it } from "vitest";
import { parseScenario } from "../../src/scenario/loader.js";
import { runScenario } from "../../src/scenario/runner.js";

const machine = (mib: number) => `machine:
  nodes:
    - { id: 0, cpus: "0", memory: ${mib}MiB }
    - { id: 1, cpus: "1", memory: ${mib}MiB }
`;

function run(thp: string, steps: string, mib = 384) {
  const sc = parseScenario(`name: t\nkernel: { thp: ${thp} }\n${machine(mib)}steps:\n${steps}`);
  return runScenario(sc);
}

describe("transparent huge pages", () => {
  it("are off below 512 MiB of RAM whatever transparent_hugepage= says (hugepage_init)", () => {
    const steps = `  - { op: mmap, name: a, length: 2MiB, addr: 0x7e0000000000 }
  - { op: touch, addr: a, length: 4096 }
  - { op: placement, addr: a }
`;
    expect(run("always", steps, 256).result.steps[2]!.out).toEqual({ pages: { "0": 1 } });
    expect(run("always", steps, 384).result.steps[2]!.out).toEqual({ pages: { "0": 512 } });
    // and khugepaged does not raise min_free_kbytes then
    expect(run("always", steps, 256).kernel.minFreeKbytes).toBe(
      run("never", steps, 256).kernel.minFreeKbytes,
    );
  });

  it("need a 2 MiB region inside the VMA, and take one fault per THP", () => {
    const r = run(
      "always",
      `  - { op: mmap, name: a, length: 3MiB, addr: 0x7e0000100000 }
  - { op: touch, addr: a }
  - { op: placement, addr: a }
`,
    );
    // 1 MiB of 4 KiB pages in the first region, then one THP
    expect(r.result.steps[1]!.ret).toBe(256 + 1);
    expect(r.result.steps[2]!.out).toEqual({ pages: { "0": 768 } });
  });

  it("map the huge zero page on a read fault, once for the machine", () => {
    const r = run(
      "madvise",
      `  - { op: mmap, name: a, length: 4MiB, addr: 0x7e0000000000 }
  - { op: madvise, addr: a, length: 4MiB, advice: MADV_HUGEPAGE }
  - { op: touch, addr: a, access: read }
  - { op: placement, addr: a }
`,
    );
    expect(r.result.steps[2]!.ret).toBe(2);
    expect(r.result.steps[3]!.out).toEqual({ pages: {} });
    expect(r.kernel.hugeZeroZone).toBeDefined();
  });

  it("refuse what the model does not cover on THPs, naming the step", () => {
    const base = `  - { op: mmap, name: a, length: 4MiB, addr: 0x7e0000000000 }\n`;
    expect(() => run("always", `${base}  - { op: fork, child: c }\n`)).toThrow(
      /fork .*transparent huge pages/,
    );
    expect(() => run("always", `${base}  - { op: munmap, addr: a, length: 2MiB }\n`)).toThrow(
      /munmap of part of a mapping/,
    );
    expect(() => run("always", `${base}  - { op: munmap, addr: a }\n`)).not.toThrow();
    expect(() =>
      run(
        "madvise",
        `${base}  - { op: madvise, addr: a, length: 4MiB, advice: MADV_HUGEPAGE }
  - { op: madvise, addr: a, length: 4MiB, advice: MADV_DONTNEED }
`,
      ),
    ).toThrow(/MADV_DONTNEED of part of a mapping/);
    expect(() => run("always", `${base}  - { op: madvise, addr: a, advice: MADV_DONTNEED }\n`)).not.toThrow();
    // without MADV_HUGEPAGE, madvise mode gives no THP: nothing is refused
    expect(() => run("madvise", `${base}  - { op: fork, child: c }\n`)).not.toThrow();
    expect(() =>
      parseScenario(`name: t\nkernel: { thp: always, version: "6.9" }\n${machine(384)}steps:\n${base}`),
    ).toThrow(/modelled as Linux 6.1/);
  });
});
