// RAFT (reward-ranked fine-tuning, Dong et al. 2023) as separable stages: sample K answers per prompt, score them
// with a reward model (optionally minus λ × a cost model), drop degenerate answers, rank (best of K per prompt or
// the global top fraction), and fine-tune on the selection. runRaft.ts runs the stages in iterations; each stage
// here can be used alone (LMFlow users asked for exactly that).
import type { ChatMessage } from "../data/records.js";
import type { FinishReason } from "../generate/decodeSession.js";
import { encodePrompt, generateTokens } from "../generate/generate.js";
import type { TransformerModel } from "../model/transformer.js";
import { asScorer, type RewardFunction, type Scorer, scoreAll } from "../score/scorer.js";
import type { Tokenizer } from "../tokenize/tokenizer.js";
import { type DegenerateOptions, degenerateReason } from "./degenerate.js";

// ---------------------------------------------------------------------------------------------------------------
// Sample

export interface SampleOptions {
  /** Answers per prompt. */
  k: number;
  maxNewTokens: number;
  /** Sampling temperature (RAFT needs diversity among the K answers: > 0). */
  temperature: number;
  topP?: number;
  topK?: number;
  /** Row r of the (prompt-major) batch samples with seed + r, so results do not depend on batchSize. */
  seed: number;
  /** Chat template name or jinja source for the policy's prompts (default: the tokenizer's). */
  template?: string;
  /** Rows decoded together (default 64). */
  batchSize?: number;
}

export interface SampledAnswer {
  text: string;
  finishReason: FinishReason;
  /** Generated tokens (without the stop token). */
  tokens: number;
}

/** K sampled answers for each prompt (each a conversation ending with a user turn), from the model as it is. */
export function sampleAnswers(
  model: TransformerModel,
  tokenizer: Tokenizer,
  prompts: readonly ChatMessage[][],
  options: SampleOptions,
): SampledAnswer[][] {
  if (!Number.isInteger(options.k) || options.k < 1)
    throw new RangeError(`sampleAnswers: k must be a positive integer, got ${options.k}`);
  const encoded = prompts.map((p) => encodePrompt(tokenizer, p, { template: options.template }));
  const rows = encoded.flatMap((ids) => Array.from({ length: options.k }, () => ids));
  const batchSize = options.batchSize ?? 64;
  const texts: SampledAnswer[] = [];
  for (let start = 0; start < rows.length; start += batchSize) {
    const generations = generateTokens(
      model,
      rows.slice(start, start + batchSize),
      {
        maxNewTokens: options.maxNewTokens,
        temperature: options.temperature,
        ...(options.topP === undefined ? {} : { topP: options.topP }),
        ...(options.topK === undefined ? {} : { topK: options.topK }),
        seed: options.seed + start,
      },
      tokenizer,
    );
    for (const g of generations)
      texts.push({ text: g.text, finishReason: g.finishReason, tokens: g.tokens.length });
  }
  return prompts.map((_, i) => texts.slice(i * options.k, (i + 1) * options.k));
}

/**
 * Where RAFT's K answers per prompt come from: the local policy (localSampler) or servers of the starting policy
 * (EndpointSampler in endpointSampler.ts). Both sample row r of the prompt-major rows with seed + r.
 */
export interface AnswerSampler {
  sample(prompts: readonly ChatMessage[][], options: SampleOptions): Promise<SampledAnswer[][]>;
  /** One line on how sampling went (per-endpoint counters), for the log; absent when there is nothing to say. */
  report?(): string;
  dispose?(): void;
}

/** Samples from the model as it is at each call (so from the policy being fine-tuned). */
export function localSampler(model: TransformerModel, tokenizer: Tokenizer): AnswerSampler {
  return { sample: async (prompts, options) => sampleAnswers(model, tokenizer, prompts, options) };
}

// ---------------------------------------------------------------------------------------------------------------
// Score (the scorers themselves are in score/scorer.ts)

export interface ScoredSample {
  promptIndex: number;
  /** Which of the prompt's K answers. */
  sampleIndex: number;
  prompt: ChatMessage[];
  answer: string;
  finishReason?: FinishReason;
  reward: number;
  /** The cost model's score, when there is one. */
  cost?: number;
  /** What is ranked: reward - lambda × cost (the reward without a cost scorer). */
  score: number;
}

export interface CostOptions {
  scorer: Scorer | RewardFunction;
  /** Weight of the cost: score = reward - lambda × cost. */
  lambda: number;
}

