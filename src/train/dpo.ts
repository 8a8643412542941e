// Direct preference optimisation and its variants: the policy learns from both the chosen and the rejected answer.
// Reference log-probs are computed once (with the adapter off under LoRA) and cached on disk, so no reference
// model sits in memory while training.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { noGrad, type Tensor, tensor, tidy } from "../engine/index.js";
import { withAdapterDisabled } from "../model/lora.js";
import type { TransformerModel } from "../model/transformer.js";
import { collate } from "../score/collate.js";
import { meanNegativeLogProb, modelSequenceLogProbs } from "../score/modelLogProbs.js";
import { writeFileAtomically } from "../util/atomicFolder.js";
import { computeSharded, type DataParallel, dataParallel, isMainProcess } from "./dataParallel.js";
import { type PreferenceLossKind, preferenceLoss } from "./preferenceLoss.js";
import type { StepResult, TrainingTask } from "./trainingLoop.js";

export interface TokenizedSequence {
  inputIds: number[];
  /** -100 where no loss (the prompt). */
  labels: number[];
}

export interface TokenizedPair {
  chosen: TokenizedSequence;
  rejected: TokenizedSequence;
}

export interface DpoOptions {
  loss: PreferenceLossKind;
  /** KL strength β (the paper: 0.1). */
  beta: number;
  /** Label noise ε for the sigmoid (cDPO) and robust losses. */
  labelSmoothing: number;
  /** SimPO's target margin γ. */
  simpoGamma: number;
  /** Weight of an SFT (NLL) term on the chosen answer; 0 = pure preference loss (RPO-style when > 0). */
  sftWeight: number;
  padTokenId: number;
}

/** Log-probs of each pair's answers under the reference, with their lengths in tokens. */
export interface ReferenceLogProbs {
  chosen: number[];
  rejected: number[];
  chosenLengths: number[];
  rejectedLengths: number[];
}

/** Sums of answer log-probs for a batch of pairs: chosen rows first, then rejected, in one forward pass. */
function pairLogProbs(model: TransformerModel, pairs: TokenizedPair[], padTokenId: number) {
  const batch = collate([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], {
    padTokenId,
    padSide: "right",
  });
  const { sum, count } = modelSequenceLogProbs(model, batch);
  const n = pairs.length;
  return {
    chosen: sum.narrow(0, 0, n),
    rejected: sum.narrow(0, n, n),
    chosenLengths: count.narrow(0, 0, n),
    rejectedLengths: count.narrow(0, n, n),
  };
}

/** The reference's log-probs for every pair: the model as it is (or its base, with the LoRA adapter off). */
export function computeReferenceLogProbs(
  model: TransformerModel,
  pairs: TokenizedPair[],
  options: { padTokenId: number; batchSize: number; onProgress?: (done: number) => void },
): ReferenceLogProbs {
  const out: ReferenceLogProbs = { chosen: [], rejected: [], chosenLengths: [], rejectedLengths: [] };
  withAdapterDisabled(model, () =>
    noGrad(() => {
      for (let i = 0; i < pairs.length; i += options.batchSize) {
        tidy(() => {
          const r = pairLogProbs(model, pairs.slice(i, i + options.batchSize), options.padTokenId);
          out.chosen.push(...r.chosen.toArray());
          out.rejected.push(...r.rejected.toArray());
          out.chosenLengths.push(...r.chosenLengths.toArray());
          out.rejectedLengths.push(...r.rejectedLengths.toArray());
        });
        options.onProgress?.(Math.min(pairs.length, i + options.batchSize));
      }
    }),
  );
  return out;
}

/** A key for cached reference log-probs: the reference weights and the exact tokenized pairs (data, tokenizer, template). */
export function referenceCacheKey(model: TransformerModel, pairs: TokenizedPair[]): string {
  const hash = createHash("sha256");
  for (const [name, t] of model.params) hash.update(name).update(t.toBytes());
  for (const [name, w] of model.quantized)
    hash.update(name).update(w.data.toBytes()).update(w.scales.toBytes());
  hash.update(JSON.stringify(pairs));
  return hash.digest("hex").slice(0, 32);
}

/** Reads the reference log-probs from `cacheDir` or computes and stores them. */
export function cachedReferenceLogProbs(
  model: TransformerModel,
  pairs: TokenizedPair[],
  cacheDir: string,
  options: { padTokenId: number; batchSize: number; onProgress?: (done: number) => void },
): { reference: ReferenceLogProbs; path: string; cached: boolean } {
  const key = referenceCacheKey(model, pairs);
  const path = join(cacheDir, `reference-logps-${key}.json`);
  if (existsSync(path)) return { reference: JSON.parse(readFileSync(path, "utf8")), path, cached: true };
  const dp = dataParallel();
  const reference = dp
    ? shardedReferenceLogProbs(dp, model, pairs, options)
    : computeReferenceLogProbs(model, pairs, options);
  if (isMainProcess()) {
    mkdirSync(cacheDir, { recursive: true });
    writeFileAtomically(path, JSON.stringify(reference));
  }
  return { reference, path, cached: false };
}

