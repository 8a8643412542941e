// One run's report: what produced it, the headline numbers with intervals, the charts, per-category tables,
// attack success rates (when the run attacked its prompts), judge agreement (pooled, and per benchmark with the answers the judges disagree on), and the samples with every
// judge's verdict.
import { agreementPanel } from "./agreementPanel.js";
import { getJson, runApiUrl } from "./api.js";
import { chartFigure } from "./charts.js";
import { dateTime, h, heading, rateBar, setChildren } from "./dom.js";
import { samplesPanel } from "./samplesPanel.js";

function headlineCard(m) {
  return h(
    "li",
    { class: ["card", `kind-${m.kind}`] },
    h("div", { class: "card-title" }, m.benchmark),
    h("div", { class: "card-sub" }, `${m.kind} · ${m.label}${m.judge ? ` · ${m.judge}` : ""}`),
    h("div", { class: "card-value" }, m.text),
    m.rate ? rateBar(m.value, m.low, m.high) : null,
    h("div", { class: "card-sub" }, `95% interval ${m.interval} · n=${m.n}`),
  );
}

function metricTable(b) {
  return h(
    "table",
    {},
    h("caption", {}, `${b.name} (${b.kind}, ${b.items} items)`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["metric", "judge", "value", "95% interval", "n", "unparsed"].map((c, i) =>
          h("th", { scope: "col", class: i >= 2 ? "num" : null }, c),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      b.metrics.map((m) =>
        h(
          "tr",
          { class: m.headline ? "headline" : null },
          h("th", { scope: "row" }, m.metric, m.headline ? h("span", { class: "badge" }, "headline") : null),
          h("td", {}, m.judge ?? "–"),
          h("td", { class: "num" }, m.text),
          h("td", { class: "num" }, m.interval),
          h("td", { class: "num" }, String(m.n)),
          h("td", { class: "num" }, m.unparsed === null ? "–" : String(m.unparsed)),
        ),
      ),
    ),
  );
}

function categoryTable(b) {
  const t = b.categories;
  return h(
    "table",
    { class: "categories" },
    h("caption", {}, `${b.name} by category`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "category"),
        t.columns.map((c) =>
          h("th", { scope: "col", class: "num" }, c.judge ? `${c.label} (${c.judge})` : c.label),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      t.rows.map((row) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, row.category),
          row.cells.map((m) =>
            h(
              "td",
              { class: "num" },
              m
                ? [
                    m.text,
                    " ",
                    h("small", {}, `${m.interval} n=${m.n}`),
                    m.rate ? rateBar(m.value, m.low, m.high) : null,
                  ]
                : "–",
            ),
          ),
        ),
      ),
    ),
  );
}

