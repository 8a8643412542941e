// Batched autoregressive decoding, one step at a time: left-padded prompts, a KV cache, per-row sampling and stops.
// The step-wise shape lets callers interleave other work between tokens (a server, cancellation).
import { debuglog } from "node:util";
import { type DecodePlan, noGrad, type Tensor, tensor, tidy } from "../engine/index.js";
import { adapterState, fusedDecodePlan } from "../model/fusedDecode.js";
import type { KVCache } from "../model/kvCache.js";
import type { TransformerModel } from "../model/transformer.js";
import { StreamDecoder } from "../tokenize/streamDecoder.js";
import type { Tokenizer } from "../tokenize/tokenizer.js";
import { seededRandom } from "../util/random.js";
import { applyPenalties, type SamplingOptions, sampleToken, validateSamplingOptions } from "./sampling.js";
import { holdBackLength } from "./stopStrings.js";

export interface DecodeOptions extends SamplingOptions {
  /** Most tokens to generate per sequence (default 256). */
  maxNewTokens?: number;
  /** Token ids that end a sequence (not included in the output). Default: the model's and tokenizer's eos ids. */
  stopTokenIds?: number[];
  /** Texts that end a sequence; the output is cut before them. Needs a tokenizer. */
  stopStrings?: string[];
  /** Seed of row i's sampler is seed + i, so a row samples the same alone or in a batch. */
  seed?: number;
  /** One seed per row, overriding `seed` (callers that batch rows from different places keep each row's seed). */
  rowSeeds?: readonly (number | undefined)[];
  /** One token limit per row, overriding `maxNewTokens` (a server batching requests that asked for different limits). */
  rowMaxNewTokens?: readonly number[];
  /** Reuse keys/values of earlier positions (default true); false recomputes everything at each step. */
  useCache?: boolean;
  /**
   * Run each decode step (after the prompt) as one native call, the fused step of native/src/decode.cc (default:
   * on unless the environment sets SAFETUNE_FUSED_DECODE=0). Models it cannot run fall back to the TypeScript
   * path on their own; NODE_DEBUG=safetune prints why.
   */
  fused?: boolean;
  /** Called for every generated token; `text` is the new text it completes (empty while a character is partial). */
  onToken?: (event: TokenEvent) => void;
}

export interface TokenEvent {
  row: number;
  token: number;
  text: string;
}

export type FinishReason = "stop" | "length" | "aborted";

export interface Generation {
  /** Generated token ids, without the stop token. */
  tokens: number[];
  /** Decoded text (when a tokenizer was given), cut before any stop string. */
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
}

/** The environment switch of the fused decode step: SAFETUNE_FUSED_DECODE=0 turns it off by default. */
export const FUSED_DECODE_ENV = "SAFETUNE_FUSED_DECODE";

/** Whether a session uses the fused step when its options do not say. */
export function fusedDecodeDefault(): boolean {
  return process.env[FUSED_DECODE_ENV] !== "0";
}

const debug = debuglog("safetune");

interface Row {
  prompt: number[];
  tokens: number[];
  text: string;
  emitted: number;
  counts: Map<number, number>;
  maxNew: number;
  finish: FinishReason | undefined;
  random: () => number;
  decoder: StreamDecoder | undefined;
}

export class DecodeSession {
  readonly #model: TransformerModel;
  readonly #options: DecodeOptions;
  readonly #rows: Row[];
  readonly #stops: Set<number>;
  readonly #maxNew: number;
  readonly #padded: boolean;
  /** Per row: 1 for real positions, 0 for left padding, growing by one per step. */
  readonly #mask: number[][];
  /** Per row: the left-padded ids fed so far (pad, prompt, then one token per step). */
  readonly #sequences: number[][];
  #cache: KVCache | undefined;
  readonly #fused: boolean;
  /** The fused step's plan over #cache, built at the first decode step, for the adapter state in #planAdapter. */
  #plan: DecodePlan | undefined;
  #planAdapter: unknown;
  /** Why the last decode step ran on the TypeScript path, when the fused step was wanted but could not run. */
  #fallback: string | undefined;

