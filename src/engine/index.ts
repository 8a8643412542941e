// The engine's public surface.
export * from "./autograd.js";
export { checkpoint, liveCheckpoints } from "./checkpoint.js";
export * from "./chunkedLogProbs.js";
export * from "./create.js";
export { DecodePlan, type DecodePlanSpec, hasFusedDecode } from "./decodePlan.js";
export * from "./device.js";
export * from "./dtype.js";
export * from "./functional.js";
export { EngineUnavailableError, LIBTORCH_HINT, loadNative } from "./native.js";
export { AdamW, type AdamWOptions, type ParamGroup, weightDecayGroups } from "./optim/adamw.js";
export { clipGradNorm } from "./optim/clipGradNorm.js";
export * from "./quantized.js";
export * from "./runtime.js";
export { keep, scopeDepth, tidy } from "./scope.js";
export { Tensor, type TensorOrNumber } from "./tensor.js";
