/**
 * The interleave index by release: Linux before 6.7 cuts it to 32 bits
 * (offset_il_node(): `(unsigned int)n % nnodes`), 6.7 and later do not (interleave_nid()).
 * test/conformance/X-interleave-index-32-bit.yaml checks 6.1 against the real kernel.
 */
import { describe, expect, it } from "vitest";
import { parseScenario } from "../../src/scenario/loader.js";
import { runScenario } from "../../src/scenario/runner.js";

function nodesAcross2to32(version: string): number[] {
  const sc = parseScenario(`
kernel: { version: "${version}" }
machine:
  nodes:
    - { id: 0, cpus: "0", memory: 256MiB }
    - { id: 1, cpus: "1", memory: 256MiB }
    - { id: 2, cpus: "2", memory: 256MiB }
steps:
  - { op: mmap, name: edge, length: 4p, addr: 0xfffffffe000 }
  - { op: mbind, addr: edge, mode: MPOL_INTERLEAVE, nodes: "0-2" }
  - { op: touch, addr: edge }
  - { op: placement, addr: edge, length: 1p }
  - { op: placement, addr: edge+1p, length: 1p }
  - { op: placement, addr: edge+2p, length: 1p }
  - { op: placement, addr: edge+3p, length: 1p }
`);
  const r = runScenario(sc).result;
  return r.steps
    .slice(3)
    .map((s) => Number(Object.keys((s.out as { pages: Record<string, number> }).pages)[0]));
}

describe("interleave index across page number 2^32 (three nodes)", () => {
  it("restarts the rotation before 6.7", () => {
    expect(nodesAcross2to32("6.1")).toEqual([2, 0, 0, 1]);
    expect(nodesAcross2to32("6.6")).toEqual([2, 0, 0, 1]);
  });
  it("keeps rotating from 6.7", () => {
    expect(nodesAcross2to32("6.7")).toEqual([2, 0, 1, 2]);
    expect(nodesAcross2to32("6.9")).toEqual([2, 0, 1, 2]);
  });
});
