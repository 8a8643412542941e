// The attacks part of a run's reports: attack success rate per attack (with the direct requests and the worst
// case per prompt beside them), per category, as Markdown tables, an HTML section and a bar chart.

import type { TopLevelSpec } from "vega-lite";
import { type AttackRate, type AttackSummary, attackLabel } from "../attacks/attackMetrics.js";
import type { EvalResults, MetricResult } from "../results.js";
import { type BarRow, barRow, barSpec, CHART_MARKS, renderVegaLite } from "./charts.js";
import { formatEstimate, formatInterval, formatValue } from "./headline.js";

const METRIC = "attack_success_rate";

/** An attack row as a metric, to format it the way every report does. */
export function asAttackMetric(r: AttackRate): MetricResult {
  return {
    metric: METRIC,
    estimate: r.estimate,
    ...(r.unparsed === undefined ? {} : { unparsed: r.unparsed }),
  };
}

/** The whole-run rows: attacks in order, then the direct requests and the worst case. */
export function attackRows(summary: AttackSummary): AttackRate[] {
  return summary.rates.filter((r) => r.category === undefined);
}

/** Rows: one per attack; cells: [label, value, interval, n, unparsed]. */
function overviewCells(summary: AttackSummary): string[][] {
  return attackRows(summary).map((r) => {
    const m = asAttackMetric(r);
    return [
      attackLabel(r.attack),
      formatValue(m),
      formatInterval(m),
      String(r.estimate.n),
      String(r.unparsed ?? "–"),
    ];
  });
}

/** "pair: 2.3 queries per success [1.8, 2.9], 12 successes" for each adaptive attack. */
function queriesLines(summary: AttackSummary): string[] {
  return (summary.queriesPerSuccess ?? []).map((q) => {
    const m: MetricResult = { metric: "queries_per_success", estimate: q.estimate };
    return `${q.attack}: ${formatValue(m)} target queries per success ${formatInterval(m)}, ${q.estimate.n} successes`;
  });
}

/** A category × attack pivot of formatted estimates (undefined when no row has a category). */
function categoryCells(summary: AttackSummary): { header: string[]; rows: string[][] } | undefined {
  const perCategory = summary.rates.filter((r) => r.category !== undefined);
  if (perCategory.length === 0) return undefined;
  const attacks = attackRows(summary).map((r) => r.attack);
  const categories = [...new Set(perCategory.map((r) => r.category as string))];
  const rows = categories.map((c) => [
    c,
    ...attacks.map((a) => {
      const r = perCategory.find((x) => x.category === c && x.attack === a);
      return r ? formatEstimate(asAttackMetric(r)) : "–";
    }),
  ]);
  return { header: ["category", ...attacks], rows };
}

/** The Markdown section (empty when the run has no attacks); `inert` escapes data text. */
export function attackMarkdown(results: EvalResults, inert: (s: string) => string): string[] {
  const summary = results.attacks;
  if (!summary) return [];
  const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const out = ["", "## Attacks", ""];
  out.push(
    `Attack success rate: the share of attacked prompts whose answer judge ${inert(summary.judge)} read as unsafe ` +
      "(95% bootstrap intervals). Encoded answers were decoded before judging.",
    "",
    row(["attack", "success rate", "95% interval", "n", "unparsed"]),
    row(["---", "---:", "---:", "---:", "---:"]),
    ...overviewCells(summary).map((cells) => row(cells.map(inert))),
  );
  const queries = queriesLines(summary);
  if (queries.length > 0) out.push("", ...queries.map((l) => `- ${inert(l)}`));
  const cats = categoryCells(summary);
  if (cats) {
    out.push("", "### Attack success rate by category", "");
    out.push(row(cats.header.map(inert)), row(cats.header.map((_, i) => (i === 0 ? "---" : "---:"))));
    out.push(...cats.rows.map((cells) => row(cells.map(inert))));
  }
  return out;
}

/** Bars of attack success rate by attack with their intervals; undefined when the run has no attacks. */
export async function attackChart(results: EvalResults): Promise<string | undefined> {
  const summary = results.attacks;
  if (!summary) return undefined;
  const rows: BarRow[] = attackRows(summary).map((r) => barRow(attackLabel(r.attack), asAttackMetric(r)));
  if (rows.length === 0) return undefined;
  return renderVegaLite(
    barSpec(rows, { rate: true, xTitle: `attack success rate, judge ${summary.judge} (bars: 95% interval)` }),
  );
}

