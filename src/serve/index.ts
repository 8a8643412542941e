// Serving: the OpenAI-compatible server and its safety guards.
export type { ApiErrorType } from "./apiError.js";
export { ApiError } from "./apiError.js";
export type { GenerationPool, PoolHealth } from "./generationPool.js";
export {
  createGuard,
  type Guard,
  type GuardDecision,
  type GuardStage,
  loadGuard,
} from "./guards/guard.js";
export {
  DEFAULT_REFUSAL,
  type GuardConfig,
  GuardConfigError,
  type GuardConfigInput,
  loadGuardConfig,
} from "./guards/guardConfig.js";
export { REQUEST_FRAME, requestSafetyPairs } from "./guards/requestClassifier.js";
export { SERVE_DEFAULTS, type ServeOptions } from "./serveOptions.js";
export { type RunningServer, startServer } from "./server.js";
export { ServerStartError } from "./serverStartError.js";
