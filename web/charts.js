// Charts arrive as SVG from the server (vega-lite rendered in Node) and are placed inline, so they follow the
// page's zoom and text can be searched and read. They are parsed as XML, never as HTML, and anything active
// (scripts, foreign objects, event attributes, links) is dropped before they join the page.
import { authHeaders } from "./apiKey.js";
import { h, setChildren } from "./dom.js";

function inert(svg) {
  for (const bad of svg.querySelectorAll("script, foreignObject, a")) bad.remove();
  for (const node of [svg, ...svg.querySelectorAll("*")])
    for (const attr of [...node.attributes])
      if (/^on/i.test(attr.name) || /href$/i.test(attr.name)) node.removeAttribute(attr.name);
  return svg;
}

/**
 * A <figure> that fills with the chart at `url` once fetched; `caption` describes it for everyone, and is
 * the chart's accessible name. A chart the server has not got (404) removes the figure.
 */
export function chartFigure(url, caption) {
  const figure = h("figure", { class: "chart" }, h("div", { class: "chart-body loading" }, "loading chart…"));
  const body = figure.firstChild;
  figure.append(h("figcaption", {}, caption));
  fetch(url, { headers: authHeaders() })
    .then(async (response) => {
      if (response.status === 404) return figure.remove();
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
      const svg = doc.documentElement;
      if (svg.nodeName !== "svg") throw new Error("not an SVG image");
      inert(svg);
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", caption);
      body.classList.remove("loading");
      setChildren(body, document.importNode(svg, true));
    })
    .catch((err) => {
      body.classList.remove("loading");
      setChildren(body, h("p", { class: "error" }, `Chart unavailable: ${err.message}`));
    });
  return figure;
}
