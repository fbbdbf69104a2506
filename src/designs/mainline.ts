/**
 * mainline: Linux 6.1 as shipped. CPU-less device-memory nodes are ordinary NUMA nodes
 * and ordinary fallback targets; the design is the empty set of hooks.
 */
import type { Design } from "../kernel/design.js";

export const mainline: Design = {
  id: "mainline",
  title: "Linux 6.1 as shipped",
  source: "Linux 6.1 (Debian's linux-image-6.1.0 kernels), the release the real-kernel oracle boots",
  hooks: {},
};
