// safetune's workflows: the concrete stage kinds (world, tokenizer, mix, the trainers, eval, report), pipeline
// files that use them, and the built-in demo.
export { DEMO_SCALES, type DemoScale, demoPipeline } from "./demoPipeline.js";
export { loadPipeline, parsePipeline } from "./pipelines.js";
export { STAGE_KINDS } from "./stageKinds.js";
