/**
 * A client for any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, TGI, safetune's own server):
 * answers and judge verdicts come from here. Bounded concurrency per endpoint, retries with backoff on
 * transient failures, one-line errors that name the URL and never the API key.
 */
import type { ChatMessage } from "../data/records.js";
import { SafetuneError } from "../util/safetuneError.js";

export interface EndpointOptions {
  /** Base URL including the version prefix, e.g. http://localhost:8000/v1 (a trailing slash is fine). */
  url: string;
  /** The model name sent in requests. */
  model: string;
  /** Bearer token (read from an environment variable by the CLI, never logged). */
  apiKey?: string;
  /** Requests in flight at once against this endpoint (default 4). */
  concurrency?: number;
  /** Per-attempt timeout in ms, covering the reply body too (default 120000). */
  timeoutMs?: number;
  /** Retries after the first attempt on 408, 429, 5xx, timeouts and network errors (default 4). */
  retries?: number;
  /**
   * First backoff in ms, doubled each retry with jitter (a random 50-100% of the step), capped at
   * maxBackoffMs; a Retry-After (or retry-after-ms) header wins, also capped (default 500).
   */
  backoffMs?: number;
  /** The longest wait between attempts in ms (default 30000). */
  maxBackoffMs?: number;
}

/** Sampling settings of one request; n is always 1. */
export interface SamplingRequest {
  /** Sent as max_tokens (what vLLM, Ollama, llama.cpp and TGI all accept). */
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  /** Stop strings; omitted from the request when empty. */
  stop?: string[];
}

export interface EndpointReply {
  text: string;
  /** The server's finish_reason ("stop", "length", ...), "unknown" when it sent none. */
  finishReason: string;
  promptTokens?: number;
  completionTokens?: number;
  /** Attempts it took (1 when the first one succeeded). */
  attempts: number;
}

/** A request that failed for good. The message is one line: URL, then what went wrong; never the API key. */
export class EndpointError extends SafetuneError {
  /** The HTTP status of the last attempt, when there was a reply. */
  readonly status?: number;
  /** The full URL requested, e.g. http://127.0.0.1:8000/v1/chat/completions. */
  readonly url: string;
  /**
   * Whether the failure was transient (408, 429, 5xx, timeout, network) and retries merely ran out;
   * false for other 4xx and for replies that are not of the expected shape.
   */
  readonly retryable: boolean;
  /** Attempts made before giving up. */
  readonly attempts: number;

  constructor(message: string, info: { url: string; status?: number; retryable: boolean; attempts: number }) {
    super(message);
    this.name = "EndpointError";
    this.url = info.url;
    if (info.status !== undefined) this.status = info.status;
    this.retryable = info.retryable;
    this.attempts = info.attempts;
  }
}

/** Resolved options: everything but the API key, which stays private so that logging options cannot leak it. */
export type ResolvedEndpointOptions = Readonly<Required<Omit<EndpointOptions, "apiKey">>>;

const DEFAULTS = { concurrency: 4, timeoutMs: 120_000, retries: 4, backoffMs: 500, maxBackoffMs: 30_000 };

/** Error codes that mean the connection was never made (reported as "cannot connect"). */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Longest server message kept in an error (validation errors can be long; errors stay one line). */
const MAX_SERVER_MESSAGE = 1000;
/** How much of a non-JSON body goes into an error. */
const BODY_SNIPPET = 200;

/** A transient failure of one attempt: retried while retries last. */
interface Transient {
  /** e.g. "503 overloaded", "timed out after 100 ms", "network error (ECONNRESET: ...)". */
  detail: string;
  status?: number;
  /** Set when the connection itself failed. */
  connectCode?: string;
  /** The wait the server asked for (Retry-After), uncapped. */
  retryAfterMs?: number;
}

type Attempt<T> = { ok: true; value: T } | { ok: false; failure: Transient };

/** What a reply parser returns: the value, or why the JSON is not of the expected shape. */
type Parsed<T> = { value: T } | { problem: string };

/** One API route: how to call it and how to read its reply. */
interface Route<T> {
  method: "GET" | "POST";
  path: string;
  /** What a good reply is, for errors: "an OpenAI chat completion". */
  what: string;
  parse: (json: unknown) => Parsed<T>;
}

export class OpenAIEndpoint {
  /** The resolved options (url without trailing slashes); url + model identify the answerer. */
  readonly options: ResolvedEndpointOptions;
  readonly #apiKey: string | undefined;
  readonly #slots: Semaphore;
  #pending = 0;

