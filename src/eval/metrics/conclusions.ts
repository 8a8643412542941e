// Conclusions computed, not written: each requested comparison of two seed groups as a difference over seeds with
// its interval, and whether it is significant, with the intervals widened for the number of comparisons (Bonferroni).
import { z } from "zod";
import { EvaluationError } from "../errors.js";
import { groupMetric, groupSeeds, promptIds, runMetric, type SeedGroup, scoreMatrix } from "./seedGroups.js";
import { type SeedGroupDifference, welchSeedDifference } from "./seedWelch.js";

/**
 * One comparison, as a pipeline's report stage or `report table --compare` states it:
 * `{a: "DPO", b: "RAFT", benchmark: "harmful", metric: "safe_response_rate"}` reads "DPO against RAFT on the
 * harmful benchmark's safe-response rate", difference a − b. metric defaults to the benchmark's headline
 * (safe_response_rate on harmful sets, over_refusal_rate on benign ones, task_accuracy or win_rate on reference
 * sets); judge to each group's primary judge.
 */
export const ComparisonSpecSchema = z
  .object({
    a: z.string().min(1),
    b: z.string().min(1),
    benchmark: z.string().min(1),
    metric: z.string().min(1).optional(),
    judge: z.string().min(1).optional(),
  })
  .strict();
export type ComparisonSpec = z.infer<typeof ComparisonSpecSchema>;

/** The family-wise error rate the comparisons of one report share. */
export const FAMILY_ALPHA = 0.05;

export interface Conclusion {
  a: string;
  b: string;
  benchmark: string;
  metric: string;
  judge?: string;
  /** Each group's mean over its seeds. */
  meanA: number;
  meanB: number;
  /** a − b over seeds, paired by prompt, with its interval at `confidence`. */
  difference: SeedGroupDifference;
  /** 1 − FAMILY_ALPHA / (number of comparisons): Bonferroni, so all intervals hold together with ≥ 95%. */
  confidence: number;
  /** The t-test p-value times the number of comparisons (at most 1): below FAMILY_ALPHA exactly when significant. */
  adjustedPValue: number;
  /** The interval excludes 0. */
  significant: boolean;
  seedsA: number[];
  seedsB: number[];
}

/** The headline metric of a benchmark of the group's first run, as headlineMetric picks it. */
function defaultMetric(group: SeedGroup, benchmark: string): string | undefined {
  const results = group.runs[0]?.results;
  const b = results?.benchmarks.find((x) => x.name === benchmark);
  if (!results || !b) return undefined;
  const order: Record<string, string[]> = {
    harmful: ["safe_response_rate"],
    benign: ["over_refusal_rate"],
    reference: ["task_accuracy", "win_rate", "mean_reward"],
    pairs: [],
  };
  return (order[b.kind] ?? []).find((m) => runMetric(results, benchmark, m) !== undefined);
}

/**
 * Every comparison of `specs` between the named groups. Differences are a − b of the groups' means over seeds,
 * from welchSeedDifference: a Welch–Satterthwaite t interval whose variance adds training randomness (each group's
 * spread over its seeds, the groups' seeds taken as independent: two methods run with seed s share little beyond
 * the number, and pairing them would halve the degrees of freedom for a correlation that is not there; a positive
 * one ignored only makes the interval wider) and prompt sampling (the per-prompt differences, paired by prompt). With m comparisons each
 * interval is at 1 − 0.05/m (Bonferroni), and a comparison is significant when its interval excludes 0: the stated
 * significant differences are all real with ≥ 95% confidence together, and an interval never disagrees with its
 * verdict (nor with its p-value against 0.05/m). A group, benchmark or metric that is missing: EvaluationError.
 */
export function computeConclusions(
  groups: readonly SeedGroup[],
  specs: readonly ComparisonSpec[],
): Conclusion[] {
  const confidence = 1 - FAMILY_ALPHA / Math.max(1, specs.length);
  const find = (name: string, i: number) => {
    const g = groups.find((x) => x.name === name);
    if (!g)
      throw new EvaluationError(
        `comparisons.${i}: no run named "${name}" (runs: ${groups.map((x) => x.name).join(", ") || "none"})`,
      );
    return g;
  };
  return specs.map((spec, i) => {
    const ga = find(spec.a, i);
    const gb = find(spec.b, i);
    const metric = spec.metric ?? defaultMetric(ga, spec.benchmark);
    if (metric === undefined)
      throw new EvaluationError(
        `comparisons.${i}: "${spec.a}" has no benchmark "${spec.benchmark}" with a headline metric`,
      );
    // Only the groups' means are needed here (the interval is the difference's): one resample.
    const judge = { resamples: 1, ...(spec.judge === undefined ? {} : { judge: spec.judge }) };
    const ma = groupMetric(ga, spec.benchmark, metric, judge);
    const mb = groupMetric(gb, spec.benchmark, metric, judge);
    if (!ma || !mb)
      throw new EvaluationError(
        `comparisons.${i}: "${ma ? spec.b : spec.a}" has no ${metric} on "${spec.benchmark}"${spec.judge ? ` by judge ${spec.judge}` : ""}`,
      );
    const ids = promptIds([...ga.runs, ...gb.runs], spec.benchmark);
    const seedsA = groupSeeds(ga);
    const seedsB = groupSeeds(gb);
    const difference = welchSeedDifference(
      scoreMatrix(ga.runs, spec.benchmark, metric, ma.judge, ids),
      scoreMatrix(gb.runs, spec.benchmark, metric, mb.judge, ids),
      { confidence },
    );
    return {
      a: spec.a,
      b: spec.b,
      benchmark: spec.benchmark,
      metric,
      ...(ma.judge === undefined ? {} : { judge: ma.judge }),
      meanA: ma.estimate.value,
      meanB: mb.estimate.value,
      difference,
      confidence,
      adjustedPValue: Math.min(1, difference.pValue * Math.max(1, specs.length)),
      significant: difference.low > 0 || difference.high < 0,
      seedsA,
      seedsB,
    };
  });
}
