// vega-lite specs compiled to vega and rendered to SVG strings in Node (no browser, no canvas), for any layer.
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

/**
 * Compiles a vega-lite spec and renders it headless. Without the optional `canvas` package vega estimates text
 * widths from the font size, which only moves label layout slightly.
 */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    // Releases the dataflow's timers and listeners so nothing is left running.
    view.finalize();
  }
}
