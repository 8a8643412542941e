// One completion request from validated body to response, shared by /v1/chat/completions and /v1/completions:
// input guard, generation in the worker, output guard, then a JSON body or a server-sent event stream in OpenAI's
// chunk format. While a stream is guarded, text reaches the client only after a check has passed it.
import type { ChatMessage } from "../data/records.js";
import { ApiError, asApiError } from "./apiError.js";
import type { GenerationPool } from "./generationPool.js";
import type { ChoiceResult, PromptInput, SamplingRequest } from "./generationProtocol.js";
import type { Guard, GuardDecision } from "./guards/guard.js";
import { type FinishReason, responseObject, streamChoice, usageOf, wholeChoice } from "./openaiShapes.js";
import type { ServerMetrics } from "./serverMetrics.js";

export interface CompletionJob {
  kind: "chat" | "text";
  /** The served model's name, echoed in every response. */
  model: string;
  /** What the guards read: the chat, or a text prompt as one user message. */
  messages: ChatMessage[];
  /** One entry per prompt (a text completion may send several); choices are numbered prompt × n + i. */
  prompts: PromptInput[];
  n: number;
  sampling: SamplingRequest;
  stream: boolean;
  includeUsage: boolean;
}

export interface CompletionContext {
  /** The request's id: the response's `id`, the guards' records and the log all carry it. */
  requestId: string;
  /** Told about a server-side failure after a stream's headers went out (the route logs the others). */
  onStreamFailure: (error: ApiError) => void;
  pool: GenerationPool;
  guard: Guard | undefined;
  metrics: ServerMetrics;
  /** Aborted when the client goes away or the request times out. */
  signal: AbortSignal;
  /** Whether `signal` fired because of the request timeout (504) rather than the client leaving. */
  timedOut: () => boolean;
  /** Called once with the token counts when the request ends. */
  onUsage: (usage: { promptTokens: number; completionTokens: number }) => void;
  startedAt: number;
}

/** The response header that summarises guard decisions, e.g. "input=allow, output=flag:S10". */
export function guardHeader(decisions: readonly GuardDecision[]): string {
  return decisions
    .map((d) => `${d.stage}=${d.action}${d.category && d.action !== "allow" ? `:${d.category}` : ""}`)
    .join(", ");
}

function finishOf(reason: ChoiceResult["finishReason"]): FinishReason {
  return reason === "length" ? "length" : "stop";
}

/** What one request's response is built from: its id and creation time, and the guard decisions so far. */
interface Reply {
  id: string;
  created: number;
  decisions: GuardDecision[];
  /** Keeps a guard decision for the response and counts it in the metrics. */
  record: (decision: GuardDecision) => void;
  /** The fields every response object and chunk starts with. */
  envelope: { id: string; created: number; model: string };
  /** `safetune_guard` (the decisions) when a guard is configured. */
  guardField: () => { safetune_guard?: GuardDecision[] };
  /** `x-safetune-guard` when a guard decided anything. */
  headers: () => Record<string, string>;
}

/**
 * Runs the job and returns the HTTP response (JSON or an SSE stream), in steps: admission (429/503 before any
 * work), the input guard (a refusal answers at once), then the whole answer or the stream. Errors before
 * streaming throw ApiError.
 */
export async function serveCompletion(job: CompletionJob, context: CompletionContext): Promise<Response> {
  const reply = startReply(job, context);
  context.pool.admit(); // fail fast (429/503) before spending a guard check
  const { guard } = context;
  if (guard?.hasInput) {
    const decision = await guard.checkInput(job.messages, context.signal, reply.id);
    reply.record(decision);
    if (decision.action === "refuse")
      return refusalResponse(job, reply.id, reply.created, decision, reply.decisions, context);
  }
  return job.stream ? streamCompletion(job, context, reply) : wholeCompletion(job, context, reply);
}

