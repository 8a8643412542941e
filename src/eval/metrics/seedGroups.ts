// Runs of one experiment under several seeds as one group: grouping by name, per-prompt score matrices, and each
// metric's mean over seeds with its two-level interval and between-seed spread.
import { EvaluationError } from "../errors.js";
import type { EvalResults, MetricResult, SampleRecord } from "../results.js";
import { metricReading } from "./benchmarkMetrics.js";
import type { BootstrapOptions } from "./bootstrap.js";
import { type SeedGroupEstimate, seedGroupBootstrap } from "./seedBootstrap.js";

export interface SeedRun {
  results: EvalResults;
  /** Its samples.jsonl: needed for intervals over several seeds and for comparisons (paired by prompt). */
  samples?: readonly SampleRecord[];
  /** Where it was read from, for messages. */
  source?: string;
}

export interface SeedGroup {
  /** The runs' shared name. */
  name: string;
  /** Ascending seed; one run without a seed for an unseeded run. */
  runs: SeedRun[];
}

const where = (run: SeedRun) => run.source ?? `run "${run.results.name}"`;

/**
 * Runs grouped by name, groups in first-seen order, runs within a group by ascending seed. Only runs with a seed
 * are grouped: a run without one (outside a seeded experiment) is a group of its own, so two unrelated runs that
 * happen to share a name are never averaged as if they were seeds. Two runs of one name with the same seed:
 * EvaluationError.
 */
export function groupBySeed(runs: readonly SeedRun[]): SeedGroup[] {
  const groups: SeedGroup[] = [];
  const seeded = new Map<string, SeedGroup>();
  for (const run of runs) {
    const { name, seed } = run.results;
    if (seed === undefined) {
      groups.push({ name, runs: [run] });
      continue;
    }
    let group = seeded.get(name);
    if (!group) {
      group = { name, runs: [] };
      seeded.set(name, group);
      groups.push(group);
    }
    const twin = group.runs.find((r) => r.results.seed === seed);
    if (twin)
      throw new EvaluationError(
        `${where(run)}: "${name}" seed ${seed} is also ${where(twin)}; one run per seed in a group`,
      );
    group.runs.push(run);
  }
  for (const g of groups) g.runs.sort((x, y) => (x.results.seed ?? 0) - (y.results.seed ?? 0));
  return groups;
}

/** The seeds of a group ([] for an unseeded run). */
export function groupSeeds(group: SeedGroup): number[] {
  return group.runs.flatMap((r) => (r.results.seed === undefined ? [] : [r.results.seed]));
}

/**
 * The whole-benchmark metric named `metric` of one run: by `judge` when given, else the run's primary judge's,
 * else the first judge's.
 */
export function runMetric(
  results: EvalResults,
  benchmark: string,
  metric: string,
  judge?: string,
): MetricResult | undefined {
  const b = results.benchmarks.find((x) => x.name === benchmark);
  const candidates = (b?.metrics ?? []).filter((m) => m.metric === metric && m.category === undefined);
  if (judge !== undefined) return candidates.find((m) => m.judge === judge);
  return candidates.find((m) => m.judge === results.primaryJudge) ?? candidates[0];
}

/** Prompt ids of a benchmark over all the runs' samples, in first-seen order. */
export function promptIds(runs: readonly SeedRun[], benchmark: string): string[] {
  const ids = new Set<string>();
  for (const run of runs) for (const s of run.samples ?? []) if (s.benchmark === benchmark) ids.add(s.id);
  return [...ids];
}

/**
 * scores[s][i]: run s's score for `metric` by `judge` on prompt ids[i] (NaN: no sample, no verdict, a judge
 * error, or a verdict that does not bear on the metric). A run without samples, a benchmark a run lacks, or a
 * metric without per-prompt scores: EvaluationError.
 */
export function scoreMatrix(
  runs: readonly SeedRun[],
  benchmark: string,
  metric: string,
  judge: string | undefined,
  ids: readonly string[],
): number[][] {
  return runs.map((run) => {
    const kind = run.results.benchmarks.find((b) => b.name === benchmark)?.kind;
    if (kind === undefined) throw new EvaluationError(`${where(run)}: has no benchmark "${benchmark}"`);
    const reading = metricReading(kind, metric);
    if (!reading)
      throw new EvaluationError(
        `${where(run)}: ${metric} on ${benchmark} has no per-prompt scores to resample (a ${kind} benchmark)`,
      );
    if (!run.samples) throw new EvaluationError(`${where(run)}: its samples are needed to resample prompts`);
    const byId = new Map<string, SampleRecord>();
    for (const s of run.samples) if (s.benchmark === benchmark) byId.set(s.id, s);
    return ids.map((id) => {
      const v = judge === undefined ? undefined : byId.get(id)?.verdicts[judge];
      if (!v || v.error !== undefined) return Number.NaN;
      return reading(v) ?? Number.NaN;
    });
  });
}