/** Reference log-probs with the pairs split across data-parallel ranks, gathered so every rank has them all. */
function shardedReferenceLogProbs(
  dp: DataParallel,
  model: TransformerModel,
  pairs: TokenizedPair[],
  options: { padTokenId: number; batchSize: number },
): ReferenceLogProbs {
  const rows = computeSharded(dp, pairs.length, 4, (indices) => {
    const r = computeReferenceLogProbs(
      model,
      indices.map((i) => pairs[i] as TokenizedPair),
      options,
    );
    return r.chosen.map((c, j) => [
      c,
      r.rejected[j] ?? 0,
      r.chosenLengths[j] ?? 0,
      r.rejectedLengths[j] ?? 0,
    ]);
  });
  return {
    chosen: rows.map((r) => r[0] ?? 0),
    rejected: rows.map((r) => r[1] ?? 0),
    chosenLengths: rows.map((r) => r[2] ?? 0),
    rejectedLengths: rows.map((r) => r[3] ?? 0),
  };
}

/** The DPO training task over tokenized pairs and their cached reference log-probs. */
export function dpoTask(
  model: TransformerModel,
  pairs: TokenizedPair[],
  reference: ReferenceLogProbs,
  o: DpoOptions,
  evaluation?: { pairs: TokenizedPair[]; reference: ReferenceLogProbs; batchSize: number },
): TrainingTask {
  const lengthNormalised = o.loss === "ipo";
  const losses = (
    r: ReturnType<typeof pairLogProbs>,
    ref: { chosen: Tensor; rejected: Tensor; chosenLengths: Tensor; rejectedLengths: Tensor },
  ) => {
    const norm = (t: Tensor, n: Tensor) => (lengthNormalised ? t.div(n) : t);
    return preferenceLoss(
      {
        policyChosen: norm(r.chosen, r.chosenLengths),
        policyRejected: norm(r.rejected, r.rejectedLengths),
        referenceChosen: norm(ref.chosen, ref.chosenLengths),
        referenceRejected: norm(ref.rejected, ref.rejectedLengths),
        chosenLengths: r.chosenLengths,
        rejectedLengths: r.rejectedLengths,
      },
      { kind: o.loss, beta: o.beta, labelSmoothing: o.labelSmoothing, simpoGamma: o.simpoGamma },
    );
  };
  const referenceFor = (ref: ReferenceLogProbs, indices: number[]) => {
    const pick = (xs: number[]) =>
      tensor(
        indices.map((i) => xs[i] ?? 0),
        [indices.length],
      );
    return {
      chosen: pick(ref.chosen),
      rejected: pick(ref.rejected),
      chosenLengths: pick(ref.chosenLengths),
      rejectedLengths: pick(ref.rejectedLengths),
    };
  };
  return {
    size: pairs.length,
    step(indices): StepResult {
      const batch = indices.map((i) => pairs[i] as TokenizedPair);
      const r = pairLogProbs(model, batch, o.padTokenId);
      const { losses: perPair, chosenRewards, rejectedRewards } = losses(r, referenceFor(reference, indices));
      let loss = perPair.mean();
      if (o.sftWeight > 0) loss = loss.add(meanNegativeLogProb(r.chosen, r.chosenLengths).mul(o.sftWeight));
      const margins = chosenRewards.sub(rejectedRewards);
      const tokens = batch.reduce((n, p) => n + p.chosen.inputIds.length + p.rejected.inputIds.length, 0);
      return {
        loss,
        tokens,
        metrics: {
          "rewards/chosen": chosenRewards.mean().item(),
          "rewards/rejected": rejectedRewards.mean().item(),
          "rewards/margins": margins.mean().item(),
          "rewards/accuracy": margins.gt(0).float().mean().item(),
          "logps/chosen": r.chosen.detach().mean().item(),
          "logps/rejected": r.rejected.detach().mean().item(),
        },
      };
    },
    evaluate: evaluation
      ? () =>
          preferenceEvaluation(model, evaluation.pairs, evaluation.reference, {
            ...o,
            batchSize: evaluation.batchSize,
          })
      : undefined,
  };
}

/**
 * Held-out preference figures: how often the policy prefers the chosen answer (log-prob margin > 0), its mean
 * margin, the same for the reference, and DPO's reward accuracy (policy margin above the reference's).
 */
export function preferenceEvaluation(
  model: TransformerModel,
  pairs: TokenizedPair[],
  reference: ReferenceLogProbs,
  o: { padTokenId: number; batchSize: number; beta: number },
): Record<string, number> {
  let policyWins = 0;
  let referenceWins = 0;
  let rewardWins = 0;
  let policyMargin = 0;
  let referenceMargin = 0;
  noGrad(() => {
    for (let i = 0; i < pairs.length; i += o.batchSize) {
      tidy(() => {
        const r = pairLogProbs(model, pairs.slice(i, i + o.batchSize), o.padTokenId);
        const chosen = r.chosen.toArray();
        const rejected = r.rejected.toArray();
        chosen.forEach((c, j) => {
          const k = i + j;
          const m = c - (rejected[j] as number);
          const refM = (reference.chosen[k] as number) - (reference.rejected[k] as number);
          policyMargin += m;
          referenceMargin += refM;
          if (m > 0) policyWins++;
          if (refM > 0) referenceWins++;
          if (m > refM) rewardWins++;
        });
      });
    }
  });
  const n = Math.max(1, pairs.length);
  return {
    preference_accuracy: policyWins / n,
    reference_preference_accuracy: referenceWins / n,
    logp_margin: policyMargin / n,
    reference_logp_margin: referenceMargin / n,
    reward_accuracy: rewardWins / n,
  };
}
