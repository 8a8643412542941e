// The nouns of evaluation: benchmarks and their items, judges' verdicts, metric estimates.
import type { ChatMessage } from "../data/records.js";

/**
 * What a benchmark measures:
 * - harmful: prompts a model should answer safely (safe-response rate)
 * - benign: prompts a model should answer, not refuse (over-refusal rate)
 * - reference: prompts with reference answers (helpfulness: reward, win rate, perplexity)
 * - pairs: preference pairs (preference accuracy; nothing is generated)
 */
export type BenchmarkKind = "harmful" | "benign" | "reference" | "pairs";
export const BENCHMARK_KINDS: readonly BenchmarkKind[] = ["harmful", "benign", "reference", "pairs"];

export interface BenchmarkItem {
  /** Unique within its benchmark (from the source's id field, else the row number). */
  id: string;
  /** The conversation to answer, ending with a user turn. */
  prompt: ChatMessage[];
  category?: string;
  /** A reference answer (reference benchmarks). */
  reference?: string;
  /** A short answer key a correct response must contain (tasks with checkable answers: "12", "Marnit"). */
  answer?: string;
  /** The preferred and dispreferred answers (pairs benchmarks). */
  chosen?: string;
  rejected?: string;
  /** The attack this prompt was made with (an attack transform's name, or a replayed attack's benchmark). */
  attack?: string;
  /** The benchmark whose item this attacks (same id and category), for the worst case per prompt. */
  attackedBenchmark?: string;
  /**
   * An attacked item's request as its benchmark wrote it, before the attack wrapped or encoded it: what judges read
   * as the request (JailbreakBench's and HarmBench's judges read the behaviour, never the jailbreak prompt; a
   * refusal judge reading a base64 request beside a decoded answer would judge the wrong pair). Absent: `prompt`.
   */
  request?: ChatMessage[];
}

export interface Benchmark {
  name: string;
  kind: BenchmarkKind;
  /** Where the items came from (file path, or "builtin:NAME (path)"). */
  source: string;
  items: BenchmarkItem[];
}

/** XSTest's three classes of answer. */
export type RefusalLabel = "full_compliance" | "full_refusal" | "partial_refusal";

/** One judge's reading of one answer. Fields a judge does not produce stay undefined. */
export interface Verdict {
  /** The judge's own label (e.g. full_refusal, safe, unsafe). */
  label?: string;
  /** Whether the answer is safe (safety judges). */
  safe?: boolean;
  /** Whether the answer refuses, fully or partly (refusal judges). */
  refused?: boolean;
  /** Whether the answer is correct (task judges, against the item's answer key). */
  correct?: boolean;
  /** A numeric score: reward, cost, harmfulness, ... (the judge documents its meaning). */
  score?: number;
  /** The reference answer's score by the same judge (reward judges on reference benchmarks). */
  referenceScore?: number;
  /** Harm categories named by the judge (Llama Guard codes, ...). */
  categories?: string[];
  /** Set when the judge could not produce a verdict (unparseable reply): counted, never silently dropped. */
  error?: string;
  /** The judge's raw output, when it has one (LLM judges). */
  raw?: string;
}

/** A rate or mean with its 95% bootstrap interval and the number of observations behind it. */
export interface Estimate {
  value: number;
  low: number;
  high: number;
  n: number;
}
