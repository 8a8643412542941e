// The web dashboard as routes: the single-page app under /ui (every path below it is a client-side route, except
// /ui/assets/NAME, a file of web/) and its JSON API under /api. `safetune serve` mounts these at its root beside
// the OpenAI API; `safetune ui` serves them alone.
import { Hono } from "hono";
import { runApi } from "./runApi.js";
import { appShell, webFile } from "./staticFiles.js";
import { trainRunApi } from "./trainRunApi.js";

export interface UiOptions {
  /** The folder searched for evaluation and training runs; without one the dashboard lists none. */
  runsDir?: string;
  /** Show the chat playground (it needs the server's POST /v1/chat/completions). */
  playground: boolean;
  /** The name in the page header (default "safetune"). */
  title?: string;
}

export function uiRoutes(options: UiOptions): Hono {
  const app = new Hono();
  // Before runApi, whose catch-all answers any other /api path with a 404.
  app.route("/", trainRunApi(options));
  app.route("/", runApi(options));
  app.get("/ui/assets/:name", (c) => webFile(c.req.param("name")) ?? c.text("not found", 404));
  app.get("/ui", () => appShell());
  app.get("/ui/*", () => appShell());
  return app;
}
