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
import { computeSharded, type DataParallel, isMainRank } from "./dataParallel.js";
import { type PreferenceLossSettings, preferenceLoss } from "./preferenceLoss.js";
import type { DpoConfig } from "./runConfig.js";
import { type StepResult, TrainingError, type TrainingTask } from "./trainingLoop.js";

export interface TokenizedSequence {
  inputIds: number[];
  /** -100 where no loss (the prompt). */
  labels: number[];
}

export interface TokenizedPair {
  chosen: TokenizedSequence;
  rejected: TokenizedSequence;
}

/** The preference loss's settings (declared in preferenceLoss.ts), the SFT term's weight and the pad token. */
export type DpoOptions = PreferenceLossSettings &
  Pick<DpoConfig["dpo"], "sftWeight"> & {
    padTokenId: number;
  };

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
  options: {
    padTokenId: number;
    batchSize: number;
    onProgress?: (done: number) => void;
    /** With data parallelism the pairs are split across ranks and gathered; rank 0 writes the cache. */
    dataParallel?: DataParallel;
  },
): { reference: ReferenceLogProbs; path: string; cached: boolean } {
  const key = referenceCacheKey(model, pairs);
  const path = join(cacheDir, `reference-logps-${key}.json`);
  if (existsSync(path)) {
    const reference = referenceFromRows(
      JSON.parse(readFileSync(path, "utf8")) as ReferenceLogProbs,
      pairs.length,
      path,
    );
    return { reference, path, cached: true };
  }
  const dp = options.dataParallel;
  const reference = dp
    ? shardedReferenceLogProbs(dp, model, pairs, options)
    : computeReferenceLogProbs(model, pairs, options);
  if (isMainRank(dp)) {
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
    return indices.map((_, j) => referenceRow(r, j, "this rank's reference log-probs"));
  });
  const rowAt = (i: number) => {
    const row = rows[i];
    if (row === undefined || row.length !== 4)
      throw new TrainingError(`DPO reference log-probs: pair ${i} missing from the ranks' gathered rows`);
    return row;
  };
  return {
    chosen: pairs.map((_, i) => rowAt(i)[0] as number),
    rejected: pairs.map((_, i) => rowAt(i)[1] as number),
    chosenLengths: pairs.map((_, i) => rowAt(i)[2] as number),
    rejectedLengths: pairs.map((_, i) => rowAt(i)[3] as number),
  };
}

/** Pair `i`'s reference figures [chosen, rejected, chosen length, rejected length]; a missing one is an error. */
function referenceRow(
  reference: ReferenceLogProbs,
  i: number,
  where: string,
): [number, number, number, number] {
  const row = [
    reference.chosen[i],
    reference.rejected[i],
    reference.chosenLengths[i],
    reference.rejectedLengths[i],
  ];
  if (!row.every((v) => typeof v === "number"))
    throw new TrainingError(
      `${where}: no reference log-prob for pair ${i} (a value is ${JSON.stringify(row)}); delete the reference cache and rerun`,
    );
  return row as [number, number, number, number];
}

/** Reference log-probs read back (from a cache file): one number of each kind for each of `count` pairs. */
function referenceFromRows(reference: ReferenceLogProbs, count: number, where: string): ReferenceLogProbs {
  for (const key of ["chosen", "rejected", "chosenLengths", "rejectedLengths"] as const) {
    if (!Array.isArray(reference[key]) || reference[key].length !== count)
      throw new TrainingError(
        `${where}: ${key}: expected ${count} values (one per pair), got ${Array.isArray(reference[key]) ? reference[key].length : typeof reference[key]}; delete the file and rerun`,
      );
  }
  for (let i = 0; i < count; i++) referenceRow(reference, i, where);
  return reference;
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
      { loss: o.loss, beta: o.beta, labelSmoothing: o.labelSmoothing, simpoGamma: o.simpoGamma },
    );
  };
  const referenceFor = (ref: ReferenceLogProbs, indices: number[]) => {
    const rows = indices.map((i) => referenceRow(ref, i, "DPO reference log-probs"));
    const pick = (column: number) =>
      tensor(
        rows.map((row) => row[column] as number),
        [indices.length],
      );
    return { chosen: pick(0), rejected: pick(1), chosenLengths: pick(2), rejectedLengths: pick(3) };
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
