/** The registry of designs: each is one file with its hooks over the kernel model. */
import type { Design } from "../kernel/design.js";
import { cdmCpuset, cdmV2, cdmV3, cdmZonelist } from "./cdm.js";
import { coherentMemory } from "./coherent-memory.js";
import { cpusetAdmin } from "./cpuset-admin.js";
import { hmmDevice } from "./hmm-device.js";
import { mainline } from "./mainline.js";
import { protectedMemoryNodes } from "./protected-nodes.js";

const DESIGNS: readonly Design[] = [
  mainline,
  cdmV3,
  cdmV2,
  cdmZonelist,
  cdmCpuset,
  coherentMemory,
  cpusetAdmin,
  protectedMemoryNodes,
  hmmDevice,
];

export function designIds(): string[] {
  return DESIGNS.map((d) => d.id);
}

export function getDesign(id: string): Design | undefined {
  return DESIGNS.find((d) => d.id === id);
}
