// Which number headlines a benchmark, and how estimates are written out in reports.
import type { BenchmarkResult, MetricResult } from "../results.js";

/** Metrics that are fractions in [0,1]; reports show them as percentages. */
const RATE_METRICS = new Set([
  "safe_response_rate",
  "unsafe_response_rate",
  "over_refusal_rate",
  "full_refusal_rate",
  "partial_refusal_rate",
  "win_rate",
  "preference_accuracy",
  "task_accuracy",
]);

/** Short labels for column headers and axis titles; unknown metrics fall back to their name. */
const METRIC_LABELS: Record<string, string> = {
  safe_response_rate: "safe %",
  unsafe_response_rate: "unsafe %",
  over_refusal_rate: "over-refusal %",
  full_refusal_rate: "full refusal %",
  partial_refusal_rate: "partial refusal %",
  win_rate: "win %",
  preference_accuracy: "pref. acc. %",
  task_accuracy: "task acc. %",
  mean_reward: "reward",
  perplexity: "perplexity",
  mean_margin: "margin",
};

export function isRateMetric(name: string): boolean {
  // Names outside the known list still read as rates when they say so, so new metrics format sensibly.
  return RATE_METRICS.has(name) || name.endsWith("_rate") || name.endsWith("_accuracy");
}

export function metricLabel(name: string): string {
  return METRIC_LABELS[name] ?? (isRateMetric(name) ? `${name} %` : name);
}

/**
 * The whole-benchmark metric named `metric`: the primary judge's if it has one, else the first judge's
 * (in the order results list them), so a run without its primary judge on a benchmark still gets a number.
 */
export function pickMetric(
  b: BenchmarkResult,
  metric: string,
  primaryJudge?: string,
): MetricResult | undefined {
  const candidates = b.metrics.filter((m) => m.metric === metric && m.category === undefined);
  if (primaryJudge !== undefined) {
    const primary = candidates.find((m) => m.judge === primaryJudge);
    if (primary) return primary;
  }
  return candidates[0];
}

/** The number that stands for a benchmark in charts and comparison tables. */
export function headlineMetric(b: BenchmarkResult, primaryJudge?: string): MetricResult | undefined {
  switch (b.kind) {
    case "harmful":
      return pickMetric(b, "safe_response_rate", primaryJudge);
    case "benign":
      return pickMetric(b, "over_refusal_rate", primaryJudge);
    case "reference":
      // A checked answer says most; win rate is comparable across runs and judges; a raw mean reward only within
      // one reward model; without either judge, the perplexity of the reference answers is what there is.
      return (
        pickMetric(b, "task_accuracy") ??
        pickMetric(b, "win_rate", primaryJudge) ??
        pickMetric(b, "mean_reward", primaryJudge) ??
        pickMetric(b, "perplexity")
      );
    case "pairs":
      return pickMetric(b, "preference_accuracy", primaryJudge);
    default:
      return undefined;
  }
}

/** The parts of an estimate as text, without units: rates in percent with one decimal. */
export interface EstimateText {
  value: string;
  low: string;
  high: string;
  /** "%" for rates, "" otherwise. */
  unit: string;
}

const MISSING = "–";

function isFiniteNumber(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** toFixed without the "-0.0" that rounding a tiny negative bound produces. */
function fixed(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** Decimals that give about three significant digits (0.530, 1.23, 12.3, 152), at most four. */
export function decimalsFor(value: number): number {
  if (!isFiniteNumber(value) || value === 0) return 2;
  const d = 2 - Math.floor(Math.log10(Math.abs(value)));
  return Math.min(4, Math.max(0, d));
}

export function estimateText(m: MetricResult): EstimateText {
  const { value, low, high } = m.estimate;
  // results.json cannot hold NaN: an empty estimate arrives as null, which must not print as "NaN".
  const rate = isRateMetric(m.metric);
  const decimals = rate ? 1 : decimalsFor(value);
  const scale = rate ? 100 : 1;
  const fmt = (x: number) => (isFiniteNumber(x) ? fixed(x * scale, decimals) : MISSING);
  return { value: fmt(value), low: fmt(low), high: fmt(high), unit: rate ? "%" : "" };
}

/** "91.0%" or "0.530". */
export function formatValue(m: MetricResult): string {
  const t = estimateText(m);
  return t.value === MISSING ? MISSING : `${t.value}${t.unit}`;
}

/** "[87.2, 94.1]" (the 95% interval, in the value's unit). */
export function formatInterval(m: MetricResult): string {
  const t = estimateText(m);
  return `[${t.low}, ${t.high}]`;
}

/** "91.0% [87.2, 94.1] n=100" for rates, "0.530 [0.410, 0.660] n=100" otherwise. */
export function formatEstimate(m: MetricResult): string {
  return `${formatValue(m)} ${formatInterval(m)} n=${m.estimate.n}`;
}
