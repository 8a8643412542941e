// `safetune report table RUN...`: the paper-style comparison table; `safetune report html RUN`: rebuild a report.
import { appendFileSync, writeFileSync } from "node:fs";
import type { ComparisonSpec } from "../../eval/metrics/conclusions.js";
import { htmlReport } from "../../eval/report/html.js";
import { seedGroupTable, seedReport, seedReportMarkdown } from "../../eval/report/seedReport.js";
import { writeRunFiles } from "../../eval/runEval.js";
import { readResults, readSamples } from "../../eval/runFiles.js";
import { readSeedRun } from "../../eval/seedRuns.js";
import { parseCommandArgs } from "../args.js";
import { UsageError } from "../errors.js";

export const reportHelp = `safetune report table RUN... [--format markdown|csv] [--no-intervals] [--compare A,B,BENCHMARK[,METRIC]]... [--out FILE]
safetune report html RUN [--compare-with RUN]... [--compare A,B,BENCHMARK[,METRIC]]...

table   one row per run, one column per benchmark, each cell the benchmark's headline number (safe-response rate
        on harmful sets, over-refusal on benign ones, task accuracy, win rate or reward on reference sets) with its
        95% interval. Runs of one name with different seeds (results.json "seed") are one row: the mean over seeds
        with a two-level bootstrap interval (seeds, then prompts), "n seeds", and the spread between seeds.
        --compare A,B,BENCHMARK[,METRIC] states A − B over seeds as a computed conclusion (repeatable; intervals
        Bonferroni-adjusted for the number of comparisons; significant when the interval excludes 0)
html    rewrites RUN's report.md and report.html from its results.json and samples.jsonl, drawing the other runs
        in the safety-vs-helpfulness chart (seed groups as their means over seeds, with the between-seed spread);
        --compare adds computed conclusions as in table`;

export async function reportCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    console.log(reportHelp);
    return;
  }
  if (sub === "table") {
    const { values, positionals } = parseCommandArgs(
      rest,
      {
        format: { type: "string" },
        "no-intervals": { type: "boolean" },
        out: { type: "string" },
        compare: { type: "string", multiple: true },
      },
      "report table",
      { positionals: true },
    );
    if (values.help) return void console.log(reportHelp);
    if (positionals.length === 0) throw new UsageError("report table: name at least one run folder");
    const format = values.format ?? "markdown";
    if (format !== "markdown" && format !== "csv")
      throw new UsageError(`--format: expected markdown or csv, got '${format}'`);
    const comparisons = (values.compare ?? []).map(parseComparison);
    const report = seedReport(positionals.map(readSeedRun), comparisons);
    const withIntervals = !values["no-intervals"];
    const table =
      format === "csv"
        ? seedGroupTable(report, { format, withIntervals })
        : seedReportMarkdown(report, { withIntervals });
    if (values.out) writeFileSync(values.out, table);
    process.stdout.write(table.endsWith("\n") ? table : `${table}\n`);
    return;
  }
  if (sub === "html") {
    const { values, positionals } = parseCommandArgs(
      rest,
      { "compare-with": { type: "string", multiple: true }, compare: { type: "string", multiple: true } },
      "report html",
      { positionals: true },
    );
    if (values.help) return void console.log(reportHelp);
    if (positionals.length !== 1) throw new UsageError("report html: name exactly one run folder");
    const run = positionals[0] as string;
    const comparisons = (values.compare ?? []).map(parseComparison);
    const others = (values["compare-with"] ?? []).map(readSeedRun);
    if (comparisons.length === 0 && others.every((o) => o.results.seed === undefined)) {
      const files = await writeRunFiles(
        run,
        readResults(run),
        readSamples(run),
        others.map((o) => o.results),
      );
      console.log(`wrote ${files.markdown}, ${files.html}`);
      return;
    }
    // Seed groups among the runs, or conclusions asked for: the chart shows the other groups' means over seeds,
    // and both reports gain the between-seed spread and the conclusions.
    const self = readSeedRun(run);
    const samples = readSamples(run);
    const report = seedReport([self, ...others], comparisons);
    const groups = report.summaries.filter((g) => g.name !== self.results.name).map((g) => g.results);
    const files = await writeRunFiles(run, self.results, samples, groups);
    writeFileSync(
      files.html,
      await htmlReport({ results: self.results, samples, runs: groups, seeds: report }),
    );
    appendFileSync(files.markdown, `\n## Runs over seeds\n\n${seedReportMarkdown(report)}`);
    console.log(`wrote ${files.markdown}, ${files.html}`);
    return;
  }
  throw new UsageError(`report: unknown subcommand '${sub}' (expected: table, html)`);
}

/** "DPO,RAFT,harmful" or "DPO,RAFT,harmful,safe_response_rate": A against B on a benchmark (and metric). */
function parseComparison(text: string): ComparisonSpec {
  const parts = text.split(",").map((p) => p.trim());
  const [a, b, benchmark, metric] = parts;
  if (parts.length < 3 || parts.length > 4 || !a || !b || !benchmark || metric === "")
    throw new UsageError(
      `--compare: expected A,B,BENCHMARK[,METRIC] (run names, a benchmark), got '${text}'`,
    );
  return { a, b, benchmark, ...(metric === undefined ? {} : { metric }) };
}
