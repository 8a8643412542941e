/**
 * Several replicas of one served model (vLLM, TGI, llama.cpp server, safetune serve) behind one client: each
 * request goes to the live replica with the fewest requests in flight (ties: round robin), within each replica's
 * own concurrency limit; a transient failure is retried on another replica; a replica that keeps failing is
 * skipped for a cool-down period. One endpoint is a pool of one and behaves exactly as that endpoint alone.
 *
 * Who retries: with several replicas the pool does, and each replica makes a single attempt per request. The
 * endpoint's own retries would keep a request waiting (backoff, or timeouts of a hung server) on the replica that
 * just failed while another one is idle; retrying elsewhere at once is what replicas are for. The pool backs off
 * only when a request has failed on every live replica. With one replica the endpoint keeps its own retries.
 */
import type { ChatMessage } from "../data/records.js";
import {
  backoffDelay,
  EndpointError,
  type EndpointOptions,
  type EndpointReply,
  OpenAIEndpoint,
  type SamplingRequest,
  sleep,
} from "./openaiEndpoint.js";

export interface EndpointPoolOptions extends Omit<EndpointOptions, "url" | "concurrency"> {
  /** Base URLs of the replicas (each like http://host:8000/v1); all serve `model`. */
  urls: readonly string[];
  /** Requests in flight at once per replica (default 8). */
  concurrency?: number;
  /** Consecutive transient failures after which a replica is marked down (default 3). */
  failuresToMarkDown?: number;
  /** How long a replica marked down is skipped, in ms (default 30000). */
  cooldownMs?: number;
}

/** Per-replica figures for logs: requests sent, answered and failed (each attempt counts once). */
export interface ReplicaCounters {
  url: string;
  sent: number;
  succeeded: number;
  failed: number;
  /** Whether the replica is in its cool-down now. */
  down: boolean;
  /** Times it was marked down. */
  markedDown: number;
  /** The last failure, without the URL. */
  lastError?: string;
}

/** Every replica is down: the message names each URL and its last error, on one line. */
export class AllEndpointsDownError extends EndpointError {
  /** The replicas' base URLs (`url` holds them joined by spaces). */
  readonly urls: readonly string[];

  constructor(message: string, urls: readonly string[], attempts: number) {
    super(message, { url: urls.join(" "), retryable: true, attempts });
    this.name = "AllEndpointsDownError";
    this.urls = urls;
  }
}

const DEFAULTS = { concurrency: 8, failuresToMarkDown: 3, cooldownMs: 30_000, retries: 4, backoffMs: 500 };

interface Replica {
  readonly endpoint: OpenAIEndpoint;
  readonly url: string;
  /** Requests of this pool on the replica now. */
  active: number;
  sent: number;
  succeeded: number;
  failed: number;
  markedDown: number;
  consecutiveFailures: number;
  /** Back from a cool-down and not yet answered: one more failure sends it back. */
  probation: boolean;
  down: boolean;
  lastError?: string;
  timer?: NodeJS.Timeout;
}

/** A request waiting for a free slot; `tried` are the replicas it already failed on. */
interface Waiter {
  tried: ReadonlySet<Replica>;
  grant: (replica: Replica) => void;
  fail: (err: unknown) => void;
}

export class EndpointPool {
  /** The replicas' base URLs, in the order given. */
  readonly urls: readonly string[];
  /** The model name served by every replica. */
  readonly model: string;
  readonly #replicas: Replica[];
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #failuresToMarkDown: number;
  readonly #cooldownMs: number;
  readonly #waiters: Waiter[] = [];
  /** Where the next round-robin tie-break starts. */
  #next = 0;

  /** A pool over `options.urls`: replicas make one attempt each when there are several (see the file comment). */
  static create(options: EndpointPoolOptions): EndpointPool {
    const { urls, failuresToMarkDown, cooldownMs, ...endpointOptions } = options;
    if (urls.length === 0) throw new TypeError("endpoint pool: no endpoint URL");
    const several = urls.length > 1;
    const replicas = urls.map(
      (url) =>
        new OpenAIEndpoint({
          ...endpointOptions,
          url,
          concurrency: options.concurrency ?? DEFAULTS.concurrency,
          ...(several ? { retries: 0 } : {}),
        }),
    );
    const first = replicas[0]?.options;
    return new EndpointPool(replicas, {
      retries: options.retries ?? DEFAULTS.retries,
      backoffMs: first?.backoffMs ?? DEFAULTS.backoffMs,
      maxBackoffMs: first?.maxBackoffMs ?? 30_000,
      ...(failuresToMarkDown === undefined ? {} : { failuresToMarkDown }),
      ...(cooldownMs === undefined ? {} : { cooldownMs }),
    });
  }