function startReply(job: CompletionJob, context: CompletionContext): Reply {
  const id = context.requestId;
  const created = Math.floor(Date.now() / 1000);
  const decisions: GuardDecision[] = [];
  return {
    id,
    created,
    decisions,
    record: (decision) => {
      decisions.push(decision);
      context.metrics.guardDecisions.inc({
        stage: decision.stage,
        action: decision.action,
        category: decision.category ?? "",
      });
      if (decision.error) context.metrics.guardErrors.inc({ stage: decision.stage });
    },
    envelope: { id, created, model: job.model },
    guardField: () => (context.guard ? { safetune_guard: decisions } : {}),
    headers: (): Record<string, string> =>
      decisions.length ? { "x-safetune-guard": guardHeader(decisions) } : {},
  };
}

/** Without streaming: every choice generated, each checked by the output guard, one JSON body. */
async function wholeCompletion(
  job: CompletionJob,
  context: CompletionContext,
  reply: Reply,
): Promise<Response> {
  const { guard } = context;
  const results = await generateAll(job, context, {});
  const choices: { index: number; text: string; finish: FinishReason }[] = [];
  for (const r of results.choices) {
    let text = r.text;
    let finish = finishOf(r.finishReason);
    if (guard?.hasOutput) {
      const decision = await guard.checkOutput(job.messages, text, context.signal, reply.id);
      reply.record(decision);
      if (decision.action === "refuse") {
        text = decision.message ?? "";
        finish = "content_filter";
      }
    }
    choices.push({ index: r.index, text, finish });
  }
  const completionTokens = results.choices.reduce((sum, c) => sum + c.completionTokens, 0);
  context.onUsage({ promptTokens: results.promptTokens, completionTokens });
  const body = {
    ...reply.envelope,
    object: responseObject(job.kind, false),
    choices: choices.map((c) => wholeChoice(job.kind, c.index, c.text, c.finish)),
    usage: usageOf(results.promptTokens, completionTokens),
    ...reply.guardField(),
  };
  return Response.json(body, { headers: reply.headers() });
}

/**
 * Streaming: the role chunk, then each choice's text through its GuardedChoice as tokens arrive. The headers wait
 * until decoding begins; after that, failures become an error event in the stream (see finishStream).
 */
async function streamCompletion(
  job: CompletionJob,
  context: CompletionContext,
  reply: Reply,
): Promise<Response> {
  const choiceCount = job.prompts.length * job.n;
  const events = new SseWriter();
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    ...reply.envelope,
    object: responseObject(job.kind, true),
    choices,
    ...extra,
  });
  if (job.kind === "chat")
    for (let index = 0; index < choiceCount; index++)
      events.send(chunk([streamChoice(job.kind, index, { role: "assistant", content: "" }, null)]));

  // When the guard has refused every choice, generation stops: nothing more would be sent.
  const stopped = new AbortController();
  const signal = AbortSignal.any([context.signal, stopped.signal]);
  const streams: GuardedChoice[] = Array.from(
    { length: choiceCount },
    (_, index) =>
      new GuardedChoice({
        requestId: reply.id,
        guard: context.guard,
        messages: job.messages,
        signal: context.signal,
        send: (text) => events.send(chunk([streamChoice(job.kind, index, { content: text }, null)])),
        record: reply.record,
        onRefused: () => {
          if (streams.every((s) => s.refused)) stopped.abort();
        },
      }),
  );
  let firstToken = true;
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const generation = generateAll(
    job,
    { ...context, signal },
    {
      onStart: () => markStarted(),
      onToken: (choice, text) => {
        if (firstToken) {
          firstToken = false;
          context.metrics.timeToFirstToken.observe((performance.now() - context.startedAt) / 1000);
        }
        streams[choice]?.push(text);
      },
    },
  );
  // The headers wait until decoding begins: a request the worker rejects (a prompt longer than the context) or
  // one that times out in the queue still gets its own status, not a 200 stream holding an error.
  await Promise.race([started, generation]);
  void finishStream({ job, context, reply, events, chunk, streams, generation, stopped: stopped.signal });
  return sseResponse(events, reply.headers());
}

