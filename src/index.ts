/**
 * cdmsim as a library:
 *
 *   import { loadScenario, runScenario } from "cdmsim";
 *   const run = runScenario(loadScenario("scenario.yaml"));
 *   console.log(run.result.mappings);
 */
export { designIds, getDesign } from "./designs/index.js";
export type { Design, DesignHooks } from "./kernel/design.js";
export type { AllocEvent, KernelEvent, NumaStat, OomEvent } from "./kernel/kernel.js";
export { Kernel } from "./kernel/kernel.js";
export type { MachineSpec, NodeSpec } from "./kernel/topology.js";
export { renderExplain } from "./report/explain.js";
export { numactlHardwareText, topoText } from "./report/machine.js";
export { PLAIN } from "./report/style.js";
export { renderRun } from "./report/text.js";
export type { ScenarioProblem } from "./scenario/loader.js";
export { loadScenario, parseScenario, ScenarioError } from "./scenario/loader.js";
export type {
  MappingResult,
  NodeUsage,
  ResultJson,
  RunOptions,
  RunOutput,
  StepResult,
} from "./scenario/runner.js";
export { bootScenario, runScenario } from "./scenario/runner.js";
export { scenarioJsonSchema } from "./scenario/schema.js";
export type { Scenario, Step } from "./scenario/types.js";
export type { TopoFormat } from "./topology-io/export.js";
export { exportTopology, machineJson, machineYaml, TOPO_FORMATS } from "./topology-io/export.js";
export { importHwlocXml } from "./topology-io/hwloc.js";
export type { ImportFormat, ImportResult } from "./topology-io/import.js";
export { importMachine, TopologyImportError } from "./topology-io/import.js";
export { importNumactlText } from "./topology-io/numactl-text.js";
export type { Preset } from "./topology-io/presets.js";
export { getPreset, presetIds } from "./topology-io/presets.js";
export { machineSvg } from "./topology-io/svg.js";
