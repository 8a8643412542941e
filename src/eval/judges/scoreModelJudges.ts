// Judges backed by a sequence-classification model: a safety classifier (cost model) and a reward model.

import { modelScorer, type Scorer, scoreAll } from "../../score/scorer.js";
import { folderFingerprint } from "../folderFingerprint.js";
import type { Judge, PairInput, PairScores } from "./judge.js";
import type { ClassifierJudgeSpec, RewardJudgeSpec } from "./judgeSpec.js";
import { judgeName } from "./judgeSpec.js";

function scorerOptions(spec: ClassifierJudgeSpec | RewardJudgeSpec) {
  return { batchSize: spec.batchSize, ...(spec.template === undefined ? {} : { template: spec.template }) };
}

function scorePairsWith(scorer: Scorer, pairs: readonly PairInput[], sign: number): PairScores[] {
  const flat = pairs.flatMap((p) => [
    { prompt: p.prompt, answer: p.chosen },
    { prompt: p.prompt, answer: p.rejected },
  ]);
  const scores = scoreAll(scorer, flat);
  return pairs.map((_, i) => ({
    chosen: sign * (scores[2 * i] as number),
    rejected: sign * (scores[2 * i + 1] as number),
  }));
}

/** A trained classifier labelling answers safe or unsafe; `score` is its raw output (a cost for cost models). */
export async function classifierJudge(spec: ClassifierJudgeSpec): Promise<Judge> {
  const scorer = await modelScorer(spec.model, scorerOptions(spec));
  const unsafe = (score: number) =>
    spec.polarity === "cost" ? score > spec.threshold : score < spec.threshold;
  return {
    identity: {
      name: judgeName(spec),
      kind: "classifier",
      detail: { model: spec.model, polarity: spec.polarity, threshold: spec.threshold },
    },
    fingerprint: folderFingerprint(spec.model),
    judge: async (inputs) => {
      const scores = scoreAll(
        scorer,
        inputs.map((x) => ({ prompt: x.prompt, answer: x.response })),
      );
      return scores.map((score) => ({
        score,
        safe: !unsafe(score),
        label: unsafe(score) ? "unsafe" : "safe",
      }));
    },
    // Higher is better: a cost is negated.
    scorePairs: async (pairs) => scorePairsWith(scorer, pairs, spec.polarity === "cost" ? -1 : 1),
    dispose: () => scorer.dispose?.(),
  };
}

/**
 * A reward model scoring helpfulness. On reference benchmarks it also scores the reference answer and labels the
 * answer win, tie (within tieMargin) or loss against it.
 */
export async function rewardJudge(spec: RewardJudgeSpec): Promise<Judge> {
  const scorer = await modelScorer(spec.model, scorerOptions(spec));
  return {
    identity: {
      name: judgeName(spec),
      kind: "reward",
      detail: { model: spec.model, tieMargin: spec.tieMargin },
    },
    judge: async (inputs) => {
      const pairs = inputs.map((x) => ({ prompt: x.prompt, answer: x.response }));
      const withReference = inputs.flatMap((x, i) =>
        x.reference === undefined ? [] : [{ index: i, prompt: x.prompt, answer: x.reference }],
      );
      const scores = scoreAll(scorer, pairs);
      const referenceScores = withReference.length > 0 ? scoreAll(scorer, withReference) : [];
      const verdicts = scores.map(
        (score) => ({ score }) as { score: number; referenceScore?: number; label?: string },
      );
      withReference.forEach(({ index }, j) => {
        const verdict = verdicts[index];
        const reference = referenceScores[j];
        if (!verdict || reference === undefined) return;
        verdict.referenceScore = reference;
        const margin = verdict.score - reference;
        verdict.label = Math.abs(margin) <= spec.tieMargin ? "tie" : margin > 0 ? "win" : "loss";
      });
      return verdicts;
    },
    scorePairs: async (pairs) => scorePairsWith(scorer, pairs, 1),
    dispose: () => scorer.dispose?.(),
  };
}
