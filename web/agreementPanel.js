// A run's judge agreement: the pairs pooled over the run, then a block per benchmark with each pair's Cohen's
// kappa, raw agreement and n, and the answers the judges read differently (the first ones, with the full count
// and a link to all of them in the samples). Numbers and sentences come formatted from the server.
import { getJson, runApiUrl, runPageUrl } from "./api.js";
import { h, setChildren } from "./dom.js";

function pairTable(pairs, withReading, caption) {
  const header = [
    "judge A",
    "judge B",
    ...(withReading ? ["on"] : []),
    "Cohen's kappa",
    "raw agreement",
    "n",
  ];
  const numeric = (i) => i >= header.length - 3;
  return h(
    "table",
    { class: "agreement-pairs" },
    caption ? h("caption", {}, caption) : null,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        header.map((c, i) => h("th", { scope: "col", class: numeric(i) ? "num" : null }, c)),
      ),
    ),
    h(
      "tbody",
      {},
      pairs.map((p) =>
        h(
          "tr",
          {},
          h("td", {}, p.judgeA),
          h("td", {}, p.judgeB),
          withReading ? h("td", {}, p.on) : null,
          h("td", { class: "num" }, p.kappaText),
          h("td", { class: "num" }, p.agreementText),
          h("td", { class: "num" }, String(p.n)),
        ),
      ),
    ),
  );
}

function disagreementTable(b) {
  return h(
    "table",
    { class: "samples disagreements" },
    h("caption", {}, `Answers the judges read differently on ${b.benchmark}`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", class: "c-bench" }, "category / id"),
        h("th", { scope: "col" }, "prompt"),
        h("th", { scope: "col" }, "answer (excerpt)"),
        b.judges.map((j) => h("th", { scope: "col", class: "c-judge" }, j)),
      ),
    ),
    h(
      "tbody",
      {},
      b.items.map((item) =>
        h(
          "tr",
          { "data-id": item.id },
          h(
            "td",
            {},
            item.category !== null ? h("div", { class: "muted small" }, item.category) : null,
            h("div", { class: "muted small id" }, `#${item.id}`),
          ),
          h("td", {}, h("div", { class: "txt" }, item.prompt)),
          h("td", {}, h("div", { class: "txt" }, item.response)),
          item.verdicts.map((v) => h("td", { class: ["v", v.tone], "data-judge": v.judge }, v.text)),
        ),
      ),
    ),
  );
}

function benchmarkBlock(runId, b, index) {
  const titleId = `agreement-${index}-title`;
  const all = `${runPageUrl(runId)}?${new URLSearchParams({ benchmark: b.benchmark, verdict: "disagree" })}#samples`;
  return h(
    "section",
    { class: "bench-agreement", "data-benchmark": b.benchmark, "aria-labelledby": titleId },
    h("h3", { id: titleId }, b.benchmark, " ", h("small", { class: "muted" }, `(${b.reading})`)),
    h("div", { class: "scroll" }, pairTable(b.pairs, false, null)),
    h(
      "p",
      { class: "status agreement-summary" },
      b.summary,
      b.disagreeing > 0 ? [" ", h("a", { href: all, "data-nav": "" }, "All of them in the samples")] : null,
    ),
    b.items.length > 0 ? h("div", { class: "scroll" }, disagreementTable(b)) : null,
  );
}

/** The section's content: filled in once the server has compared the judges (it reads the run's samples). */
export function agreementPanel(runId) {
  const box = h("div", { class: "agreement" }, h("p", { class: "status", role: "status" }, "Loading…"));
  getJson(runApiUrl(runId, "/agreement"))
    .then((a) => {
      setChildren(
        box,
        a.pooled.length === 0
          ? h("p", { class: "muted" }, "No two judges labelled the same answers.")
          : h("div", { class: "scroll" }, pairTable(a.pooled, true, "Pooled over the run's benchmarks")),
        a.benchmarks.map((b, i) => benchmarkBlock(runId, b, i)),
      );
    })
    .catch((err) => {
      setChildren(
        box,
        h("p", { class: "error", role: "alert" }, `Judge agreement unavailable: ${err.message}`),
      );
    });
  return box;
}
