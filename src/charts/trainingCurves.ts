// Training curves: the figures a run logged (metrics.jsonl rows by step, or raft.jsonl rows by iteration) as one
// small line chart per panel: loss, learning rate, grad norm, DPO rewards, margins, accuracy, RAFT rewards, ...
import type { TopLevelSpec } from "vega-lite";
import { renderVegaLite } from "./renderVegaLite.js";

/** One logged row: metrics.jsonl (`step`) or raft.jsonl (`iteration`). */
export type CurveRow = Record<string, unknown>;

/** Mark names, so tests and callers can find the data marks in the SVG (`<g class="... NAME_marks">`). */
export const CURVE_MARKS = { lines: "curve_lines", points: "curve_points" } as const;

/** Panels in display order: a panel's series are the metric keys it gathers (eval_ twins included). */
const PANELS: { title: string; keys: string[] }[] = [
  { title: "loss", keys: ["loss"] },
  { title: "learning rate", keys: ["lr", "learning_rate"] },
  { title: "grad norm", keys: ["grad_norm"] },
  { title: "rewards (DPO)", keys: ["rewards/chosen", "rewards/rejected"] },
  { title: "reward margin (DPO)", keys: ["rewards/margins"] },
  { title: "accuracy", keys: ["rewards/accuracy", "accuracy", "sign_accuracy"] },
  { title: "log-probs", keys: ["logps/chosen", "logps/rejected"] },
  { title: "reward per iteration (RAFT)", keys: ["mean_reward", "best_reward", "mean_selected_reward"] },
];

/** Bookkeeping columns that are not curves. */
const NOT_CURVES = new Set([
  "step",
  "iteration",
  "epoch",
  "tokens_per_s",
  "selected",
  "dropped",
  "samples",
  "steps",
]);

export interface CurvePoint {
  panel: string;
  series: string;
  x: number;
  value: number;
}

/** The x axis of a set of rows: RAFT's iteration when the rows have one, else the optimizer step. */
export function curveAxis(rows: CurveRow[]): "step" | "iteration" {
  return rows.some((r) => typeof r.iteration === "number") ? "iteration" : "step";
}

function panelOf(key: string): string {
  const base = key.startsWith("eval_") ? key.slice(5) : key;
  return PANELS.find((p) => p.keys.includes(base))?.title ?? base;
}

/** Long-form points, one per finite value of a curve column; panels in display order. */
export function curvePoints(rows: CurveRow[]): { points: CurvePoint[]; panels: string[]; axis: string } {
  const axis = curveAxis(rows);
  const points: CurvePoint[] = [];
  for (const row of rows) {
    const x = row[axis];
    if (typeof x !== "number" || !Number.isFinite(x)) continue;
    for (const [key, value] of Object.entries(row)) {
      if (NOT_CURVES.has(key) || typeof value !== "number" || !Number.isFinite(value)) continue;
      points.push({ panel: panelOf(key), series: key, x, value });
    }
  }
  const present = new Set(points.map((p) => p.panel));
  const known = PANELS.map((p) => p.title).filter((t) => present.has(t));
  const others = [...present].filter((t) => !known.includes(t)).sort();
  return { points, panels: [...known, ...others], axis };
}

export interface CurvePanel {
  title: string;
  /** The metric keys drawn in it, in order of first appearance. */
  series: string[];
}

/** The panels a set of rows fills (for charts drawn elsewhere, e.g. the dashboard's live curves). */
export function curvePanels(rows: CurveRow[]): { axis: "step" | "iteration"; panels: CurvePanel[] } {
  const { points, panels } = curvePoints(rows);
  const series = new Map<string, string[]>(panels.map((p) => [p, []]));
  for (const p of points) {
    const list = series.get(p.panel) as string[];
    if (!list.includes(p.series)) list.push(p.series);
  }
  return {
    axis: curveAxis(rows),
    panels: panels.map((title) => ({ title, series: series.get(title) ?? [] })),
  };
}

/** The vega-lite spec: one panel per metric group, each with its own y scale, three panels to a row. */
export function curvesSpec(rows: CurveRow[], options: { title?: string } = {}): TopLevelSpec {
  const { points, panels, axis } = curvePoints(rows);
  const encoding = {
    x: { field: "x", type: "quantitative", title: axis },
    y: { field: "value", type: "quantitative", title: null, scale: { zero: false } },
    color: { field: "series", type: "nominal", title: null },
    tooltip: [
      { field: "series", type: "nominal" },
      { field: "x", type: "quantitative", title: axis },
      { field: "value", type: "quantitative", format: ".4~g" },
    ],
  } as const;
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(options.title ? { title: options.title } : {}),
    background: "white",
    config: { font: "sans-serif", axis: { labelFontSize: 10, titleFontSize: 10 } },
    data: { values: points },
    facet: { field: "panel", type: "nominal", sort: panels, title: null, header: { labelFontSize: 12 } },
    columns: 3,
    spec: {
      width: 240,
      height: 150,
      layer: [
        { name: CURVE_MARKS.lines, mark: { type: "line", strokeWidth: 1.5 }, encoding },
        { name: CURVE_MARKS.points, mark: { type: "point", filled: true, size: 12 }, encoding },
      ],
    },
    resolve: { scale: { y: "independent", x: "independent" } },
  } as TopLevelSpec;
}

/** Rows drawn at most per chart: a long run's SVG stays small and quick to render at every checkpoint. */
export const MAX_CURVE_ROWS = 1000;

/**
 * Every k-th row of a long log (k chosen so at most `max` remain), always keeping the last row and every row with
 * an evaluation figure (those are few and each matters).
 */
export function thinRows(rows: CurveRow[], max = MAX_CURVE_ROWS): CurveRow[] {
  if (rows.length <= max) return rows;
  const stride = Math.ceil(rows.length / max);
  return rows.filter(
    (row, i) =>
      i % stride === 0 || i === rows.length - 1 || Object.keys(row).some((k) => k.startsWith("eval_")),
  );
}

/** The curves as an SVG document (a note instead of panels when nothing was logged yet); long logs are thinned. */
export async function renderCurves(allRows: CurveRow[], options: { title?: string } = {}): Promise<string> {
  const rows = thinRows(allRows);
  if (curvePoints(rows).points.length === 0) {
    return renderVegaLite({
      data: { values: [{ text: "no metrics logged yet" }] },
      mark: { type: "text", fontSize: 13 },
      encoding: { text: { field: "text" } },
      background: "white",
    } as TopLevelSpec);
  }
  return renderVegaLite(curvesSpec(rows, options));
}
