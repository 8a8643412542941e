// RAFT's K answers per prompt from OpenAI-compatible servers (replicas of the starting policy) instead of the local
// engine: the same rows and seeds as the local sampler, sent through the evaluation framework's endpoint answerer.
// A server's model never changes, so this is sampling from the starting policy (runRaft allows one iteration).
import type { ChatMessage } from "../data/records.js";
import { EndpointAnswerer } from "../eval/answer/endpointAnswerer.js";
import { EndpointPool, type EndpointPoolOptions } from "../eval/answer/endpointPool.js";
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
    const answerer = new EndpointAnswerer(this.pool, {
      maxNewTokens: options.maxNewTokens,
      temperature: options.temperature,
      ...(options.topP === undefined ? {} : { topP: options.topP }),
      seed: options.seed,
      // No template: the server renders its model's own (/chat/completions); a named one is rendered here.
      template: options.template ?? "server",
      batchSize: 1,
    });
    // Prompt-major rows, row r seeded with seed + r, as the local sampler does.
    const requests = prompts.flatMap((prompt, i) =>
      Array.from({ length: options.k }, (_, j) => ({ prompt, seed: options.seed + i * options.k + j })),
    );
    const rows: SampledAnswer[] = new Array(requests.length);
    await answerer.answerAll(requests, (index, answer) => {
      rows[index] = {
        text: answer.text,
        finishReason: finishReason(answer.finishReason),
        tokens: this.#tokenizer.encode(answer.text).length,
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
