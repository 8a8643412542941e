// Reward and cost models: one score vector per sequence, read at its last real token.
import { arange, type Tensor, where } from "../engine/index.js";
import { ModelError } from "./errors.js";
import type { ForwardOptions, TransformerModel } from "./transformer.js";

/**
 * Index of each row's last real token [B]. With an attention mask this is exact for left or right padding, even when
 * the pad id equals eos; without one, it is the last token that is not `padTokenId` (as transformers does).
 */
export function lastTokenIndex(
  ids: Tensor,
  attentionMask: Tensor | undefined,
  padTokenId: number | undefined,
): Tensor {
  const steps = ids.size(1);
  const positions = arange(0, steps).view(1, steps);
  const real = attentionMask
    ? attentionMask.ne(0)
    : padTokenId === undefined
      ? undefined
      : ids.ne(padTokenId);
  if (!real) return arange(steps - 1, steps).expand(ids.size(0));
  return where(real, positions, -1).amax(-1);
}

/** Scores [B, numLabels] of a sequence-classification model at each row's last real token. */
export function sequenceScores(
  model: TransformerModel,
  ids: Tensor,
  options: Omit<ForwardOptions, "lastOnly"> = {},
): Tensor {
  if (model.config.task !== "sequence-classification") {
    throw new ModelError(
      `sequenceScores needs a *ForSequenceClassification model, got ${model.config.modelType} causal LM`,
    );
  }
  const perPosition = model.forward(ids, options); // [B, T, L]
  const last = lastTokenIndex(ids, options.attentionMask, model.config.padTokenId);
  const labels = perPosition.size(2);
  const index = last.view(-1, 1, 1).expand(ids.size(0), 1, labels);
  return perPosition.gather(1, index).squeeze(1);
}