/** A metric of a seed group: the group estimate and the judge it was read from. */
export interface GroupMetric {
  metric: string;
  judge?: string;
  estimate: SeedGroupEstimate;
}

/**
 * `metric` on `benchmark` over a group's seeds. One run: its own stored estimate (the one-level prompt bootstrap
 * of results.json; sd 0). Several: seedGroupBootstrap of the per-prompt scores when the metric has them and every
 * run has samples; otherwise the mean and spread of the seeds' stored values, without an interval (low and high
 * NaN). The judge is the first run's (`judge`, else its primary judge, else its first); undefined when a run
 * lacks the metric.
 */
export function groupMetric(
  group: SeedGroup,
  benchmark: string,
  metric: string,
  options: BootstrapOptions & { judge?: string } = {},
): GroupMetric | undefined {
  const first = group.runs[0];
  if (!first) return undefined;
  const head = runMetric(first.results, benchmark, metric, options.judge);
  if (!head) return undefined;
  const judge = head.judge;
  const stored = group.runs.map((r) => runMetric(r.results, benchmark, metric, judge));
  if (stored.some((m) => m === undefined)) return undefined;
  const values = stored.map((m) => (m as MetricResult).estimate.value);
  const at = judge === undefined ? {} : { judge };
  if (group.runs.length === 1) {
    const e = head.estimate;
    const one = { ...e, seeds: 1, perSeed: [e.value], sd: 0, min: e.value, max: e.value };
    return { metric, ...at, estimate: one };
  }
  const kind = first.results.benchmarks.find((b) => b.name === benchmark)?.kind;
  const resamplable =
    kind !== undefined && metricReading(kind, metric) !== undefined && group.runs.every((r) => r.samples);
  if (resamplable) {
    const ids = promptIds(group.runs, benchmark);
    const scores = scoreMatrix(group.runs, benchmark, metric, judge, ids);
    const { judge: _, ...bootstrap } = options;
    return { metric, ...at, estimate: seedGroupBootstrap(scores, bootstrap) };
  }
  const mean = values.reduce((s, x) => s + x, 0) / values.length;
  const sd = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1));
  const n = Math.max(...stored.map((m) => (m as MetricResult).estimate.n));
  const estimate = {
    value: mean,
    low: Number.NaN,
    high: Number.NaN,
    n,
    seeds: values.length,
    perSeed: values,
    sd,
    min: Math.min(...values),
    max: Math.max(...values),
  };
  return { metric, ...at, estimate };
}

/** A group as one row of tables and charts: its results over seeds, and each headline's spread between seeds. */
export interface GroupSummary {
  name: string;
  seeds: number[];
  /**
   * The run's own results for a group of one; for several seeds the first run's identity with each
   * whole-benchmark metric (by the primary judge, else the first judge that has it) replaced by its mean over
   * seeds and two-level interval (no other judges' metrics, no categories, no agreements).
   */
  results: EvalResults;
  /** Those metrics' estimates over seeds, keyed by groupMetricKey. */
  metrics: Map<string, GroupMetric>;
}

export const groupMetricKey = (benchmark: string, metric: string, judge?: string) =>
  `${benchmark}\u0000${metric}\u0000${judge ?? ""}`;

/** The group as one row: see GroupSummary. */
export function summarizeGroup(group: SeedGroup, options: BootstrapOptions = {}): GroupSummary {
  const first = group.runs[0];
  if (!first) throw new EvaluationError(`group "${group.name}" has no runs`);
  const metrics = new Map<string, GroupMetric>();
  const benchmarks = first.results.benchmarks.map((b) => {
    const whole: MetricResult[] = [];
    for (const m of b.metrics) {
      // One judge per metric (the primary where it has the metric): what tables and charts show.
      if (m.category !== undefined || runMetric(first.results, b.name, m.metric) !== m) continue;
      const g = groupMetric(group, b.name, m.metric, {
        ...options,
        ...(m.judge === undefined ? {} : { judge: m.judge }),
      });
      if (!g) continue;
      metrics.set(groupMetricKey(b.name, m.metric, m.judge), g);
      const { value, low, high, n } = g.estimate;
      whole.push({ ...m, estimate: { value, low, high, n } });
    }
    return { ...b, metrics: whole };
  });
  const seeds = groupSeeds(group);
  if (group.runs.length === 1) return { name: group.name, seeds, results: first.results, metrics };
  const { seed: _, ...identity } = first.results;
  return { name: group.name, seeds, results: { ...identity, benchmarks, agreements: [] }, metrics };
}