/**
 * The end of a stream: each choice's finish chunk (content_filter where the guard refused it), the usage, [DONE].
 * A stream every choice of which was refused ends with content_filter; a client that left gets nothing more; a
 * timeout or failure becomes an error event (a server-side one logged with the request id).
 */
async function finishStream(s: {
  job: CompletionJob;
  context: CompletionContext;
  reply: Reply;
  events: SseWriter;
  chunk: (choices: unknown[], extra?: Record<string, unknown>) => unknown;
  streams: GuardedChoice[];
  generation: ReturnType<typeof generateAll>;
  stopped: AbortSignal;
}): Promise<void> {
  const { job, context, reply, events, chunk } = s;
  const choiceCount = job.prompts.length * job.n;
  const endChunk = (index: number, finish: FinishReason) => streamChoice(job.kind, index, {}, finish);
  try {
    const results = await s.generation;
    const finishes = await Promise.all(
      results.choices.map(async (r) => {
        const guarded = s.streams[r.index];
        const filtered = guarded ? await guarded.finish() : false;
        return { index: r.index, finish: filtered ? ("content_filter" as const) : finishOf(r.finishReason) };
      }),
    );
    finishes.forEach(({ index, finish }, i) => {
      events.send(chunk([endChunk(index, finish)], i === finishes.length - 1 ? reply.guardField() : {}));
    });
    const completionTokens = results.choices.reduce((sum, c) => sum + c.completionTokens, 0);
    context.onUsage({ promptTokens: results.promptTokens, completionTokens });
    if (job.includeUsage) events.send(chunk([], { usage: usageOf(results.promptTokens, completionTokens) }));
    events.done();
  } catch (err) {
    if (s.stopped.aborted && !context.signal.aborted) {
      for (let index = 0; index < choiceCount; index++)
        events.send(
          chunk([endChunk(index, "content_filter")], index === choiceCount - 1 ? reply.guardField() : {}),
        );
      context.onUsage({ promptTokens: 0, completionTokens: 0 });
      return events.done();
    }
    if (context.signal.aborted && !context.timedOut()) return events.close(); // the client left
    const error = context.timedOut() ? timeoutError() : asApiError(err);
    if (error.status >= 500 && error.status !== 504) {
      context.onStreamFailure(error);
      const body = error.body();
      body.error.message = `${body.error.message} (request id ${reply.id})`;
      return events.sendAndClose(body);
    }
    events.error(error);
  }
}

export function timeoutError(): ApiError {
  return new ApiError(504, "timeout_error", "the request timed out before generation finished");
}

/** Generates every prompt of the job (concurrently, so they can share a batch) and numbers the choices. */
async function generateAll(
  job: CompletionJob,
  context: CompletionContext,
  handlers: { onStart?: () => void; onToken?: (choice: number, text: string) => void },
): Promise<{ promptTokens: number; choices: ChoiceResult[] }> {
  const { pool, metrics } = context;
  const results = await Promise.all(
    job.prompts.map((prompt, p) =>
      pool.generate(
        { prompt, n: job.n, sampling: job.sampling },
        {
          onStart: (rows) => {
            metrics.queueWait.observe((performance.now() - context.startedAt) / 1000);
            metrics.batchRows.observe(rows);
            handlers.onStart?.();
          },
          ...(handlers.onToken ? { onToken: (c, text) => handlers.onToken?.(p * job.n + c, text) } : {}),
        },
        context.signal,
      ),
    ),
  );
  return {
    promptTokens: results.reduce((sum, r) => sum + r.promptTokens, 0),
    choices: results.flatMap((r, p) => r.choices.map((c) => ({ ...c, index: p * job.n + c.index }))),
  };
}

