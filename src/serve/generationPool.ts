// The main thread's side of generation: starts the worker, bounds the queue (429 when full), routes streamed text
// to its request, cancels on abort (client gone, timeout). A worker that dies fails the requests it held, clearly,
// and is replaced: the pool reports "degraded" (new requests get 503) until the new one has loaded the model, and
// "failed" only when replacements themselves keep failing to load.
import { Worker } from "node:worker_threads";
import { ApiError } from "./apiError.js";
import type {
  ChoiceResult,
  FromWorker,
  ModelSummary,
  PromptInput,
  SamplingRequest,
  ToWorker,
  WorkerModelOptions,
} from "./generationProtocol.js";

export interface GenerationRequest {
  prompt: PromptInput;
  n: number;
  sampling: SamplingRequest;
}

export interface GenerationResult {
  promptTokens: number;
  choices: ChoiceResult[];
}

export interface GenerationHandlers {
  /** A piece of choice `choice`'s text, as soon as it is decoded. */
  onToken?: (choice: number, text: string) => void;
  /** The request left the queue and decoding began (time to first token starts here). */
  onStart?: (batchRows: number) => void;
}

interface Pending {
  handlers: GenerationHandlers;
  started: boolean;
  resolve: (result: GenerationResult) => void;
  reject: (error: Error) => void;
}

export interface PoolOptions extends WorkerModelOptions {
  /** Requests waiting for the worker beyond which new ones get 429. */
  maxQueue: number;
  /** Where worker failures and restarts are recorded (default: nowhere). */
  log?: (record: Record<string, unknown>) => void;
  /** Include stacks in those records. */
  verbose?: boolean;
  /** Replacement workers in a row that may fail to load before the pool gives up ("failed"); default 3. */
  maxFailedStarts?: number;
}

/** What /health reports: serving, replacing a dead worker, or unable to generate until restarted by hand. */
export interface PoolHealth {
  status: "ok" | "degraded" | "failed";
  /** Why the pool is not "ok". */
  error?: string;
  /** Workers replaced since the server started. */
  restarts: number;
}

/** The worker module next to this file; from TypeScript sources it is loaded through tsx, as the CLI is. */
function spawnWorker(options: WorkerModelOptions): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = new URL(`./generationWorker.${fromSource ? "ts" : "js"}`, import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: options });
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: options });
}

/** A load failure of a worker, with the worker's stack for the log. */
class WorkerStartError extends Error {
  readonly workerStack: string | undefined;
  constructor(message: string, workerStack?: string) {
    super(message);
    this.name = "WorkerStartError";
    this.workerStack = workerStack;
  }
}

/** Starts a worker and waits until its model is loaded; `onSpawn` sees it at once (so close() can end it). */
function startWorker(
  options: WorkerModelOptions,
  onSpawn: (worker: Worker) => void,
): Promise<{ worker: Worker; model: ModelSummary }> {
  const worker = spawnWorker(options);
  onSpawn(worker);
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker) => {
      if (message.type === "ready") {
        cleanup();
        resolve({ worker, model: message.model });
      } else if (message.type === "failed") {
        cleanup();
        void worker.terminate();
        reject(new WorkerStartError(message.message, message.stack));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new WorkerStartError(err.message, err.stack));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new WorkerStartError(`the generation worker exited while loading the model (code ${code})`));
    };
    const cleanup = () => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
  });
}

/** Pause before starting a replacement: none for the first, then longer while replacements keep dying. */
export function restartDelayMs(failuresInARow: number): number {
  return failuresInARow <= 0 ? 0 : Math.min(10_000, 500 * 2 ** (failuresInARow - 1));
}

/** A worker that served at least this long before dying counts as healthy: the next restart is immediate. */
const HEALTHY_RUN_MS = 30_000;

export class GenerationPool {
  readonly model: ModelSummary;
  readonly #options: PoolOptions;
  #worker: Worker | undefined;
  /** A replacement being started, so that close() can end it. */
  #starting: Worker | undefined;
  #state: "ready" | "restarting" | "failed" | "closed" = "ready";
  #reason: string | undefined;
  #readyAt = performance.now();
  /** Workers that died young or failed to load, in a row: they lengthen the pause before the next start. */
  #failuresInARow = 0;
  #failedStarts = 0;
  #restarts = 0;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Generations stopped mid-way (client gone, timeout, guard) and the tokens they had generated by then. */
  readonly cancelled = { generations: 0, tokens: 0 };

