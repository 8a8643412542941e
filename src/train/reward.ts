// Reward and cost models on preference pairs: Bradley-Terry (with TRL's margin and centre-rewards terms) and
// safe-rlhf's cost-model loss, the training task over tokenized pairs, and held-out pair and sign accuracy.
//
// Sign convention of the cost model (as safe-rlhf's): a cost above 0 means unsafe, at or below 0 safe. Each
// labelled answer has a sign s = +1 when unsafe and -1 when safe, and the loss -logsigmoid(s × cost) pushes
// unsafe costs up and safe ones down, so sign(cost) classifies answers. The pairwise term asks the worse
// (rejected) answer of a pair to cost more than the better (chosen) one: data for a cost model should order
// pairs by safety (the pku-dpo mapping, or pku-raw with safety pairs).
import { DataError } from "../data/errors.js";
import { noGrad, type Tensor, tensor, tidy } from "../engine/index.js";
import { sequenceScores } from "../model/sequenceScores.js";
import type { TransformerModel } from "../model/transformer.js";
import { collate } from "../score/collate.js";
import type { TokenizedPair } from "./dpo.js";
import type { StepResult, TrainingTask } from "./trainingLoop.js";

export type RewardObjective = "reward" | "cost";

export interface BradleyTerryOptions {
  /** Required reward gap: a number for every pair or a [B] tensor of per-pair margins (default 0). */
  margin?: number | Tensor;
  /** Weight of the centring term centre × (r_c + r_r)², which keeps rewards near 0 (TRL's center_rewards_coefficient). */
  centre?: number;
}

/**
 * Per-pair Bradley-Terry losses [B]: -logsigmoid(r_c - r_r - margin) + centre × (r_c + r_r)². Their mean equals
 * TRL's RewardTrainer loss (which adds centre × mean((r_c + r_r)²) to the mean of the first term).
 */
export function bradleyTerryLoss(
  chosen: Tensor,
  rejected: Tensor,
  options: BradleyTerryOptions = {},
): Tensor {
  let diff = chosen.sub(rejected);
  if (options.margin !== undefined && !(typeof options.margin === "number" && options.margin === 0))
    diff = diff.sub(options.margin);
  let losses = diff.logsigmoid().neg();
  if (options.centre) losses = losses.add(chosen.add(rejected).square().mul(options.centre));
  return losses;
}

/** The cost sign of a safety label: +1 unsafe, -1 safe. */
export function costSign(safe: boolean): number {
  return safe ? -1 : 1;
}

/**
 * Per-pair safe-rlhf cost losses [B]: -logsigmoid(c_r - c_c) - logsigmoid(s_c × c_c) - logsigmoid(s_r × c_r), where
 * c_c is the better (chosen) answer's cost, c_r the worse (rejected) one's, and s = +1 unsafe / -1 safe.
 */
export function costLoss(
  chosen: Tensor,
  rejected: Tensor,
  chosenSign: Tensor | number[],
  rejectedSign: Tensor | number[],
): Tensor {
  const asTensor = (s: Tensor | number[]) => (Array.isArray(s) ? tensor(s, [s.length]) : s);
  const pairwise = rejected.sub(chosen).logsigmoid().neg();
  const chosenTerm = chosen.mul(asTensor(chosenSign)).logsigmoid().neg();
  const rejectedTerm = rejected.mul(asTensor(rejectedSign)).logsigmoid().neg();
  return pairwise.add(chosenTerm).add(rejectedTerm);
}

/** A tokenized pair with the safety labels of its answers (needed by the cost objective). */
export interface RewardPair extends TokenizedPair {
  chosenSafe?: boolean;
  rejectedSafe?: boolean;
}

export interface RewardTaskOptions {
  objective: RewardObjective;
  /** Bradley-Terry margin (reward objective). */
  margin: number;
  /** Centring coefficient (reward objective). */
  centre: number;
  padTokenId: number;
}

/** Scores [B] of each pair's chosen and rejected answer: both in one right-padded batch, read at the last real token. */
export function pairScores(
  model: TransformerModel,
  pairs: TokenizedPair[],
  padTokenId: number,
): { chosen: Tensor; rejected: Tensor } {
  const batch = collate([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], {
    padTokenId,
    padSide: "right",
  });
  const scores = sequenceScores(model, batch.inputIds, { attentionMask: batch.attentionMask }).squeeze(1);
  const n = pairs.length;
  return { chosen: scores.narrow(0, 0, n), rejected: scores.narrow(0, n, n) };
}

/** Throws when a cost objective meets pairs without both safety labels. */
export function requireSafetyLabels(pairs: RewardPair[], where: string): void {
  const missing = pairs.findIndex((p) => p.chosenSafe === undefined || p.rejectedSafe === undefined);
  if (missing >= 0) {
    throw new DataError(
      `${where}: the cost objective needs safety labels (chosenSafe and rejectedSafe) on every pair; pair ${missing + 1} has none (use the pku-dpo or pku-raw mapping, or add the fields)`,
    );
  }
}

