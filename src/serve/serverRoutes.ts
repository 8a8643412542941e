// The HTTP surface: OpenAI's /v1 routes, /health, /metrics and the dashboard (/ui, /api), behind the rules every
// route shares (request id, Host check, CORS, body limit, JSON content type, API keys, OpenAI-shaped errors, one
// log record and one metric sample per request).

import { randomUUID } from "node:crypto";
import { basename } from "node:path";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { ChatMessage } from "../data/records.js";
import { ApiError, asApiError, oneLine } from "./apiError.js";
import { apiKeyChecker } from "./apiKeys.js";
import type { GenerationPool } from "./generationPool.js";
import type { SamplingRequest } from "./generationProtocol.js";
import type { Guard } from "./guards/guard.js";
import { hostChecker } from "./hostCheck.js";
import {
  type ChatRequest,
  type CompletionRequest,
  parseChatRequest,
  parseCompletionRequest,
  toChatMessages,
} from "./requestSchemas.js";
import { type CompletionJob, serveCompletion, timeoutError } from "./serveCompletion.js";
import { SERVE_DEFAULTS, type ServeOptions } from "./serveOptions.js";
import type { ServerMetrics } from "./serverMetrics.js";
import { uiRoutes } from "./ui/uiRoutes.js";

export interface RouteDeps {
  options: ServeOptions;
  pool: GenerationPool;
  guard: Guard | undefined;
  metrics: ServerMetrics;
  log: (record: Record<string, unknown>) => void;
}

/** The model id clients must send. */
export function servedModelName(options: ServeOptions): string {
  return options.name ?? basename(options.model.replace(/[/\\]+$/, ""));
}

/** Routes whose latency the completion flow records itself (at the end of the stream, not at the headers). */
const COMPLETION_ROUTES = new Set(["/v1/chat/completions", "/v1/completions"]);

/** A request's id, sent back as `x-request-id` (the openai client shows it as `request_id`) and in every log record. */
function requestIdFor(path: string): string {
  const hex = randomUUID().replaceAll("-", "");
  if (path === "/v1/chat/completions") return `chatcmpl-${hex}`;
  if (path === "/v1/completions") return `cmpl-${hex}`;
  return `req-${hex}`;
}

/** Whether a Content-Type header names JSON (parameters such as charset allowed). */
export function isJsonContentType(header: string | undefined): boolean {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() === "application/json";
}

type Env = { Variables: { requestId: string } };

/**
 * The server's routes, top to bottom in the order a request meets them: errors, request id and metrics, the Host
 * check, CORS, the body limit, JSON only, API keys; then the status routes, the completion routes and the dashboard.
 */
export function serverRoutes(deps: RouteDeps): Hono<Env> {
  const { options } = deps;
  const modelName = servedModelName(options);
  const app = new Hono<Env>();
  answerErrors(app, deps);
  app.use("*", countRequest(deps.metrics));
  app.use("*", checkHost(options));
  if (options.corsOrigins?.length) {
    const origins = options.corsOrigins;
    app.use("*", cors({ origin: origins.includes("*") ? "*" : origins }));
  }
  app.use(
    "*",
    bodyLimit({
      maxSize: options.bodyLimitBytes ?? SERVE_DEFAULTS.bodyLimitBytes,
      onError: (c) => {
        const error = new ApiError(413, "invalid_request_error", "the request body is too large");
        return c.json(error.body(), 413);
      },
    }),
  );
  app.use("/v1/*", requireJson);
  app.use("/api/*", requireJson);
  if (options.apiKeys?.length) {
    const protect = requireApiKey(options.apiKeys);
    app.use("/v1/*", protect);
    app.use("/api/*", protect);
    app.use("/metrics", protect);
  }
  statusRoutes(app, deps, modelName);
  completionRoutes(app, deps, modelName);
  app.route(
    "/",
    uiRoutes({
      playground: true,
      title: `safetune · ${modelName}`,
      ...(options.runsDir === undefined ? {} : { runsDir: options.runsDir }),
    }),
  );
  return app;
}

type Next = () => Promise<void>;

/**
 * Errors as OpenAI-shaped JSON: a server-side failure is logged under the request id the client gets to quote;
 * a rejected request is logged in one line; an unknown route is a 404.
 */
