/**
 * hmm-device: device memory managed by its driver through HMM instead of onlined as a
 * NUMA node (Jérôme Glisse's HMM and HMM-CDM, ZONE_DEVICE private and public memory, and
 * the MEMORY_DEVICE_COHERENT type merged in 6.0; `../shared/docs/cdm-designs.md` §3.3).
 *
 * - The device's memory (a node marked `cdm: true`) is ZONE_DEVICE memory: not in the page
 *   allocator, not in N_MEMORY, in no zonelist and no cpuset. No allocation, fallback or
 *   explicit, ever takes it; mbind and set_mempolicy naming it are EINVAL.
 * - Pages get there only by the driver's migration (migrate_vma_*), which the op
 *   `device_migrate` stands for: resident private anonymous pages of a range move into
 *   device memory (src/kernel/hmm.ts). CPU access to them is modelled as to any page.
 *
 * Chosen where the sources leave it open: the device node's own fallback line lists the
 * RAM nodes (the kernel would have no such node online), and munmap or exit free device
 * pages back to the device.
 */
import type { Design, DesignContext } from "../kernel/design.js";
import { Nodemask } from "../kernel/nodemask.js";
import type { AllocContext } from "../kernel/page-alloc.js";
import type { Zone } from "../kernel/zone.js";

const device = (ctx: DesignContext) => Nodemask.from(ctx.cdmNodes);

export const hmmDevice: Design = {
  id: "hmm-device",
  title: "HMM: device memory as ZONE_DEVICE pages the driver migrates to, outside the page allocator",
  source:
    "Jérôme Glisse, HMM (Heterogeneous Memory Management) v1-v25 and HMM-CDM (2017), merged as mm/hmm.c and migrate_vma; MEMORY_DEVICE_COHERENT in Linux 6.0",
  hooks: {
    zonelistSkip: (_local: number, node: number, ctx: DesignContext) => ctx.cdmNodes.has(node),
    zoneFilter(zone: Zone, _ac: AllocContext, _flags: number, _gfp: number, ctx: DesignContext) {
      return ctx.cdmNodes.has(zone.node)
        ? "device memory (ZONE_DEVICE) is outside the page allocator"
        : undefined;
    },
    cpusetMems: (nMemory: Nodemask, ctx: DesignContext) => nMemory.andNot(device(ctx)),
    hugetlbMems: (nMemory: Nodemask, ctx: DesignContext) => nMemory.andNot(device(ctx)),
    nodeStates: (nMemory: Nodemask, ctx: DesignContext) => ({ has_memory: nMemory.andNot(device(ctx)) }),
    zoneDeviceNodes: device,
  },
};
