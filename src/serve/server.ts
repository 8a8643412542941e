// startServer: the generation worker, the guards and the routes, listening on HTTP. Everything it starts,
// close() stops: the listener first (no new requests), then the worker and the guards' judges.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { GenerationPool } from "./generationPool.js";
import { createGuard, type Guard, type GuardDecision, loadGuard } from "./guards/guard.js";
import { SERVE_DEFAULTS, type ServeOptions } from "./serveOptions.js";
import { ServerMetrics } from "./serverMetrics.js";
import { servedModelName, serverRoutes } from "./serverRoutes.js";

export interface RunningServer {
  /** http://host:port (without a trailing slash). */
  url: string;
  port: number;
  /** The model id clients send. */
  model: string;
  close(): Promise<void>;
}

const jsonLines = (record: Record<string, unknown>) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? jsonLines;
  const guardLog = { log: (decision: GuardDecision) => log({ event: "guard", ...decision }) };
  const guard: Guard | undefined =
    options.guard === undefined
      ? undefined
      : typeof options.guard === "string"
        ? await loadGuard(options.guard, guardLog)
        : await createGuard(options.guard, guardLog);
  let pool: GenerationPool;
  try {
    pool = await GenerationPool.start({
      model: options.model,
      ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
      ...(options.template === undefined ? {} : { template: options.template }),
      ...(options.dtype === undefined ? {} : { dtype: options.dtype }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      maxBatchRows: options.maxBatchRows ?? SERVE_DEFAULTS.maxBatchRows,
      defaultMaxTokens: options.defaultMaxTokens ?? SERVE_DEFAULTS.defaultMaxTokens,
      maxQueue: options.maxQueue ?? SERVE_DEFAULTS.maxQueue,
    });
  } catch (err) {
    guard?.dispose();
    throw err;
  }
  const metrics = new ServerMetrics({
    queueDepth: () => pool.queueDepth,
    running: () => pool.running,
    cancelled: () => pool.cancelled,
  });
  const app = serverRoutes({ options, pool, guard, metrics, log });

  const host = options.host ?? SERVE_DEFAULTS.host;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? SERVE_DEFAULTS.port }, () =>
      resolve(s),
    );
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  const model = servedModelName(options);
  log({
    event: "listening",
    url: `http://${shown}:${port}`,
    model,
    guard: typeof options.guard === "string" ? options.guard : options.guard ? "config" : null,
  });
  return {
    url: `http://${shown}:${port}`,
    port,
    model,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open streams would hold close() until they end: the worker's exit ends them.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await pool.close();
      guard?.dispose();
    },
  };
}
