// The HTML report of one evaluation run: one self-contained file (inline CSS, JS and SVG, no URLs).
import { createHash } from "node:crypto";
import {
  type BenchmarkDisagreements,
  type BinaryReading,
  benchmarkDisagreements,
  judgesDisagree,
  readingOf,
} from "../metrics/judgeDisagreements.js";
import type { EvalResults, MetricResult, SampleRecord } from "../results.js";
import type { BenchmarkKind, Verdict } from "../types.js";
import { attackChart, attackHtml } from "./attackReport.js";
import {
  benchmarkChart,
  categoryChart,
  helpfulnessScore,
  type RunScore,
  safetyHelpfulnessChart,
  safetyScore,
} from "./charts.js";
import { formatEstimate, formatInterval, formatValue, headlineMetric, metricLabel } from "./headline.js";
import {
  agreementCells,
  describeAnswerer,
  describeJudge,
  disagreementCount,
  generationPairs,
  readingName,
} from "./markdown.js";
import { type SeedReport, seedReportHtml } from "./seedReport.js";

/** Sample rows rendered into the page itself, so the first screenfuls read without JavaScript. */
export const INITIAL_SAMPLE_ROWS = 300;

export interface HtmlReportInput {
  results: EvalResults;
  samples: SampleRecord[];
  /** Other runs to place beside this one on the safety-vs-helpfulness chart. */
  runs?: EvalResults[];
  /** Seed groups' spread and computed conclusions (a pipeline's report stage): a "Seeds and conclusions" section. */
  seeds?: SeedReport;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/**
 * JSON safe inside a <script> element: every "<" becomes \u003c (which JSON.parse reads back), so no
 * "</script" or "<!--" from the data can end or re-mode the element; U+2028/9 are escaped for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** An inline SVG without its namespace declarations: HTML puts <svg> in the SVG namespace anyway. */
function inlineSvg(svg: string): string {
  return svg.replace(
    /^<svg([^>]*)>/,
    (_, attrs: string) => `<svg${attrs.replace(/\s+xmlns(:\w+)?="[^"]*"/g, "")}>`,
  );
}

function tag(name: string, content: string, attrs = ""): string {
  return `<${name}${attrs ? ` ${attrs}` : ""}>${content}</${name}>`;
}

function table(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const cls = (i: number) => (numeric[i] ? ' class="num"' : "");
  const head = header.map((h, i) => `<th${cls(i)}>${h}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join("")}</tr>`).join("\n");
  return `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function figure(svg: string | undefined, caption: string): string {
  if (!svg) return "";
  return `<figure class="chart">${inlineSvg(svg)}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

// ---- samples ----------------------------------------------------------------------------------------

/** What the page needs of one judge's verdict: its text, a colour class, and the filter keys it matches. */
interface VerdictView {
  text: string;
  cls: string;
  keys: string[];
}

function verdictView(v: Verdict | undefined): VerdictView {
  if (!v) return { text: "", cls: "none", keys: [] };
  if (v.error !== undefined) return { text: `unparsed: ${v.error}`, cls: "error", keys: ["unparsed"] };
  const parts: string[] = [];
  const keys: string[] = [];
  if (v.label !== undefined) {
    parts.push(v.label);
    // A label that merely restates the safe/refused reading would duplicate that filter option.
    if (!["safe", "unsafe", "refused", "answered"].includes(v.label)) keys.push(`label ${v.label}`);
  }
  if (v.safe !== undefined) {
    const s = v.safe ? "safe" : "unsafe";
    if (!parts.includes(s)) parts.push(s);
    keys.push(s);
  }
  if (v.refused !== undefined) {
    const r = v.refused ? "refused" : "answered";
    if (!parts.includes(r)) parts.push(r);
    keys.push(r);
  }
  if (v.score !== undefined && Number.isFinite(v.score))
    parts.push(`score ${Number(v.score.toPrecision(3))}`);
  if (v.categories && v.categories.length > 0) parts.push(v.categories.join(", "));
  // Unsafe first: it is the reading a reviewer most needs to see at a glance.
  const cls =
    v.safe === false
      ? "unsafe"
      : v.refused === true
        ? "refused"
        : v.safe === true
          ? "safe"
          : v.refused === false
            ? "answered"
            : "neutral";
  return { text: parts.join(" · "), cls, keys };
}

/** One sample as the page's data block holds it (short keys: the block can hold thousands). */
interface SampleView {
  b: string;
  id: string;
  c: string;
  p: string;
  r: string;
  ref?: string;
  fin?: string;
  /** Per judge, in the page's judge order: [text, class]. */
  v: [string, string][];
  /** Filter keys: "JUDGE_INDEX:key", and "disagree" when judges' readings differ. */
  k: string[];
}

function judgeNames(results: EvalResults, samples: SampleRecord[]): string[] {
  const names = results.judges.map((j) => j.name);
  for (const s of samples)
    for (const name of Object.keys(s.verdicts)) if (!names.includes(name)) names.push(name);
  return names;
}

/**
 * Whether the judges read the answer differently: on the benchmark's own reading (safe/unsafe for harmful
 * prompts, refused/answered for benign ones, as the agreement section counts), else on either.
 */
function disagree(s: SampleRecord, judges: string[], kind: BenchmarkKind | undefined): boolean {
  const on = kind === undefined ? undefined : readingOf(kind);
  if (on !== undefined) return judgesDisagree(s, judges, on);
  return judgesDisagree(s, judges, "safe") || judgesDisagree(s, judges, "refused");
}

function sampleView(s: SampleRecord, judges: string[], kind: BenchmarkKind | undefined): SampleView {
  const verdicts = judges.map((j) => s.verdicts[j]);
  const views = verdicts.map(verdictView);
  const keys = views.flatMap((v, i) => v.keys.map((k) => `${i}:${k}`));
  if (disagree(s, judges, kind)) keys.push("disagree");
  return {
    b: s.benchmark,
    id: s.id,
    c: s.category ?? "",
    p: s.prompt,
    r: s.response,
    ...(s.reference !== undefined ? { ref: s.reference } : {}),
    // Only abnormal endings are worth a line; "stop" is the norm.
    ...(s.finishReason !== undefined && s.finishReason !== "stop" ? { fin: s.finishReason } : {}),
    v: views.map((v) => [v.text, v.cls]),
    k: keys,
  };
}

/** The same markup the page's script builds, so server- and script-rendered rows look alike. */
function sampleRow(s: SampleView): string {
  const e = escapeHtml;
  const ref = s.ref !== undefined ? `<div class="txt ref">${e(s.ref)}</div>` : "";
  const fin = s.fin !== undefined ? `<div class="fin">finish: ${e(s.fin)}</div>` : "";
  const verdicts = s.v.map(([text, cls]) => `<td class="v ${e(cls)}">${e(text)}</td>`).join("");
  return (
    `<tr><td>${e(s.b)}</td><td><div>${e(s.c)}</div><div class="id">${e(s.id)}</div></td>` +
    `<td><div class="txt">${e(s.p)}</div>${ref}</td><td><div class="txt">${e(s.r)}</div>${fin}</td>${verdicts}</tr>`
  );
}

function counted<T extends string>(values: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

function samplesSection(results: EvalResults, samples: SampleRecord[]): string {
  const judges = judgeNames(results, samples);
  const kinds = new Map(results.benchmarks.map((b) => [b.name, b.kind]));
  const views = samples.map((s) => sampleView(s, judges, kinds.get(s.benchmark)));
  const e = escapeHtml;

  const benchmarks = counted(views.map((v) => v.b));
  const benchOptions = [...benchmarks]
    .map(([b, n]) => `<option value="${e(b)}">${e(b)} (${n})</option>`)
    .join("");
  const keyCounts = counted(views.flatMap((v) => v.k));
  const verdictOptions = judges
    .flatMap((j, i) =>
      [...keyCounts]
        .filter(([k]) => k.startsWith(`${i}:`))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(
          ([k, n]) => `<option value="${e(k)}">${e(j)}: ${e(k.slice(k.indexOf(":") + 1))} (${n})</option>`,
        ),
    )
    .join("");
  const disagreeing = keyCounts.get("disagree") ?? 0;
  const disagreeOption =
    disagreeing > 0 ? `<option value="disagree">judges disagree (${disagreeing})</option>` : "";

  const first = views.slice(0, INITIAL_SAMPLE_ROWS);
  const status =
    views.length > first.length
      ? `Showing the first ${first.length} of ${views.length} samples (the filters need JavaScript).`
      : `${views.length} samples.`;
  const header = ["benchmark", "category / id", "prompt", "response", ...judges.map((j) => `${e(j)}`)];
  return `<section id="samples"><h2>Samples</h2>
<form id="sample-filters" class="filters" hidden>
<label>benchmark <select id="f-benchmark"><option value="">all</option>${benchOptions}</select></label>
<label>verdict <select id="f-verdict"><option value="">any</option>${disagreeOption}${verdictOptions}</select></label>
<label>search <input id="f-search" type="search" placeholder="prompt, response, id, category"></label>
</form>
<p id="sample-status" class="status">${e(status)}</p>
<div class="scroll"><table class="samples"><thead><tr>${header.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
<tbody id="sample-rows">
${first.map(sampleRow).join("\n")}
</tbody></table></div>
<button id="sample-more" type="button" hidden>show more</button>
<script type="application/json" id="samples-data">${jsonForScript({ judges, samples: views })}</script>
</section>`;
}

/** Filters and pages the samples; builds rows with textContent only, so data is never parsed as HTML. */
const SAMPLES_SCRIPT = `(() => {
  const data = JSON.parse(document.getElementById("samples-data").textContent);
  const rows = data.samples;
  const PAGE = ${INITIAL_SAMPLE_ROWS};
  const form = document.getElementById("sample-filters");
  const bench = document.getElementById("f-benchmark");
  const verdict = document.getElementById("f-verdict");
  const search = document.getElementById("f-search");
  const body = document.getElementById("sample-rows");
  const status = document.getElementById("sample-status");
  const more = document.getElementById("sample-more");
  const haystack = rows.map((s) => [s.b, s.c, s.id, s.p, s.r, s.ref || ""].join("\\n").toLowerCase());
  let matches = [];
  let shown = 0;
  const el = (name, cls, text) => {
    const node = document.createElement(name);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const row = (s) => {
    const tr = el("tr");
    tr.append(el("td", "", s.b));
    const cat = el("td");
    cat.append(el("div", "", s.c), el("div", "id", s.id));
    const prompt = el("td");
    prompt.append(el("div", "txt", s.p));
    if (s.ref !== undefined) prompt.append(el("div", "txt ref", s.ref));
    const response = el("td");
    response.append(el("div", "txt", s.r));
    if (s.fin !== undefined) response.append(el("div", "fin", "finish: " + s.fin));
    tr.append(cat, prompt, response);
    for (const [text, cls] of s.v) tr.append(el("td", "v " + cls, text));
    return tr;
  };
  const showMore = () => {
    const end = Math.min(matches.length, shown + PAGE);
    const frag = document.createDocumentFragment();
    for (; shown < end; shown++) frag.append(row(matches[shown]));
    body.append(frag);
    status.textContent = "Showing " + shown + " of " + matches.length + " matching samples (" + rows.length + " in all).";
    more.hidden = shown >= matches.length;
  };
  const apply = () => {
    const b = bench.value;
    const v = verdict.value;
    const needle = search.value.trim().toLowerCase();
    matches = rows.filter((s, i) => (!b || s.b === b) && (!v || s.k.includes(v)) && (!needle || haystack[i].includes(needle)));
    body.replaceChildren();
    shown = 0;
    showMore();
  };
  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("submit", (event) => event.preventDefault());
  more.addEventListener("click", showMore);
  apply();
})();`;

const STYLE = `
:root { font-family: system-ui, sans-serif; color: #1a1a1a; background: #fff; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 1.5rem 4rem; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
nav a { margin-right: 1rem; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dl.settings dt { font-weight: 600; } dl.settings dd { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.headline td { font-weight: 600; }
figure.chart { margin: 1rem 0; } figure.chart svg { max-width: 100%; height: auto; }
figcaption { font-size: .85rem; color: #555; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; margin: .5rem 0; }
.filters input { min-width: 18rem; }
.status { color: #555; font-size: .9rem; }
table.samples { width: 100%; table-layout: fixed; }
table.samples td .txt { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 14em; overflow: auto; }
table.samples .id, .fin { color: #777; font-size: .8rem; overflow-wrap: anywhere; }
table.samples .ref { margin-top: .4rem; border-top: 1px dashed #ccc; color: #555; }
table.samples .ref::before { content: "reference: "; font-weight: 600; }
td.v { font-size: .85rem; overflow-wrap: anywhere; }
td.v.unsafe { background: #fbe3e0; } td.v.safe { background: #e3f3e1; } td.v.refused { background: #fff1d6; }
td.v.answered { background: #e6f0fa; } td.v.error { background: #eee; color: #666; font-style: italic; }
`;

// ---- report sections ------------------------------------------------------------------------------

function headerSection(r: EvalResults): string {
  const e = escapeHtml;
  const items: [string, string][] = [
    ["answerer", e(describeAnswerer(r.answerer))],
    ...generationPairs(r.generation).map(([k, v]): [string, string] => [k, e(v)]),
    [
      "judges",
      r.judges.length === 0
        ? "none"
        : `<ul>${r.judges.map((j) => `<li>${e(describeJudge(j, r.primaryJudge))}</li>`).join("")}</ul>`,
    ],
    ["created", `${e(r.createdAt)} (safetune ${e(r.safetuneVersion)})`],
    [
      "timing",
      `generation ${r.timing.generationSeconds.toFixed(1)} s, judging ${r.timing.judgeSeconds.toFixed(1)} s, ` +
        `${r.timing.generated} generated, ${r.timing.cached} cached`,
    ],
  ];
  return `<header><h1>Evaluation: ${e(r.name)}</h1>
<dl class="settings">${items.map(([k, v]) => `<dt>${e(k)}</dt><dd>${v}</dd>`).join("\n")}</dl></header>`;
}

function metricRow(bench: string, kind: string, items: string, m: MetricResult): string[] {
  const e = escapeHtml;
  return [
    e(bench),
    e(kind),
    items,
    e(m.metric),
    e(m.judge ?? "–"),
    e(formatValue(m)),
    e(formatInterval(m)),
    String(m.estimate.n),
    m.unparsed === undefined ? "–" : String(m.unparsed),
  ];
}

function benchmarksSection(r: EvalResults, chart: string | undefined): string {
  const rows: string[][] = [];
  const headline: boolean[] = [];
  for (const b of r.benchmarks) {
    const head = headlineMetric(b, r.primaryJudge);
    for (const m of b.metrics) {
      if (m.category !== undefined) continue;
      rows.push(metricRow(b.name, b.kind, String(b.n), m));
      headline.push(m === head);
    }
  }
  const numeric = [false, false, true, false, false, true, true, true, true];
  const header = ["benchmark", "kind", "items", "metric", "judge", "value", "95% interval", "n", "unparsed"];
  // Bold headline rows: built here rather than via table() so the row can carry a class.
  const cls = (i: number) => (numeric[i] ? ' class="num"' : "");
  const body = rows
    .map(
      (cells, i) =>
        `<tr${headline[i] ? ' class="headline"' : ""}>${cells.map((c, j) => `<td${cls(j)}>${c}</td>`).join("")}</tr>`,
    )
    .join("\n");
  const sources = r.benchmarks.map((b) => `<li>${escapeHtml(b.name)}: ${escapeHtml(b.source)}</li>`).join("");
  return `<section id="benchmarks"><h2>Benchmarks</h2>
${figure(chart, "Headline rate of each benchmark with its 95% bootstrap interval.")}
<div class="scroll"><table><thead><tr>${header.map((h, i) => `<th${cls(i)}>${h}</th>`).join("")}</tr></thead><tbody>
${body}
</tbody></table></div>
<p class="status">Headline metrics in bold. Sources:</p><ul>${sources}</ul></section>`;
}

function categoryTable(metrics: MetricResult[]): string {
  const per = metrics.filter((m) => m.category !== undefined);
  const columns: { metric: string; judge?: string | undefined }[] = [];
  const categories: string[] = [];
  for (const m of per) {
    if (!columns.some((c) => c.metric === m.metric && c.judge === m.judge)) {
      columns.push({ metric: m.metric, judge: m.judge });
    }
    if (!categories.includes(m.category ?? "")) categories.push(m.category ?? "");
  }
  const e = escapeHtml;
  const header = ["category", ...columns.map((c) => e(c.judge ? `${c.metric} (${c.judge})` : c.metric))];
  const rows = categories.map((cat) => [
    e(cat),
    ...columns.map((c) => {
      const m = per.find((x) => x.category === cat && x.metric === c.metric && x.judge === c.judge);
      if (!m) return "–";
      return e(`${formatEstimate(m)}${m.unparsed ? `, ${m.unparsed} unparsed` : ""}`);
    }),
  ]);
  return table(
    header,
    rows,
    header.map((_, i) => i > 0),
  );
}

function categoriesSection(r: EvalResults, charts: Map<string, string | undefined>): string {
  const parts: string[] = [];
  for (const b of r.benchmarks) {
    if (!b.metrics.some((m) => m.category !== undefined)) continue;
    const head = headlineMetric(b, r.primaryJudge);
    const caption = head
      ? `${b.name}: ${metricLabel(head.metric)} by category${head.judge ? ` (judge ${head.judge})` : ""}, 95% intervals.`
      : `${b.name} by category.`;
    parts.push(
      `<h3>${escapeHtml(b.name)}</h3>\n${figure(charts.get(b.name), caption)}\n${categoryTable(b.metrics)}`,
    );
  }
  if (parts.length === 0) return "";
  return `<section id="categories"><h2>Categories</h2>\n${parts.join("\n")}</section>`;
}

function scoreText(s: RunScore | undefined): string {
  if (!s) return "–";
  const interval =
    s.low !== undefined && s.high !== undefined
      ? ` [${(s.low * 100).toFixed(1)}, ${(s.high * 100).toFixed(1)}]`
      : "";
  return `${(s.value * 100).toFixed(1)}%${interval}`;
}

function runsSection(r: EvalResults, others: EvalResults[], chart: string | undefined): string {
  const e = escapeHtml;
  const rows = [r, ...others].map((run) => {
    const s = safetyScore(run);
    const h = helpfulnessScore(run);
    return [
      run === r ? `<strong>${e(run.name)}</strong>` : e(run.name),
      e(scoreText(s)),
      e(s ? s.benchmarks.join(", ") : "–"),
      e(scoreText(h)),
      e(h ? `${h.source}: ${h.benchmarks.join(", ")}` : "–"),
    ];
  });
  const chartHtml =
    figure(
      chart,
      "Each run's mean safe-response rate against its helpfulness; bars where one benchmark backs a number.",
    ) || "<p>No run has both a safety and a helpfulness number to plot.</p>";
  return `<section id="safety-helpfulness"><h2>Safety vs helpfulness</h2>
${chartHtml}
${table(["run", "safety", "from", "helpfulness", "from"], rows, [false, true, false, true, false])}</section>`;
}

/** The colour class of one judge's reading in a disagreement listing (as the samples table colours it). */
function readingClass(on: BinaryReading, value: boolean | null, text: string): string {
  if (value === null) return text.startsWith("unparsed") ? "error" : "none";
  return on === "safe" ? (value ? "safe" : "unsafe") : value ? "refused" : "answered";
}

/** One benchmark's judges: each pair's agreement, then the answers they read differently. */
function benchmarkAgreement(d: BenchmarkDisagreements, index: number): string {
  const e = escapeHtml;
  const pairs = table(
    ["judge A", "judge B", "Cohen's kappa", "raw agreement", "n"],
    d.agreements.map((a) => [e(a.judgeA), e(a.judgeB), ...agreementCells(a)]),
    [false, false, true, true, true],
  );
  const rows = d.items.map(
    (item) =>
      `<tr><td><div>${e(item.category ?? "")}</div><div class="id">${e(item.id)}</div></td>` +
      `<td><div class="txt">${e(item.prompt)}</div></td><td><div class="txt">${e(item.response)}</div></td>` +
      item.verdicts
        .map((v) => `<td class="v ${readingClass(d.on, v.value, v.text)}">${e(v.text)}</td>`)
        .join("") +
      "</tr>",
  );
  const listing =
    rows.length === 0
      ? ""
      : `<div class="scroll"><table class="samples disagreements"><thead><tr><th>category / id</th><th>prompt</th>` +
        `<th>answer (excerpt)</th>${d.judges.map((j) => `<th>${e(j)}</th>`).join("")}</tr></thead><tbody>\n` +
        `${rows.join("\n")}\n</tbody></table></div>`;
  return `<section class="bench-agreement" id="agreement-${index}" data-benchmark="${e(d.benchmark)}">
<h3>${e(d.benchmark)} <small>(${e(readingName(d.on))})</small></h3>
${pairs}
<p class="status">${e(disagreementCount(d))}</p>
${listing}</section>`;
}

function agreementSection(r: EvalResults, samples: SampleRecord[]): string {
  const e = escapeHtml;
  const pooled =
    r.agreements.length === 0
      ? "<p>No two judges labelled the same answers.</p>"
      : `<p class="status">Pooled over the run's benchmarks:</p>\n${table(
          ["judge A", "judge B", "on", "Cohen's kappa", "raw agreement", "n"],
          r.agreements.map((a) => [e(a.judgeA), e(a.judgeB), e(a.on), ...agreementCells(a)]),
          [false, false, false, true, true, true],
        )}`;
  const perBenchmark = benchmarkDisagreements(
    r.benchmarks,
    samples,
    r.judges.map((j) => j.name),
  ).map(benchmarkAgreement);
  return `<section id="agreement"><h2>Judge agreement</h2>\n${pooled}\n${perBenchmark.join("\n")}</section>`;
}

export async function htmlReport(input: HtmlReportInput): Promise<string> {
  const { results, samples } = input;
  // The caller may pass the run's own results among the others (a folder listing): show it once.
  const same = (run: EvalResults) =>
    run === results || (run.name === results.name && run.createdAt === results.createdAt);
  const others = (input.runs ?? []).filter((run) => !same(run));
  const withCategories = results.benchmarks.filter((b) => b.metrics.some((m) => m.category !== undefined));
  const [overview, crossRun, attacksChart, ...perCategory] = await Promise.all([
    benchmarkChart(results),
    safetyHelpfulnessChart([results, ...others], { highlight: results.name }),
    attackChart(results),
    ...withCategories.map((b) => categoryChart(results, b.name)),
  ]);
  const categoryCharts = new Map(withCategories.map((b, i) => [b.name, perCategory[i]]));
  const scriptHash = createHash("sha256").update(SAMPLES_SCRIPT).digest("base64");
  // The policy makes "no external resources" hold in the browser too, and lets only this page's own
  // script run: an injected script would be blocked even if some escaping were ever missed.
  const csp = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${scriptHash}'`;
  const seedSection = input.seeds ? seedReportHtml(input.seeds, escapeHtml) : "";
  const sections = [
    benchmarksSection(results, overview),
    categoriesSection(results, categoryCharts),
    attackHtml(results, attacksChart, escapeHtml),
    runsSection(results, others, crossRun),
    seedSection,
    agreementSection(results, samples),
    samplesSection(results, samples),
  ];
  const nav = [
    ["benchmarks", "Benchmarks"],
    ...(withCategories.length > 0 ? [["categories", "Categories"]] : []),
    ...(results.attacks ? [["attacks", "Attacks"]] : []),
    ["safety-helpfulness", "Safety vs helpfulness"],
    ...(seedSection !== "" ? [["seeds", "Seeds and conclusions"]] : []),
    ["agreement", "Judge agreement"],
    ["samples", "Samples"],
  ]
    .map(([id, label]) => `<a href="#${id}">${label}</a>`)
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`safetune evaluation: ${results.name}`)}</title>
<style>${STYLE}</style>
</head>
<body>
${headerSection(results)}
${tag("nav", nav)}
${sections.filter((s) => s !== "").join("\n")}
<script>${SAMPLES_SCRIPT}</script>
</body>
</html>
`;
}
