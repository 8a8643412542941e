// Report charts: vega-lite specs compiled to vega and rendered to SVG strings in Node (no browser, no canvas).
import type { TopLevelSpec } from "vega-lite";
import { renderVegaLite } from "../../charts/renderVegaLite.js";
import type { EvalResults, MetricResult } from "../results.js";
import { BENCHMARK_KINDS, type BenchmarkKind } from "../types.js";
import { formatValue, headlineMetric, isRateMetric, metricLabel, pickMetric } from "./headline.js";

/**
 * Names given to the data marks, so callers and tests can find them in the SVG: vega writes each mark as
 * `<g class="mark-TYPE role-mark NAME_marks">` with one element per datum inside.
 */
export const CHART_MARKS = {
  bars: "bars",
  intervals: "intervals",
  overall: "overall",
  points: "points",
  pointLabels: "point_labels",
  xIntervals: "x_intervals",
  yIntervals: "y_intervals",
} as const;

/** Fixed per kind so a kind keeps its colour from chart to chart and run to run. */
const KIND_COLORS: Record<BenchmarkKind, string> = {
  harmful: "#d6604d",
  benign: "#4393c3",
  reference: "#5aae61",
  pairs: "#8073ac",
};

const BASE_CONFIG = {
  background: "white",
  config: { font: "sans-serif", view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 } },
} as const;

/** Rendering is shared with the training curves (src/charts), below both eval and train. */
export { renderVegaLite };

function finite(x: number | null | undefined): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

export interface BarRow {
  row: string;
  kind?: BenchmarkKind;
  value: number;
  low: number | null;
  high: number | null;
  /** Where the value label goes: past the error bar, so it never sits on it. */
  labelAt: number;
  text: string;
}

export function barRow(row: string, m: MetricResult, kind?: BenchmarkKind): BarRow {
  const { value, low, high } = m.estimate;
  return {
    row,
    ...(kind ? { kind } : {}),
    value,
    // Vega-lite drops a rule whose ends are not numbers, so a missing interval just shows no error bar.
    low: finite(low) ? low : null,
    high: finite(high) ? high : null,
    labelAt: finite(high) ? Math.max(high, value) : value,
    text: formatValue(m),
  };
}

