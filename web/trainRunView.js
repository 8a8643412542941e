// One training run: its curves (loss, learning rate, grad norm, DPO rewards and margins, RAFT rewards, ...) from
// its metrics.jsonl or raft.jsonl, drawn in the page and extended every few seconds while the view is open.
import { getJson, trainRunApiUrl } from "./api.js";
import { curveSvg, seriesColors } from "./curveChart.js";
import { dateTime, h, heading, setChildren } from "./dom.js";

/** How often an open run page asks for new rows. */
export const POLL_MS = 1500;

function panelFigure(panel, rows, axis) {
  const legend = h(
    "ul",
    { class: "curve-legend" },
    seriesColors(panel.series).map(({ name, color }) =>
      h("li", {}, h("span", { class: "swatch", "aria-hidden": "true", style: { background: color } }), name),
    ),
  );
  const figure = h(
    "figure",
    { class: "curve", "data-panel": panel.title },
    h("figcaption", {}, panel.title),
    legend,
  );
  figure.append(curveSvg(panel.title, rows, axis, panel.series));
  return figure;
}

function statusText(data, rows) {
  const last = rows.at(-1);
  const reached = last ? ` · ${data.axis} ${last[data.axis] ?? "–"}` : "";
  const state = data.live ? "training (log updated " : "last updated ";
  return `${rows.length} row${rows.length === 1 ? "" : "s"} logged${reached} · ${state}${dateTime(data.updatedAt)}${data.live ? ")" : ""}`;
}

export async function trainRunView(main, { id }) {
  const name = id.split("/").at(-1);
  setChildren(main, heading(name), h("p", { class: "status", role: "status" }, "Loading the run's log…"));
  let data = await getJson(trainRunApiUrl(id, "/metrics"));
  let rows = data.rows;
  const status = main.querySelector(".status");
  const grid = h("div", { class: "curves", id: "curves" });
  main.append(h("p", { class: "muted small" }, id), grid);
  const draw = () => {
    status.textContent = statusText(data, rows);
    if (rows.length === 0) setChildren(grid, h("p", { class: "muted" }, "No rows logged yet."));
    else
      setChildren(
        grid,
        data.panels.map((panel) => panelFigure(panel, rows, data.axis)),
      );
  };
  draw();
  // Poll while this view is the one shown: a new route replaces the grid, which ends the loop.
  const poll = async () => {
    if (!grid.isConnected) return;
    try {
      const next = await getJson(trainRunApiUrl(id, `/metrics?from=${rows.length}`));
      if (!grid.isConnected) return;
      // A shorter log (a resumed run dropped replayed rows) is read again whole.
      if (next.total < rows.length) {
        data = await getJson(trainRunApiUrl(id, "/metrics"));
        rows = data.rows;
        draw();
      } else if (next.rows.length > 0 || next.live !== data.live) {
        rows = rows.concat(next.rows);
        data = next;
        draw();
      }
    } catch (err) {
      status.textContent = `Could not refresh: ${err.message}`;
    }
    setTimeout(poll, POLL_MS);
  };
  setTimeout(poll, POLL_MS);
}
