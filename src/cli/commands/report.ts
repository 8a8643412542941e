// `safetune report table RUN...`: the paper-style comparison table; `safetune report html RUN`: rebuild a report.
import { writeFileSync } from "node:fs";
import { comparisonTable } from "../../eval/report/table.js";
import { writeRunFiles } from "../../eval/runEval.js";
import { readResults, readSamples } from "../../eval/runFiles.js";
import { parseCommandArgs } from "../args.js";
import { UsageError } from "../errors.js";

export const reportHelp = `safetune report table RUN... [--format markdown|csv] [--no-intervals] [--out FILE]
safetune report html RUN [--compare-with RUN]...

table   one row per run, one column per benchmark, each cell the benchmark's headline number (safe-response rate
        on harmful sets, over-refusal on benign ones, win rate or reward on reference sets) with its 95% interval
html    rewrites RUN's report.md and report.html from its results.json and samples.jsonl, drawing the other runs
        in the safety-vs-helpfulness chart`;

export async function reportCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    console.log(reportHelp);
    return;
  }
  if (sub === "table") {
    const { values, positionals } = parseCommandArgs(
      rest,
      { format: { type: "string" }, "no-intervals": { type: "boolean" }, out: { type: "string" } },
      "report table",
      { positionals: true },
    );
    if (values.help) return void console.log(reportHelp);
    if (positionals.length === 0) throw new UsageError("report table: name at least one run folder");
    const format = values.format ?? "markdown";
    if (format !== "markdown" && format !== "csv")
      throw new UsageError(`--format: expected markdown or csv, got '${format}'`);
    const table = comparisonTable(
      positionals.map((run) => readResults(run)),
      { format, withIntervals: !values["no-intervals"] },
    );
    if (values.out) writeFileSync(values.out, table);
    process.stdout.write(table.endsWith("\n") ? table : `${table}\n`);
    return;
  }
  if (sub === "html") {
    const { values, positionals } = parseCommandArgs(
      rest,
      { "compare-with": { type: "string", multiple: true } },
      "report html",
      { positionals: true },
    );
    if (values.help) return void console.log(reportHelp);
    if (positionals.length !== 1) throw new UsageError("report html: name exactly one run folder");
    const run = positionals[0] as string;
    const files = await writeRunFiles(
      run,
      readResults(run),
      readSamples(run),
      (values["compare-with"] ?? []).map((r) => readResults(r)),
    );
    console.log(`wrote ${files.markdown}, ${files.html}`);
    return;
  }
  throw new UsageError(`report: unknown subcommand '${sub}' (expected: table, html)`);
}