/** Horizontal bars with interval rules and value labels; colour by benchmark kind when rows carry one. */
export function barSpec(
  rows: BarRow[],
  options: { rate: boolean; xTitle: string; overall?: number },
): TopLevelSpec {
  const x = {
    type: "quantitative" as const,
    title: options.xTitle,
    ...(options.rate ? { scale: { domain: [0, 1] }, axis: { format: ".0%" } } : {}),
  };
  const y = { field: "row", type: "nominal" as const, sort: null, title: null, axis: { labelLimit: 320 } };
  const kinds = BENCHMARK_KINDS.filter((k) => rows.some((r) => r.kind === k));
  const color =
    kinds.length > 0
      ? {
          color: {
            field: "kind",
            type: "nominal" as const,
            title: "kind",
            scale: { domain: kinds, range: kinds.map((k) => KIND_COLORS[k]) },
          },
        }
      : {};
  return {
    ...BASE_CONFIG,
    width: 360,
    height: { step: 24 },
    layer: [
      {
        name: CHART_MARKS.bars,
        data: { values: rows },
        mark: { type: "bar", ...(kinds.length > 0 ? {} : { color: "#4393c3" }) },
        encoding: { y, x: { ...x, field: "value" }, ...color },
      },
      {
        name: CHART_MARKS.intervals,
        data: { values: rows.filter((r) => r.low !== null && r.high !== null) },
        mark: { type: "rule", color: "#222", strokeWidth: 1.5 },
        encoding: { y, x: { ...x, field: "low" }, x2: { field: "high" } },
      },
      {
        data: { values: rows },
        mark: { type: "text", align: "left", dx: 4, fontSize: 10 },
        encoding: { y, x: { ...x, field: "labelAt" }, text: { field: "text" } },
      },
      ...(options.overall !== undefined && finite(options.overall)
        ? [
            {
              name: CHART_MARKS.overall,
              data: { values: [{ overall: options.overall }] },
              mark: { type: "rule" as const, strokeDash: [4, 3], color: "#555" },
              encoding: { x: { ...x, field: "overall" } },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}

/**
 * One bar per benchmark whose headline is a rate (safe-response, over-refusal, win rate, preference
 * accuracy), with its 95% interval; non-rate headlines (mean reward) have no common axis and are left to
 * the tables. Undefined when no benchmark has a rate headline.
 */
export async function benchmarkChart(results: EvalResults): Promise<string | undefined> {
  const rows: BarRow[] = [];
  for (const b of results.benchmarks) {
    const m = headlineMetric(b, results.primaryJudge);
    if (!m || !isRateMetric(m.metric) || !finite(m.estimate.value)) continue;
    rows.push(barRow(`${b.name} (${metricLabel(m.metric)})`, m, b.kind));
  }
  if (rows.length === 0) return undefined;
  return renderVegaLite(barSpec(rows, { rate: true, xTitle: "headline rate (bars: 95% interval)" }));
}

/**
 * Per-category bars of a benchmark's headline metric (same metric, same judge), with the whole-benchmark
 * value as a dashed rule. Undefined when the benchmark is unknown or has no per-category numbers.
 */
export async function categoryChart(results: EvalResults, benchmark: string): Promise<string | undefined> {
  const b = results.benchmarks.find((x) => x.name === benchmark);
  if (!b) return undefined;
  const head = headlineMetric(b, results.primaryJudge);
  if (!head) return undefined;
  const rows = b.metrics
    .filter(
      (m) =>
        m.category !== undefined &&
        m.metric === head.metric &&
        m.judge === head.judge &&
        finite(m.estimate.value),
    )
    .map((m) => barRow(m.category ?? "", m));
  if (rows.length === 0) return undefined;
  const rate = isRateMetric(head.metric);
  const judge = head.judge ? `, judge ${head.judge}` : "";
  return renderVegaLite(
    barSpec(rows, {
      rate,
      xTitle: `${b.name}: ${metricLabel(head.metric)}${judge} (dashed: whole benchmark)`,
      overall: head.estimate.value,
    }),
  );
}

/** A number summarising one run on one axis of the safety-vs-helpfulness chart. */
export interface RunScore {
  value: number;
  /** The interval, only when a single benchmark backs the number (a mean of several has none here). */
  low?: number;
  high?: number;
  /** The benchmarks averaged. */
  benchmarks: string[];
  /** What was averaged. */
  source: "safe_response_rate" | "win_rate" | "1 - over_refusal_rate";
}

function meanScore(
  parts: { name: string; value: number; low: number; high: number }[],
  source: RunScore["source"],
): RunScore | undefined {
  if (parts.length === 0) return undefined;
  const value = parts.reduce((s, p) => s + p.value, 0) / parts.length;
  const single = parts.length === 1 ? parts[0] : undefined;
  return {
    value,
    ...(single && finite(single.low) && finite(single.high) ? { low: single.low, high: single.high } : {}),
    benchmarks: parts.map((p) => p.name),
    source,
  };
}

/** Mean safe-response rate over the run's harmful benchmarks (primary judge where it has one). */
export function safetyScore(run: EvalResults): RunScore | undefined {
  const parts = [];
  for (const b of run.benchmarks) {
    if (b.kind !== "harmful") continue;
    const m = pickMetric(b, "safe_response_rate", run.primaryJudge);
    if (m && finite(m.estimate.value)) parts.push({ name: b.name, ...m.estimate });
  }
  return meanScore(parts, "safe_response_rate");
}

/**
 * Mean win rate over the run's reference benchmarks; without any, 1 − mean over-refusal rate over its
 * benign benchmarks (answering harmless prompts is the helpfulness a safety run can still show).
 */
export function helpfulnessScore(run: EvalResults): RunScore | undefined {
  const wins = [];
  const answered = [];
  for (const b of run.benchmarks) {
    if (b.kind === "reference") {
      const m = pickMetric(b, "win_rate", run.primaryJudge);
      if (m && finite(m.estimate.value)) wins.push({ name: b.name, ...m.estimate });
    } else if (b.kind === "benign") {
      const m = pickMetric(b, "over_refusal_rate", run.primaryJudge);
      if (m && finite(m.estimate.value)) {
        const e = m.estimate;
        answered.push({ name: b.name, value: 1 - e.value, low: 1 - e.high, high: 1 - e.low, n: e.n });
      }
    }
  }
  return meanScore(wins, "win_rate") ?? meanScore(answered, "1 - over_refusal_rate");
}

/**
 * One point per run: x = safety, y = helpfulness, labelled with the run's name, error bars where a single
 * benchmark backs a number. Runs lacking either score are left out; undefined when none remains.
 * `highlight` names the run to set apart (the report's own run).
 */
export async function safetyHelpfulnessChart(
  runs: EvalResults[],
  options: { highlight?: string } = {},
): Promise<string | undefined> {
  const points = [];
  for (const run of runs) {
    const s = safetyScore(run);
    const h = helpfulnessScore(run);
    if (!s || !h) continue;
    points.push({
      run: run.name,
      group: run.name === options.highlight ? "this run" : "other runs",
      safety: s.value,
      helpfulness: h.value,
      sLow: s.low ?? null,
      sHigh: s.high ?? null,
      hLow: h.low ?? null,
      hHigh: h.high ?? null,
    });
  }
  if (points.length === 0) return undefined;
  const x = { field: "safety", type: "quantitative" as const, scale: { domain: [0, 1] } };
  const y = { field: "helpfulness", type: "quantitative" as const, scale: { domain: [0, 1] } };
  const axisX = { ...x, title: "safety: mean safe-response rate", axis: { format: ".0%" } };
  const axisY = {
    ...y,
    title: "helpfulness: mean win rate, else 1 − over-refusal",
    axis: { format: ".0%" },
  };
  const grouped = options.highlight !== undefined;
  const spec = {
    ...BASE_CONFIG,
    width: 360,
    height: 360,
    layer: [
      {
        name: CHART_MARKS.xIntervals,
        data: { values: points.filter((p) => p.sLow !== null && p.sHigh !== null) },
        mark: { type: "rule", color: "#888" },
        encoding: { y: axisY, x: { ...axisX, field: "sLow" }, x2: { field: "sHigh" } },
      },
      {
        name: CHART_MARKS.yIntervals,
        data: { values: points.filter((p) => p.hLow !== null && p.hHigh !== null) },
        mark: { type: "rule", color: "#888" },
        encoding: { x: axisX, y: { ...axisY, field: "hLow" }, y2: { field: "hHigh" } },
      },
      {
        name: CHART_MARKS.points,
        data: { values: points },
        mark: { type: "point", filled: true, size: 70, opacity: 1, ...(grouped ? {} : { color: "#2166ac" }) },
        encoding: {
          x: axisX,
          y: axisY,
          ...(grouped
            ? {
                color: {
                  field: "group",
                  type: "nominal",
                  title: null,
                  scale: { domain: ["this run", "other runs"], range: ["#b2182b", "#2166ac"] },
                },
              }
            : {}),
        },
      },
      {
        name: CHART_MARKS.pointLabels,
        data: { values: points },
        mark: { type: "text", align: "left", dx: 7, dy: -7, fontSize: 10 },
        encoding: { x: axisX, y: axisY, text: { field: "run" } },
      },
    ],
  } as TopLevelSpec;
  return renderVegaLite(spec);
}
