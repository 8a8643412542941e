// Pipelines: named, hash-cached stages from data to aligned and evaluated models; the built-in demo.
export { DEMO_SCALES, type DemoScale, demoPipeline } from "./demoPipeline.js";
export { PipelineError } from "./errors.js";
export {
  loadPipeline,
  type Pipeline,
  type PipelineOverrides,
  type PipelineStage,
  parsePipeline,
} from "./pipelineFile.js";
export { type PlannedStage, type PlanOptions, planPipeline, type StageAction } from "./plan.js";
export {
  describePlan,
  type PipelineReport,
  type PipelineRunOptions,
  runPipeline,
  type StageReport,
} from "./runPipeline.js";
export type { StageContext, StageKind, StageOutcome } from "./stageKind.js";
export { STAGE_KINDS } from "./stageKinds.js";