function attackTable(rows, caption, withCategory) {
  return h(
    "table",
    { class: "attacks" },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        [
          ...(withCategory ? ["category"] : []),
          "attack",
          "success rate",
          "95% interval",
          "n",
          "unparsed",
        ].map((c, i) => h("th", { scope: "col", class: i >= (withCategory ? 2 : 1) ? "num" : null }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((x) =>
        h(
          "tr",
          { "data-attack": x.attack },
          withCategory ? h("td", {}, x.category) : null,
          h("th", { scope: "row" }, x.attackLabel),
          h("td", { class: "num" }, x.text, rateBar(x.value, x.low, x.high)),
          h("td", { class: "num" }, x.interval),
          h("td", { class: "num" }, String(x.n)),
          h("td", { class: "num" }, x.unparsed === null ? "–" : String(x.unparsed)),
        ),
      ),
    ),
  );
}

/** Attack success rate per attack: the report's chart, the rows, the rows per category, queries per success. */
function attacksSection(id, a) {
  return [
    h(
      "p",
      { class: "muted" },
      `Attack success rate: the share of attacked prompts whose answer judge ${a.judge} read as unsafe ` +
        '(encoded answers decoded first; "any attack" counts a prompt once, as broken when any attack on it succeeded).',
    ),
    chartFigure(runApiUrl(id, "/charts/attacks.svg"), "Attack success rate by attack with its 95% interval"),
    h("div", { class: "scroll" }, attackTable(a.rows, "Attack success rate by attack", false)),
    a.queriesPerSuccess.length > 0
      ? h(
          "ul",
          { class: "muted" },
          a.queriesPerSuccess.map((q) =>
            h(
              "li",
              {},
              `${q.attack}: ${q.view.text} target queries per success ${q.view.interval}, n=${q.view.n}`,
            ),
          ),
        )
      : null,
    a.byCategory.length > 0
      ? h("div", { class: "scroll" }, attackTable(a.byCategory, "Attack success rate by category", true))
      : null,
  ];
}

function section(id, title, ...content) {
  return h(
    "section",
    { id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title),
    ...content,
  );
}

export async function runView(main, { id, query }) {
  setChildren(main, heading("Run"), h("p", { class: "status", role: "status" }, "Loading run…"));
  const r = await getJson(runApiUrl(id));
  const withCategories = r.benchmarks.filter((b) => b.categories);
  const dl = h(
    "dl",
    { class: "settings" },
    [
      ["answerer", r.answerer],
      ...r.settings,
      ["judges", r.judgeDetails.join("; ") || "none"],
      ["finished", `${dateTime(r.createdAt)} (safetune ${r.safetuneVersion})`],
      [
        "timing",
        `generation ${r.timing.generationSeconds.toFixed(1)} s, judging ${r.timing.judgeSeconds.toFixed(1)} s; ` +
          `${r.timing.generated} generated, ${r.timing.cached} cached`,
      ],
    ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
  const toc = [
    ["headlines", "Headlines"],
    ["benchmarks", "Benchmarks"],
    ...(withCategories.length > 0 ? [["categories", "Categories"]] : []),
    ...(r.attacks ? [["attacks", "Attacks"]] : []),
    ["agreement", "Judge agreement"],
    ["samples", "Samples"],
  ];
  setChildren(
    main,
    heading(r.name),
    h("p", { class: "muted" }, `run ${r.id}`),
    h(
      "nav",
      { class: "toc", "aria-label": "sections of this run" },
      toc.map(([a, label]) => h("a", { href: `#${a}` }, label)),
    ),
    h("details", { class: "settings-box" }, h("summary", {}, "Settings that produced these numbers"), dl),
    section(
      "headlines",
      "Headlines",
      h(
        "p",
        { class: "muted" },
        "Each benchmark's headline metric with its 95% bootstrap interval (bar: value; band: interval).",
      ),
      h("ul", { class: "cards" }, r.headlines.map(headlineCard)),
    ),
    section(
      "benchmarks",
      "Benchmarks",
      chartFigure(
        runApiUrl(id, "/charts/benchmarks.svg"),
        "Headline rate of each benchmark with its 95% interval",
      ),
      h(
        "div",
        { class: "tables" },
        r.benchmarks.map((b) => h("div", { class: "scroll" }, metricTable(b))),
      ),
    ),
    withCategories.length > 0
      ? section(
          "categories",
          "Categories",
          withCategories.map((b) =>
            h(
              "div",
              { class: "category-block" },
              h("h3", {}, b.name),
              chartFigure(
                runApiUrl(id, `/charts/category.svg?benchmark=${encodeURIComponent(b.name)}`),
                `${b.name}: headline metric by category, 95% intervals (dashed: whole benchmark)`,
              ),
              h("div", { class: "scroll" }, categoryTable(b)),
            ),
          ),
        )
      : null,
    r.attacks ? section("attacks", "Attacks", ...attacksSection(id, r.attacks)) : null,
    section("agreement", "Judge agreement", agreementPanel(id)),
    section("samples", "Samples", samplesPanel(id, query)),
  );
}
