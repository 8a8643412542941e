// Several runs side by side: each benchmark's headline number per run (one column unit per benchmark), and
// every later run paired prompt by prompt with the first (the baseline) through eval compare's statistics.
import { compareRuns } from "../../eval/compare.js";
import { headlineMetric, metricLabel, pickMetric } from "../../eval/report/headline.js";
import type { EvalResults, SampleRecord } from "../../eval/results.js";
import type { BenchmarkKind } from "../../eval/types.js";
import { type MetricView, metricView, type RunSummary, runSummary } from "./runViews.js";

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

export interface PairedView {
  a: string;
  b: string;
  settingDifferences: string[];
  rows: PairedRowView[];
}

export interface ComparisonView {
  runs: RunSummary[];
  columns: ComparisonColumn[];
  /** Per run (in order), per column: the run's number for the column's metric, or null. */
  cells: (MetricView | null)[][];
  /** The first run against each other one. */
  paired: PairedView[];
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
        };
      })
    : [];
  return { runs: runs.map((r) => runSummary(r.id, r.results)), columns, cells, paired };
}
