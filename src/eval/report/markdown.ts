// The Markdown summary of one evaluation run: identity, settings, metric tables, judge agreement (pooled, and per
// benchmark with the answers the judges disagree on).
import { type BenchmarkDisagreements, benchmarkDisagreements } from "../metrics/judgeDisagreements.js";
import type {
  AnswererIdentity,
  EvalResults,
  GenerationSettings,
  JudgeAgreement,
  JudgeIdentity,
  MetricResult,
  SampleRecord,
} from "../results.js";
import { attackMarkdown } from "./attackReport.js";
import { formatEstimate, formatInterval, formatValue, headlineMetric, metricLabel } from "./headline.js";

/**
 * Text from the data made inert in Markdown: table pipes, emphasis, code, links and raw HTML would
 * otherwise be interpreted by the renderer (names and settings come from user files).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\r?\n|\r/g, " ")
    .replace(/[\\`*[\]|]/g, (c) => `\\${c}`)
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

function row(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

/** A Markdown table; `right` marks the columns holding numbers. */
function table(header: string[], rows: string[][], right: boolean[] = []): string {
  const rule = header.map((_, i) => (right[i] ? "---:" : "---"));
  return [row(header), row(rule), ...rows.map(row)].join("\n");
}

export function describeAnswerer(a: AnswererIdentity): string {
  if (a.kind === "local") {
    const adapter = a.adapter !== undefined ? `, adapter ${a.adapter}` : "";
    return `local model ${a.path}${adapter} (${a.dtype})`;
  }
  if (a.urls && a.urls.length > 1) return `endpoints ${a.urls.join(", ")}, model ${a.apiModel}`;
  return `endpoint ${a.url}, model ${a.apiModel}`;
}

/** The generation settings as "name value" pairs, in the order people read them. */
export function generationPairs(g: GenerationSettings): [string, string][] {
  const pairs: [string, string][] = [
    ["max new tokens", String(g.maxNewTokens)],
    ["temperature", String(g.temperature)],
  ];
  if (g.topP !== undefined) pairs.push(["top-p", String(g.topP)]);
  pairs.push(["seed", String(g.seed)], ["template", g.template], ["batch size", String(g.batchSize)]);
  if (g.system !== undefined) pairs.push(["system prompt", JSON.stringify(g.system)]);
  return pairs;
}

export function describeJudge(j: JudgeIdentity, primary?: string): string {
  const detail = Object.entries(j.detail)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(", ");
  const star = j.name === primary ? ", primary" : "";
  return `${j.name} (${j.kind}${star}${detail ? `; ${detail}` : ""})`;
}

function unparsedText(m: MetricResult): string {
  return m.unparsed === undefined ? "–" : String(m.unparsed);
}

/** Per-category metrics pivoted: a row per category, a column per (metric, judge). */
function categoryTable(metrics: MetricResult[]): string | undefined {
  const perCategory = metrics.filter((m) => m.category !== undefined);
  if (perCategory.length === 0) return undefined;
  const columns: { metric: string; judge?: string }[] = [];
  const categories: string[] = [];
  for (const m of perCategory) {
    if (!columns.some((c) => c.metric === m.metric && c.judge === m.judge)) {
      columns.push({ metric: m.metric, ...(m.judge !== undefined ? { judge: m.judge } : {}) });
    }
    if (!categories.includes(m.category ?? "")) categories.push(m.category ?? "");
  }
  const header = [
    "category",
    ...columns.map((c) => escapeMarkdown(c.judge ? `${c.metric} (${c.judge})` : c.metric)),
  ];
  const rows = categories.map((cat) => [
    escapeMarkdown(cat),
    ...columns.map((c) => {
      const m = perCategory.find((x) => x.category === cat && x.metric === c.metric && x.judge === c.judge);
      if (!m) return "–";
      const unparsed = m.unparsed ? `, ${m.unparsed} unparsed` : "";
      return `${formatEstimate(m)}${unparsed}`;
    }),
  ]);
  return table(
    header,
    rows,
    header.map((_, i) => i > 0),
  );
}

/** Kappa with two decimals and raw agreement as a percentage; a dash where either is not a number. */
export function agreementCells(
  a: Pick<JudgeAgreement, "kappa" | "agreement" | "n">,
): [string, string, string] {
  return [
    Number.isFinite(a.kappa) ? a.kappa.toFixed(2) : "–",
    Number.isFinite(a.agreement) ? `${(a.agreement * 100).toFixed(1)}%` : "–",
    String(a.n),
  ];
}

/** "safe/unsafe" or "refused/answered": what a benchmark's judges were compared on. */
export function readingName(on: JudgeAgreement["on"]): string {
  return on === "safe" ? "safe/unsafe" : "refused/answered";
}

