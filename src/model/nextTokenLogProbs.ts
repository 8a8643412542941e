// Next-token log-probs of a causal LM at its labelled positions: what SFT's loss and the sequence log-probs of
// DPO, RAFT and answer scoring are made of. Through the chunked head op when the head is a plain linear map, so
// [batch, length, vocab] logits are never held whole; through the full logits otherwise (an adapter on lm_head,
// a head whose dtype differs from the hidden states).
import { chunkedTokenLogProbs, chunkedTokenLoss, isFloatDtype, type Tensor } from "../engine/index.js";
import type { TransformerModel } from "./transformer.js";

export interface NextTokenLogProbsOptions {
  /** 1 for real tokens, 0 for padding [B, T]. */
  attentionMask?: Tensor;
  /** Labels equal to this carry no loss (log-prob 0, no gradient). */
  ignoreIndex: number;
  /** Positions whose logits are computed at once (default: the engine's, by vocab size). */
  chunkSize?: number;
  /** false: always the full logits then log-softmax (the reference the chunked op is checked against). */
  fused?: boolean;
}

/**
 * log p(labels[:, t] | ids[:, < t]) for t = 1 .. T-1, [B, T-1], 0 where the label is the ignore index. Labels are
 * aligned with the inputs (label t is predicted by the hidden state at t - 1). Float32 on the chunked path, the
 * logits' dtype on the full one.
 */
export function nextTokenLogProbs(
  model: TransformerModel,
  ids: Tensor,
  labels: Tensor,
  options: NextTokenLogProbsOptions,
): Tensor {
  const { hidden, targets } = shiftedHidden(model, ids, labels, options);
  return headTokenLogProbs(model, hidden, targets, options);
}

/**
 * Σ -log p(labels[:, t] | ids[:, < t]) over the labelled positions: a float32 scalar, the summed next-token
 * cross-entropy (divide by the labelled count for SFT's mean). On the chunked path its gradients are computed in
 * the forward pass, so backward recomputes no logits.
 */
export function nextTokenLossSum(
  model: TransformerModel,
  ids: Tensor,
  labels: Tensor,
  options: NextTokenLogProbsOptions,
): Tensor {
  const { hidden, targets } = shiftedHidden(model, ids, labels, options);
  const head = fusableHead(model, hidden, options);
  if (head) return chunkedTokenLoss(hidden, head.weight, head.bias, targets, chunkOptions(options));
  return headTokenLogProbs(model, hidden, targets, options).float().sum().neg();
}

/** Hidden states at 0..T-2 and the labels they predict, at 1..T-1. */
function shiftedHidden(
  model: TransformerModel,
  ids: Tensor,
  labels: Tensor,
  options: NextTokenLogProbsOptions,
): { hidden: Tensor; targets: Tensor } {
  const steps = labels.size(1);
  const hidden = model.hidden(ids, options.attentionMask ? { attentionMask: options.attentionMask } : {});
  return { hidden: hidden.narrow(1, 0, steps - 1), targets: labels.narrow(1, 1, steps - 1) };
}

/** The head the chunked ops can take: plain, in the hidden states' floating dtype, and not switched off. */
function fusableHead(
  model: TransformerModel,
  hidden: Tensor,
  options: Pick<NextTokenLogProbsOptions, "fused">,
): { weight: Tensor; bias: Tensor | undefined } | undefined {
  const head = options.fused === false ? undefined : model.plainLmHead();
  return head && head.weight.dtype === hidden.dtype && isFloatDtype(hidden.dtype) ? head : undefined;
}

function chunkOptions(options: Pick<NextTokenLogProbsOptions, "ignoreIndex" | "chunkSize">) {
  return {
    ignoreIndex: options.ignoreIndex,
    ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
  };
}

/** log p(target) of each position's hidden state [..., D] under the model's LM head; 0 at ignored targets. */
export function headTokenLogProbs(
  model: TransformerModel,
  hidden: Tensor,
  targets: Tensor,
  options: Omit<NextTokenLogProbsOptions, "attentionMask">,
): Tensor {
  const head = fusableHead(model, hidden, options);
  if (head) return chunkedTokenLogProbs(hidden, head.weight, head.bias, targets, chunkOptions(options));
  const keep = targets.ne(options.ignoreIndex);
  const safeTargets = targets.maskedFill(keep.logicalNot(), 0);
  const logProbs = model.head(hidden).logSoftmax(-1).gather(-1, safeTargets.unsqueeze(-1)).squeeze(-1);
  return logProbs.mul(keep.to(logProbs.dtype));
}