  /**
   * A pool over ready-made endpoints (their own retries stay on). `retries` are the pool's extra attempts of a
   * request on other replicas when there are several.
   */
  constructor(
    endpoints: readonly OpenAIEndpoint[],
    policy: {
      retries?: number;
      backoffMs?: number;
      maxBackoffMs?: number;
      failuresToMarkDown?: number;
      cooldownMs?: number;
    } = {},
  ) {
    const first = endpoints[0];
    if (!first) throw new TypeError("endpoint pool: no endpoint");
    this.model = first.options.model;
    for (const e of endpoints) {
      if (e.options.model !== this.model)
        throw new TypeError(
          `endpoint pool: every replica must serve the same model (${first.options.url} serves "${this.model}", ${e.options.url} "${e.options.model}")`,
        );
    }
    this.urls = Object.freeze(endpoints.map((e) => e.options.url));
    if (new Set(this.urls).size !== this.urls.length)
      throw new TypeError(`endpoint pool: an endpoint URL is given twice (${this.urls.join(", ")})`);
    this.#replicas = endpoints.map((endpoint) => ({
      endpoint,
      url: endpoint.options.url,
      active: 0,
      sent: 0,
      succeeded: 0,
      failed: 0,
      markedDown: 0,
      consecutiveFailures: 0,
      probation: false,
      down: false,
    }));
    this.#retries = policy.retries ?? DEFAULTS.retries;
    this.#backoffMs = policy.backoffMs ?? first.options.backoffMs;
    this.#maxBackoffMs = policy.maxBackoffMs ?? first.options.maxBackoffMs;
    this.#failuresToMarkDown = policy.failuresToMarkDown ?? DEFAULTS.failuresToMarkDown;
    this.#cooldownMs = policy.cooldownMs ?? DEFAULTS.cooldownMs;
    if (!Number.isInteger(this.#retries) || this.#retries < 0)
      throw new RangeError(`endpoint pool: retries must be a non-negative integer, got ${this.#retries}`);
    if (!Number.isInteger(this.#failuresToMarkDown) || this.#failuresToMarkDown < 1)
      throw new RangeError(
        `endpoint pool: failuresToMarkDown must be a positive integer, got ${this.#failuresToMarkDown}`,
      );
    if (!(this.#cooldownMs >= 0))
      throw new RangeError(`endpoint pool: cooldownMs must be >= 0, got ${this.#cooldownMs}`);
  }

  /** The replicas' clients, in the order of `urls`. */
  get endpoints(): readonly OpenAIEndpoint[] {
    return this.#replicas.map((r) => r.endpoint);
  }

  /** POST /chat/completions on one replica (see the class comment for which). */
  chat(
    messages: readonly ChatMessage[],
    request: SamplingRequest,
    signal?: AbortSignal,
  ): Promise<EndpointReply> {
    return this.#request((e) => e.chat(messages, request, signal), signal);
  }

  /** POST /completions with a pre-rendered prompt on one replica. */
  complete(prompt: string, request: SamplingRequest, signal?: AbortSignal): Promise<EndpointReply> {
    return this.#request((e) => e.complete(prompt, request, signal), signal);
  }

  /**
   * Fails early, before any prompt is sent, when a replica is unreachable, refuses the key, or does not serve the
   * model; the error names that replica. Servers without GET /models (404) are given the benefit of the doubt.
   */
  async checkServedModel(signal?: AbortSignal): Promise<void> {
    await Promise.all(
      this.#replicas.map(async ({ endpoint }) => {
        let served: string[];
        try {
          served = await endpoint.models(signal);
        } catch (err) {
          if (err instanceof EndpointError && err.status === 404) return;
          throw err;
        }
        if (served.length > 0 && !served.includes(this.model))
          throw new EndpointError(
            `${endpoint.options.url}: does not serve model "${this.model}" (it serves: ${served.slice(0, 10).join(", ")})`,
            { url: `${endpoint.options.url}/models`, retryable: false, attempts: 1 },
          );
      }),
    );
  }

  /** Per-replica counters, in the order of `urls`. */
  counters(): ReplicaCounters[] {
    return this.#replicas.map((r) => ({
      url: r.url,
      sent: r.sent,
      succeeded: r.succeeded,
      failed: r.failed,
      down: r.down,
      markedDown: r.markedDown,
      ...(r.lastError === undefined ? {} : { lastError: r.lastError }),
    }));
  }

  /** The counters as one log line. */
  summary(): string {
    return this.counters()
      .map(
        (c) =>
          `${c.url}: ${c.sent} sent, ${c.succeeded} ok, ${c.failed} failed` +
          (c.markedDown ? `, marked down ${c.markedDown}x${c.down ? " (down now)" : ""}` : ""),
      )
      .join("; ");
  }

  /** Cancels cool-down timers (they do not keep the process alive either way). */
  dispose(): void {
    for (const r of this.#replicas) clearTimeout(r.timer);
  }

  async #request(
    call: (endpoint: OpenAIEndpoint) => Promise<EndpointReply>,
    signal: AbortSignal | undefined,
  ): Promise<EndpointReply> {
    signal?.throwIfAborted();
    const only = this.#replicas.length === 1 ? this.#replicas[0] : undefined;
    // One replica: nowhere to fail over to, so the endpoint's own retries and queue are the whole policy.
    if (only) return this.#attempt(only, call, signal);
    const tried = new Set<Replica>();
    const everTried = new Set<Replica>();
    let rounds = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.#live().length === 0) throw this.#allDown();
      if (this.#live().every((r) => tried.has(r))) {
        // It failed on every live replica: wait before going round again, as a single endpoint would.
        if (tried.size > 0) await sleep(backoffDelay(++rounds, this.#backoffMs, this.#maxBackoffMs), signal);
        tried.clear();
      }
      const replica = await this.#acquire(tried, signal);
      tried.add(replica);
      everTried.add(replica);
      try {
        return await this.#attempt(replica, call, signal);
      } catch (err) {
        if (signal?.aborted || !(err instanceof EndpointError) || !err.retryable) throw err;
        if (this.#live().length === 0) throw this.#allDown();
        if (attempt > this.#retries) throw everTried.size > 1 ? this.#gaveUp(everTried, attempt) : err;
      } finally {
        replica.active--;
        this.#pump();
      }
    }
  }

  /** One request on one replica, counted; transient failures count towards marking it down. */
  async #attempt(
    replica: Replica,
    call: (endpoint: OpenAIEndpoint) => Promise<EndpointReply>,
    signal: AbortSignal | undefined,
  ): Promise<EndpointReply> {
    replica.sent++;
    try {
      const reply = await call(replica.endpoint);
      replica.succeeded++;
      replica.consecutiveFailures = 0;
      replica.probation = false;
      return reply;
    } catch (err) {
      // The caller's abort is not the replica's fault.
      if (signal?.aborted) throw err;
      replica.failed++;
      const message = err instanceof Error ? err.message : String(err);
      const url = err instanceof EndpointError ? err.url : replica.url;
      replica.lastError = message.startsWith(`${url}: `) ? message.slice(url.length + 2) : message;
      if (err instanceof EndpointError && err.retryable) {
        replica.consecutiveFailures++;
        if (
          this.#replicas.length > 1 &&
          !replica.down &&
          (replica.probation || replica.consecutiveFailures >= this.#failuresToMarkDown)
        )
          this.#markDown(replica);
      }
      throw err;
    }
  }

  #live(): Replica[] {
    return this.#replicas.filter((r) => !r.down);
  }

  #markDown(replica: Replica): void {
    replica.down = true;
    replica.markedDown++;
    replica.probation = false;
    replica.timer = setTimeout(() => {
      replica.down = false;
      replica.probation = true;
      replica.consecutiveFailures = 0;
      this.#pump();
    }, this.#cooldownMs);
    replica.timer.unref();
    if (this.#live().length === 0) {
      const error = this.#allDown();
      for (const w of this.#waiters.splice(0)) w.fail(error);
    }
  }

  #allDown(): AllEndpointsDownError {
    const parts = this.#replicas.map((r) => `${r.url} (${r.lastError ?? "no error recorded"})`);
    const attempts = this.#replicas.reduce((n, r) => n + r.failed, 0);
    return new AllEndpointsDownError(
      `all ${this.#replicas.length} endpoints are down (cool-down ${this.#cooldownMs / 1000} s): ${parts.join("; ")}`,
      this.urls,
      attempts,
    );
  }

  /** Retries ran out on several replicas: name each with its last error. */
  #gaveUp(tried: ReadonlySet<Replica>, attempts: number): EndpointError {
    const parts = [...tried].map((r) => `${r.url} (${r.lastError ?? "no error recorded"})`);
    return new EndpointError(
      `gave up after ${attempts} attempts on ${tried.size} endpoints: ${parts.join("; ")}`,
      {
        url: [...tried].map((r) => r.url).join(" "),
        retryable: true,
        attempts,
      },
    );
  }

  /** A slot on the best live replica for a request, waiting in FIFO order when every candidate is busy. */
  #acquire(tried: ReadonlySet<Replica>, signal: AbortSignal | undefined): Promise<Replica> {
    if (this.#live().length === 0) return Promise.reject(this.#allDown());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        tried,
        grant: (replica) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(replica);
        },
        fail: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pump();
    });
  }

  /** Hands free slots to waiters, first come first served. */
  #pump(): void {
    for (let i = 0; i < this.#waiters.length; ) {
      const waiter = this.#waiters[i] as Waiter;
      const replica = this.#pick(waiter.tried);
      if (!replica) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      replica.active++;
      waiter.grant(replica);
    }
  }

  /**
   * The live replica with a free slot and the fewest requests in flight, ties broken round robin; replicas the
   * request already failed on only when no other live one is left.
   */
  #pick(tried: ReadonlySet<Replica>): Replica | undefined {
    const live = this.#live();
    const untried = live.filter((r) => !tried.has(r));
    const candidates = (untried.length > 0 ? untried : live).filter(
      (r) => r.active < r.endpoint.options.concurrency,
    );
    let best: Replica | undefined;
    let bestRank = Number.POSITIVE_INFINITY;
    const n = this.#replicas.length;
    for (const r of candidates) {
      // Rank by load first, then by distance from the round-robin cursor.
      const rank = r.active * n + ((this.#replicas.indexOf(r) - this.#next + n) % n);
      if (rank < bestRank) {
        best = r;
        bestRank = rank;
      }
    }
    if (best) this.#next = (this.#replicas.indexOf(best) + 1) % n;
    return best;
  }
}
