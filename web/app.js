// The dashboard's entry point: reads what the server offers (/api/info), draws the header, and routes
// /ui (runs), /ui/runs/ID (one run), /ui/train/ID (a training run's curves), /ui/compare?run=A&run=B and
// /ui/playground with the history API.
import { getJson } from "./api.js";
import { apiKey, setApiKey } from "./apiKey.js";
import { compareView } from "./compareView.js";
import { h, heading, setChildren } from "./dom.js";
import { playgroundView } from "./playgroundView.js";
import { runsView } from "./runsView.js";
import { runView } from "./runView.js";
import { trainRunsSection } from "./trainRunsView.js";
import { trainRunView } from "./trainRunView.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let info = { title: "safetune", playground: false, runsDir: false };

function route(path) {
  const rest = path.replace(/^\/ui\/?/, "");
  if (rest === "") return { view: "runs" };
  if (rest === "compare") return { view: "compare" };
  if (rest === "playground" && info.playground) return { view: "playground" };
  const run = /^runs\/([^/]+)$/.exec(rest);
  if (run) return { view: "run", id: decodeURIComponent(run[1]) };
  const train = /^train\/([^/]+)$/.exec(rest);
  if (train) return { view: "train", id: decodeURIComponent(train[1]) };
  return { view: "missing" };
}

function markCurrent(view) {
  for (const link of nav.querySelectorAll("a")) {
    const current =
      link.dataset.view === view || ((view === "run" || view === "train") && link.dataset.view === "runs");
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function render(focus) {
  const target = route(location.pathname);
  markCurrent(target.view);
  const query = new URLSearchParams(location.search);
  const context = { navigate, info, query, id: target.id };
  try {
    if (target.view === "runs") {
      await runsView(main, context);
      await trainRunsSection(main);
    } else if (target.view === "train") await trainRunView(main, context);
    else if (target.view === "run") await runView(main, context);
    else if (target.view === "compare") await compareView(main, context);
    else if (target.view === "playground") await playgroundView(main, context);
    else
      setChildren(
        main,
        heading("Not found"),
        h("p", {}, "No such page. ", h("a", { href: "/ui", "data-nav": "" }, "Back to the runs.")),
      );
  } catch (err) {
    if (err.status === 401) return keyForm(err.message, () => render(true));
    setChildren(
      main,
      heading("Something went wrong"),
      h("p", { class: "error", role: "alert" }, err.message),
      h("p", {}, h("a", { href: "/ui", "data-nav": "" }, "Back to the runs.")),
    );
  }
  const title = main.querySelector("h1")?.textContent;
  document.title = title && title !== info.title ? `${title} · ${info.title}` : info.title;
  if (focus) main.querySelector("h1")?.focus();
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

/** The server wants an API key: ask for it once, keep it, and draw the page again. */
function keyForm(message, retry) {
  const field = h("input", { id: "key-field", type: "password", autocomplete: "off", value: apiKey() });
  const form = h(
    "form",
    { class: "key-form" },
    h("label", { for: "key-field" }, "API key "),
    field,
    " ",
    h("button", { type: "submit", class: "primary" }, "Use this key"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey(field.value.trim());
    retry();
  });
  setChildren(
    main,
    heading("This server needs an API key"),
    h(
      "p",
      { class: "muted" },
      `${message}. The key is kept in this browser and sent as Authorization: Bearer.`,
    ),
    form,
  );
  field.focus();
}

export function navigate(url) {
  history.pushState(null, "", url);
  window.scrollTo(0, 0);
  render(true);
}

// Same-origin links marked data-nav change the view without reloading the page.
document.addEventListener("click", (e) => {
  const link = e.target.closest?.("a[data-nav]");
  if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
    return;
  e.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", () => render(true));

async function start() {
  try {
    info = await getJson("/api/info");
  } catch (err) {
    // A server with API keys guards /api too: ask for the key, then start again with it.
    if (err.status === 401) return keyForm(err.message, start);
    // Otherwise the runs page still says what is wrong.
  }
  document.getElementById("brand-title").textContent = info.title;
  setChildren(
    nav,
    h("a", { href: "/ui", "data-nav": "", "data-view": "runs" }, "Runs"),
    h("a", { href: "/ui/compare", "data-nav": "", "data-view": "compare" }, "Compare"),
    info.playground
      ? h("a", { href: "/ui/playground", "data-nav": "", "data-view": "playground" }, "Playground")
      : null,
  );
  await render(false);
}

start();
