/**
 * A scriptable OpenAI-compatible server on 127.0.0.1 for tests: a callback decides each reply (text, an
 * HTTP error, garbage, a delay, a dropped connection), and the server records every request and the most
 * requests it ever had in flight at once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface FakeRequest {
  /** The request path, e.g. /v1/chat/completions. */
  path: string;
  /** The parsed JSON body (the raw text when it is not JSON, undefined when empty). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary request fields.
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * How to answer one completion request:
 * - a string: the assistant text (finish_reason "stop")
 * - { text, finishReason?, delayMs? }: the assistant text after an optional delay
 * - { status, body?, headers?, delayMs? }: that status with that body (JSON-encoded unless a string)
 * - { raw, status? }: a non-JSON body (default status 200)
 * - { drop: true, delayMs? }: destroy the connection without replying (a network error for the client)
 */
export type FakeResponse =
  | string
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  | { text: string; delayMs?: number; finishReason?: string }
  | { raw: string; status?: number }
  | { drop: true; delayMs?: number };

export interface FakeServer {
  /** The base URL with the version prefix, e.g. http://127.0.0.1:PORT/v1. */
  url: string;
  /** Every request received, in order (including rejected ones). */
  requests: FakeRequest[];
  /** The most requests ever in flight at once. */
  maxConcurrent: number;
  /** Stop listening and destroy open connections (pending delayed replies are abandoned). */
  close(): Promise<void>;
}

export interface FakeServerOptions {
  /** Model ids listed by GET /v1/models (default ["fake-model"]). */
  models?: string[];
  /** When set, requests without `Authorization: Bearer <apiKey>` get a 401 OpenAI error body. */
  apiKey?: string;
}

/**
 * `respond` maps a request to the reply (a string is the assistant text). Serves POST /v1/chat/completions,
 * POST /v1/completions (OpenAI response shapes with usage), GET /v1/models (listing `models`).
 */
export async function startFakeOpenAIServer(
  respond: (req: FakeRequest) => FakeResponse | Promise<FakeResponse>,
  options: FakeServerOptions = {},
): Promise<FakeServer> {
  const models = options.models ?? ["fake-model"];
  const sockets = new Set<Socket>();
  /** Resolvers of pending delays, so close() can end them instead of leaving timers behind. */
  const delays = new Set<() => void>();
  let inFlight = 0;
  let ids = 0;
  let closed = false;

  const fake: FakeServer = {
    url: "",
    requests: [],
    maxConcurrent: 0,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const end of [...delays]) end();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };

  /** Wait ms, ending early when the client goes away or the server closes. */
  const delay = (ms: number | undefined, res: ServerResponse): Promise<void> => {
    if (!ms || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        delays.delete(end);
        res.off("close", end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      delays.add(end);
      res.on("close", end);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const text = await readBody(req);
    let body: unknown;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const request: FakeRequest = { path, body, headers: { ...req.headers } };
    fake.requests.push(request);

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendJson(
        res,
        401,
        openAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
      );
      return;
    }
    if (req.method === "GET" && path === "/v1/models") {
      const data = models.map((id) => ({ id, object: "model", created: 0, owned_by: "fake" }));
      sendJson(res, 200, { object: "list", data });
      return;
    }
    const chat = path === "/v1/chat/completions";
    if (req.method !== "POST" || (!chat && path !== "/v1/completions")) {
      sendJson(res, 404, openAIError(`Unknown route ${req.method} ${path}`, "invalid_request_error", null));
      return;
    }

    const reply = await respond(request);
    if (typeof reply === "object" && "delayMs" in reply) await delay(reply.delayMs, res);
    if (closed || res.destroyed) return;
    if (typeof reply === "object" && "drop" in reply) {
      req.socket.destroy();
      return;
    }
    if (typeof reply === "object" && "raw" in reply) {
      res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
      res.end(reply.raw);
      return;
    }
    if (typeof reply === "object" && "status" in reply) {
      const payload = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      res.end(payload);
      return;
    }
    const answer = typeof reply === "string" ? reply : reply.text;
    const finishReason = typeof reply === "string" ? "stop" : (reply.finishReason ?? "stop");
    const model = isRecord(body) && typeof body.model === "string" ? body.model : (models[0] ?? "fake-model");
    const promptText = isRecord(body)
      ? chat && Array.isArray(body.messages)
        ? body.messages.map((m: unknown) => (isRecord(m) ? String(m.content) : "")).join(" ")
        : String(body.prompt ?? "")
      : "";
    const usage = {
      prompt_tokens: countTokens(promptText),
      completion_tokens: countTokens(answer),
      total_tokens: countTokens(promptText) + countTokens(answer),
    };
    const created = Math.floor(Date.now() / 1000);
    ids++;
    sendJson(
      res,
      200,
      chat
        ? {
            id: `chatcmpl-fake-${ids}`,
            object: "chat.completion",
            created,
            model,
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: answer },
                logprobs: null,
                finish_reason: finishReason,
              },
            ],
            usage,
          }
        : {
            id: `cmpl-fake-${ids}`,
            object: "text_completion",
            created,
            model,
            choices: [{ index: 0, text: answer, logprobs: null, finish_reason: finishReason }],
            usage,
          },
    );
  };

  const server = createServer((req, res) => {
    inFlight++;
    fake.maxConcurrent = Math.max(fake.maxConcurrent, inFlight);
    // "close" fires once whether the reply was sent or the client went away.
    res.once("close", () => inFlight--);
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      sendJson(res, 500, openAIError(`fake server: ${String(err)}`, "server_error", null));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}

/** An OpenAI error body. */
export function openAIError(message: string, type: string, code: string | null): unknown {
  return { error: { message, type, param: null, code } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A crude token count (whitespace-separated words): enough for usage fields to be plausible. */
function countTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
