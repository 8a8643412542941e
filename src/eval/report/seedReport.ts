// Runs over seeds in reports: the comparison table of seed groups (means over seeds, two-level intervals, n seeds),
// the between-seed spread, and the computed conclusions, in Markdown and HTML.
import type { BootstrapOptions } from "../metrics/bootstrap.js";
import {
  type ComparisonSpec,
  type Conclusion,
  computeConclusions,
  FAMILY_ALPHA,
} from "../metrics/conclusions.js";
import {
  type GroupSummary,
  groupBySeed,
  groupMetricKey,
  type SeedRun,
  summarizeGroup,
} from "../metrics/seedGroups.js";
import { checkTargets, type TargetCheck, type TargetSpec } from "../metrics/targets.js";
import { conclusionSentence, conclusionsNote } from "./conclusionText.js";
import { headlineMetric, isRateMetric, metricLabel } from "./headline.js";
import { escapeMarkdown } from "./markdown.js";
import { comparisonTable } from "./table.js";
import { targetLines } from "./targetText.js";

export interface SeedReport {
  summaries: GroupSummary[];
  conclusions: Conclusion[];
  /** Each run's means against the requested targets (empty when none were requested). */
  targets: TargetCheck[];
}

/**
 * Groups the runs by name over seeds, summarizes each group, computes the requested comparisons and checks the
 * requested targets.
 */
export function seedReport(
  runs: readonly SeedRun[],
  comparisons: readonly ComparisonSpec[] = [],
  options: Omit<BootstrapOptions, "confidence"> = {},
  targets: readonly TargetSpec[] = [],
): SeedReport {
  const groups = groupBySeed(runs);
  return {
    summaries: groups.map((g) => summarizeGroup(g, options)),
    conclusions: computeConclusions(groups, comparisons),
    targets: checkTargets(groups, targets),
  };
}

/** The comparison table of the groups: one row per group with its number of seeds. */
export function seedGroupTable(
  report: SeedReport,
  options: { format: "markdown" | "csv"; withIntervals?: boolean },
): string {
  return comparisonTable(
    report.summaries.map((s) => s.results),
    { ...options, seedCounts: report.summaries.map((s) => Math.max(1, s.seeds.length)) },
  );
}

/** "1.8 (95.0–98.5)": a headline's between-seed sd and range, rates in points. */
function spreadText(summary: GroupSummary, benchmark: string): string | undefined {
  const b = summary.results.benchmarks.find((x) => x.name === benchmark);
  const head = b && headlineMetric(b, summary.results.primaryJudge);
  const g = head && summary.metrics.get(groupMetricKey(benchmark, head.metric, head.judge));
  if (!head || !g) return undefined;
  const scale = isRateMetric(head.metric) ? 100 : 1;
  const f = (x: number) => (x * scale).toFixed(scale === 100 ? 1 : 3);
  return `${f(g.estimate.sd)} (${f(g.estimate.min)}–${f(g.estimate.max)})`;
}

/** Rows of the between-seed spread: groups of several seeds, each benchmark's headline sd (min–max). */
function spreadRows(report: SeedReport): { header: string[]; rows: string[][] } | undefined {
  const seeded = report.summaries.filter((s) => s.seeds.length > 1);
  if (seeded.length === 0) return undefined;
  const columns: { benchmark: string; metric: string }[] = [];
  for (const s of seeded)
    for (const b of s.results.benchmarks) {
      const head = headlineMetric(b, s.results.primaryJudge);
      if (head && !columns.some((c) => c.benchmark === b.name))
        columns.push({ benchmark: b.name, metric: head.metric });
    }
  const header = ["run", "seeds", ...columns.map((c) => `${c.benchmark} (${metricLabel(c.metric)})`)];
  const rows = seeded.map((s) => [
    s.name,
    s.seeds.join(", "),
    ...columns.map((c) => spreadText(s, c.benchmark) ?? "–"),
  ]);
  return { header, rows };
}

const SPREAD_NOTE =
  "Between seeds: the standard deviation of the seeds' own values, and their lowest and highest, in the table's units.";

