// Evaluation: benchmarks, answerers (local engine, OpenAI-compatible endpoints), judges, metrics, reports.
export type { Answer, Answerer, AnswerRequest } from "./answer/answerer.js";
export { EndpointAnswerer } from "./answer/endpointAnswerer.js";
export {
  AllEndpointsDownError,
  EndpointPool,
  type EndpointPoolOptions,
  type ReplicaCounters,
} from "./answer/endpointPool.js";
export { LocalAnswerer, type LocalAnswererOptions } from "./answer/localAnswerer.js";
export { EndpointError, type EndpointOptions, OpenAIEndpoint } from "./answer/openaiEndpoint.js";
export type { BenchmarkSpec } from "./benchmarks/benchmarkSpec.js";
export { BUILTIN_BENCHMARKS, PAPER_SUITE } from "./benchmarks/builtinBenchmarks.js";
export { loadBenchmark, resolveBenchmarkSpec } from "./benchmarks/loadBenchmark.js";
export { BUILTIN_SUITES, loadSuite, parseSuite, type Suite } from "./benchmarks/suite.js";
export { type CalibrationReport, calibrateJudge, readLabelledFile } from "./calibrate.js";
export { compareRuns, comparisonMarkdown, type RunComparison } from "./compare.js";
export { EvalInterrupted, EvaluationError } from "./errors.js";
export { type AnswerMatch, answerMatches } from "./judges/answerMatch.js";
export { createJudge, createJudges } from "./judges/createJudge.js";
export type { Judge, JudgeInput } from "./judges/judge.js";
export { type JudgeSpec, parseJudgeFlag } from "./judges/judgeSpec.js";
export { llamaGuardPrompt, parseLlamaGuard } from "./judges/llamaGuard.js";
export { classifyRefusal, xstestStringMatch } from "./judges/refusalRules.js";
export { parseRubric, rubricMessages } from "./judges/rubric.js";
export { bootstrapMean, bootstrapRate, bootstrapStatistic } from "./metrics/bootstrap.js";
export { binaryReport } from "./metrics/classification.js";
export { cohensKappa } from "./metrics/kappa.js";
export { mcnemarTest } from "./metrics/mcnemar.js";
export { pairedDifference } from "./metrics/pairedDifference.js";
export { htmlReport } from "./report/html.js";
export { markdownSummary } from "./report/markdown.js";
export { comparisonTable } from "./report/table.js";
export type { EvalResults, GenerationSettings, MetricResult, SampleRecord } from "./results.js";
export { type EvalOptions, type EvalRun, runEval } from "./runEval.js";
export { readResults, readSamples } from "./runFiles.js";
export type { Benchmark, BenchmarkItem, BenchmarkKind, Estimate, Verdict } from "./types.js";