/** Scores every answer of every prompt: reward, optional cost, and the ranked score. */
export function scoreAnswers(
  scorer: Scorer | RewardFunction,
  prompts: readonly ChatMessage[][],
  answers: readonly (readonly (string | SampledAnswer)[])[],
  cost?: CostOptions,
): ScoredSample[] {
  if (answers.length !== prompts.length)
    throw new RangeError(`scoreAnswers: ${answers.length} answer lists for ${prompts.length} prompts`);
  const samples = prompts.flatMap((prompt, promptIndex) =>
    (answers[promptIndex] ?? []).map((a, sampleIndex) => ({
      promptIndex,
      sampleIndex,
      prompt,
      answer: typeof a === "string" ? a : a.text,
      ...(typeof a === "string" ? {} : { finishReason: a.finishReason }),
    })),
  );
  const rewards = scoreAll(asScorer(scorer), samples);
  const costs = cost ? scoreAll(asScorer(cost.scorer), samples) : undefined;
  return samples.map((s, i) => {
    const reward = rewards[i] as number;
    if (!costs) return { ...s, reward, score: reward };
    const c = costs[i] as number;
    return { ...s, reward, cost: c, score: reward - (cost?.lambda ?? 0) * c };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Rank

export type SelectionMode = "best-of-k" | "top-fraction";

export interface SelectOptions {
  /** best-of-k: the best kept answer of each prompt; top-fraction: the best `fraction` of all kept answers. */
  mode: SelectionMode;
  /**
   * For top-fraction (required there): the share of kept (non-degenerate) answers selected, at least one. Its
   * default is the run config's raft.topFraction.
   */
  fraction?: number;
  /** Degenerate-answer filter (false: keep every answer). */
  degenerate?: DegenerateOptions | false;
}

export interface RankedSample extends ScoredSample {
  selected: boolean;
  /** Why the answer was dropped before ranking (degenerate, or a non-finite score). */
  dropped?: string;
}

/**
 * Drops degenerate answers, then selects by score (ties: the earlier prompt and sample). Returns every sample,
 * in the input order, marked selected or with the reason it was dropped.
 */
export function selectSamples(scored: readonly ScoredSample[], options: SelectOptions): RankedSample[] {
  const ranked: RankedSample[] = scored.map((s) => {
    const reason =
      options.degenerate === false ? undefined : degenerateReason(s.answer, options.degenerate ?? {});
    const dropped = reason ?? (Number.isFinite(s.score) ? undefined : `score is ${s.score}`);
    return dropped === undefined ? { ...s, selected: false } : { ...s, selected: false, dropped };
  });
  const kept = ranked.filter((s) => s.dropped === undefined);
  const better = (a: RankedSample, b: RankedSample) =>
    b.score - a.score || a.promptIndex - b.promptIndex || a.sampleIndex - b.sampleIndex;
  if (options.mode === "best-of-k") {
    const best = new Map<number, RankedSample>();
    for (const s of kept) {
      const current = best.get(s.promptIndex);
      if (!current || better(s, current) < 0) best.set(s.promptIndex, s);
    }
    for (const s of best.values()) s.selected = true;
  } else if (options.mode === "top-fraction") {
    const { fraction } = options;
    if (fraction === undefined) throw new RangeError("selectSamples: top-fraction needs a fraction");
    if (!(fraction > 0 && fraction <= 1))
      throw new RangeError(`selectSamples: fraction must be in (0, 1], got ${fraction}`);
    const count = kept.length ? Math.max(1, Math.round(fraction * kept.length)) : 0;
    for (const s of [...kept].sort(better).slice(0, count)) s.selected = true;
  } else {
    throw new RangeError(`selectSamples: unknown mode ${String(options.mode)}`);
  }
  return ranked;
}

/** The (prompt + answer) conversations of the selected samples: what the fine-tuning stage trains on. */
export function selectedConversations(ranked: readonly RankedSample[]): ChatMessage[][] {
  return ranked.filter((s) => s.selected).map((s) => [...s.prompt, { role: "assistant", content: s.answer }]);
}

/** Mean and best reward of the samples, and how many were selected and dropped. */
export function iterationFigures(ranked: readonly RankedSample[]): {
  mean_reward: number;
  best_reward: number;
  mean_selected_reward: number;
  selected: number;
  dropped: number;
  samples: number;
} {
  const rewards = ranked.map((s) => s.reward).filter(Number.isFinite);
  const chosen = ranked.filter((s) => s.selected).map((s) => s.reward);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  return {
    mean_reward: mean(rewards),
    best_reward: rewards.length ? Math.max(...rewards) : Number.NaN,
    mean_selected_reward: mean(chosen),
    selected: chosen.length,
    dropped: ranked.filter((s) => s.dropped !== undefined).length,
    samples: ranked.length,
  };
}
