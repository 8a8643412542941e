// What a judge is: something that reads (prompt, answer) pairs and returns verdicts; built from a judge spec.
import type { ChatMessage } from "../../data/records.js";
import type { JudgeIdentity } from "../results.js";
import type { BenchmarkKind, Verdict } from "../types.js";

export interface JudgeInput {
  /** The kind of benchmark the prompt comes from (a reward judge compares with the reference on "reference"). */
  kind: BenchmarkKind;
  prompt: ChatMessage[];
  response: string;
  reference?: string;
  /** The item's answer key (task judges). */
  answer?: string;
  /**
   * There is no answer yet: judge the prompt itself (a serving input guard). Llama Guard then classifies the
   * user's last turn; `response` is ignored by judges that read this.
   */
  promptOnly?: boolean;
}

export interface PairInput {
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
}

/** Scores of a pair's two answers on a higher-is-better scale (a reward, or a negated cost). */
export interface PairScores {
  chosen: number;
  rejected: number;
}

export interface Judge {
  readonly identity: JudgeIdentity;
  /** What else its verdicts depend on, for cache keys: a fingerprint of a model judge's weights. */
  readonly fingerprint?: string;
  /**
   * One verdict per input, in order. A verdict the judge cannot reach for this input (an unparseable reply) is a
   * Verdict with `error` set; a failure of the judge itself (its endpoint is down) rejects instead.
   */
  judge(inputs: readonly JudgeInput[], signal?: AbortSignal): Promise<Verdict[]>;
  /** Preference pairs scored (judges with a numeric score: reward and classifier). */
  scorePairs?(pairs: readonly PairInput[]): Promise<PairScores[]>;
  dispose(): void;
}