/** An input-guard refusal: the configured message as the answer, finish_reason content_filter, nothing generated. */
function refusalResponse(
  job: CompletionJob,
  id: string,
  created: number,
  decision: GuardDecision,
  decisions: GuardDecision[],
  context: CompletionContext,
): Response {
  const message = decision.message ?? "";
  const count = job.prompts.length * job.n;
  const headers = { "x-safetune-guard": guardHeader(decisions) };
  context.onUsage({ promptTokens: 0, completionTokens: 0 });
  const envelope = { id, created, model: job.model, object: responseObject(job.kind, job.stream) };
  if (!job.stream) {
    const choices = Array.from({ length: count }, (_, index) =>
      wholeChoice(job.kind, index, message, "content_filter"),
    );
    return Response.json(
      { ...envelope, choices, usage: usageOf(0, 0), safetune_guard: decisions },
      { headers },
    );
  }
  const events = new SseWriter();
  for (let index = 0; index < count; index++) {
    const choice = streamChoice(job.kind, index, { role: "assistant", content: message }, "content_filter");
    events.send({
      ...envelope,
      choices: [choice],
      ...(index === count - 1 ? { safetune_guard: decisions } : {}),
    });
  }
  if (job.includeUsage) events.send({ ...envelope, choices: [], usage: usageOf(0, 0) });
  events.done();
  return sseResponse(events, headers);
}

/** A server-sent event stream as the HTTP response. */
function sseResponse(events: SseWriter, headers: Record<string, string>): Response {
  return new Response(events.stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      ...headers,
    },
  });
}

/**
 * One streamed choice under an output guard: generated text waits in `pending` until a check of everything so
 * far passes, every `streamInterval` pieces and at the end; a refusal stops the choice (its text is never sent).
 * Without an output guard, text passes straight through.
 */
interface GuardedChoiceOptions {
  requestId: string;
  guard: Guard | undefined;
  messages: ChatMessage[];
  signal: AbortSignal;
  send: (text: string) => void;
  record: (decision: GuardDecision) => void;
  onRefused: () => void;
}

class GuardedChoice {
  #sent = "";
  #pending = "";
  #sinceCheck = 0;
  #refused = false;
  #checks: Promise<void> = Promise.resolve();
  readonly #o: GuardedChoiceOptions;

  constructor(options: GuardedChoiceOptions) {
    this.#o = options;
  }

  get refused(): boolean {
    return this.#refused;
  }

  push(text: string): void {
    const { guard } = this.#o;
    if (this.#refused) return;
    if (!guard?.hasOutput) {
      this.#o.send(text);
      return;
    }
    this.#pending += text;
    if (++this.#sinceCheck >= guard.streamInterval) this.#check();
  }

  /** Checks what is left; resolves true when the guard refused this choice. */
  async finish(): Promise<boolean> {
    if (this.#o.guard?.hasOutput && !this.#refused) this.#check(true);
    await this.#checks;
    return this.#refused;
  }

  #check(final = false): void {
    this.#sinceCheck = 0;
    const { guard, messages, signal, send, record, onRefused, requestId } = this.#o;
    this.#checks = this.#checks.then(async () => {
      if (this.#refused || !guard) return;
      const batch = this.#pending;
      if (!final && batch === "") return;
      const decision = await guard.checkOutput(messages, this.#sent + batch, signal, requestId);
      // The response lists the check that ended the choice: a refusal, or the final one.
      if (decision.action === "refuse" || final) record(decision);
      if (decision.action === "refuse") {
        this.#refused = true;
        onRefused();
        return;
      }
      this.#pending = this.#pending.slice(batch.length);
      this.#sent += batch;
      if (batch) send(batch);
    });
  }
}

/** Server-sent events in OpenAI's framing: `data: <json>` records, then `data: [DONE]`. */
class SseWriter {
  readonly stream: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #closed = false;
  readonly #encoder = new TextEncoder();

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#closed = true;
      },
    });
  }

  send(value: unknown): void {
    this.#write(`data: ${JSON.stringify(value)}\n\n`);
  }

  done(): void {
    this.#write("data: [DONE]\n\n");
    this.close();
  }

  error(error: ApiError): void {
    this.sendAndClose(error.body());
  }

  sendAndClose(value: unknown): void {
    this.send(value);
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#controller.close();
    } catch {
      // already closed by the consumer
    }
  }

  #write(text: string): void {
    if (this.#closed) return;
    this.#controller.enqueue(this.#encoder.encode(text));
  }
}