function answerErrors(app: Hono<Env>, { options, log }: RouteDeps): void {
  app.onError((err, c) => {
    const error = asApiError(err);
    const requestId = c.get("requestId");
    if (error.status >= 500 && requestId) {
      // The client gets the id to quote; the log gets the same id, the message and (with --verbose) the stack.
      logFailure(log, options.verbose, requestId, c.req.path, error);
      const body = error.body();
      body.error.message = `${body.error.message} (request id ${requestId})`;
      return c.json(body, error.status as 500);
    }
    if (error.status >= 400 && requestId)
      log({
        event: "rejected",
        request_id: requestId,
        path: c.req.path,
        status: error.status,
        message: error.message,
      });
    return c.json(error.body(), error.status as 400);
  });
  app.notFound((c) => {
    const error = new ApiError(404, "not_found_error", `no route ${c.req.method} ${c.req.path}`);
    return c.json(error.body(), 404);
  });
}

/**
 * Gives every request its id (x-request-id) and counts it by route and status; latency is observed here except
 * for successful completions, whose flow records it at the end of the stream.
 */
function countRequest(metrics: ServerMetrics) {
  return async (
    c: {
      req: { path: string; routePath: string };
      res: { status: number };
      set: (key: "requestId", value: string) => void;
      header: (name: string, value: string) => void;
    },
    next: Next,
  ) => {
    const started = performance.now();
    const requestId = requestIdFor(c.req.path);
    c.set("requestId", requestId);
    await next();
    c.header("x-request-id", requestId);
    const route = c.req.routePath === "/*" ? "other" : c.req.routePath;
    metrics.requests.inc({ route, status: String(c.res.status) });
    if (!COMPLETION_ROUTES.has(c.req.path) || c.res.status !== 200)
      metrics.latency.observe({ route }, (performance.now() - started) / 1000);
  };
}

/** DNS rebinding: a page whose own name resolves to this machine must not get answers (see hostCheck.ts). */
function checkHost(options: ServeOptions) {
  const hostAllowed = hostChecker(options.host ?? SERVE_DEFAULTS.host, options.allowedHosts);
  return async (c: { req: { header: (name: string) => string | undefined } }, next: Next) => {
    const host = c.req.header("host");
    if (!hostAllowed(host))
      throw new ApiError(
        403,
        "invalid_request_error",
        `the Host header '${oneLine(host ?? "").slice(0, 100)}' does not name this server: requests must be addressed to the host it listens on (or localhost); name others with --allowed-host`,
        undefined,
        "host_not_allowed",
      );
    await next();
  };
}

/**
 * A web page can POST text/plain (or a form) to any server without asking first; only JSON needs a CORS
 * preflight. Requiring application/json keeps other sites' pages from starting generations here.
 */
async function requireJson(
  c: { req: { method: string; header: (name: string) => string | undefined } },
  next: Next,
): Promise<void> {
  const method = c.req.method;
  if (
    method !== "GET" &&
    method !== "HEAD" &&
    method !== "OPTIONS" &&
    !isJsonContentType(c.req.header("content-type"))
  )
    throw new ApiError(
      415,
      "invalid_request_error",
      `Content-Type must be application/json, but got '${oneLine(c.req.header("content-type") ?? "none").slice(0, 100)}'`,
      undefined,
      "unsupported_media_type",
    );
  await next();
}

/** Requests without one of the keys (Authorization: Bearer KEY) are refused with a 401. */
function requireApiKey(keys: readonly string[]) {
  const accepts = apiKeyChecker(keys);
  return async (c: { req: { header: (name: string) => string | undefined } }, next: Next) => {
    if (!accepts(c.req.header("authorization")))
      throw new ApiError(
        401,
        "authentication_error",
        "Incorrect or missing API key: send it as 'Authorization: Bearer <key>'",
        undefined,
        "invalid_api_key",
      );
    await next();
  };
}

