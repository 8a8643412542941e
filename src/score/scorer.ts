// Scoring answers with a reward (or cost) model, or with any function: what RAFT ranks its samples by and what
// model-based judges and serving guards classify with. Shared by train/ and eval/ (and serve/ through the judges),
// so it lives below both.
import type { ChatMessage } from "../data/records.js";
import { noGrad, tidy } from "../engine/index.js";
import { loadModel } from "../model/loadModel.js";
import { sequenceScores } from "../model/sequenceScores.js";
import type { TransformerModel } from "../model/transformer.js";
import { loadTokenizer, type Tokenizer } from "../tokenize/tokenizer.js";
import { collate } from "./collate.js";

/** A prompt (conversation up to the answer) and one answer. */
export interface PromptAnswer {
  prompt: ChatMessage[];
  answer: string;
}

/** Scores answers: a reward model, a cost model, or any function. */
export interface Scorer {
  /** The score of one answer to one prompt. */
  reward(prompt: ChatMessage[], answer: string): number;
  /** Scores of many pairs at once (batched); used by scoreAnswers when present. */
  rewards?(pairs: readonly PromptAnswer[]): number[];
  /** Frees what the scorer holds (a loaded model). */
  dispose?(): void;
}

/** A reward as a plain function of the answer text (and the prompt, for those that need it). */
export type RewardFunction = (answer: string, prompt: ChatMessage[]) => number;

/** A scorer from a function. */
export function functionScorer(fn: RewardFunction): Scorer {
  return { reward: (prompt, answer) => fn(answer, prompt) };
}

export interface ModelScorerOptions {
  /** Chat template of the reward model's own tokenizer (name or jinja) when it has none or to override it. */
  template?: string;
  /** Longest scored sequence in tokens; longer ones keep their end (where the score is read). Default 1024. */
  maxLength?: number;
  /** Sequences per forward pass (default 16). */
  batchSize?: number;
}

/**
 * A scorer from a reward (or cost) model folder: a *ForSequenceClassification model whose first label is the score.
 * Each conversation is rendered and tokenized with the reward model's own tokenizer and chat template (the policy's
 * tokens are re-tokenized from text, as safe-rlhf does), and scored at its last real token.
 */
export async function modelScorer(dir: string, options: ModelScorerOptions = {}): Promise<Scorer> {
  const model = loadModel(dir);
  const tokenizer = await loadTokenizer(dir);
  return modelScorerOf(model, tokenizer, options);
}

/** {@link modelScorer} over an already loaded model and its tokenizer (disposing the scorer disposes the model). */
export function modelScorerOf(
  model: TransformerModel,
  tokenizer: Tokenizer,
  options: ModelScorerOptions = {},
): Scorer {
  if (model.config.task !== "sequence-classification") {
    model.dispose();
    throw new RangeError(
      `reward model: expected a *ForSequenceClassification model, got a ${model.config.modelType} causal LM`,
    );
  }
  const maxLength = options.maxLength ?? 1024;
  const batchSize = options.batchSize ?? 16;
  const padTokenId = tokenizer.padTokenId ?? model.config.padTokenId ?? tokenizer.eosTokenId ?? 0;
  const encode = ({ prompt, answer }: PromptAnswer): number[] => {
    const text = tokenizer.applyChatTemplate([...prompt, { role: "assistant", content: answer }], {
      ...(options.template === undefined ? {} : { template: options.template }),
    });
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    return ids.length > maxLength ? ids.slice(ids.length - maxLength) : ids;
  };
  const rewards = (pairs: readonly PromptAnswer[]): number[] => {
    const out: number[] = [];
    for (let start = 0; start < pairs.length; start += batchSize) {
      const sequences = pairs.slice(start, start + batchSize).map((p) => {
        const inputIds = encode(p);
        return { inputIds, labels: inputIds };
      });
      noGrad(() =>
        tidy(() => {
          const batch = collate(sequences, { padTokenId, padSide: "right" });
          const scores = sequenceScores(model, batch.inputIds, { attentionMask: batch.attentionMask });
          out.push(...scores.select(1, 0).float().toArray());
        }),
      );
    }
    return out;
  };
  return {
    reward: (prompt, answer) => rewards([{ prompt, answer }])[0] as number,
    rewards,
    dispose: () => model.dispose(),
  };
}

/** A scorer as is, or one from a plain function. */
export function asScorer(s: Scorer | RewardFunction): Scorer {
  return typeof s === "function" ? functionScorer(s) : s;
}

/** One score per answer (batched when the scorer can), or a RangeError when the scorer returns a different count. */
export function scoreAll(scorer: Scorer, pairs: readonly PromptAnswer[]): number[] {
  const values = scorer.rewards ? scorer.rewards(pairs) : pairs.map((p) => scorer.reward(p.prompt, p.answer));
  if (values.length !== pairs.length)
    throw new RangeError(`scorer returned ${values.length} scores for ${pairs.length} answers`);
  return values;
}
