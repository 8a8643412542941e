// Preference-optimisation losses on sequence log-probabilities, one branch per variant with its paper.
// z = (log π(y_w) − log π(y_l)) − (log π_ref(y_w) − log π_ref(y_l)), β the KL strength.
import type { Tensor } from "../engine/index.js";

export type PreferenceLossKind = "sigmoid" | "robust" | "hinge" | "ipo" | "simpo";

export interface PreferenceLossOptions {
  kind: PreferenceLossKind;
  /** β: how far the policy may move from the reference (DPO default 0.1). */
  beta: number;
  /** Assumed probability that a preference label is flipped (cDPO / robust DPO); 0 = trust labels. */
  labelSmoothing?: number;
  /** SimPO's target reward margin γ. */
  simpoGamma?: number;
}

export interface PreferenceBatch {
  /** Summed log-probs of the chosen / rejected completions under the policy [B]. */
  policyChosen: Tensor;
  policyRejected: Tensor;
  /** The same under the frozen reference [B] (unused by SimPO). */
  referenceChosen?: Tensor;
  referenceRejected?: Tensor;
  /** Completion lengths in tokens [B] (SimPO averages log-probs over them). */
  chosenLengths?: Tensor;
  rejectedLengths?: Tensor;
}

export interface PreferenceLossResult {
  /** Per-example loss [B]. */
  losses: Tensor;
  /** Implicit rewards β (log π − log π_ref) [B] (SimPO: β × average log-prob). */
  chosenRewards: Tensor;
  rejectedRewards: Tensor;
}

export function preferenceLoss(batch: PreferenceBatch, options: PreferenceLossOptions): PreferenceLossResult {
  const { kind, beta } = options;
  const eps = options.labelSmoothing ?? 0;
  if (!(beta > 0)) throw new RangeError(`preference loss: beta must be > 0, got ${beta}`);
  if (!(eps >= 0 && eps < 0.5))
    throw new RangeError(`preference loss: labelSmoothing must be in [0, 0.5), got ${eps}`);

  if (kind === "simpo") {
    // SimPO (Meng et al. 2024): length-normalised policy log-probs, no reference, margin γ.
    if (!batch.chosenLengths || !batch.rejectedLengths)
      throw new Error("preference loss: simpo needs chosenLengths and rejectedLengths");
    const chosen = batch.policyChosen.div(batch.chosenLengths);
    const rejected = batch.policyRejected.div(batch.rejectedLengths);
    const margin = chosen
      .sub(rejected)
      .mul(beta)
      .sub(options.simpoGamma ?? 0.5);
    return {
      losses: margin.logsigmoid().neg(),
      chosenRewards: chosen.mul(beta).detach(),
      rejectedRewards: rejected.mul(beta).detach(),
    };
  }

  const { referenceChosen, referenceRejected } = batch;
  if (!referenceChosen || !referenceRejected)
    throw new Error(`preference loss: ${kind} needs reference log-probs`);
  const chosenRatio = batch.policyChosen.sub(referenceChosen);
  const rejectedRatio = batch.policyRejected.sub(referenceRejected);
  const z = chosenRatio.sub(rejectedRatio);
  const scaled = z.mul(beta);
  let losses: Tensor;
  switch (kind) {
    case "sigmoid":
      // DPO (Rafailov et al. 2023); with label smoothing, conservative DPO (Mitchell 2023).
      losses = scaled
        .logsigmoid()
        .mul(-(1 - eps))
        .sub(scaled.neg().logsigmoid().mul(eps));
      break;
    case "robust":
      // Robust DPO (Chowdhury et al. 2024): an unbiased loss under label noise ε.
      losses = scaled
        .logsigmoid()
        .mul(-(1 - eps))
        .add(scaled.neg().logsigmoid().mul(eps))
        .div(1 - 2 * eps);
      break;
    case "hinge":
      // SLiC (Zhao et al. 2023): hinge on the scaled margin.
      losses = scaled.neg().add(1).relu();
      break;
    case "ipo":
      // IPO (Azar et al. 2023): regress the margin to 1 / (2β).
      losses = z.sub(1 / (2 * beta)).square();
      break;
  }
  return {
    losses,
    chosenRewards: chosenRatio.mul(beta).detach(),
    rejectedRewards: rejectedRatio.mul(beta).detach(),
  };
}
