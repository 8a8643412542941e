// Pipelines: named, hash-cached stages run in order or in parallel processes, for any set of stage kinds
// (safetune's own, and the built-in demo, are in src/workflows).
export { PipelineError } from "./errors.js";
export {
  loadPipelineWith,
  type Pipeline,
  type PipelineOverrides,
  type PipelineStage,
  parsePipelineWith,
} from "./pipelineFile.js";
export { type PlannedStage, type PlanOptions, planPipeline, type StageAction } from "./plan.js";
export {
  describePlan,
  type PipelineReport,
  type PipelineRunOptions,
  runPipeline,
  type StageReport,
} from "./runPipeline.js";
export type { StageContext, StageKind, StageKinds, StageOutcome } from "./stageKind.js";
export { moduleBeside } from "./stageProcess.js";
export { runStageWorker } from "./stageWorker.js";
