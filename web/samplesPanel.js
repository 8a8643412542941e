// A run's samples, filtered and paged by the server: benchmark, category, a judge's verdict, and text.
// The filters live in the page's address, so a filtered view can be reloaded or shared.
import { getJson, runApiUrl } from "./api.js";
import { h, setChildren } from "./dom.js";

const PAGE_SIZE = 25;
const FILTERS = ["benchmark", "category", "judge", "verdict", "text"];

function option(value, label, selected) {
  return h("option", { value, selected: selected || null }, label);
}

function verdictCell(v) {
  if (!v) return h("td", { class: "v none" }, "–");
  return h(
    "td",
    { class: ["v", v.tone] },
    h("span", { class: "v-text" }, v.text || "–"),
    v.raw ? h("details", { class: "raw" }, h("summary", {}, "judge output"), h("pre", {}, v.raw)) : null,
  );
}

function sampleRow(s, judges) {
  const byJudge = new Map(s.verdicts.map((v) => [v.judge, v]));
  return h(
    "tr",
    { class: s.disagree ? "disagree" : null },
    h(
      "td",
      {},
      h("div", {}, s.benchmark),
      s.category !== null ? h("div", { class: "muted small" }, s.category) : null,
      h("div", { class: "muted small id" }, `#${s.id}`),
    ),
    h(
      "td",
      {},
      h("div", { class: "txt" }, s.prompt),
      s.reference !== null
        ? h("div", { class: "txt ref" }, h("strong", {}, "reference: "), s.reference)
        : null,
      s.answer !== null ? h("div", { class: "muted small" }, `answer key: ${s.answer}`) : null,
    ),
    h(
      "td",
      {},
      h("div", { class: "txt" }, s.response),
      s.finishReason && s.finishReason !== "stop"
        ? h("div", { class: "muted small" }, `finish: ${s.finishReason}`)
        : null,
    ),
    judges.map((j) => verdictCell(byJudge.get(j))),
  );
}

export function samplesPanel(runId, initialQuery) {
  const state = { offset: 0 };
  for (const key of FILTERS) state[key] = initialQuery.get(key) ?? "";
  state.offset = Number(initialQuery.get("offset") ?? 0) || 0;

  const benchmark = h("select", { id: "f-benchmark", name: "benchmark" });
  const category = h("select", { id: "f-category", name: "category" });
  const verdict = h("select", { id: "f-verdict", name: "verdict" });
  const search = h("input", {
    id: "f-text",
    name: "text",
    type: "search",
    placeholder: "prompt, response, id…",
    value: state.text,
  });
  const reset = h("button", { type: "reset" }, "Clear filters");
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "filter samples" },
    h("label", { for: "f-benchmark" }, "Benchmark", benchmark),
    h("label", { for: "f-category" }, "Category", category),
    h("label", { for: "f-verdict" }, "Verdict", verdict),
    h("label", { for: "f-text" }, "Text", search),
    reset,
  );
  const status = h(
    "p",
    { class: "status", id: "sample-status", role: "status", "aria-live": "polite" },
    "Loading samples…",
  );
  const thead = h("thead");
  const tbody = h("tbody", { id: "sample-rows" });
  const table = h("table", { class: "samples", "aria-describedby": "sample-status" }, thead, tbody);
  const prev = h("button", { type: "button", disabled: true }, "← Previous");
  const next = h("button", { type: "button", disabled: true }, "Next →");
  const pager = h("div", { class: "pager" }, prev, next);
  const panel = h(
    "div",
    { class: "samples-panel" },
    form,
    status,
    h("div", { class: "scroll" }, table),
    pager,
  );

  let request = 0;
  const writeAddress = () => {
    const params = new URLSearchParams();
    for (const key of FILTERS) if (state[key]) params.set(key, state[key]);
    if (state.offset > 0) params.set("offset", String(state.offset));
    const search = params.toString();
    history.replaceState(
      history.state,
      "",
      `${location.pathname}${search ? `?${search}` : ""}${location.hash}`,
    );
  };

  const fillMenus = (page) => {
    const f = page.facets;
    setChildren(
      benchmark,
      option("", `all (${page.total})`),
      f.benchmarks.map((b) => option(b.value, `${b.value} (${b.count})`, b.value === state.benchmark)),
    );
    setChildren(
      category,
      option("", "all"),
      f.categories.map((c) => option(c.value, `${c.value} (${c.count})`, c.value === state.category)),
    );
    category.disabled = f.categories.length === 0;
    const current =
      state.verdict === "disagree" ? "disagree" : state.verdict ? `${state.judge}\t${state.verdict}` : "";
    setChildren(
      verdict,
      option("", "any"),
      f.disagree > 0 ? option("disagree", `judges disagree (${f.disagree})`, current === "disagree") : null,
      f.verdicts.map((g) =>
        h(
          "optgroup",
          { label: `judge ${g.judge}` },
          g.keys.map((k) =>
            option(
              `${g.judge}\t${k.value}`,
              `${g.judge}: ${k.value} (${k.count})`,
              current === `${g.judge}\t${k.value}`,
            ),
          ),
        ),
      ),
    );
  };

  const load = async () => {
    const mine = ++request;
    const params = new URLSearchParams({ offset: String(state.offset), limit: String(PAGE_SIZE) });
    for (const key of FILTERS) if (state[key]) params.set(key, state[key]);
    panel.setAttribute("aria-busy", "true");
    try {
      const page = await getJson(runApiUrl(runId, `/samples?${params}`));
      if (mine !== request) return; // a newer filter has been asked for meanwhile
      fillMenus(page);
      setChildren(
        thead,
        h(
          "tr",
          {},
          h("th", { scope: "col", class: "c-bench" }, "benchmark / id"),
          h("th", { scope: "col" }, "prompt"),
          h("th", { scope: "col" }, "response"),
          page.judges.map((j) => h("th", { scope: "col", class: "c-judge" }, `judge: ${j}`)),
        ),
      );
      setChildren(tbody, ...page.items.map((s) => sampleRow(s, page.judges)));
      const first = page.matched === 0 ? 0 : page.offset + 1;
      const last = page.offset + page.items.length;
      status.textContent =
        page.matched === 0
          ? `No samples match (${page.total} in all).`
          : `Showing ${first}–${last} of ${page.matched} matching samples (${page.total} in all).`;
      status.dataset.matched = String(page.matched);
      prev.disabled = page.offset === 0;
      next.disabled = last >= page.matched;
      writeAddress();
    } catch (err) {
      if (mine === request) status.textContent = `Could not load samples: ${err.message}`;
    } finally {
      if (mine === request) panel.removeAttribute("aria-busy");
    }
  };

  const refilter = () => {
    state.offset = 0;
    load();
  };
  benchmark.addEventListener("change", () => {
    state.benchmark = benchmark.value;
    state.category = ""; // categories belong to a benchmark
    refilter();
  });
  category.addEventListener("change", () => {
    state.category = category.value;
    refilter();
  });
  verdict.addEventListener("change", () => {
    const [judge, key] = verdict.value === "disagree" ? ["", "disagree"] : verdict.value.split("\t");
    state.judge = key ? judge : "";
    state.verdict = key ?? "";
    refilter();
  });
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.text = search.value.trim();
      refilter();
    }, 250);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(typing);
    state.text = search.value.trim();
    refilter();
  });
  form.addEventListener("reset", () => {
    for (const key of FILTERS) state[key] = "";
    setTimeout(refilter); // after the browser has cleared the fields
  });
  prev.addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    load();
  });
  next.addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    load();
  });
  load();
  return panel;
}