/** The Markdown of the groups: table, between-seed spread, conclusions (sections present when they have content). */
export function seedReportMarkdown(report: SeedReport, options: { withIntervals?: boolean } = {}): string {
  const out = [seedGroupTable(report, { format: "markdown", ...options }).trimEnd()];
  const multi = report.summaries.some((s) => s.seeds.length > 1);
  if (multi)
    out.push(
      "",
      "Cells: mean over seeds [95% two-level bootstrap interval: seeds, then prompts]; a run of one seed shows its prompt-bootstrap interval.",
    );
  const spread = spreadRows(report);
  if (spread) {
    const e = (r: string[]) => `| ${r.map(escapeMarkdown).join(" | ")} |`;
    out.push(
      "",
      SPREAD_NOTE,
      "",
      e(spread.header),
      `|${spread.header.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`,
      ...spread.rows.map(e),
    );
  }
  if (report.conclusions.length > 0) out.push("", conclusionsMarkdown(report.conclusions).trimEnd());
  if (report.targets.length > 0) out.push("", targetsMarkdown(report.targets).trimEnd());
  return `${out.join("\n")}\n`;
}

/** "## Targets": each run's means against the targets, and which runs meet them all. */
export function targetsMarkdown(targets: readonly TargetCheck[]): string {
  if (targets.length === 0) return "";
  const lines = targetLines(targets).map(escapeMarkdown);
  const verdict = lines.pop() ?? "";
  return `${["## Targets", "", ...lines.map((l) => `- ${l}`), "", verdict].join("\n")}\n`;
}

/**
 * The seed counts and p-value after a sentence: "(3 and 3 seeds, adjusted p = 0.042)". The p-value is the one the
 * verdict rests on: Bonferroni-adjusted for the report's number of comparisons, so it is below 0.05 exactly when the
 * sentence says the difference is significant.
 */
function detail(c: Conclusion): string {
  const p = c.adjustedPValue;
  const seeds = (xs: number[]) => Math.max(1, xs.length);
  const label = Math.round(FAMILY_ALPHA / (1 - c.confidence)) > 1 ? "adjusted p" : "t-test p";
  return `(${seeds(c.seedsA)} and ${seeds(c.seedsB)} seeds, ${label} ${p < 0.001 ? "< 0.001" : `= ${p.toFixed(3)}`})`;
}

/** "## Conclusions": one sentence per comparison, then what the numbers are. */
export function conclusionsMarkdown(conclusions: readonly Conclusion[]): string {
  if (conclusions.length === 0) return "";
  const lines = ["## Conclusions", ""];
  for (const c of conclusions) lines.push(`- ${conclusionSentence(c, escapeMarkdown)} ${detail(c)}`);
  lines.push("", conclusionsNote(conclusions));
  return `${lines.join("\n")}\n`;
}

/** The conclusions as plain lines, for a terminal. */
export function conclusionsText(conclusions: readonly Conclusion[]): string {
  if (conclusions.length === 0) return "";
  const lines = ["Conclusions:", ...conclusions.map((c) => `- ${conclusionSentence(c)} ${detail(c)}`)];
  return `${lines.join("\n")}\n${conclusionsNote(conclusions)}\n`;
}

/** The HTML section of seeds and conclusions ("" when there is neither a multi-seed group nor a comparison). */
export function seedReportHtml(report: SeedReport, escapeHtml: (s: string) => string): string {
  const parts: string[] = [];
  const spread = spreadRows(report);
  if (spread) {
    const th = spread.header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
    const trs = spread.rows
      .map(
        (r) =>
          `<tr>${r.map((x, i) => `<td${i >= 2 ? ' class="num"' : ""}>${escapeHtml(x)}</td>`).join("")}</tr>`,
      )
      .join("\n");
    parts.push(
      `<p>${escapeHtml(SPREAD_NOTE)}</p>\n<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`,
    );
  }
  if (report.conclusions.length > 0) {
    const items = report.conclusions
      .map((c) => `<li>${escapeHtml(`${conclusionSentence(c)} ${detail(c)}`)}</li>`)
      .join("\n");
    parts.push(
      `<h3>Conclusions</h3>\n<ul class="conclusions">\n${items}\n</ul>\n<p>${escapeHtml(conclusionsNote(report.conclusions))}</p>`,
    );
  }
  if (report.targets.length > 0) {
    const lines = targetLines(report.targets);
    const verdict = lines.pop() ?? "";
    parts.push(
      `<h3>Targets</h3>\n<ul class="targets">\n${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join("\n")}\n</ul>\n<p>${escapeHtml(verdict)}</p>`,
    );
  }
  if (parts.length === 0) return "";
  return `<section id="seeds"><h2>Seeds and conclusions</h2>\n${parts.join("\n")}</section>`;
}