function signs(pairs: RewardPair[], which: "chosenSafe" | "rejectedSafe"): number[] {
  return pairs.map((p) => costSign(p[which] as boolean));
}

/** The reward (or cost) model's training task over tokenized pairs. */
export function rewardTask(
  model: TransformerModel,
  pairs: RewardPair[],
  o: RewardTaskOptions,
  evaluation?: { pairs: RewardPair[]; batchSize: number },
): TrainingTask {
  if (o.objective === "cost") {
    requireSafetyLabels(pairs, "training data");
    if (evaluation) requireSafetyLabels(evaluation.pairs, "eval data");
  }
  return {
    size: pairs.length,
    step(indices): StepResult {
      const batch = indices.map((i) => pairs[i] as RewardPair);
      const { chosen, rejected } = pairScores(model, batch, o.padTokenId);
      const losses =
        o.objective === "cost"
          ? costLoss(chosen, rejected, signs(batch, "chosenSafe"), signs(batch, "rejectedSafe"))
          : bradleyTerryLoss(chosen, rejected, { margin: o.margin, centre: o.centre });
      // For a cost model the better answer is the cheaper one: margins are rejected - chosen.
      const margins = (o.objective === "cost" ? rejected.sub(chosen) : chosen.sub(rejected)).detach();
      const tokens = batch.reduce((n, p) => n + p.chosen.inputIds.length + p.rejected.inputIds.length, 0);
      const metrics: Record<string, number> = {
        accuracy: margins.gt(0).float().mean().item(),
        margin: margins.mean().item(),
        [`${o.objective}s/chosen`]: chosen.detach().mean().item(),
        [`${o.objective}s/rejected`]: rejected.detach().mean().item(),
      };
      if (o.objective === "cost") {
        const predicted = [...chosen.detach().toArray(), ...rejected.detach().toArray()];
        const truth = [...batch.map((p) => p.chosenSafe), ...batch.map((p) => p.rejectedSafe)];
        metrics.sign_accuracy = predicted.filter((c, i) => c > 0 === !truth[i]).length / predicted.length;
      }
      return { loss: losses.mean(), tokens, metrics };
    },
    evaluate: evaluation
      ? () =>
          rewardEvaluation(model, evaluation.pairs, {
            objective: o.objective,
            padTokenId: o.padTokenId,
            batchSize: evaluation.batchSize,
          })
      : undefined,
  };
}

/**
 * Held-out figures: pair_accuracy (how often the chosen answer scores strictly better: a higher reward, or a lower
 * cost), mean margin (r_c - r_r, or c_r - c_c), mean chosen and rejected scores; for a cost model also
 * sign_accuracy (how often cost > 0 agrees with "unsafe" over every labelled answer), and unsafe/safe recall.
 */
export function rewardEvaluation(
  model: TransformerModel,
  pairs: RewardPair[],
  o: { objective: RewardObjective; padTokenId: number; batchSize: number },
): Record<string, number> {
  const chosen: number[] = [];
  const rejected: number[] = [];
  noGrad(() => {
    for (let i = 0; i < pairs.length; i += o.batchSize) {
      tidy(() => {
        const s = pairScores(model, pairs.slice(i, i + o.batchSize), o.padTokenId);
        chosen.push(...s.chosen.toArray());
        rejected.push(...s.rejected.toArray());
      });
    }
  });
  const n = Math.max(1, pairs.length);
  const cost = o.objective === "cost";
  const margins = chosen.map((c, i) => (cost ? (rejected[i] as number) - c : c - (rejected[i] as number)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const figures: Record<string, number> = {
    pair_accuracy: margins.filter((m) => m > 0).length / n,
    margin: mean(margins),
    chosen: mean(chosen),
    rejected: mean(rejected),
  };
  if (cost) {
    const answers: { cost: number; safe: boolean }[] = [];
    pairs.forEach((p, i) => {
      if (p.chosenSafe !== undefined) answers.push({ cost: chosen[i] as number, safe: p.chosenSafe });
      if (p.rejectedSafe !== undefined) answers.push({ cost: rejected[i] as number, safe: p.rejectedSafe });
    });
    const unsafe = answers.filter((a) => !a.safe);
    const safe = answers.filter((a) => a.safe);
    figures.sign_accuracy =
      answers.filter((a) => a.cost > 0 === !a.safe).length / Math.max(1, answers.length);
    figures.unsafe_recall = unsafe.filter((a) => a.cost > 0).length / Math.max(1, unsafe.length);
    figures.safe_recall = safe.filter((a) => a.cost <= 0).length / Math.max(1, safe.length);
  }
  return figures;
}
