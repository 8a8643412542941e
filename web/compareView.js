// Two or more runs side by side: headline numbers per benchmark, safety against helpfulness, attack success
// rates by attack (when runs attacked their prompts), and each later run paired prompt by prompt with the first
// (difference with its interval, McNemar's test), its robustness too.
import { compareApiUrl, getJson, runPageUrl } from "./api.js";
import { chartFigure } from "./charts.js";
import { h, heading, percent, points, pValue, rateBar, setChildren } from "./dom.js";

function runLink(run) {
  return h("a", { href: runPageUrl(run.id), "data-nav": "" }, run.name);
}

function headlineMatrix(view) {
  return h(
    "table",
    { class: "compare" },
    h("caption", {}, "Headline metric of each benchmark per run, with 95% intervals"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "run"),
        view.columns.map((c) =>
          h(
            "th",
            { scope: "col", class: "num" },
            c.benchmark,
            h("div", { class: "muted small" }, `${c.kind} · ${c.label}`),
          ),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      view.runs.map((run, i) =>
        h(
          "tr",
          {},
          h(
            "th",
            { scope: "row" },
            runLink(run),
            i === 0 ? h("span", { class: "badge" }, "baseline") : null,
            h("div", { class: "muted small" }, run.id),
          ),
          (view.cells[i] ?? []).map((m) =>
            h(
              "td",
              { class: "num" },
              m
                ? [
                    m.text,
                    h("div", { class: "muted small" }, `${m.interval} n=${m.n}`),
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

/** Attack success rate per attack (rows) for each run (columns), with intervals. */
function attackMatrix(view) {
  const m = view.attacks;
  return h(
    "table",
    { class: "compare attacks-matrix" },
    h("caption", {}, "Attack success rate of each run by attack, with 95% intervals (lower: more robust)"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "attack"),
        view.runs.map((run, i) =>
          h(
            "th",
            { scope: "col", class: "num" },
            run.name,
            h("div", { class: "muted small" }, m.judges[i] ? `judge ${m.judges[i]}` : "no attacks"),
          ),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      m.attacks.map((a, row) =>
        h(
          "tr",
          { "data-attack": a.attack },
          h("th", { scope: "row" }, a.label),
          view.runs.map((_, i) => {
            const x = m.cells[i]?.[row];
            return h(
              "td",
              { class: "num" },
              x
                ? [
                    x.text,
                    h("div", { class: "muted small" }, `${x.interval} n=${x.n}`),
                    rateBar(x.value, x.low, x.high),
                  ]
                : "–",
            );
          }),
        ),
      ),
    ),
  );
}

/** B − A per attack: negative is B more robust, so the colours run the other way from the rates above. */
function robustnessTable(pair, a, b) {
  const rows = pair.attacks.rows.map((x) => {
    const d = x.difference;
    const interval = d.low !== null && d.high !== null ? ` [${points(d.low)}, ${points(d.high)}]` : "";
    const clear = d.low !== null && d.high !== null && (d.low > 0 || d.high < 0);
    return h(
      "tr",
      { "data-attack": x.attack },
      h("th", { scope: "row" }, x.attackLabel),
      h("td", { class: "num" }, x.paired ? String(x.nA) : `${x.nA} / ${x.nB}`),
      h("td", { class: "num" }, percent(x.rateA)),
      h("td", { class: "num" }, percent(x.rateB)),
      h(
        "td",
        { class: ["num", clear ? (d.value < 0 ? "up" : "down") : null] },
        `${points(d.value)}${interval}`,
      ),
      h("td", {}, x.paired ? "by prompt" : "independent"),
      h("td", { class: "num" }, x.onlyA === null ? "–" : String(x.onlyA)),
      h("td", { class: "num" }, x.onlyB === null ? "–" : String(x.onlyB)),
      h("td", { class: "num", title: x.test ? `${x.test} test` : "" }, pValue(x.pValue)),
    );
  });
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      { class: "robustness" },
      h(
        "caption",
        {},
        `Robustness: attack success rate (judge ${pair.attacks.judge}), difference = ${b} − ${a} in points with a 95% interval; negative: ${b} is more robust`,
      ),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["attack", "n", a, b, "difference", "paired", `only ${a}`, `only ${b}`, "McNemar p"].map((c, i) =>
            h("th", { scope: "col", class: i >= 1 && i !== 5 ? "num" : null }, c),
          ),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}

function pairedTable(pair, names) {
  const a = names.get(pair.a) ?? pair.a;
  const b = names.get(pair.b) ?? pair.b;
  const rows = pair.rows.map((x) => {
    const d = x.difference;
    const interval = d.low !== null && d.high !== null ? ` [${points(d.low)}, ${points(d.high)}]` : "";
    // Zero outside the interval: the runs differ beyond resampling noise on these prompts.
    const clear = d.low !== null && d.high !== null && (d.low > 0 || d.high < 0);
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, x.benchmark),
      h("td", {}, x.judge),
      h("td", {}, x.metric),
      h("td", { class: "num" }, String(x.n)),
      h("td", { class: "num" }, percent(x.rateA)),
      h("td", { class: "num" }, percent(x.rateB)),
      h(
        "td",
        { class: ["num", clear ? (d.value > 0 ? "up" : "down") : null] },
        `${points(d.value)}${interval}`,
      ),
      h("td", { class: "num" }, String(x.onlyA)),
      h("td", { class: "num" }, String(x.onlyB)),
      h("td", { class: "num", title: `${x.test} test` }, pValue(x.pValue)),
    );
  });
  return h(
    "div",
    { class: "paired" },
    h("h3", {}, `${b} vs ${a}`),
    pair.settingDifferences.length > 0
      ? h("p", { class: "warning" }, `Generation settings differ: ${pair.settingDifferences.join("; ")}`)
      : null,
    pair.rows.length === 0
      ? h("p", { class: "muted" }, "No benchmark and judge in common with judged answers in both runs.")
      : h(
          "div",
          { class: "scroll" },
          h(
            "table",
            {},
            h("caption", {}, `Difference = ${b} − ${a}, in points, with a 95% paired bootstrap interval`),
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                [
                  "benchmark",
                  "judge",
                  "metric",
                  "n",
                  a,
                  b,
                  "difference",
                  `only ${a}`,
                  `only ${b}`,
                  "McNemar p",
                ].map((c, i) => h("th", { scope: "col", class: i >= 3 ? "num" : null }, c)),
              ),
            ),
            h("tbody", {}, rows),
          ),
        ),
    pair.attacks ? robustnessTable(pair, a, b) : null,
  );
}

export async function compareView(main, { query }) {
  const ids = query.getAll("run");
  setChildren(
    main,
    heading("Compare runs"),
    h("p", { class: "status", role: "status" }, "Loading comparison…"),
  );
  if (ids.length < 2) {
    main.querySelector(".status").textContent = "Choose two or more runs on the runs page to compare them.";
    return;
  }
  const view = await getJson(compareApiUrl(ids));
  const names = new Map(view.runs.map((r) => [r.id, r.name]));
  setChildren(
    main,
    heading("Compare runs"),
    h(
      "p",
      { class: "muted" },
      `${view.runs.length} runs; the first is the baseline the others are paired with.`,
    ),
    h(
      "section",
      { "aria-labelledby": "cmp-headlines" },
      h("h2", { id: "cmp-headlines" }, "Headlines"),
      h("div", { class: "scroll" }, headlineMatrix(view)),
    ),
    h(
      "section",
      { "aria-labelledby": "cmp-chart" },
      h("h2", { id: "cmp-chart" }, "Safety vs helpfulness"),
      chartFigure(
        compareApiUrl(ids, "/safety-helpfulness.svg"),
        "Each run's mean safe-response rate against its helpfulness (win rate, else 1 − over-refusal)",
      ),
    ),
    view.attacks
      ? h(
          "section",
          { "aria-labelledby": "cmp-attacks", id: "cmp-attacks-section" },
          h("h2", { id: "cmp-attacks" }, "Robustness under attack"),
          chartFigure(
            compareApiUrl(ids, "/attacks.svg"),
            "Attack success rate by attack for each run, with 95% intervals",
          ),
          h("div", { class: "scroll" }, attackMatrix(view)),
        )
      : null,
    h(
      "section",
      { "aria-labelledby": "cmp-paired" },
      h("h2", { id: "cmp-paired" }, "Paired differences"),
      h(
        "p",
        { class: "muted" },
        "Over the prompts both runs answered; McNemar's test on the prompts where only one run succeeded.",
      ),
      view.paired.map((p) => pairedTable(p, names)),
    ),
  );
}