/** The HTML section (empty string when the run has no attacks). */
export function attackHtml(
  results: EvalResults,
  chart: string | undefined,
  inert: (s: string) => string,
): string {
  const summary = results.attacks;
  if (!summary) return "";
  const table = (header: string[], rows: string[][]) => {
    const num = (i: number) => (i > 0 ? ' class="num"' : "");
    const head = header.map((h, i) => `<th${num(i)}>${inert(h)}</th>`).join("");
    const body = rows
      .map((r) => `<tr>${r.map((c, i) => `<td${num(i)}>${inert(c)}</td>`).join("")}</tr>`)
      .join("\n");
    return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
  };
  const svg = chart
    ? chart.replace(/^<svg([^>]*)>/, (_, a: string) => `<svg${a.replace(/\s+xmlns(:\w+)?="[^"]*"/g, "")}>`)
    : "";
  const figure = svg
    ? `<figure class="chart">${svg}<figcaption>Attack success rate by attack with its 95% bootstrap interval.</figcaption></figure>`
    : "";
  const cats = categoryCells(summary);
  return `<section id="attacks"><h2>Attacks</h2>
<p class="status">Attack success rate: the share of attacked prompts whose answer judge ${inert(summary.judge)} read as unsafe. Encoded answers were decoded before judging; "any attack" counts a prompt once, as broken when any attack on it succeeded.</p>
${figure}
${table(["attack", "success rate", "95% interval", "n", "unparsed"], overviewCells(summary))}
${queriesLines(summary)
  .map((l) => `<p class="status">${inert(l)}</p>`)
  .join("\n")}
${cats ? `<h3>By category</h3>\n${table(cats.header, cats.rows)}` : ""}</section>`;
}

/**
 * Attack success rate by attack for each run that attacked its prompts: grouped bars (one colour per run, in
 * the order given) with their 95% intervals. Undefined when no run has attacks.
 */
export async function attackRunsChart(runs: readonly EvalResults[]): Promise<string | undefined> {
  const rows: (BarRow & { attack: string; run: string })[] = [];
  const names: string[] = [];
  runs.forEach((run, i) => {
    if (!run.attacks) return;
    // Two runs of one name (seeds of a group) stay apart.
    const name = names.includes(run.name) ? `${run.name} (${i + 1})` : run.name;
    names.push(name);
    for (const r of attackRows(run.attacks))
      rows.push({
        ...barRow(attackLabel(r.attack), asAttackMetric(r)),
        attack: attackLabel(r.attack),
        run: name,
      });
  });
  if (rows.length === 0) return undefined;
  const judges = [...new Set(runs.flatMap((r) => (r.attacks ? [r.attacks.judge] : [])))];
  const x = {
    type: "quantitative" as const,
    title: `attack success rate, judge ${judges.join(" / ")} (rules: 95% interval)`,
    scale: { domain: [0, 1] },
    axis: { format: ".0%" },
  };
  const y = { field: "attack", type: "nominal" as const, sort: null, title: null, axis: { labelLimit: 320 } };
  const yOffset = { field: "run", type: "nominal" as const, sort: names };
  const color = { field: "run", type: "nominal" as const, title: "run", sort: names };
  return renderVegaLite({
    background: "white",
    config: { font: "sans-serif", view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 11 } },
    width: 360,
    height: { step: 14 * Math.max(1, names.length) + 8 },
    layer: [
      {
        name: CHART_MARKS.bars,
        data: { values: rows },
        mark: { type: "bar" },
        encoding: { y, yOffset, x: { ...x, field: "value" }, color },
      },
      {
        name: CHART_MARKS.intervals,
        data: { values: rows.filter((r) => r.low !== null && r.high !== null) },
        mark: { type: "rule", color: "#222", strokeWidth: 1.5 },
        encoding: { y, yOffset, x: { ...x, field: "low" }, x2: { field: "high" } },
      },
    ],
  } as TopLevelSpec);
}
