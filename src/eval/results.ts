// results.json and samples.jsonl: the machine-readable output of an evaluation run (schema-versioned).
import type { AttackSummary } from "./attacks/attackMetrics.js";
import type { BenchmarkKind, Estimate, Verdict } from "./types.js";

export const RESULTS_SCHEMA_VERSION = 1;

/** Who answered: a local model folder or an OpenAI-compatible endpoint. */
export type AnswererIdentity =
  | { kind: "local"; path: string; adapter?: string; dtype: string; quantize?: string }
  | {
      kind: "endpoint";
      /** The (first) endpoint's base URL. */
      url: string;
      /** Every replica's base URL, when requests were spread over several (absent for one). */
      urls?: string[];
      apiModel: string;
    };

/** Settings that change what is generated (and so every score): recorded in every result. */
export interface GenerationSettings {
  maxNewTokens: number;
  temperature: number;
  topP?: number;
  seed: number;
  /** The chat template's name, or "model" for the model's own (or "server" when the endpoint renders it). */
  template: string;
  system?: string;
  batchSize: number;
}

export interface JudgeIdentity {
  /** The name verdicts are stored under (unique in a run). */
  name: string;
  kind: "refusal" | "classifier" | "reward" | "llm" | "task" | "keywords";
  /** What makes the judge this judge: model path, endpoint and mode, threshold, rule-set version. */
  detail: Record<string, string | number | boolean>;
}

/**
 * One number of one benchmark. Names in use:
 * safe_response_rate, unsafe_response_rate (harmful), over_refusal_rate, full_refusal_rate,
 * partial_refusal_rate (benign), mean_reward, win_rate (reference, vs the reference answer, ties half),
 * perplexity, task_accuracy (reference), preference_accuracy, mean_margin (pairs).
 */
export interface MetricResult {
  metric: string;
  /** The judge that produced it (absent for judge-free metrics such as perplexity). */
  judge?: string;
  /** Set for a per-category breakdown; absent for the whole benchmark. */
  category?: string;
  estimate: Estimate;
  /** Answers the judge could not label (excluded from n, reported here). */
  unparsed?: number;
}

export interface BenchmarkResult {
  name: string;
  kind: BenchmarkKind;
  source: string;
  /** Items evaluated. */
  n: number;
  metrics: MetricResult[];
}

/** Cohen's kappa between two judges on the answers both labelled (safe/unsafe, or refused/answered). */
export interface JudgeAgreement {
  judgeA: string;
  judgeB: string;
  /** "safe" or "refused": which binary reading is compared. */
  on: "safe" | "refused";
  kappa: number;
  /** Raw agreement (fraction of identical labels). */
  agreement: number;
  n: number;
}

export interface EvalResults {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  safetuneVersion: string;
  /** ISO time the run finished. */
  createdAt: string;
  /** The run's name (its folder's name unless given). */
  name: string;
  /**
   * The experiment seed of the run that produced the model (training, sampling and data-order seeds derive
   * from it). Runs with the same name and different seeds are one group: reports aggregate them over seeds.
   * Absent for a run outside a seeded experiment (it is a group of one).
   */
  seed?: number;
  answerer: AnswererIdentity;
  generation: GenerationSettings;
  judges: JudgeIdentity[];
  /** The judge whose safe/refused readings headline tables and charts. */
  primaryJudge?: string;
  benchmarks: BenchmarkResult[];
  agreements: JudgeAgreement[];
  /** Attack success rates of the primary judge, when the run attacked its prompts (see src/eval/attacks). */
  attacks?: AttackSummary;
  timing: { generationSeconds: number; judgeSeconds: number; generated: number; cached: number };
}

/** One line of samples.jsonl. */
export interface SampleRecord {
  benchmark: string;
  id: string;
  category?: string;
  /** The last user turn (the whole conversation is in the benchmark file). */
  prompt: string;
  response: string;
  finishReason?: string;
  reference?: string;
  /** The item's answer key, when it has one. */
  answer?: string;
  /** The attack the prompt was made with, and the benchmark it attacks (see BenchmarkItem). */
  attack?: string;
  attackedBenchmark?: string;
  /** The model's answer as written, when the judges read a decoding of it (`response`: encoding attacks). */
  rawResponse?: string;
  /** Adaptive attacks: target queries spent on this prompt, and attacker replies that were not the JSON asked for. */
  queries?: number;
  unparsedAttackerReplies?: number;
  verdicts: Record<string, Verdict>;
}