  constructor(options: EndpointOptions) {
    const url = options.url.trim().replace(/\/+$/, "");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`endpoint URL is not a URL: ${JSON.stringify(options.url)}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new TypeError(`endpoint URL must be http or https: ${url}`);
    }
    // fetch refuses URLs with credentials; the key belongs in apiKey, and must not end up in messages.
    if (parsed.username || parsed.password) throw new TypeError("endpoint URL must not contain credentials");
    if (!options.model) throw new TypeError("endpoint model name is empty");
    const resolved = {
      url,
      model: options.model,
      concurrency: options.concurrency ?? DEFAULTS.concurrency,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      retries: options.retries ?? DEFAULTS.retries,
      backoffMs: options.backoffMs ?? DEFAULTS.backoffMs,
      maxBackoffMs: options.maxBackoffMs ?? DEFAULTS.maxBackoffMs,
    };
    if (!Number.isInteger(resolved.concurrency) || resolved.concurrency < 1) {
      throw new RangeError(`endpoint concurrency must be a positive integer, got ${resolved.concurrency}`);
    }
    if (!Number.isInteger(resolved.retries) || resolved.retries < 0) {
      throw new RangeError(`endpoint retries must be a non-negative integer, got ${resolved.retries}`);
    }
    if (!(resolved.timeoutMs > 0))
      throw new RangeError(`endpoint timeoutMs must be > 0, got ${resolved.timeoutMs}`);
    if (!(resolved.backoffMs >= 0) || !(resolved.maxBackoffMs >= 0)) {
      throw new RangeError("endpoint backoffMs and maxBackoffMs must be >= 0");
    }
    this.options = Object.freeze(resolved);
    this.#apiKey = options.apiKey || undefined;
    this.#slots = new Semaphore(resolved.concurrency);
  }

  /** Calls started and not yet settled: running, waiting for a slot, or waiting to retry. */
  get inFlight(): number {
    return this.#pending;
  }

  /**
   * POST {url}/chat/completions. Only role and content of each message are sent: extra fields the chat
   * template uses (reasoning_content, ...) are not part of the request schema and some servers reject them.
   */
  async chat(
    messages: readonly ChatMessage[],
    request: SamplingRequest,
    signal?: AbortSignal,
  ): Promise<EndpointReply> {
    const body = {
      model: this.options.model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      ...samplingFields(request),
    };
    const { value, attempts } = await this.#call(CHAT, body, signal);
    return { ...value, attempts };
  }

  /** POST {url}/completions with a pre-rendered prompt (when the caller applies the chat template itself). */
  async complete(prompt: string, request: SamplingRequest, signal?: AbortSignal): Promise<EndpointReply> {
    const body = { model: this.options.model, prompt, ...samplingFields(request) };
    const { value, attempts } = await this.#call(COMPLETIONS, body, signal);
    return { ...value, attempts };
  }

  /** GET {url}/models: the served model ids (for a clear error when --api-model is wrong). */
  async models(signal?: AbortSignal): Promise<string[]> {
    return (await this.#call(MODELS, undefined, signal)).value;
  }

  /**
   * One call: a slot from the semaphore, then attempts until success, a permanent failure, or retries run out.
   * The slot is held across backoff waits, so an overloaded server is not hit harder by queued calls.
   * A caller's abort rejects with signal.reason (an AbortError by default), not an EndpointError.
   */
  async #call<T>(
    route: Route<T>,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<{ value: T; attempts: number }> {
    signal?.throwIfAborted();
    const url = this.options.url + route.path;
    this.#pending++;
    try {
      await this.#slots.acquire(signal);
      try {
        for (let attempt = 1; ; attempt++) {
          const outcome = await this.#attempt(route, url, body, signal, attempt);
          if (outcome.ok) return { value: outcome.value, attempts: attempt };
          const failure = outcome.failure;
          if (attempt > this.options.retries) throw this.#gaveUp(url, failure, attempt);
          await sleep(this.#backoff(attempt, failure.retryAfterMs), signal);
        }
      } finally {
        this.#slots.release();
      }
    } finally {
      this.#pending--;
    }
  }

  async #attempt<T>(
    route: Route<T>,
    url: string,
    body: unknown,
    signal: AbortSignal | undefined,
    attempt: number,
  ): Promise<Attempt<T>> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const headers: Record<string, string> = { accept: "application/json" };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method: route.method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: controller.signal,
        });
        // Inside the try so the timeout and the caller's abort also cover a slow body.
        text = await response.text();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (timedOut)
          return { ok: false, failure: { detail: `timed out after ${this.options.timeoutMs} ms` } };
        return { ok: false, failure: networkFailure(err) };
      }
      if (!response.ok) {
        const status = response.status;
        const detail = this.#redact(`${status} ${serverMessage(text) || response.statusText || "error"}`);
        if (status === 408 || status === 429 || status >= 500) {
          const retryAfterMs = retryAfter(response.headers);
          return {
            ok: false,
            failure: { detail, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
          };
        }
        throw new EndpointError(`${url}: ${detail}`, { url, status, retryable: false, attempts: attempt });
      }
      // A malformed 200 is almost always a misconfiguration (wrong URL or server), not a transient fault,
      // so it is not retried; a body cut off mid-transfer surfaces as a network error above and is retried.
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw this.#badReply(url, route.what, `not JSON: ${snippet(text)}`, response.status, attempt);
      }
      const parsed = route.parse(json);
      if ("problem" in parsed)
        throw this.#badReply(url, route.what, parsed.problem, response.status, attempt);
      return { ok: true, value: parsed.value };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #badReply(url: string, what: string, problem: string, status: number, attempts: number): EndpointError {
    return new EndpointError(this.#redact(`${url}: reply is not ${what} (${problem})`), {
      url,
      status,
      retryable: false,
      attempts,
    });
  }

  #gaveUp(url: string, failure: Transient, attempts: number): EndpointError {
    const plural = attempts === 1 ? "attempt" : "attempts";
    const message = failure.connectCode
      ? `${url}: cannot connect (${failure.connectCode}) after ${attempts} ${plural}`
      : `${url}: gave up after ${attempts} ${plural} (last: ${failure.detail})`;
    return new EndpointError(this.#redact(message), {
      url,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      retryable: true,
      attempts,
    });
  }

  /** The wait before retry number `attempt` (1-based). */
  #backoff(attempt: number, retryAfterMs: number | undefined): number {
    const { backoffMs, maxBackoffMs } = this.options;
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, maxBackoffMs);
    return backoffDelay(attempt, backoffMs, maxBackoffMs);
  }

  /** Servers sometimes echo the credentials they reject; keep the key out of every message. */
  #redact(message: string): string {
    return this.#apiKey ? message.split(this.#apiKey).join("[redacted]") : message;
  }
}

/** The request fields shared by chat and completions. */
function samplingFields(request: SamplingRequest): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    max_tokens: request.maxTokens,
    temperature: request.temperature,
    n: 1,
    stream: false,
  };
  if (request.topP !== undefined) fields.top_p = request.topP;
  if (request.seed !== undefined) fields.seed = request.seed;
  if (request.stop && request.stop.length > 0) fields.stop = request.stop;
  return fields;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function firstChoice(json: unknown): Record<string, unknown> | string {
  if (!isRecord(json)) return "not a JSON object";
  const choices = json.choices;
  if (!Array.isArray(choices)) return "no choices array";
  const first: unknown = choices[0];
  if (!isRecord(first)) return "no choices[0]";
  return first;
}

function usageOf(json: unknown): { promptTokens?: number; completionTokens?: number } {
  const usage = isRecord(json) ? json.usage : undefined;
  if (!isRecord(usage)) return {};
  const out: { promptTokens?: number; completionTokens?: number } = {};
  if (typeof usage.prompt_tokens === "number") out.promptTokens = usage.prompt_tokens;
  if (typeof usage.completion_tokens === "number") out.completionTokens = usage.completion_tokens;
  return out;
}

function finishReasonOf(choice: Record<string, unknown>): string {
  return typeof choice.finish_reason === "string" ? choice.finish_reason : "unknown";
}

type ReplyFields = Omit<EndpointReply, "attempts">;

/**
 * choices[0].message.content as text. The API documents content as string or null: null means no text
 * (a reasoning model that spent max_tokens thinking, a refusal given in message.refusal), which is read as
 * the refusal text or "". A list of text parts is joined. A missing content field is a malformed reply.
 */
function parseChat(json: unknown): Parsed<ReplyFields> {
  const choice = firstChoice(json);
  if (typeof choice === "string") return { problem: choice };
  const message = choice.message;
  if (!isRecord(message)) return { problem: "no choices[0].message" };
  const content = message.content;
  let text: string;
  if (typeof content === "string") text = content;
  else if (content === null) text = typeof message.refusal === "string" ? message.refusal : "";
  else if (Array.isArray(content) && content.every((p) => isRecord(p) && typeof p.text === "string")) {
    text = content.map((p) => (p as { text: string }).text).join("");
  } else return { problem: "choices[0].message.content is not a string" };
  return { value: { text, finishReason: finishReasonOf(choice), ...usageOf(json) } };
}

function parseCompletion(json: unknown): Parsed<ReplyFields> {
  const choice = firstChoice(json);
  if (typeof choice === "string") return { problem: choice };
  if (typeof choice.text !== "string") return { problem: "choices[0].text is not a string" };
  return { value: { text: choice.text, finishReason: finishReasonOf(choice), ...usageOf(json) } };
}

function parseModels(json: unknown): Parsed<string[]> {
  if (!isRecord(json) || !Array.isArray(json.data)) return { problem: "no data array" };
  const ids: string[] = [];
  for (const entry of json.data) {
    if (!isRecord(entry) || typeof entry.id !== "string") return { problem: "a data entry has no string id" };
    ids.push(entry.id);
  }
  return { value: ids };
}

const CHAT: Route<ReplyFields> = {
  method: "POST",
  path: "/chat/completions",
  what: "an OpenAI chat completion",
  parse: parseChat,
};
const COMPLETIONS: Route<ReplyFields> = {
  method: "POST",
  path: "/completions",
  what: "an OpenAI completion",
  parse: parseCompletion,
};
const MODELS: Route<string[]> = {
  method: "GET",
  path: "/models",
  what: "an OpenAI model list",
  parse: parseModels,
};

/** Collapse a text to one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function snippet(text: string): string {
  const line = oneLine(text);
  return line.length > BODY_SNIPPET ? `${line.slice(0, BODY_SNIPPET)}...` : line || "empty body";
}

/**
 * The server's own error message. OpenAI, llama.cpp and Ollama send {"error": {"message"}}; TGI sends
 * {"error": "..."}; older vLLM sends {"message"}; FastAPI sends {"detail"}. Otherwise the body's start.
 */
function serverMessage(body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return body.trim() ? snippet(body) : "";
  }
  if (isRecord(json)) {
    const candidates = [
      isRecord(json.error) ? json.error.message : undefined,
      json.error,
      json.message,
      json.detail,
    ];
    for (const candidate of candidates) {
      if (typeof candidate === "string" && candidate.trim()) {
        const line = oneLine(candidate);
        return line.length > MAX_SERVER_MESSAGE ? `${line.slice(0, MAX_SERVER_MESSAGE)}...` : line;
      }
    }
  }
  return body.trim() ? snippet(body) : "";
}

/** Retry-After (seconds or an HTTP date) or OpenAI's retry-after-ms, in ms; undefined when absent or invalid. */
function retryAfter(headers: Headers): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && ms.trim() !== "" && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** fetch's "fetch failed" TypeError carries the socket error as its cause (an AggregateError for happy eyeballs). */
function networkFailure(err: unknown): Transient {
  const cause: unknown = err instanceof Error && err.cause !== undefined ? err.cause : err;
  let code: string | undefined;
  let message = "";
  if (cause instanceof Error) {
    message = cause.message;
    const own = (cause as { code?: unknown }).code;
    const nested =
      cause instanceof AggregateError ? (cause.errors[0] as { code?: unknown } | undefined) : undefined;
    if (typeof own === "string") code = own;
    else if (typeof nested?.code === "string") code = nested.code;
  } else message = String(cause);
  message = oneLine(message);
  const detail = code
    ? `network error (${code}${message && !message.includes(code) ? `: ${message}` : ""})`
    : `network error (${message || "unknown"})`;
  return code && CONNECT_CODES.has(code) ? { detail, connectCode: code } : { detail };
}

/** The wait before retry number `attempt` (1-based): doubling from backoffMs, capped, with jitter. */
export function backoffDelay(attempt: number, backoffMs: number, maxBackoffMs: number): number {
  const step = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
  // Jitter spreads retries of many concurrent callers so they do not hit the server in lockstep.
  return step * (0.5 + Math.random() * 0.5);
}

/** Wait ms, or reject with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A FIFO counting semaphore whose waiters can leave the queue when their signal aborts. */
class Semaphore {
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(grant);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      this.#waiters.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  release(): void {
    // Hand the slot straight to the next waiter so a newcomer cannot jump the queue.
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}