/** /health (503 while the workers are down), /metrics (Prometheus) and the model list. */
function statusRoutes(app: Hono<Env>, { pool, metrics }: RouteDeps, modelName: string): void {
  app.get("/health", (c) => {
    const health = pool.health;
    return c.json(
      {
        status: health.status,
        model: modelName,
        queue: pool.queueDepth,
        running: pool.running,
        restarts: health.restarts,
        ...(health.error ? { error: health.error } : {}),
      },
      health.status === "ok" ? 200 : 503,
    );
  });
  app.get("/metrics", async (c) => {
    c.header("content-type", metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  app.get("/v1/models", (c) =>
    c.json({ object: "list", data: [{ id: modelName, object: "model", created: 0, owned_by: "safetune" }] }),
  );
  app.get("/v1/models/:id", (c) => {
    if (c.req.param("id") !== modelName) throw unknownModel(c.req.param("id"));
    return c.json({ id: modelName, object: "model", created: 0, owned_by: "safetune" });
  });
}

/** POST /v1/chat/completions and /v1/completions: each request parsed into a job, then served by serveCompletion. */
function completionRoutes(app: Hono<Env>, deps: RouteDeps, modelName: string): void {
  const complete = completionHandler(deps, modelName);
  app.post("/v1/chat/completions", (c) =>
    complete(c, parseChatRequest, (request: ChatRequest) => {
      const messages = toChatMessages(request.messages);
      return {
        kind: "chat",
        model: modelName,
        messages,
        prompts: [{ kind: "chat", messages }],
        ...common(request),
      };
    }),
  );
  app.post("/v1/completions", (c) =>
    complete(c, parseCompletionRequest, (request: CompletionRequest) => {
      const texts = typeof request.prompt === "string" ? [request.prompt] : request.prompt;
      const messages: ChatMessage[] = texts.map((text) => ({ role: "user", content: text }));
      return {
        kind: "text",
        model: modelName,
        messages,
        prompts: texts.map((text) => ({ kind: "text", text })),
        ...common(request),
      };
    }),
  );
}

/**
 * One completion request: the body parsed and checked, the request's timeout and the client's disconnect as its
 * signal, and its usage logged and counted when it finishes.
 */
function completionHandler(deps: RouteDeps, modelName: string) {
  const { options, pool, guard, metrics, log } = deps;
  const timeoutMs = options.requestTimeoutMs ?? SERVE_DEFAULTS.requestTimeoutMs;
  return async (
    c: { req: { raw: Request; json: () => Promise<unknown> }; get: (key: "requestId") => string },
    parse: (body: unknown) => ChatRequest | CompletionRequest,
    toJob: (request: never) => CompletionJob,
  ): Promise<Response> => {
    const startedAt = performance.now();
    const request = parse(await readJson(() => c.req.json()));
    if (request.model !== modelName) throw unknownModel(request.model);
    const job = toJob(request as never);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([c.req.raw.signal, timeout]);
    const route = job.kind === "chat" ? "/v1/chat/completions" : "/v1/completions";
    const requestId = c.get("requestId");
    try {
      return await serveCompletion(job, {
        requestId,
        onStreamFailure: (error) => logFailure(log, options.verbose, requestId, route, error),
        pool,
        guard,
        metrics,
        signal,
        timedOut: () => timeout.aborted,
        startedAt,
        onUsage: ({ promptTokens, completionTokens }) => {
          metrics.latency.observe({ route }, (performance.now() - startedAt) / 1000);
          metrics.promptTokens.inc(promptTokens);
          metrics.completionTokens.inc(completionTokens);
          log({
            event: "completion",
            request_id: requestId,
            route,
            ms: Math.round(performance.now() - startedAt),
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            stream: job.stream,
            ...(request.user ? { user: request.user } : {}),
            ...(options.logPrompts ? { messages: job.messages } : {}),
          });
        },
      });
    } catch (err) {
      if (timeout.aborted) throw timeoutError();
      throw err;
    }
  };
}

/** The sampling fields both endpoints share, mapped onto safetune's decoding options. */
function common(
  request: ChatRequest | CompletionRequest,
): Pick<CompletionJob, "n" | "sampling" | "stream" | "includeUsage"> {
  const sampling: SamplingRequest = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (maxTokens != null) sampling.maxTokens = maxTokens;
  // top_p 0 keeps only the most likely token: greedy, which the sampler spells temperature 0.
  const temperature = request.top_p === 0 ? 0 : request.temperature;
  if (temperature != null) sampling.temperature = temperature;
  if (request.top_p != null && request.top_p > 0 && request.top_p < 1) sampling.topP = request.top_p;
  if (request.seed != null) sampling.seed = request.seed >>> 0;
  if (request.stop != null) sampling.stop = typeof request.stop === "string" ? [request.stop] : request.stop;
  if (request.frequency_penalty) sampling.frequencyPenalty = request.frequency_penalty;
  if (request.presence_penalty) sampling.presencePenalty = request.presence_penalty;
  return {
    n: request.n ?? 1,
    sampling,
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
  };
}

async function readJson(read: () => Promise<unknown>): Promise<unknown> {
  try {
    return await read();
  } catch {
    throw new ApiError(
      400,
      "invalid_request_error",
      "We could not parse the JSON body of your request: it must be a JSON object",
    );
  }
}

/** One log record for a request that failed on the server's side; the stack only with --verbose. */
function logFailure(
  log: RouteDeps["log"],
  verbose: boolean | undefined,
  requestId: string,
  path: string,
  error: ApiError,
): void {
  const stack = error.detail ?? error.stack;
  log({
    event: "error",
    request_id: requestId,
    path,
    status: error.status,
    message: error.message,
    ...(verbose && stack ? { stack } : {}),
  });
}

function unknownModel(name: string): ApiError {
  return new ApiError(
    404,
    "not_found_error",
    `The model '${name}' does not exist`,
    "model",
    "model_not_found",
  );
}
