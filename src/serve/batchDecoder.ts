// The generation worker's scheduler: requests wait in arrival order; each batch takes the oldest request and every
// waiting request that samples the same way (temperature, top-p, stops, penalties), up to maxBatchRows rows, and
// decodes them together in one DecodeSession. Rows keep their own seed and token limit, and a cancelled request
// stops only its rows. Requests arriving mid-batch wait for the next batch (no continuous batching).
import { DecodeSession } from "../generate/decodeSession.js";
import { encodePrompt } from "../generate/generate.js";
import type { TransformerModel } from "../model/transformer.js";
import { ChatTemplateError } from "../tokenize/chatTemplate.js";
import type { Tokenizer } from "../tokenize/tokenizer.js";
import type { FromWorker, PromptInput, SamplingRequest, ToWorker } from "./generationProtocol.js";

/** A thrown value's one-line message. */
function describe(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

function oneLine(message: string): string {
  return message.split("\n")[0] ?? "";
}

/** The worker's answer to a request that threw: a 500 for that request, with the stack for the server's log. */
function errorMessage(id: number, err: unknown): FromWorker {
  return {
    type: "error",
    id,
    message: describe(err),
    ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
  };
}

type GenerateMessage = Extract<ToWorker, { type: "generate" }>;

interface Job {
  id: number;
  ids: number[];
  n: number;
  maxNew: number;
  sampling: SamplingRequest;
  /** Requests with equal keys can share a batch. */
  key: string;
}

export interface BatchDecoderOptions {
  maxBatchRows: number;
  defaultMaxTokens: number;
  template?: string;
}

export class BatchDecoder {
  readonly #model: TransformerModel;
  readonly #tokenizer: Tokenizer;
  readonly #options: BatchDecoderOptions;
  readonly #emit: (message: FromWorker) => void;
  readonly #waiting: Job[] = [];
  /** Ids cancelled while their batch runs. */
  readonly #cancelled = new Set<number>();
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(
    model: TransformerModel,
    tokenizer: Tokenizer,
    options: BatchDecoderOptions,
    emit: (message: FromWorker) => void,
  ) {
    this.#model = model;
    this.#tokenizer = tokenizer;
    this.#options = options;
    this.#emit = emit;
  }

  get contextLength(): number {
    return this.#model.config.maxPositions;
  }

  /**
   * Tokenizes and queues a request, or answers it at once: "rejected" (a 400) when it cannot be served as asked
   * (an empty prompt, a template error, too long for the context), "error" (a 500) when preparing it threw
   * anything else. Nothing a request holds escapes this method: one bad request fails alone.
   */
  submit(message: GenerateMessage): void {
    try {
      this.#queue(message);
    } catch (err) {
      this.#emit(errorMessage(message.id, err));
    }
  }

  #queue(message: GenerateMessage): void {
    const { id, prompt, n, sampling } = message;
    const param = prompt.kind === "chat" ? "messages" : "prompt";
    let ids: number[];
    try {
      ids = this.#encode(prompt);
    } catch (err) {
      if (!(err instanceof ChatTemplateError)) throw err;
      this.#emit({ type: "rejected", id, message: oneLine(err.message), param: "messages" });
      return;
    }
    if (ids.length === 0) {
      this.#emit({
        type: "rejected",
        id,
        param,
        message: `the ${prompt.kind === "chat" ? "rendered chat" : "prompt"} is empty: it encodes to no tokens, and generation needs at least one`,
      });
      return;
    }
    // A tokenizer larger than the model's embedding is the model folder's fault (a 500), caught per request here
    // rather than failing a whole batch when the decode session checks it.
    const vocab = this.#model.config.vocabSize;
    const outside = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
    if (outside !== undefined)
      throw new Error(
        `the tokenizer produced token id ${outside}, outside the model's vocabulary (0..${vocab - 1})`,
      );
    const room = this.contextLength - ids.length;
    if (room <= 0) {
      this.#emit({
        type: "rejected",
        id,
        param,
        message: `the prompt is ${ids.length} tokens; this model's context is ${this.contextLength} tokens`,
      });
      return;
    }
    if (sampling.maxTokens !== undefined && sampling.maxTokens > room) {
      this.#emit({
        type: "rejected",
        id,
        param: "max_tokens",
        message: `max_tokens is too large: ${sampling.maxTokens}; this model's context is ${this.contextLength} tokens and the prompt takes ${ids.length}, so at most ${room} completion tokens fit`,
      });
      return;
    }
    const maxNew = sampling.maxTokens ?? Math.min(this.#options.defaultMaxTokens, room);
    const { maxTokens: _limit, seed: _seed, ...shared } = sampling;
    this.#waiting.push({ id, ids, n, maxNew, sampling, key: JSON.stringify(shared) });
    this.#wake?.();
  }

  cancel(id: number): void {
    const at = this.#waiting.findIndex((j) => j.id === id);
    if (at >= 0) this.#waiting.splice(at, 1);
    else this.#cancelled.add(id);
  }

  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  /** Decodes batches until stopped, yielding to the event loop between tokens so cancels arrive. */
  async run(): Promise<void> {
    while (!this.#stopped) {
      const batch = this.#takeBatch();
      if (batch.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      await this.#decode(batch);
    }
  }

  #encode(prompt: PromptInput): number[] {
    if (prompt.kind === "text") return this.#tokenizer.encode(prompt.text);
    return encodePrompt(this.#tokenizer, prompt.messages, { template: this.#options.template });
  }

  #takeBatch(): Job[] {
    const first = this.#waiting[0];
    if (!first) return [];
    const batch: Job[] = [];
    let rows = 0;
    for (const job of [...this.#waiting]) {
      if (job.key !== first.key) continue;
      // The first job always goes, even when its n alone exceeds the batch size.
      if (batch.length > 0 && rows + job.n > this.#options.maxBatchRows) break;
      batch.push(job);
      rows += job.n;
      this.#waiting.splice(this.#waiting.indexOf(job), 1);
    }
    return batch;
  }

  async #decode(batch: Job[]): Promise<void> {
    const owners = batch.flatMap((job) => Array.from({ length: job.n }, (_, choice) => ({ job, choice })));
    const first = batch[0] as Job;
    const { sampling } = first;
    let session: DecodeSession | undefined;
    try {
      session = new DecodeSession(
        this.#model,
        owners.map((o) => o.job.ids),
        {
          temperature: sampling.temperature,
          topP: sampling.topP,
          frequencyPenalty: sampling.frequencyPenalty,
          presencePenalty: sampling.presencePenalty,
          stopStrings: sampling.stop,
          rowSeeds: owners.map((o) =>
            o.job.sampling.seed === undefined ? undefined : o.job.sampling.seed + o.choice,
          ),
          rowMaxNewTokens: owners.map((o) => o.job.maxNew),
          onToken: (event) => {
            const owner = owners[event.row];
            if (owner && event.text)
              this.#emit({ type: "token", id: owner.job.id, choice: owner.choice, text: event.text });
          },
        },
        this.#tokenizer,
      );
      for (const job of batch)
        this.#emit({ type: "started", id: job.id, promptTokens: job.ids.length, batchRows: owners.length });
      while (!session.done) {
        this.#abortCancelled(session, owners);
        session.step();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const results = session.results();
      for (const job of batch) {
        const choices = owners.flatMap((o, row) => (o.job === job ? [{ choice: o.choice, row }] : []));
        if (this.#cancelled.delete(job.id)) {
          const completionTokens = choices.reduce((sum, c) => sum + (results[c.row]?.tokens.length ?? 0), 0);
          this.#emit({ type: "cancelled", id: job.id, completionTokens });
          continue;
        }
        this.#emit({
          type: "done",
          id: job.id,
          promptTokens: job.ids.length,
          choices: choices.map(({ choice, row }) => {
            const r = results[row];
            return {
              index: choice,
              text: r?.text ?? "",
              completionTokens: r?.tokens.length ?? 0,
              finishReason: r?.finishReason ?? "aborted",
            };
          }),
        });
      }
    } catch (err) {
      for (const job of batch) this.#emit(errorMessage(job.id, err));
    } finally {
      try {
        session?.dispose();
      } catch (err) {
        this.#emit({ type: "log", level: "error", message: `freeing a batch failed: ${describe(err)}` });
      }
      for (const job of batch) this.#cancelled.delete(job.id);
    }
  }

  #abortCancelled(session: DecodeSession, owners: { job: Job }[]): void {
    if (this.#cancelled.size === 0) return;
    owners.forEach((o, row) => {
      if (this.#cancelled.has(o.job.id)) session.abortRow(row);
    });
  }
}
