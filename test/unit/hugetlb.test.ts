import { describe, expect, it } from "vitest";
import { bootsAlone } from "../../src/oracle/program.js";
import { parseScenario } from "../../src/scenario/loader.js";
import { runScenario } from "../../src/scenario/runner.js";

const MACHINE = `machine:
  nodes:
    - { id: 0, cpus: "0", memory: 256MiB }
    - { id: 1, cpus: "1", memory: 256MiB }
    - { id: 2, memory: 256MiB }
`;
const NODE = (n: number, f = "nr_hugepages") =>
  `/sys/devices/system/node/node${n}/hugepages/hugepages-2048kB/${f}`;

function run(steps: string) {
  const sc = parseScenario(`name: h\n${MACHINE}steps:\n${steps}`);
  return runScenario(sc).result;
}

describe("hugetlb pool", () => {
  it("allocates round-robin over N_MEMORY and shrinks from the free rotor", () => {
    const r = run(`  - { op: sysfs_write, path: /proc/sys/vm/nr_hugepages, value: "5" }
  - { op: cat, path: ${NODE(0)} }
  - { op: cat, path: ${NODE(2)} }
  - { op: sysfs_write, path: /proc/sys/vm/nr_hugepages, value: "1" }
  - { op: cat, path: ${NODE(0)} }
  - { op: cat, path: ${NODE(1)} }
`);
    expect(r.steps.map((s) => s.out?.text)).toEqual([undefined, "2\n", "1\n", undefined, "0\n", "1\n"]);
  });

  it("parses the sysctl in base 0 and sysfs in base 10", () => {
    const r = run(`  - { op: sysfs_write, path: /proc/sys/vm/nr_hugepages, value: "0x2" }
  - { op: sysfs_write, path: /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages, value: "0x2" }
  - { op: sysfs_write, path: /proc/sys/vm/nr_hugepages, value: " -1" }
  - { op: cat, path: /proc/sys/vm/nr_hugepages }
`);
    expect(r.steps.map((s) => s.errno)).toEqual([null, "EINVAL", "EINVAL", null]);
    expect(r.steps[3]!.out?.text).toBe("2\n");
  });

  it("counts a pool allocation in numastat, not the fault", () => {
    const r = run(`  - { op: sysfs_write, path: ${NODE(2)}, value: "1" }
  - { op: numastat }
  - { op: mmap, name: h, length: 1, flags: [MAP_PRIVATE, MAP_ANONYMOUS, MAP_HUGETLB], addr: 0x7e0000000000 }
  - { op: touch, addr: h }
  - { op: placement, addr: h }
`);
    const ns = r.steps[1]!.out as Record<string, { numa_hit: number; other_node: number }>;
    expect(ns["2"]).toMatchObject({ numa_hit: 1, other_node: 1 });
    expect(r.steps[3]!.ret).toBe(1);
    expect(r.steps[4]!.out).toEqual({ pages: { "2": 512 } });
    // the fault took PUD, PMD tables on node 0, and no data page from the buddy allocator
    expect(r.numastat["2"]!.numa_hit).toBe(1);
  });
});

describe("MAP_HUGETLB mappings", () => {
  it("interleave by the huge-page index in the file, not by address", () => {
    for (const addr of ["0x7e0000000000", "0x7e0000200000", "0x7e0000400000"]) {
      const r = run(`  - { op: sysfs_write, path: /proc/sys/vm/nr_hugepages, value: "3" }
  - { op: mmap, name: h, length: 2MiB, flags: [MAP_PRIVATE, MAP_ANONYMOUS, MAP_HUGETLB], addr: ${addr} }
  - { op: mbind, addr: h, mode: MPOL_INTERLEAVE, nodes: "1-2" }
  - { op: touch, addr: h }
  - { op: placement, addr: h }
`);
      expect(r.steps[4]!.out).toEqual({ pages: { "1": 512 } });
    }
  });

  it("boot alone in the oracle and refuse fork", () => {
    const sc = parseScenario(`name: h\n${MACHINE}steps:
  - { op: mmap, name: h, length: 2MiB, flags: [MAP_PRIVATE, MAP_ANONYMOUS, MAP_HUGETLB] }
`);
    expect(bootsAlone(sc)).toBe(true);
    expect(() =>
      parseScenario(`name: h\n${MACHINE}steps:
  - { op: mmap, name: h, length: 2MiB, flags: [MAP_PRIVATE, MAP_ANONYMOUS, MAP_HUGETLB] }
  - { op: fork, child: c }
`),
    ).toThrow(/fork of hugetlb mappings/);
  });
});
