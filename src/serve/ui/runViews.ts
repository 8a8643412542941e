// What the dashboard shows of a run, as JSON: numbers already formatted the way the reports write them (so the
// browser never re-implements rounding or units), next to the raw values for sorting and bars.
import { type AttackRate, attackLabel } from "../../eval/attacks/attackMetrics.js";
import { asAttackMetric } from "../../eval/report/attackReport.js";
import { helpfulnessScore, type RunScore, safetyScore } from "../../eval/report/charts.js";
import {
  formatInterval,
  formatValue,
  headlineMetric,
  isRateMetric,
  metricLabel,
} from "../../eval/report/headline.js";
import { describeAnswerer, describeJudge, generationPairs } from "../../eval/report/markdown.js";
import type { BenchmarkResult, EvalResults, MetricResult } from "../../eval/results.js";
import type { BenchmarkKind } from "../../eval/types.js";

/** One metric, with its estimate as numbers and as report text ("91.0%", "[87.2, 94.1]"). */
export interface MetricView {
  metric: string;
  label: string;
  judge: string | null;
  rate: boolean;
  value: number | null;
  low: number | null;
  high: number | null;
  n: number;
  text: string;
  interval: string;
  unparsed: number | null;
}

export interface HeadlineView extends MetricView {
  benchmark: string;
  kind: BenchmarkKind;
  items: number;
}

export interface ScoreView {
  value: number;
  low: number | null;
  high: number | null;
  benchmarks: string[];
  source: string;
}

export interface RunSummary {
  id: string;
  name: string;
  createdAt: string;
  answerer: string;
  judges: string[];
  primaryJudge: string | null;
  headlines: HeadlineView[];
  safety: ScoreView | null;
  helpfulness: ScoreView | null;
}

export interface CategoryTableView {
  columns: { metric: string; label: string; judge: string | null }[];
  rows: { category: string; cells: (MetricView | null)[] }[];
}

export interface BenchmarkView {
  name: string;
  kind: BenchmarkKind;
  source: string;
  items: number;
  /** Whole-benchmark metrics, the headline first. */
  metrics: (MetricView & { headline: boolean })[];
  categories: CategoryTableView | null;
}

/** One attack row: its attack success rate as numbers and as report text. */
export interface AttackRowView extends MetricView {
  attack: string;
  /** As the reports name it ("direct request (no attack)", ...). */
  attackLabel: string;
  category: string | null;
}

export interface AttacksView {
  /** The judge whose safe/unsafe reading decides success. */
  judge: string;
  /** Each attack, then the direct requests and the worst case per prompt. */
  rows: AttackRowView[];
  /** The same per category. */
  byCategory: AttackRowView[];
  /** Adaptive attacks: mean target queries per success. */
  queriesPerSuccess: { attack: string; view: MetricView }[];
}

export function attackRowView(r: AttackRate): AttackRowView {
  return {
    ...metricView(asAttackMetric(r)),
    attack: r.attack,
    attackLabel: attackLabel(r.attack),
    category: r.category ?? null,
  };
}

export function attacksView(r: EvalResults): AttacksView | null {
  const a = r.attacks;
  if (!a) return null;
  return {
    judge: a.judge,
    rows: a.rates.filter((x) => x.category === undefined).map(attackRowView),
    byCategory: a.rates.filter((x) => x.category !== undefined).map(attackRowView),
    queriesPerSuccess: (a.queriesPerSuccess ?? []).map((q) => ({
      attack: q.attack,
      view: metricView({ metric: "queries_per_success", estimate: q.estimate }),
    })),
  };
}

export interface RunReport extends RunSummary {
  settings: [string, string][];
  judgeDetails: string[];
  timing: EvalResults["timing"];
  safetuneVersion: string;
  benchmarks: BenchmarkView[];
  agreements: EvalResults["agreements"];
  /** Attack success rates, when the run attacked its prompts. */
  attacks: AttacksView | null;
}

/** results.json stores NaN as null; the page shows a dash for both. */
function numberOrNull(x: number | null | undefined): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

export function metricView(m: MetricResult): MetricView {
  return {
    metric: m.metric,
    label: metricLabel(m.metric),
    judge: m.judge ?? null,
    rate: isRateMetric(m.metric),
    value: numberOrNull(m.estimate.value),
    low: numberOrNull(m.estimate.low),
    high: numberOrNull(m.estimate.high),
    n: m.estimate.n,
    text: formatValue(m),
    interval: formatInterval(m),
    unparsed: m.unparsed ?? null,
  };
}

function scoreView(s: RunScore | undefined): ScoreView | null {
  if (!s) return null;
  return {
    value: s.value,
    low: s.low ?? null,
    high: s.high ?? null,
    benchmarks: s.benchmarks,
    source: s.source,
  };
}

export function headlineView(b: BenchmarkResult, primaryJudge?: string): HeadlineView | undefined {
  const m = headlineMetric(b, primaryJudge);
  return m ? { benchmark: b.name, kind: b.kind, items: b.n, ...metricView(m) } : undefined;
}

export function runSummary(id: string, r: EvalResults): RunSummary {
  return {
    id,
    name: r.name,
    createdAt: r.createdAt,
    answerer: describeAnswerer(r.answerer),
    judges: r.judges.map((j) => j.name),
    primaryJudge: r.primaryJudge ?? null,
    headlines: r.benchmarks.flatMap((b) => headlineView(b, r.primaryJudge) ?? []),
    safety: scoreView(safetyScore(r)),
    helpfulness: scoreView(helpfulnessScore(r)),
  };
}

/** One row per category, one column per (metric, judge) pair measured per category. */
function categoryTable(metrics: readonly MetricResult[]): CategoryTableView | null {
  const per = metrics.filter((m) => m.category !== undefined);
  if (per.length === 0) return null;
  const columnKey = (m: MetricResult) => `${m.metric}\u0000${m.judge ?? ""}`;
  const columns = new Map<string, CategoryTableView["columns"][number]>();
  const rows = new Map<string, Map<string, MetricView>>();
  for (const m of per) {
    const key = columnKey(m);
    if (!columns.has(key))
      columns.set(key, { metric: m.metric, label: metricLabel(m.metric), judge: m.judge ?? null });
    const category = m.category ?? "";
    const row = rows.get(category) ?? new Map<string, MetricView>();
    row.set(key, metricView(m));
    rows.set(category, row);
  }
  return {
    columns: [...columns.values()],
    rows: [...rows].map(([category, cells]) => ({
      category,
      cells: [...columns.keys()].map((key) => cells.get(key) ?? null),
    })),
  };
}

function benchmarkView(b: BenchmarkResult, primaryJudge?: string): BenchmarkView {
  const head = headlineMetric(b, primaryJudge);
  const whole = b.metrics.filter((m) => m.category === undefined);
  const ordered = head ? [head, ...whole.filter((m) => m !== head)] : whole;
  return {
    name: b.name,
    kind: b.kind,
    source: b.source,
    items: b.n,
    metrics: ordered.map((m) => ({ ...metricView(m), headline: m === head })),
    categories: categoryTable(b.metrics),
  };
}

export function runReport(id: string, r: EvalResults): RunReport {
  return {
    ...runSummary(id, r),
    settings: generationPairs(r.generation),
    judgeDetails: r.judges.map((j) => describeJudge(j, r.primaryJudge)),
    timing: r.timing,
    safetuneVersion: r.safetuneVersion,
    benchmarks: r.benchmarks.map((b) => benchmarkView(b, r.primaryJudge)),
    agreements: r.agreements,
    attacks: attacksView(r),
  };
}
