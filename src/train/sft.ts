// Supervised fine-tuning (and SIT, which is SFT on a safety mixture): next-token loss on the completion tokens.
import { noGrad, tidy } from "../engine/index.js";
import type { TransformerModel } from "../model/transformer.js";
import { collate } from "../score/collate.js";
import { IGNORE_INDEX } from "../score/logProbs.js";
import { modelNextTokenLoss } from "../score/modelLogProbs.js";
import type { TokenizedSequence } from "./dpo.js";
import type { TrainingTask } from "./trainingLoop.js";

/** Tokens that carry loss in a sequence (the completion, shifted). */
function lossTokens(e: TokenizedSequence): number {
  return e.labels.slice(1).filter((l) => l !== IGNORE_INDEX).length;
}

export function sftTask(
  model: TransformerModel,
  examples: TokenizedSequence[],
  options: { padTokenId: number },
  evaluation?: { examples: TokenizedSequence[]; batchSize: number },
): TrainingTask {
  return {
    size: examples.length,
    step(indices) {
      const batch = collate(
        indices.map((i) => examples[i] as TokenizedSequence),
        { padTokenId: options.padTokenId, padSide: "right" },
      );
      const tokens = indices.reduce((n, i) => n + (examples[i]?.inputIds.length ?? 0), 0);
      return { loss: modelNextTokenLoss(model, batch), tokens };
    },
    // The loss is a mean over completion tokens, so a data-parallel shard counts by its completion tokens.
    lossWeight: (indices) => indices.reduce((n, i) => n + lossTokens(examples[i] as TokenizedSequence), 0),
    evaluate: evaluation
      ? () => sftEvaluation(model, evaluation.examples, { ...options, batchSize: evaluation.batchSize })
      : undefined,
  };
}

/** Held-out loss per completion token and its perplexity. */
export function sftEvaluation(
  model: TransformerModel,
  examples: TokenizedSequence[],
  options: { padTokenId: number; batchSize: number },
): Record<string, number> {
  let total = 0;
  let count = 0;
  noGrad(() => {
    for (let i = 0; i < examples.length; i += options.batchSize) {
      const slice = examples.slice(i, i + options.batchSize);
      const n = slice.reduce((k, e) => k + lossTokens(e), 0);
      if (n === 0) continue;
      tidy(() => {
        const batch = collate(slice, { padTokenId: options.padTokenId, padSide: "right" });
        total += modelNextTokenLoss(model, batch).item() * n;
      });
      count += n;
    }
  });
  const loss = count > 0 ? total / count : Number.NaN;
  return { loss, perplexity: Math.exp(loss) };
}
