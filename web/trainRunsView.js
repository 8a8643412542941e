// The training runs under the runs folder, listed below the evaluation runs: where each run got to, its latest
// loss (or RAFT reward), and whether it is training now; each links to its live curves.
import { getJson, trainRunPageUrl } from "./api.js";
import { dateTime, h } from "./dom.js";

function figure(value) {
  return typeof value === "number" && Number.isFinite(value) ? String(Number(value.toPrecision(4))) : "–";
}

export async function trainRunsSection(main) {
  const { runs } = await getJson("/api/train-runs");
  if (runs.length === 0) return;
  const rows = runs.map((run) => {
    if (run.error)
      return h(
        "tr",
        { class: "broken" },
        h("td", {}, run.id),
        h("td", { colspan: "4", class: "error" }, run.error),
      );
    const latest = run.latest ?? {};
    const headline =
      latest.mean_reward !== undefined
        ? `mean reward ${figure(latest.mean_reward)}`
        : `loss ${figure(latest.loss)}`;
    return h(
      "tr",
      { "data-train-run": run.id },
      h(
        "td",
        {},
        h("a", { href: trainRunPageUrl(run.id), "data-nav": "" }, run.name),
        h("div", { class: "muted small" }, run.id),
      ),
      h("td", { class: "num" }, `${run.axis} ${run.reached}`),
      h("td", { class: "num" }, headline),
      h("td", { class: "nowrap" }, dateTime(run.updatedAt)),
      h(
        "td",
        {},
        run.live ? h("span", { class: "chip live" }, "training") : h("span", { class: "muted" }, "stopped"),
      ),
    );
  });
  main.append(
    h("h2", { id: "training-runs" }, "Training runs"),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "train-runs" },
        h("caption", { class: "visually-hidden" }, "Training runs with where they got to"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["run", "reached", "latest", "log updated", "state"].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    ),
  );
}
