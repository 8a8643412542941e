// Several runs side by side: each benchmark's headline number per run (one column unit per benchmark), and
// every later run paired prompt by prompt with the first (the baseline) through eval compare's statistics.

import { attackLabel } from "../../eval/attacks/attackMetrics.js";
import { compareRuns } from "../../eval/compare.js";
import { headlineMetric, metricLabel, pickMetric } from "../../eval/report/headline.js";
import type { EvalResults, SampleRecord } from "../../eval/results.js";
import type { BenchmarkKind } from "../../eval/types.js";
import {
  type AttackRowView,
  attackRowView,
  type MetricView,
  metricView,
  type RunSummary,
  runSummary,
} from "./runViews.js";

export interface LoadedRun {
  id: string;
  results: EvalResults;
  samples: readonly SampleRecord[];
}

export interface ComparisonColumn {
  benchmark: string;
  kind: BenchmarkKind;
  metric: string;
  label: string;
}

export interface PairedRowView {
  benchmark: string;
  judge: string;
  metric: string;
  n: number;
  rateA: number;
  rateB: number;
  /** B − A and its paired bootstrap interval, as fractions. */
  difference: { value: number; low: number | null; high: number | null };
  onlyA: number;
  onlyB: number;
  pValue: number;
  test: string;
}

/** Robustness of B against A on one attack row (see eval/attacks/attackComparison). */
export interface AttackDifferenceView {
  attack: string;
  attackLabel: string;
  paired: boolean;
  nA: number;
  nB: number;
  rateA: number;
  rateB: number;
  difference: { value: number; low: number | null; high: number | null };
  onlyA: number | null;
  onlyB: number | null;
  pValue: number | null;
  test: string | null;
}

export interface PairedView {
  a: string;
  b: string;
  settingDifferences: string[];
  rows: PairedRowView[];
  /** Attack success rate per attack, B − A (null when either run attacked nothing). */
  attacks: { judge: string; rows: AttackDifferenceView[] } | null;
}

/** Attack success rate per attack (rows) and run (columns): the dashboard's robustness matrix. */
export interface AttackMatrixView {
  /** Row keys (attack names, then "direct" and "any attack") in first-seen order, with their labels. */
  attacks: { attack: string; label: string }[];
  /** Per run (in order), per attack: the run's rate, or null where it did not make that attack. */
  cells: (AttackRowView | null)[][];
  judges: (string | null)[];
}

export interface ComparisonView {
  runs: RunSummary[];
  columns: ComparisonColumn[];
  /** Per run (in order), per column: the run's number for the column's metric, or null. */
  cells: (MetricView | null)[][];
  /** The first run against each other one. */
  paired: PairedView[];
  /** Null when no run attacked its prompts. */
  attacks: AttackMatrixView | null;
}

function attackMatrix(runs: readonly EvalResults[]): AttackMatrixView | null {
  if (!runs.some((r) => r.attacks)) return null;
  const whole = runs.map((r) => (r.attacks?.rates ?? []).filter((x) => x.category === undefined));
  const attacks: { attack: string; label: string }[] = [];
  for (const rates of whole)
    for (const x of rates)
      if (!attacks.some((a) => a.attack === x.attack))
        attacks.push({ attack: x.attack, label: attackLabel(x.attack) });
  return {
    attacks,
    cells: whole.map((rates) =>
      attacks.map((a) => {
        const x = rates.find((r) => r.attack === a.attack);
        return x ? attackRowView(x) : null;
      }),
    ),
    judges: runs.map((r) => r.attacks?.judge ?? null),
  };
}

/** Columns in order of first appearance; a benchmark's unit is the headline metric of the first run having it. */
function columnsOf(runs: readonly EvalResults[]): ComparisonColumn[] {
  const columns: ComparisonColumn[] = [];
  for (const run of runs)
    for (const b of run.benchmarks) {
      if (columns.some((c) => c.benchmark === b.name)) continue;
      const m = headlineMetric(b, run.primaryJudge);
      if (m)
        columns.push({ benchmark: b.name, kind: b.kind, metric: m.metric, label: metricLabel(m.metric) });
    }
  return columns;
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

export function compareManyRuns(runs: readonly LoadedRun[]): ComparisonView {
  const columns = columnsOf(runs.map((r) => r.results));
  const cells = runs.map(({ results }) =>
    columns.map((c) => {
      const b = results.benchmarks.find((x) => x.name === c.benchmark);
      // Only the column's own metric: a different one in its place would be read in the wrong unit.
      const m = b && pickMetric(b, c.metric, results.primaryJudge);
      return m ? metricView(m) : null;
    }),
  );
  const [baseline, ...others] = runs;
  const paired: PairedView[] = baseline
    ? others.map((other) => {
        const c = compareRuns(baseline, other);
        return {
          a: baseline.id,
          b: other.id,
          settingDifferences: c.settingDifferences,
          rows: c.comparisons.map((x) => ({
            benchmark: x.benchmark,
            judge: x.judge,
            metric: x.metric,
            n: x.n,
            rateA: x.rateA,
            rateB: x.rateB,
            difference: {
              value: x.difference.value,
              low: finiteOrNull(x.difference.low),
              high: finiteOrNull(x.difference.high),
            },
            onlyA: x.mcnemar.onlyA,
            onlyB: x.mcnemar.onlyB,
            pValue: x.mcnemar.pValue,
            test: x.mcnemar.method,
          })),
          attacks: c.attacks
            ? {
                judge: c.attacks.judge,
                rows: c.attacks.rows.map((x) => ({
                  attack: x.attack,
                  attackLabel: attackLabel(x.attack),
                  paired: x.paired,
                  nA: x.nA,
                  nB: x.nB,
                  rateA: x.rateA,
                  rateB: x.rateB,
                  difference: {
                    value: x.difference.value,
                    low: finiteOrNull(x.difference.low),
                    high: finiteOrNull(x.difference.high),
                  },
                  onlyA: x.mcnemar?.onlyA ?? null,
                  onlyB: x.mcnemar?.onlyB ?? null,
                  pValue: x.mcnemar?.pValue ?? null,
                  test: x.mcnemar?.method ?? null,
                })),
              }
            : null,
        };
      })
    : [];
  return {
    runs: runs.map((r) => runSummary(r.id, r.results)),
    columns,
    cells,
    paired,
    attacks: attackMatrix(runs.map((r) => r.results)),
  };
}
