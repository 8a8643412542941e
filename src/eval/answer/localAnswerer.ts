// The local engine as an answerer: a model folder (plus an optional LoRA adapter), batched greedy or sampled
// decoding through the KV cache, prompts rendered with the model's chat template or a named one.
import type { ChatMessage } from "../../data/records.js";
import type { DType } from "../../engine/dtype.js";
import type { DecodeOptions } from "../../generate/decodeSession.js";
import { encodePrompt, generateTokens } from "../../generate/generate.js";
import { loadModel } from "../../model/loadModel.js";
import { attachAdapter } from "../../model/lora.js";
import { loadAdapter } from "../../model/loraFiles.js";
import type { TransformerModel } from "../../model/transformer.js";
import { loadTokenizer, type Tokenizer } from "../../tokenize/tokenizer.js";
import { cacheKey } from "../cache.js";
import { folderFingerprint } from "../folderFingerprint.js";
import type { AnswererIdentity, GenerationSettings } from "../results.js";
import { type AnswerLogProb, answerLogProbs } from "../scoring/answerLogProbs.js";
import { type Answer, type Answerer, type AnswerRequest, type ScoredAnswer, withSystem } from "./answerer.js";

export interface LocalAnswererOptions {
  model: string;
  adapter?: string;
  dtype?: DType;
  /** cpu (default), cuda or cuda:N. */
  device?: string;
  /** A quantised base (--quantize): its answers differ from the float model's, so it is part of the identity. */
  quantize?: "int8" | "nf4";
  settings: GenerationSettings;
}

export class LocalAnswerer implements Answerer {
  readonly identity: AnswererIdentity;
  readonly template: string;
  readonly fingerprint: string;
  readonly model: TransformerModel;
  readonly tokenizer: Tokenizer;
  readonly #settings: GenerationSettings;

  private constructor(
    model: TransformerModel,
    tokenizer: Tokenizer,
    options: LocalAnswererOptions,
    fingerprint: string,
  ) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.#settings = options.settings;
    this.template = options.settings.template;
    this.fingerprint = fingerprint;
    this.identity = {
      kind: "local",
      path: options.model,
      ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
      dtype: options.dtype ?? "float32",
      ...(options.quantize === undefined ? {} : { quantize: options.quantize }),
    };
  }

  static async load(options: LocalAnswererOptions): Promise<LocalAnswerer> {
    const model = loadModel(options.model, {
      ...(options.dtype === undefined ? {} : { dtype: options.dtype }),
      ...(options.device === undefined ? {} : { device: options.device }),
      ...(options.quantize === undefined ? {} : { quantize: options.quantize }),
    });
    try {
      if (options.adapter) attachAdapter(model, loadAdapter(options.adapter, model));
      const tokenizer = await loadTokenizer(options.model);
      // Fail now, not mid-run, when there is no template to render prompts with.
      tokenizer.applyChatTemplate([{ role: "user", content: "x" }], {
        addGenerationPrompt: true,
        ...(templateOption(options.settings.template) ?? {}),
      });
      const fingerprint = cacheKey([
        folderFingerprint(options.model),
        options.adapter && folderFingerprint(options.adapter),
        ...(options.quantize === undefined ? [] : [`quantize:${options.quantize}`]),
      ]);
      return new LocalAnswerer(model, tokenizer, options, fingerprint);
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  /** The token ids of a prompt as this answerer renders it. */
  encode(prompt: readonly ChatMessage[]): number[] {
    return encodePrompt(this.tokenizer, withSystem(prompt, this.#settings.system), {
      ...templateOption(this.#settings.template),
    });
  }

  async answerAll(
    requests: readonly AnswerRequest[],
    onAnswer: (index: number, answer: Answer) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const s = this.#settings;
    const decode: DecodeOptions = {
      maxNewTokens: s.maxNewTokens,
      temperature: s.temperature,
      ...(s.topP === undefined ? {} : { topP: s.topP }),
    };
    for (let start = 0; start < requests.length; start += s.batchSize) {
      signal?.throwIfAborted();
      const batch = requests.slice(start, start + s.batchSize);
      const results = generateTokens(
        this.model,
        batch.map((r) => this.encode(r.prompt)),
        { ...decode, rowSeeds: batch.map((r) => r.seed) },
        this.tokenizer,
      );
      results.forEach((r, j) => {
        onAnswer(start + j, { text: r.text, finishReason: r.finishReason });
      });
      // Let signals (Ctrl-C) and progress output through between batches.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  scoreAnswers(items: readonly ScoredAnswer[], onProgress?: (done: number) => void): AnswerLogProb[] {
    const s = this.#settings;
    return answerLogProbs(this.model, this.tokenizer, items, {
      ...templateOption(s.template),
      ...(s.system === undefined ? {} : { system: s.system }),
      ...(onProgress === undefined ? {} : { onProgress }),
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** `{template}` for the engine, or nothing for the model's own template. */
export function templateOption(template: string): { template: string } | undefined {
  return template === "model" ? undefined : { template };
}
