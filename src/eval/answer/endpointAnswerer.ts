// An OpenAI-compatible endpoint as an answerer: the server renders its model's chat template (/chat/completions),
// or safetune renders a named template and sends the text (/completions), for servers of base models.

import { EndpointPool } from "../../endpoint/endpointPool.js";
import type { OpenAIEndpoint } from "../../endpoint/openaiEndpoint.js";
import { endpointTemplateSource, sendPrompts } from "../../endpoint/sendPrompts.js";
import { cacheKey } from "../cache.js";
import type { AnswererIdentity, GenerationSettings } from "../results.js";
import type { Answer, Answerer, AnswerRequest } from "./answerer.js";
import { withSystem } from "./answerer.js";

export class EndpointAnswerer implements Answerer {
  readonly identity: AnswererIdentity;
  readonly template: string;
  readonly fingerprint: string;
  /** Where requests go: one endpoint is a pool of one. */
  readonly pool: EndpointPool;
  readonly #settings: GenerationSettings;
  readonly #templateSource: string | undefined;

  /** `settings.template` "server" uses /chat/completions; any other name renders locally for /completions. */
  constructor(endpoint: OpenAIEndpoint | EndpointPool, settings: GenerationSettings) {
    const pool = endpoint instanceof EndpointPool ? endpoint : new EndpointPool([endpoint]);
    this.pool = pool;
    this.#settings = settings;
    this.template = settings.template;
    this.#templateSource = endpointTemplateSource(settings.template);
    const [url = "", ...more] = pool.urls;
    // One URL keeps the identity (and so the cache keys) of a single endpoint; replicas are all recorded.
    this.identity =
      more.length === 0
        ? { kind: "endpoint", url, apiModel: pool.model }
        : { kind: "endpoint", url, urls: [...pool.urls], apiModel: pool.model };
    this.fingerprint = cacheKey([...pool.urls, pool.model]);
  }

  async answerAll(
    requests: readonly AnswerRequest[],
    onAnswer: (index: number, answer: Answer) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const s = this.#settings;
    const sampling = {
      maxTokens: s.maxNewTokens,
      temperature: s.temperature,
      ...(s.topP === undefined ? {} : { topP: s.topP }),
    };
    await sendPrompts(
      this.pool,
      requests.map((request) => ({ messages: withSystem(request.prompt, s.system), seed: request.seed })),
      sampling,
      this.#templateSource,
      (index, reply) => onAnswer(index, { text: reply.text, finishReason: reply.finishReason }),
      signal,
    );
  }

  dispose(): void {
    this.pool.dispose();
  }
}
