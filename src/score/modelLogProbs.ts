// Next-token log-probs straight from a causal LM and a collated batch: per-row sums (DPO, RAFT, answer scoring)
// and the mean next-token loss (SFT). The head runs through the chunked log-prob op (model/nextTokenLogProbs.ts),
// so [batch, length, vocab] logits are never held whole; the figures equal those of logProbs.ts on full logits.
import type { Tensor } from "../engine/index.js";
import { nextTokenLogProbs, nextTokenLossSum } from "../model/nextTokenLogProbs.js";
import type { TransformerModel } from "../model/transformer.js";
import { IGNORE_INDEX } from "../tokenize/trainingExample.js";

/** A collated batch: ids, labels aligned with them (-100: no loss), and an optional attention mask, [B, T]. */
export interface LabelledBatch {
  inputIds: Tensor;
  labels: Tensor;
  attentionMask?: Tensor;
}

export interface ModelLogProbsOptions {
  /** Positions whose logits exist at once (default: the engine's, by vocab size). */
  chunkSize?: number;
}

/** Each row's sum of log p(label) over its labelled positions [B], and how many there were [B]. */
export function modelSequenceLogProbs(
  model: TransformerModel,
  batch: LabelledBatch,
  options: ModelLogProbsOptions = {},
): { sum: Tensor; count: Tensor } {
  const tokenLogProbs = nextTokenLogProbs(model, batch.inputIds, batch.labels, headOptions(batch, options));
  return { sum: tokenLogProbs.sum(-1), count: labelledCount(batch.labels).to(tokenLogProbs.dtype) };
}

/** Mean next-token cross-entropy over every labelled position of the batch (NaN when there is none). */
export function modelNextTokenLoss(
  model: TransformerModel,
  batch: LabelledBatch,
  options: ModelLogProbsOptions = {},
): Tensor {
  const total = nextTokenLossSum(model, batch.inputIds, batch.labels, headOptions(batch, options));
  return total.div(labelledCount(batch.labels).sum().to(total.dtype));
}

/** How many positions of each row carry a next-token label [B] (int64). */
function labelledCount(labels: Tensor): Tensor {
  return labels
    .narrow(1, 1, labels.size(1) - 1)
    .ne(IGNORE_INDEX)
    .sum(-1);
}

function headOptions(batch: LabelledBatch, options: ModelLogProbsOptions) {
  return {
    ignoreIndex: IGNORE_INDEX,
    ...(batch.attentionMask ? { attentionMask: batch.attentionMask } : {}),
    ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
  };
}

/** -Σ sum / Σ count: the mean next-token loss of rows given their log-prob sums and token counts. */
export function meanNegativeLogProb(sum: Tensor, count: Tensor): Tensor {
  return sum.sum().neg().div(count.sum());
}
