// `safetune ui --runs DIR`: the web dashboard over a folder of evaluation runs, without a model (no playground).
import { existsSync, statSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { optionalNumber, parseCommandArgs, requireString } from "../args.js";
import { UsageError } from "../errors.js";

export const uiHelp = `safetune ui --runs DIR [--host 127.0.0.1] [--port 8080] [--title TEXT] [--allowed-host NAME]...

Serves the web dashboard at http://HOST:PORT/ui: the evaluation runs found under DIR (folders with a
results.json, up to 4 levels deep: eval runs and pipeline stages), each run's report with charts, per-category
tables and filterable samples, and side-by-side comparisons of runs. Stops on Ctrl-C.

--host   address to listen on (default 127.0.0.1: only this machine; the dashboard has no login)
--port   port (default 8080; 0 picks a free one)
--title  name shown in the page header (default safetune)
--allowed-host NAME  answer requests whose Host header is NAME (repeatable; NAME:PORT for one port, .domain for a
         domain, * for any). By default only localhost, IP addresses and the --host name are answered (403
         otherwise), so a web page cannot read the runs through DNS rebinding.`;

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** Listens, or rejects with a one-line reason (port in use, address not available). */
function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "is already in use" : `cannot be opened (${err.message})`;
      reject(new UsageError(`ui: ${urlHost(host)}:${port} ${why}; choose another with --port`));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolveListen(server.address() as AddressInfo);
    });
  });
}

/** Resolves on the first Ctrl-C (or SIGTERM), leaving the signal handlers as they were. */
function untilStopped(): Promise<void> {
  return new Promise((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export async function uiCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    {
      runs: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      title: { type: "string" },
      "allowed-host": { type: "string", multiple: true },
    },
    "ui",
  );
  if (values.help) return void console.log(uiHelp);
  const runsDir = resolve(requireString(values.runs, "runs", "ui"));
  if (!existsSync(runsDir) || !statSync(runsDir).isDirectory())
    throw new UsageError(`ui: --runs ${values.runs}: no such folder`);
  const host = values.host ?? "127.0.0.1";
  const port = optionalNumber(values.port, "port", { integer: true, min: 0, max: 65535 }) ?? 8080;

  // Loaded here, not at the top: the HTTP stack would otherwise add to every other command's start-up.
  const [{ createAdaptorServer }, { uiRoutes }, { hostChecker, withHostCheck }] = await Promise.all([
    import("@hono/node-server"),
    import("../../serve/ui/uiRoutes.js"),
    import("../../serve/hostCheck.js"),
  ]);
  const app = uiRoutes({ runsDir, playground: false, ...(values.title ? { title: values.title } : {}) });
  app.get("/", (c) => c.redirect("/ui"));
  const fetch = withHostCheck(app.fetch, hostChecker(host, values["allowed-host"] ?? []));
  const server = createAdaptorServer({ fetch }) as Server;
  const address = await listen(server, host, port);
  const url = `http://${urlHost(host)}:${address.port}/ui`;
  console.log(`safetune ui: ${url} (runs under ${runsDir}; Ctrl-C to stop)`);
  if (!isLoopback(host))
    console.warn(`safetune ui: listening on ${host}: anyone who can reach it can read these runs (no login)`);
  await untilStopped();
  // Open keep-alive connections would otherwise hold the process for their timeout.
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
}
