// The main thread's side of generation: starts the worker, bounds the queue (429 when full), routes streamed text
// to its request, cancels on abort (client gone, timeout), and fails every request clearly if the worker dies.
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

export class GenerationPool {
  readonly model: ModelSummary;
  readonly #worker: Worker;
  readonly #maxQueue: number;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failure: string | undefined;

  private constructor(worker: Worker, model: ModelSummary, maxQueue: number) {
    this.#worker = worker;
    this.model = model;
    this.#maxQueue = maxQueue;
    worker.on("message", (message: FromWorker) => this.#receive(message));
    worker.on("error", (err) => this.#fail(`the generation worker crashed: ${err.message}`));
    worker.on("exit", (code) => this.#fail(`the generation worker exited (code ${code})`));
  }

  /** Starts the worker and waits until the model is loaded; a load failure rejects with the worker's message. */
  static start(options: PoolOptions): Promise<GenerationPool> {
    const { maxQueue, ...workerOptions } = options;
    const worker = spawnWorker(workerOptions);
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === "ready") {
          cleanup();
          resolve(new GenerationPool(worker, message.model, maxQueue));
        } else if (message.type === "failed") {
          cleanup();
          void worker.terminate();
          reject(new Error(message.message));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`the generation worker exited while loading the model (code ${code})`));
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

  /** Why the pool can no longer generate, if it cannot. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Throws the ApiError a new request would get now (503 when the worker is gone, 429 when the queue is full). */
  admit(): void {
    if (this.#failure) throw new ApiError(503, "server_error", this.#failure);
    if (this.queueDepth >= this.#maxQueue)
      throw new ApiError(
        429,
        "rate_limit_error",
        `the server is busy: ${this.#maxQueue} requests are already queued`,
      );
  }

  /**
   * Generates; resolves when every choice finished. Aborting `signal` cancels the request in the worker and
   * rejects with the signal's reason; a prompt that cannot fit rejects with ApiError 400.
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

  async close(): Promise<void> {
    this.#fail("the server is shutting down");
    await this.#worker.terminate();
  }

  #post(message: ToWorker): void {
    this.#worker.postMessage(message);
  }

  #receive(message: FromWorker): void {
    if (message.type === "ready" || message.type === "failed") return;
    const pending = this.#pending.get(message.id);
    if (!pending) return; // cancelled: late messages are dropped
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
      case "error":
        this.#pending.delete(message.id);
        pending.reject(new ApiError(500, "server_error", `generation failed: ${message.message}`));
        return;
    }
  }

  #fail(reason: string): void {
    this.#failure ??= reason;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.reject(new ApiError(503, "server_error", reason));
    }
  }
}
