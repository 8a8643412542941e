// startServer: the generation worker, the guards and the routes, listening on HTTP. Everything it starts,
// close() stops: the listener first (no new requests), then the worker and the guards' judges. A start that fails
// (port taken, model folder that does not load) stops what it had begun and throws one ServerStartError line, so
// the process can exit.
import { type AddressInfo, createServer } from "node:net";
import { serve } from "@hono/node-server";
import { GenerationPool } from "./generationPool.js";
import { createGuard, type Guard, type GuardDecision, loadGuard } from "./guards/guard.js";
import { SERVE_DEFAULTS, type ServeOptions } from "./serveOptions.js";
import { ServerMetrics } from "./serverMetrics.js";
import { servedModelName, serverRoutes } from "./serverRoutes.js";
import { ServerStartError } from "./serverStartError.js";

export interface RunningServer {
  /** http://host:port (without a trailing slash). */
  url: string;
  port: number;
  /** The model id clients send. */
  model: string;
  /** The generation worker's pool: its health, queue and restarts (and killWorker, to test recovery). */
  pool: GenerationPool;
  close(): Promise<void>;
}

const firstLine = (message: string) => message.split("\n")[0] ?? "";

const jsonLines = (record: Record<string, unknown>) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);

/** A listen failure as the one line a user needs. */
export function listenErrorMessage(err: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (err.code) {
    case "EADDRINUSE":
      return `serve: cannot listen on ${where}: the port is already in use (another server?); pick another with --port`;
    case "EACCES":
      return `serve: cannot listen on ${where}: permission denied (ports below 1024 need privileges); pick another with --port`;
    case "EADDRNOTAVAIL":
      return `serve: cannot listen on ${where}: ${host} is not an address of this machine (--host)`;
    default:
      return `serve: cannot listen on ${where}: ${err.message}`;
  }
}

/** Binds and releases host:port, so that a taken port fails the start before a model is loaded. */
async function checkListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err) => reject(new ServerStartError(listenErrorMessage(err, host, port))));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? jsonLines;
  const host = options.host ?? SERVE_DEFAULTS.host;
  const requestedPort = options.port ?? SERVE_DEFAULTS.port;
  await checkListen(host, requestedPort);
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
      ...(options.device === undefined ? {} : { device: options.device }),
      ...(options.quantize === undefined ? {} : { quantize: options.quantize }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      maxBatchRows: options.maxBatchRows ?? SERVE_DEFAULTS.maxBatchRows,
      defaultMaxTokens: options.defaultMaxTokens ?? SERVE_DEFAULTS.defaultMaxTokens,
      maxQueue: options.maxQueue ?? SERVE_DEFAULTS.maxQueue,
      log,
      ...(options.verbose === undefined ? {} : { verbose: options.verbose }),
    });
  } catch (err) {
    guard?.dispose();
    const error = new ServerStartError(`serve: ${firstLine((err as Error).message)}`);
    const workerStack = (err as { workerStack?: string }).workerStack;
    if (workerStack) error.stack = `${error.stack}\nin the generation worker: ${workerStack}`;
    throw error;
  }
  const metrics = new ServerMetrics({
    queueDepth: () => pool.queueDepth,
    running: () => pool.running,
    cancelled: () => pool.cancelled,
  });
  const app = serverRoutes({ options, pool, guard, metrics, log });

  let server: ReturnType<typeof serve>;
  try {
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: host, port: requestedPort }, () => resolve(s));
      s.once("error", (err) => reject(new ServerStartError(listenErrorMessage(err, host, requestedPort))));
    });
  } catch (err) {
    // The worker thread would keep the process alive after the error is printed.
    await pool.close();
    guard?.dispose();
    throw err;
  }
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
    pool,
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