  private constructor(worker: Worker, model: ModelSummary, options: PoolOptions) {
    this.model = model;
    this.#options = options;
    this.#adopt(worker);
  }

  /** Starts the worker and waits until the model is loaded; a load failure rejects with the worker's message. */
  static async start(options: PoolOptions): Promise<GenerationPool> {
    const { worker, model } = await startWorker(workerOptions(options), () => {});
    return new GenerationPool(worker, model, options);
  }

  /** Requests sent to the worker and not yet decoding. */
  get queueDepth(): number {
    let n = 0;
    for (const p of this.#pending.values()) if (!p.started) n++;
    return n;
  }

  /** Requests decoding now. */
  get running(): number {
    return this.#pending.size - this.queueDepth;
  }

  get health(): PoolHealth {
    const status = this.#state === "ready" ? "ok" : this.#state === "restarting" ? "degraded" : "failed";
    return {
      status,
      ...(this.#reason && status !== "ok" ? { error: this.#reason } : {}),
      restarts: this.#restarts,
    };
  }

  /** Throws the ApiError a new request would get now (503 while no worker can take it, 429 when the queue is full). */
  admit(): void {
    if (this.#state !== "ready")
      throw new ApiError(
        503,
        "server_error",
        this.#state === "restarting"
          ? `the generation worker is being restarted after a failure (${this.#reason}); retry shortly`
          : (this.#reason ?? "the server cannot generate"),
      );
    if (this.queueDepth >= this.#options.maxQueue)
      throw new ApiError(
        429,
        "rate_limit_error",
        `the server is busy: ${this.#options.maxQueue} requests are already queued`,
      );
  }

  /**
   * Generates; resolves when every choice finished. Aborting `signal` cancels the request in the worker and
   * rejects with the signal's reason; a request the worker refuses rejects with ApiError 400, one that fails in
   * the worker with ApiError 500 (its `detail` holds the worker's stack).
   * Admission failures (admit()) throw synchronously, so a streaming response can still answer with a status;
   * everything after admission settles the promise.
   */
  generate(
    request: GenerationRequest,
    handlers: GenerationHandlers = {},
    signal?: AbortSignal,
  ): Promise<GenerationResult> {
    this.admit();
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    return new Promise<GenerationResult>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#pending.delete(id)) return;
        this.#post({ type: "cancel", id });
        reject(signal?.reason ?? new Error("aborted"));
      };
      this.#pending.set(id, {
        handlers,
        started: false,
        resolve: (result) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#post({ type: "generate", id, ...request });
    });
  }

  /**
   * Ends the current worker the way a crash would (its requests fail, a replacement starts). For operators and
   * tests of the recovery path; a healthy server never needs it.
   */
  async killWorker(): Promise<void> {
    await this.#worker?.terminate();
  }

  async close(): Promise<void> {
    this.#state = "closed";
    this.#reason = "the server is shutting down";
    this.#rejectAll(() => new ApiError(503, "server_error", "the server is shutting down"));
    const workers = [this.#worker, this.#starting];
    this.#worker = undefined;
    this.#starting = undefined;
    await Promise.all(workers.map((w) => w?.terminate()));
  }

  #adopt(worker: Worker): void {
    this.#worker = worker;
    this.#state = "ready";
    this.#reason = undefined;
    this.#readyAt = performance.now();
    worker.on("message", (message: FromWorker) => this.#receive(worker, message));
    worker.on("error", (err) => this.#died(worker, `it crashed: ${oneLine(err.message)}`, err.stack));
    worker.on("exit", (code) => this.#died(worker, `it exited (code ${code})`));
  }

  #post(message: ToWorker): void {
    this.#worker?.postMessage(message);
  }

  #receive(worker: Worker, message: FromWorker): void {
    if (worker !== this.#worker) return;
    switch (message.type) {
      case "ready":
        return;
      case "failed":
        this.#died(worker, `its loop failed: ${oneLine(message.message)}`, message.stack);
        void worker.terminate();
        return;
      case "log":
        this.#log({ event: "worker_error", message: message.message });
        return;
      case "cancelled":
        this.cancelled.generations++;
        this.cancelled.tokens += message.completionTokens;
        return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return; // cancelled: late messages are dropped
    try {
      this.#deliver(message, pending);
    } catch (err) {
      // A handler of this request threw (its stream, its metrics): that request fails, the process goes on.
      this.#pending.delete(message.id);
      this.#post({ type: "cancel", id: message.id });
      const error = new ApiError(500, "server_error", `internal error: ${oneLine((err as Error).message)}`);
      error.detail = (err as Error).stack;
      pending.reject(error);
    }
  }

  #deliver(
    message: Exclude<FromWorker, { type: "ready" | "failed" | "log" | "cancelled" }>,
    pending: Pending,
  ): void {
    switch (message.type) {
      case "started":
        pending.started = true;
        pending.handlers.onStart?.(message.batchRows);
        return;
      case "token":
        pending.handlers.onToken?.(message.choice, message.text);
        return;
      case "done":
        this.#pending.delete(message.id);
        pending.resolve({ promptTokens: message.promptTokens, choices: message.choices });
        return;
      case "rejected":
        this.#pending.delete(message.id);
        pending.reject(new ApiError(400, "invalid_request_error", message.message, message.param));
        return;
      case "error": {
        this.#pending.delete(message.id);
        const error = new ApiError(500, "server_error", `generation failed: ${oneLine(message.message)}`);
        error.detail = message.stack;
        pending.reject(error);
        return;
      }
    }
  }

  /** The serving worker is gone: fail what it held, then start a replacement (unless closing). */
  #died(worker: Worker, why: string, stack?: string): void {
    if (worker !== this.#worker || this.#state !== "ready") return;
    this.#worker = undefined;
    const reason = `the generation worker stopped: ${why}`;
    this.#state = "restarting";
    this.#reason = reason;
    const young = performance.now() - this.#readyAt < HEALTHY_RUN_MS;
    this.#failuresInARow = young ? this.#failuresInARow + 1 : 1;
    this.#log({ event: "worker_failed", message: reason, ...this.#stack(stack) });
    // Decoding requests may have caused it (a 500); queued ones were only waiting (a 503 they can retry).
    this.#rejectAll((p) =>
      p.started
        ? new ApiError(500, "server_error", `${reason} while generating this request`)
        : new ApiError(503, "server_error", `${reason} before this request began; retry shortly`),
    );
    void this.#restart();
  }

  async #restart(): Promise<void> {
    const maxFailedStarts = this.#options.maxFailedStarts ?? 3;
    while (this.#state === "restarting") {
      await new Promise((resolve) => setTimeout(resolve, restartDelayMs(this.#failuresInARow - 1)));
      if (this.#state !== "restarting") return;
      try {
        const { worker } = await startWorker(workerOptions(this.#options), (w) => {
          this.#starting = w;
        });
        this.#starting = undefined;
        if (this.#state !== "restarting") {
          void worker.terminate();
          return;
        }
        this.#failedStarts = 0;
        this.#restarts++;
        this.#adopt(worker);
        this.#log({ event: "worker_restarted", restarts: this.#restarts });
      } catch (err) {
        this.#starting = undefined;
        if (this.#state !== "restarting") return;
        this.#failedStarts++;
        this.#failuresInARow++;
        const message = oneLine((err as Error).message);
        this.#log({
          event: "worker_start_failed",
          message,
          attempt: this.#failedStarts,
          ...this.#stack((err as WorkerStartError).workerStack),
        });
        if (this.#failedStarts >= maxFailedStarts) {
          this.#state = "failed";
          this.#reason = `the generation worker could not be restarted (${this.#failedStarts} tries): ${message}`;
          this.#log({ event: "worker_gave_up", message: this.#reason });
        }
      }
    }
  }

  #rejectAll(error: (p: Pending) => ApiError): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.reject(error(p));
    }
  }

  #log(record: Record<string, unknown>): void {
    this.#options.log?.(record);
  }

  #stack(stack: string | undefined): { stack?: string } {
    return this.#options.verbose && stack ? { stack } : {};
  }
}

function workerOptions(options: PoolOptions): WorkerModelOptions {
  const { maxQueue: _q, log: _l, verbose: _v, maxFailedStarts: _m, ...worker } = options;
  return worker;
}

function oneLine(message: string): string {
  return message.split("\n")[0] ?? "";
}
