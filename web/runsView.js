// The list of evaluation runs: headline numbers at a glance, and a selection to compare side by side.
import { comparePageUrl, getJson, runPageUrl } from "./api.js";
import { dateTime, h, heading, percent, setChildren } from "./dom.js";

function scoreCell(score) {
  if (!score) return h("td", { class: "num muted" }, "–");
  const interval =
    score.low !== null && score.high !== null ? ` [${percent(score.low)}, ${percent(score.high)}]` : "";
  return h(
    "td",
    { class: "num", title: `from ${score.benchmarks.join(", ")}` },
    percent(score.value),
    h("small", {}, interval),
  );
}

function headlineList(headlines) {
  if (headlines.length === 0) return h("span", { class: "muted" }, "no headline metrics");
  return h(
    "ul",
    { class: "chips" },
    headlines.map((m) =>
      h(
        "li",
        {
          class: ["chip", `kind-${m.kind}`],
          title: `${m.benchmark}: ${m.metric}${m.judge ? ` (judge ${m.judge})` : ""}, n=${m.n}`,
        },
        h("span", { class: "chip-name" }, m.benchmark),
        " ",
        h("span", { class: "chip-value" }, m.text),
        h("span", { class: "visually-hidden" }, ` ${m.label}`),
      ),
    ),
  );
}

export async function runsView(main, { navigate, info }) {
  setChildren(main, heading("Evaluation runs"), h("p", { class: "status", role: "status" }, "Loading runs…"));
  const { runs } = await getJson("/api/runs");
  const status = main.querySelector(".status");
  if (!info.runsDir) {
    status.textContent =
      "This server was started without a runs folder (safetune serve --runs DIR, or safetune ui --runs DIR).";
    return;
  }
  if (runs.length === 0) {
    status.textContent =
      "No evaluation runs found (folders with a results.json, written by safetune eval or a pipeline).";
    return;
  }
  status.textContent = `${runs.length} run${runs.length === 1 ? "" : "s"}. Select two or more to compare them.`;

  const selected = new Set();
  const compare = h("button", { type: "button", class: "primary", disabled: true }, "Compare selected");
  const updateCompare = () => {
    compare.disabled = selected.size < 2;
    compare.textContent = selected.size >= 2 ? `Compare ${selected.size} runs` : "Compare selected";
  };
  // Kept in list order, so the first selected in the table is the baseline of the comparison.
  compare.addEventListener("click", () =>
    navigate(comparePageUrl(runs.map((r) => r.id).filter((id) => selected.has(id)))),
  );

  const rows = runs.map((run) => {
    if (run.error)
      return h(
        "tr",
        { class: "broken" },
        h("td"),
        h("td", {}, run.id),
        h("td", { colspan: "5", class: "error" }, run.error),
      );
    const box = h("input", {
      type: "checkbox",
      "aria-label": `select ${run.name} (${run.id}) for comparison`,
      onchange: (e) => {
        if (e.target.checked) selected.add(run.id);
        else selected.delete(run.id);
        updateCompare();
      },
    });
    return h(
      "tr",
      { "data-run": run.id },
      h("td", {}, box),
      h(
        "td",
        {},
        h("a", { href: runPageUrl(run.id), "data-nav": "" }, run.name),
        h("div", { class: "muted small" }, run.id),
      ),
      h("td", { class: "nowrap" }, dateTime(run.createdAt)),
      h("td", { class: "small wrap" }, run.answerer),
      scoreCell(run.safety),
      scoreCell(run.helpfulness),
      h("td", {}, headlineList(run.headlines)),
    );
  });
  const table = h(
    "table",
    { class: "runs" },
    h("caption", { class: "visually-hidden" }, "Evaluation runs with their headline metrics"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "select")),
        h("th", { scope: "col" }, "run"),
        h("th", { scope: "col" }, "finished"),
        h("th", { scope: "col" }, "answerer"),
        h(
          "th",
          { scope: "col", class: "num", title: "mean safe-response rate over harmful benchmarks" },
          "safety",
        ),
        h(
          "th",
          { scope: "col", class: "num", title: "mean win rate, else 1 − over-refusal rate" },
          "helpfulness",
        ),
        h("th", { scope: "col" }, "headline per benchmark"),
      ),
    ),
    h("tbody", {}, rows),
  );
  main.append(h("div", { class: "toolbar" }, compare), h("div", { class: "scroll" }, table));
}
