// Preference-optimisation losses on sequence log-probabilities, one branch per variant with its paper.
// z = (log π(y_w) − log π(y_l)) − (log π_ref(y_w) − log π_ref(y_l)), β the KL strength.
import { z } from "zod";
import type { Tensor } from "../engine/index.js";

export const PREFERENCE_LOSS_KINDS = ["sigmoid", "ipo", "hinge", "robust", "simpo"] as const;
export type PreferenceLossKind = (typeof PREFERENCE_LOSS_KINDS)[number];

/**
 * The preference loss's settings, each declared once with its bound, default and meaning: the `dpo` section of
 * a run config extends this schema, and the trainer's options are its type.
 */
export const PreferenceLossSettingsSchema = z.object({
  /** sigmoid (DPO), ipo (length-normalised), hinge (SLiC), robust (label smoothing), simpo. */
  loss: z.enum(PREFERENCE_LOSS_KINDS).default("sigmoid"),
  /** β: how far the policy may move from the reference (the paper: 0.1). */
  beta: z.number().positive().default(0.1),
  /**
   * Assumed probability ε that a preference label is flipped, for the sigmoid (cDPO) and robust losses; 0 trusts
   * the labels. Below 0.5 (the robust loss divides by 1 − 2ε).
   */
  labelSmoothing: z.number().min(0).lt(0.5).default(0),
  /** SimPO's target reward margin γ. */
  simpoGamma: z.number().default(0.5),
});
/** The settings with every default filled in. */
export type PreferenceLossSettings = z.infer<typeof PreferenceLossSettingsSchema>;
/** The settings as a caller gives them: unset fields take the schema's defaults. */
export type PreferenceLossOptions = z.input<typeof PreferenceLossSettingsSchema>;

/** The settings checked against their bounds and completed with the defaults; a bad one is a RangeError naming it. */
export function preferenceLossSettings(options: PreferenceLossOptions): PreferenceLossSettings {
  const parsed = PreferenceLossSettingsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new RangeError(`preference loss: ${issue?.path.join(".")}: ${issue?.message}`);
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
  const { loss: kind, beta, labelSmoothing: eps, simpoGamma } = preferenceLossSettings(options);

  if (kind === "simpo") {
    // SimPO (Meng et al. 2024): length-normalised policy log-probs, no reference, margin γ.
    if (!batch.chosenLengths || !batch.rejectedLengths)
      throw new Error("preference loss: simpo needs chosenLengths and rejectedLengths");
    const chosen = batch.policyChosen.div(batch.chosenLengths);
    const rejected = batch.policyRejected.div(batch.rejectedLengths);
    const margin = chosen.sub(rejected).mul(beta).sub(simpoGamma);
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