/** "3 of 120 answers read differently (the first 50 listed)." and its variants. */
export function disagreementCount(d: BenchmarkDisagreements): string {
  if (d.disagreeing === 0) return `The judges agree on all ${d.compared} answers they read.`;
  const listed = d.items.length < d.disagreeing ? ` (the first ${d.items.length} listed)` : "";
  return `${d.disagreeing} of ${d.compared} answers read differently${listed}.`;
}

function benchmarkAgreementSection(d: BenchmarkDisagreements): string[] {
  const out = ["", `### ${escapeMarkdown(d.benchmark)} (${readingName(d.on)})`, ""];
  out.push(
    table(
      ["judge A", "judge B", "Cohen's kappa", "raw agreement", "n"],
      d.agreements.map((a) => [escapeMarkdown(a.judgeA), escapeMarkdown(a.judgeB), ...agreementCells(a)]),
      [false, false, true, true, true],
    ),
  );
  out.push("", disagreementCount(d));
  if (d.items.length === 0) return out;
  out.push(
    "",
    table(
      ["id", "category", "prompt", "answer (excerpt)", ...d.judges.map(escapeMarkdown)],
      d.items.map((item) => [
        escapeMarkdown(item.id),
        escapeMarkdown(item.category ?? "–"),
        escapeMarkdown(item.prompt),
        escapeMarkdown(item.response),
        ...item.verdicts.map((v) => escapeMarkdown(v.text)),
      ]),
    ),
  );
  return out;
}

/**
 * The run's summary. With its samples, the judge-agreement part also has a section per benchmark: each pair's
 * kappa on that benchmark and the answers the judges read differently.
 */
export function markdownSummary(results: EvalResults, samples: readonly SampleRecord[] = []): string {
  const out: string[] = [];
  out.push(`# Evaluation: ${escapeMarkdown(results.name)}`, "");
  out.push(`- Answerer: ${escapeMarkdown(describeAnswerer(results.answerer))}`);
  const gen = generationPairs(results.generation)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  out.push(`- Generation: ${escapeMarkdown(gen)}`);
  if (results.judges.length === 0) out.push("- Judges: none");
  else {
    out.push("- Judges:");
    for (const j of results.judges) out.push(`  - ${escapeMarkdown(describeJudge(j, results.primaryJudge))}`);
  }
  const t = results.timing;
  out.push(
    `- Run: ${escapeMarkdown(results.createdAt)}, safetune ${escapeMarkdown(results.safetuneVersion)}; ` +
      `generation ${t.generationSeconds.toFixed(1)} s, judging ${t.judgeSeconds.toFixed(1)} s, ` +
      `${t.generated} generated, ${t.cached} cached`,
  );

  out.push("", "## Benchmarks", "");
  out.push(
    table(
      ["benchmark", "kind", "items", "source"],
      results.benchmarks.map((b) => [escapeMarkdown(b.name), b.kind, String(b.n), escapeMarkdown(b.source)]),
      [false, false, true, false],
    ),
  );

  out.push("", "## Results", "");
  out.push("Headline metric of each benchmark in bold; intervals are 95% bootstrap intervals.", "");
  const rows: string[][] = [];
  for (const b of results.benchmarks) {
    const head = headlineMetric(b, results.primaryJudge);
    for (const m of b.metrics) {
      if (m.category !== undefined) continue;
      const value = formatValue(m);
      rows.push([
        escapeMarkdown(b.name),
        escapeMarkdown(m.metric),
        escapeMarkdown(m.judge ?? "–"),
        m === head ? `**${value}**` : value,
        formatInterval(m),
        String(m.estimate.n),
        unparsedText(m),
      ]);
    }
  }
  out.push(
    table(["benchmark", "metric", "judge", "value", "95% interval", "n", "unparsed"], rows, [
      false,
      false,
      false,
      true,
      true,
      true,
      true,
    ]),
  );

  for (const b of results.benchmarks) {
    const cats = categoryTable(b.metrics);
    if (!cats) continue;
    const head = headlineMetric(b, results.primaryJudge);
    const label = head ? ` (headline: ${metricLabel(head.metric)})` : "";
    out.push("", `## Categories: ${escapeMarkdown(b.name)}${escapeMarkdown(label)}`, "", cats);
  }

  out.push(...attackMarkdown(results, escapeMarkdown));

  out.push("", "## Judge agreement", "");
  if (results.agreements.length === 0) out.push("No two judges labelled the same answers.");
  else {
    out.push("Pooled over the run's benchmarks:", "");
    out.push(
      table(
        ["judge A", "judge B", "on", "Cohen's kappa", "raw agreement", "n"],
        results.agreements.map((a) => [
          escapeMarkdown(a.judgeA),
          escapeMarkdown(a.judgeB),
          a.on,
          ...agreementCells(a),
        ]),
        [false, false, false, true, true, true],
      ),
    );
  }
  const judges = results.judges.map((j) => j.name);
  for (const d of benchmarkDisagreements(results.benchmarks, samples, judges))
    out.push(...benchmarkAgreementSection(d));
  return `${out.join("\n")}\n`;
}
