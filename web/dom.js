// Building the page from data without ever parsing data as HTML: every string becomes a text node.

/**
 * h("a", { href: "/ui", class: "nav", onclick: fn }, "text", child, [more]): an element with attributes
 * (null, undefined and false are left out; true is an empty attribute), listeners for on* functions, and
 * children (strings become text; arrays are flattened; null and undefined are skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "class")
      node.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (name === "value" && "value" in node) node.value = value;
    // Through the CSSOM, which the page's content security policy does not restrict.
    else if (name === "style" && typeof value === "object") Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Replaces a node's children, with the same rules as h() (unlike replaceChildren, arrays and null are fine). */
export function setChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** A number as a percentage with one decimal ("91.0%"), or a dash. */
export function percent(x) {
  return typeof x === "number" && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "–";
}

/** "+12.5" points (signed), for differences of rates. */
export function points(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  const s = (x * 100).toFixed(1);
  return x > 0 ? `+${s}` : s;
}

/** A p-value the way eval compare prints it. */
export function pValue(p) {
  if (typeof p !== "number" || !Number.isFinite(p)) return "–";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

/** An ISO time as the reader's local date and time, minutes precision. */
export function dateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso ?? "";
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A small horizontal bar with its interval, for rates in [0, 1]; aria-hidden: the text beside it says it. */
export function rateBar(value, low, high) {
  const clamp = (x) => Math.min(1, Math.max(0, x));
  if (typeof value !== "number") return null;
  const bar = h("span", { class: "ratebar", "aria-hidden": "true" });
  bar.append(h("span", { class: "fill", style: { width: `${(clamp(value) * 100).toFixed(1)}%` } }));
  if (typeof low === "number" && typeof high === "number") {
    const left = clamp(low) * 100;
    const width = Math.max(0.5, clamp(high) * 100 - left);
    bar.append(
      h("span", { class: "ci", style: { left: `${left.toFixed(1)}%`, width: `${width.toFixed(1)}%` } }),
    );
  }
  return bar;
}

/** The view's main heading, focusable so a route change can move keyboard and reader focus to it. */
export function heading(text, ...extra) {
  return h("h1", { tabindex: "-1", id: "view-title" }, text, ...extra);
}
