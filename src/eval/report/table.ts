// The paper-style comparison table: one row per run, one column per benchmark, headline metrics in cells.
import type { BenchmarkResult, EvalResults, MetricResult } from "../results.js";
import { estimateText, headlineMetric, metricLabel, pickMetric } from "./headline.js";
import { escapeMarkdown } from "./markdown.js";

export interface ComparisonOptions {
  format: "markdown" | "csv";
  /** Show 95% intervals (markdown: "91.0 [87.2, 94.1]"; CSV: low/high columns). Default true. */
  withIntervals?: boolean;
  /**
   * Seeds behind each row (runs[i] a seed group's summary): adds an "n seeds" column after the name. The cells
   * are then means over seeds with two-level intervals (see metrics/seedGroups.ts).
   */
  seedCounts?: readonly number[];
}

const MISSING = "–";

interface Column {
  benchmark: string;
  /** The headline metric of the first run that has the benchmark: the column's unit. */
  metric: string;
}

interface Cell {
  value: string;
  low: string;
  high: string;
  /** " (reward)" when the cell holds another metric than its column's. */
  note: string;
}

/**
 * The column's metric when the run has it, so a column keeps one unit; otherwise the run's own headline,
 * marked with its label so a different unit is never read as the column's.
 */
function cellFor(b: BenchmarkResult | undefined, column: Column, run: EvalResults): Cell | undefined {
  if (!b) return undefined;
  const same = pickMetric(b, column.metric, run.primaryJudge);
  const m: MetricResult | undefined = same ?? headlineMetric(b, run.primaryJudge);
  if (!m) return undefined;
  const t = estimateText(m);
  const note = m.metric === column.metric ? "" : ` (${metricLabel(m.metric)})`;
  return { value: t.value, low: t.low, high: t.high, note };
}

function columnsOf(runs: EvalResults[]): Column[] {
  const columns: Column[] = [];
  const seen = new Set<string>();
  for (const run of runs) {
    for (const b of run.benchmarks) {
      if (seen.has(b.name)) continue;
      const m = headlineMetric(b, run.primaryJudge);
      // A benchmark without a headline here may get one from a later run, which then names the unit.
      if (!m) continue;
      seen.add(b.name);
      columns.push({ benchmark: b.name, metric: m.metric });
    }
  }
  return columns;
}

/** RFC 4180 quoting: only fields that need it, with inner quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function comparisonTable(runs: EvalResults[], options: ComparisonOptions): string {
  const withIntervals = options.withIntervals ?? true;
  const columns = columnsOf(runs);
  const cells = runs.map((run) =>
    columns.map((c) =>
      cellFor(
        run.benchmarks.find((b) => b.name === c.benchmark),
        c,
        run,
      ),
    ),
  );
  const title = (c: Column) => `${c.benchmark} (${metricLabel(c.metric)})`;

  if (options.format === "csv") {
    const header = ["run", ...(options.seedCounts ? ["n seeds"] : [])];
    for (const c of columns) {
      header.push(title(c));
      if (withIntervals) header.push(`${title(c)} low`, `${title(c)} high`);
    }
    const lines = [header];
    runs.forEach((run, i) => {
      const line = [run.name, ...(options.seedCounts ? [String(options.seedCounts[i] ?? 1)] : [])];
      for (const cell of cells[i] ?? []) {
        // Empty, not "–": spreadsheets and data-frame readers take an empty field as missing.
        const csv = (x: string | undefined) => (x === undefined || x === MISSING ? "" : x);
        line.push(cell && cell.value !== MISSING ? `${cell.value}${cell.note}` : "");
        if (withIntervals) line.push(csv(cell?.low), csv(cell?.high));
      }
      lines.push(line);
    });
    return `${lines.map((l) => l.map(csvField).join(",")).join("\n")}\n`;
  }

  const seeds = options.seedCounts;
  const header = ["run", ...(seeds ? ["n seeds"] : []), ...columns.map((c) => escapeMarkdown(title(c)))];
  const rule = ["---", ...(seeds ? ["---:"] : []), ...columns.map(() => "---:")];
  const rows = runs.map((run, i) => [
    escapeMarkdown(run.name),
    ...(seeds ? [String(seeds[i] ?? 1)] : []),
    ...(cells[i] ?? []).map((cell) => {
      if (!cell || cell.value === MISSING) return MISSING;
      const interval = withIntervals ? ` [${cell.low}, ${cell.high}]` : "";
      return `${cell.value}${interval}${escapeMarkdown(cell.note)}`;
    }),
  ]);
  return `${[header, rule, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n")}\n`;
}