  constructor(
    model: TransformerModel,
    prompts: number[][],
    options: DecodeOptions = {},
    tokenizer?: Tokenizer,
  ) {
    if (prompts.length === 0) throw new RangeError("generate: no prompts");
    const vocab = model.config.vocabSize;
    for (const p of prompts) {
      if (p.length === 0) throw new RangeError("generate: a prompt has no tokens");
      for (const id of p) {
        if (!Number.isInteger(id) || id < 0 || id >= vocab)
          throw new RangeError(`generate: prompt id ${id} is outside the vocabulary (0..${vocab - 1})`);
      }
    }
    if (options.stopStrings?.length && !tokenizer) throw new Error("generate: stop strings need a tokenizer");
    validateSamplingOptions(options);
    this.#model = model;
    this.#options = options;
    this.#fused = options.fused ?? fusedDecodeDefault();
    const longest = Math.max(...prompts.map((p) => p.length));
    const positionLimit =
      model.config.family === "gpt2" ? model.config.maxPositions : Number.POSITIVE_INFINITY;
    const rowLimit = (i: number) =>
      Math.max(
        0,
        Math.min(options.rowMaxNewTokens?.[i] ?? options.maxNewTokens ?? 256, positionLimit - longest),
      );
    this.#maxNew = Math.max(...prompts.map((_, i) => rowLimit(i)));
    this.#stops = new Set(
      options.stopTokenIds ?? [...model.config.eosTokenIds, ...(tokenizer?.eosTokenIds ?? [])],
    );
    this.#rows = prompts.map((prompt, i) => ({
      prompt,
      tokens: [],
      text: "",
      emitted: 0,
      counts: new Map(),
      maxNew: rowLimit(i),
      finish: undefined,
      random: seededRandom(
        options.rowSeeds?.[i] ?? (options.seed === undefined ? undefined : options.seed + i),
      ),
      decoder: tokenizer ? new StreamDecoder(tokenizer) : undefined,
    }));
    this.#padded = prompts.some((p) => p.length !== longest);
    this.#mask = prompts.map((p) => [
      ...new Array(longest - p.length).fill(0),
      ...new Array(p.length).fill(1),
    ]);
    this.#sequences = prompts.map((p) => [...new Array(longest - p.length).fill(0), ...p]);
    for (const r of this.#rows) if (r.maxNew === 0) r.finish = "length";
  }

  get done(): boolean {
    return this.#rows.every((r) => r.finish !== undefined);
  }

  /** Runs one forward pass and appends one token to every unfinished row. */
  step(): void {
    if (this.done) return;
    // Generation never needs gradients, even when the weights require them (sampling inside RAFT or SIT).
    const logits = noGrad(() => tidy(() => this.#nextLogits().toFloat32Array()));
    const vocab = logits.length / this.#rows.length;
    this.#rows.forEach((row, i) => {
      const sequence = this.#sequences[i] as number[];
      // A finished row keeps being fed its last id so the batch stays rectangular; its output is ignored.
      if (row.finish) {
        sequence.push(sequence[sequence.length - 1] ?? 0);
        return;
      }
      const token = this.#choose(row, logits.subarray(i * vocab, (i + 1) * vocab));
      sequence.push(token);
      this.#accept(i, row, token);
    });
    for (const m of this.#mask) m.push(1);
  }

  /** Stops every unfinished row (a cancelled request). */
  abort(): void {
    for (const r of this.#rows) r.finish ??= "aborted";
  }

  /** Stops one row, leaving the others of the batch running (one client of a batched server went away). */
  abortRow(row: number): void {
    const r = this.#rows[row];
    if (!r) throw new RangeError(`generate: no row ${row} (batch of ${this.#rows.length})`);
    r.finish ??= "aborted";
  }

  results(): Generation[] {
    return this.#rows.map((r) => ({
      tokens: r.tokens,
      text: r.text,
      finishReason: r.finish ?? "length",
      promptTokens: r.prompt.length,
    }));
  }

  /** Why decode steps run on the TypeScript path although the fused step was wanted (undefined: they do not). */
  get fusedFallback(): string | undefined {
    return this.#fallback;
  }

  dispose(): void {
    this.#plan?.dispose();
    this.#plan = undefined;
    this.#cache?.dispose();
    this.#cache = undefined;
  }

  #nextLogits(): Tensor {
    const model = this.#model;
    const batch = this.#rows.length;
    const length = this.#sequences[0]?.length ?? 0;
    const attentionMask = this.#padded
      ? tensor(this.#mask.flat(), [batch, length], { dtype: "int64" })
      : undefined;
    const all = () => tensor(this.#sequences.flat(), [batch, length], { dtype: "int64" });
    if (this.#options.useCache === false) return model.forward(all(), { attentionMask, lastOnly: true });
    if (!this.#cache) {
      this.#cache = model.newCache(batch, length + this.#maxNew);
      return model.forward(all(), { attentionMask, cache: this.#cache, lastOnly: true });
    }
    const lastIds = this.#sequences.map((s) => s[s.length - 1] ?? 0);
    const plan = this.#fused ? this.#fusedPlan(this.#cache) : undefined;
    if (plan) {
      const logits = plan.step(lastIds, this.#cache.length);
      this.#cache.advance(1);
      return logits;
    }
    const last = tensor(lastIds, [batch, 1], { dtype: "int64" });
    return model.forward(last, { attentionMask, cache: this.#cache, lastOnly: true });
  }

  /** The fused step's plan for the model's current adapter state, or undefined (and the reason) when it cannot run. */
  #fusedPlan(cache: KVCache): DecodePlan | undefined {
    const state = adapterState(this.#model);
    if ((this.#plan || this.#fallback) && state === this.#planAdapter) return this.#plan;
    this.#plan?.dispose();
    this.#plan = undefined;
    const padding = this.#mask.map((m) => m.indexOf(1));
    const plan = fusedDecodePlan(this.#model, cache, padding);
    this.#planAdapter = state;
    if (typeof plan === "string") {
      if (this.#fallback !== plan) debug("fused decode step off, decoding on the TypeScript path: %s", plan);
      this.#fallback = plan;
      return undefined;
    }
    this.#fallback = undefined;
    this.#plan = plan;
    return plan;
  }

  #choose(row: Row, logits: Float32Array): number {
    const o = this.#options;
    const penalised =
      (o.repetitionPenalty ?? 1) !== 1 || (o.frequencyPenalty ?? 0) !== 0 || (o.presencePenalty ?? 0) !== 0
        ? applyPenalties(logits, [...row.prompt, ...row.tokens], row.counts, o)
        : logits;
    return sampleToken(penalised, o, row.random);
  }

  #accept(i: number, row: Row, token: number): void {
    if (this.#stops.has(token)) {
      row.finish = "stop";
      this.#flushText(i, row);
      return;
    }
    row.tokens.push(token);
    row.counts.set(token, (row.counts.get(token) ?? 0) + 1);
    if (row.decoder) row.text += row.decoder.push(token);
    const stopAt = this.#findStop(row.text);
    if (stopAt !== undefined) {
      row.text = row.text.slice(0, stopAt);
      row.finish = "stop";
    } else if (row.tokens.length >= row.maxNew) {
      row.finish = "length";
      if (row.decoder) row.text += row.decoder.flush();
    }
    this.#emit(i, row, token);
  }

  #findStop(text: string): number | undefined {
    let best: number | undefined;
    for (const s of this.#options.stopStrings ?? []) {
      const at = text.indexOf(s);
      if (at >= 0 && (best === undefined || at < best)) best = at;
    }
    return best;
  }

  /** A row ended on a stop token: emit whatever text was held back or still buffered. */
  #flushText(i: number, row: Row): void {
    if (row.decoder) row.text += row.decoder.flush();
    const rest = row.text.slice(row.emitted);
    row.emitted = row.text.length;
    if (rest && this.#options.onToken) this.#options.onToken({ row: i, token: -1, text: rest });
  }

  #emit(i: number, row: Row, token: number): void {
    // While the text could still turn into a stop string, hold its tail back.
    const holdBack = row.finish ? 0 : holdBackLength(row.text, this.#options.stopStrings ?? []);
    const end = Math.max(row.emitted, row.text.length - holdBack);
    const text = row.text.slice(row.emitted, end);
    row.emitted = end;
    this.#options.onToken?.({ row: i, token, text });
  }
}
