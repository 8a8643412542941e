// Log-probabilities of given answers under a local causal model: perplexity on reference answers, and the
// log-prob margin of chosen over rejected answers (a policy's preference, DPO's implicit reward with a reference).
import type { ChatMessage } from "../../data/records.js";
import { noGrad, tidy } from "../../engine/index.js";
import type { TransformerModel } from "../../model/transformer.js";
import { collate } from "../../score/collate.js";
import { modelSequenceLogProbs } from "../../score/modelLogProbs.js";
import type { Tokenizer } from "../../tokenize/tokenizer.js";
import { tokenizeConversation } from "../../tokenize/trainingExample.js";

export interface AnswerLogProb {
  /** Sum of log p(token) over the answer's tokens. */
  sum: number;
  /** How many answer tokens (after truncation to maxLength). */
  tokens: number;
}

export interface AnswerLogProbOptions {
  /** The chat template (name or jinja); default the tokenizer's own. */
  template?: string;
  system?: string;
  /** Longest scored sequence; the prompt is truncated first (default 1024). */
  maxLength?: number;
  /** Sequences per forward pass (default 8). */
  batchSize?: number;
  onProgress?: (done: number) => void;
}

/** The log-probability of each answer given its prompt, the whole conversation rendered once by the template. */
export function answerLogProbs(
  model: TransformerModel,
  tokenizer: Tokenizer,
  items: readonly { prompt: readonly ChatMessage[]; answer: string }[],
  options: AnswerLogProbOptions = {},
): AnswerLogProb[] {
  const batchSize = options.batchSize ?? 8;
  const padTokenId = tokenizer.padTokenId ?? model.config.padTokenId ?? tokenizer.eosTokenId ?? 0;
  const examples = items.map((item) =>
    tokenizeConversation(
      tokenizer,
      [
        ...(options.system === undefined ? [] : [{ role: "system", content: options.system }]),
        ...item.prompt,
        { role: "assistant", content: item.answer },
      ],
      {
        maxLength: options.maxLength ?? 1024,
        ...(options.template === undefined ? {} : { template: options.template }),
      },
    ),
  );
  const out: AnswerLogProb[] = [];
  noGrad(() => {
    for (let start = 0; start < examples.length; start += batchSize) {
      tidy(() => {
        const batch = collate(examples.slice(start, start + batchSize), { padTokenId, padSide: "right" });
        const { sum, count } = modelSequenceLogProbs(model, batch);
        const sums = sum.float().toArray();
        const counts = count.float().toArray();
        sums.forEach((s, i) => {
          out.push({ sum: s, tokens: counts[i] as number });
        });
      });
      options.onProgress?.(Math.min(examples.length, start + batchSize));
    }
  });
  return out;
}
