// RAFT's K answers per prompt from OpenAI-compatible servers (replicas of the starting policy) instead of the local
// engine: the same rows and seeds as the local sampler, sent through the shared endpoint client (src/endpoint).
// A server's model never changes, so this is sampling from the starting policy (runRaft allows one iteration).
import type { ChatMessage } from "../data/records.js";
import { EndpointPool, type EndpointPoolOptions } from "../endpoint/endpointPool.js";
import { endpointTemplateSource, sendPrompts } from "../endpoint/sendPrompts.js";
import type { FinishReason } from "../generate/decodeSession.js";
import type { Tokenizer } from "../tokenize/tokenizer.js";
import type { AnswerSampler, SampledAnswer, SampleOptions } from "./raft.js";

export class EndpointSampler implements AnswerSampler {
  readonly pool: EndpointPool;
  readonly #tokenizer: Tokenizer;

  /** `tokenizer` is the local policy's: answer lengths are counted in the tokens it will be trained on. */
  constructor(pool: EndpointPool, tokenizer: Tokenizer) {
    this.pool = pool;
    this.#tokenizer = tokenizer;
  }

  /** A pool over `options.urls`, checked (reachable, key accepted, model served) before any prompt is sent. */
  static async connect(options: EndpointPoolOptions, tokenizer: Tokenizer): Promise<EndpointSampler> {
    const pool = EndpointPool.create(options);
    try {
      await pool.checkServedModel();
    } catch (err) {
      pool.dispose();
      throw err;
    }
    return new EndpointSampler(pool, tokenizer);
  }

  async sample(prompts: readonly ChatMessage[][], options: SampleOptions): Promise<SampledAnswer[][]> {
    if (!Number.isInteger(options.k) || options.k < 1)
      throw new RangeError(`sample: k must be a positive integer, got ${options.k}`);
    // No template: the server renders its model's own (/chat/completions); a named one is rendered here.
    const templateSource = endpointTemplateSource(options.template ?? "server");
    const sampling = {
      maxTokens: options.maxNewTokens,
      temperature: options.temperature,
      ...(options.topP === undefined ? {} : { topP: options.topP }),
    };
    // Prompt-major rows, row r seeded with seed + r, as the local sampler does.
    const requests = prompts.flatMap((prompt, i) =>
      Array.from({ length: options.k }, (_, j) => ({
        messages: prompt,
        seed: options.seed + i * options.k + j,
      })),
    );
    const rows: SampledAnswer[] = new Array(requests.length);
    await sendPrompts(this.pool, requests, sampling, templateSource, (index, reply) => {
      rows[index] = {
        text: reply.text,
        finishReason: finishReason(reply.finishReason),
        tokens: this.#tokenizer.encode(reply.text).length,
      };
    });
    return prompts.map((_, i) => rows.slice(i * options.k, (i + 1) * options.k));
  }

  report(): string {
    return `endpoints: ${this.pool.summary()}`;
  }

  dispose(): void {
    this.pool.dispose();
  }
}

/** A server's finish_reason in the local engine's terms: "length" stays, anything else ended the answer. */
function finishReason(reason: string): FinishReason {
  return reason === "length" ? "length" : "stop";
}
