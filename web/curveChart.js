// A training curve drawn in the page: one small SVG line chart per panel (loss, learning rate, ...), its series
// as polylines over the step (or RAFT iteration) axis. Drawn here rather than fetched as SVG so a live run's new
// rows extend it without asking the server to render anything.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 320;
const HEIGHT = 170;
const PAD = { left: 52, right: 10, top: 10, bottom: 26 };
/** Series colours, fixed by position in the panel (colour-blind-safe Tableau-like set). */
const COLORS = ["#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const child of children) node.append(child);
  return node;
}

/** A short number for an axis label: 0.00012 -> "1.2e-4", 1234 -> "1234", 0.5 -> "0.5". */
export function shortNumber(x) {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(1).replace("e-", "e−").replace("e+", "e");
  return String(Number(x.toPrecision(3)));
}

function extent(values) {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/**
 * The panel's chart as an <svg>: rows are the run's logged rows, `axis` the x column, `series` the columns drawn.
 * data-count on the chart is how many values it draws (tests and readers can check it against the log).
 */
export function curveSvg(title, rows, axis, series) {
  const lines = series.map((name) => ({
    name,
    points: rows
      .filter((r) => Number.isFinite(r[axis]) && Number.isFinite(r[name]))
      .map((r) => [r[axis], r[name]]),
  }));
  const all = lines.flatMap((l) => l.points);
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    class: "curve-svg",
    "data-count": all.length,
  });
  const label = `${title}: ${lines.map((l) => `${l.name} ${l.points.length} points${l.points.length ? `, last ${shortNumber(l.points.at(-1)[1])}` : ""}`).join("; ")}`;
  svg.setAttribute("aria-label", label);
  if (all.length === 0) return svg;
  const [x0, x1] = extent(all.map((p) => p[0]));
  const [y0, y1] = extent(all.map((p) => p[1]));
  const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (WIDTH - PAD.left - PAD.right);
  const sy = (y) => HEIGHT - PAD.bottom - ((y - y0) / (y1 - y0)) * (HEIGHT - PAD.top - PAD.bottom);
  const axisColor = "currentColor";
  // Frame, three y ticks, the x range.
  svg.append(
    el("rect", {
      x: PAD.left,
      y: PAD.top,
      width: WIDTH - PAD.left - PAD.right,
      height: HEIGHT - PAD.top - PAD.bottom,
      fill: "none",
      stroke: axisColor,
      "stroke-opacity": 0.25,
    }),
  );
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    svg.append(
      el(
        "text",
        { x: PAD.left - 4, y: sy(y) + 4, "text-anchor": "end", "font-size": 10, fill: axisColor },
        shortNumber(y),
      ),
    );
  }
  for (const [x, anchor] of [
    [x0, "start"],
    [x1, "end"],
  ]) {
    svg.append(
      el(
        "text",
        { x: sx(x), y: HEIGHT - PAD.bottom + 14, "text-anchor": anchor, "font-size": 10, fill: axisColor },
        shortNumber(x),
      ),
    );
  }
  svg.append(
    el(
      "text",
      {
        x: (PAD.left + WIDTH - PAD.right) / 2,
        y: HEIGHT - 2,
        "text-anchor": "middle",
        "font-size": 10,
        fill: axisColor,
      },
      axis,
    ),
  );
  lines.forEach((line, i) => {
    if (line.points.length === 0) return;
    const color = COLORS[i % COLORS.length];
    const points = line.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    svg.append(
      el("polyline", {
        points,
        fill: "none",
        stroke: color,
        "stroke-width": 1.5,
        "data-series": line.name,
        "data-count": line.points.length,
      }),
    );
    // A lone value (an evaluation at the end) is a dot, not an invisible one-point line.
    if (line.points.length === 1) {
      const [x, y] = line.points[0];
      svg.append(el("circle", { cx: sx(x), cy: sy(y), r: 3, fill: color, "data-series": line.name }));
    }
  });
  return svg;
}

/** The legend entries of a panel's series, in their colours. */
export function seriesColors(series) {
  return series.map((name, i) => ({ name, color: COLORS[i % COLORS.length] }));
}
