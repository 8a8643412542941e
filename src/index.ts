// safetune's library API.

export * from "./data/index.js";
export * from "./distributed/index.js";
export * from "./endpoint/index.js";
export * from "./engine/index.js";
export * from "./eval/index.js";
export { ExportError, type ExportGgufOptions, type ExportGgufResult, exportGguf } from "./export/index.js";
export {
  type DecodeOptions,
  DecodeSession,
  type FinishReason,
  type Generation,
  type TokenEvent,
} from "./generate/decodeSession.js";
export {
  encodePrompt,
  type GenerateOptions,
  generate,
  generateTokens,
  type Prompt,
} from "./generate/generate.js";
export type { SamplingOptions } from "./generate/sampling.js";
export * from "./gym/index.js";
export { buildModel, paramSpecsOf } from "./model/buildModel.js";
export { type ModelConfig, parseConfig } from "./model/config.js";
export { type CreateModelOptions, createModel } from "./model/createModel.js";
export { ModelError } from "./model/errors.js";
export { KVCache } from "./model/kvCache.js";
export { type LoadModelOptions, loadedModelInfo, loadModel, readModelConfig } from "./model/loadModel.js";
export {
  attachAdapter,
  createLora,
  LoraAdapter,
  type LoraConfig,
  mergeAdapter,
  withAdapterDisabled,
} from "./model/lora.js";
export { loadAdapter, saveAdapter } from "./model/loraFiles.js";
export { type PresetName, presetConfig } from "./model/presets.js";
export { rewardModelFrom } from "./model/rewardModel.js";
export {
  parseSafetensors,
  readSafetensorsFile,
  readSafetensorsHeader,
  type SafetensorsDtype,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
} from "./model/safetensors.js";
export { type SaveModelOptions, saveModel } from "./model/saveModel.js";
export { createScratchModel } from "./model/scratchModel.js";
export { lastTokenIndex, sequenceScores } from "./model/sequenceScores.js";
export { type ForwardOptions, TransformerModel } from "./model/transformer.js";
export * from "./pipeline/index.js";
export { collate } from "./score/collate.js";
export { nextTokenLoss, sequenceLogProbs } from "./score/logProbs.js";
export { functionScorer, modelScorer } from "./score/scorer.js";
export * from "./serve/index.js";
export * from "./tokenize/index.js";
export { degenerateReason } from "./train/degenerate.js";
export {
  cachedReferenceLogProbs,
  computeReferenceLogProbs,
  dpoTask,
  preferenceEvaluation,
} from "./train/dpo.js";
export { type PreferenceLossKind, preferenceLoss } from "./train/preferenceLoss.js";
export { sampleAnswers, scoreAnswers, selectSamples } from "./train/raft.js";
export { bradleyTerryLoss, costLoss } from "./train/reward.js";
export {
  type DpoConfig,
  DpoConfigSchema,
  resolveConfig,
  type SftConfig,
  SftConfigSchema,
} from "./train/runConfig.js";
export { runDpo } from "./train/runDpo.js";
export { runRaft } from "./train/runRaft.js";
export { runReward } from "./train/runReward.js";
export { runSft } from "./train/runSft.js";
export { learningRate, type ScheduleKind } from "./train/schedule.js";
export { sftTask } from "./train/sft.js";
export {
  type LoopOptions,
  runTrainingLoop,
  TrainingError,
  TrainingInterrupted,
  type TrainingTask,
} from "./train/trainingLoop.js";
export * from "./workflows/index.js";
