// Log-probabilities of completions under a causal LM: the quantity DPO, RAFT and reward scoring are built on.
import { crossEntropy, isHalfDtype, type Tensor } from "../engine/index.js";
import { IGNORE_INDEX } from "../tokenize/trainingExample.js";

export { IGNORE_INDEX };

/**
 * Per-row sum of log p(token) over the positions whose label is not -100, and how many there were.
 * `labels` are aligned with the inputs (label t is predicted by the logits at t - 1), so the last logit and the
 * first label are dropped here.
 */
export function sequenceLogProbs(logits: Tensor, labels: Tensor): { sum: Tensor; count: Tensor } {
  const steps = labels.size(1);
  const predicted = inFloat32(logits.narrow(1, 0, steps - 1));
  const targets = labels.narrow(1, 1, steps - 1);
  const keep = targets.ne(IGNORE_INDEX);
  const safeTargets = targets.maskedFill(keep.logicalNot(), 0);
  const tokenLogProbs = predicted.logSoftmax(-1).gather(2, safeTargets.unsqueeze(2)).squeeze(2);
  const weights = keep.to(tokenLogProbs.dtype);
  return { sum: tokenLogProbs.mul(weights).sum(-1), count: weights.sum(-1) };
}

/** Mean next-token cross-entropy over the labelled positions (the SFT loss). */
export function nextTokenLoss(logits: Tensor, labels: Tensor): Tensor {
  const steps = labels.size(1);
  const vocab = logits.size(-1);
  return crossEntropy(
    inFloat32(logits.narrow(1, 0, steps - 1)).reshape(-1, vocab),
    labels.narrow(1, 1, steps - 1).reshape(-1),
    {
      ignoreIndex: IGNORE_INDEX,
    },
  );
}

/** Losses and log-probs are computed in fp32 over a half-precision model (mixed precision), as autocast does. */
function inFloat32(logits: Tensor): Tensor {
  return isHalfDtype(logits.dtype) ? logits.to("float32") : logits;
}
