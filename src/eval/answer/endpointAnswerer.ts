// An OpenAI-compatible endpoint as an answerer: the server renders its model's chat template (/chat/completions),
// or safetune renders a named template and sends the text (/completions), for servers of base models.
import { setMaxListeners } from "node:events";
import { renderChatTemplate, resolveChatTemplate } from "../../tokenize/chatTemplate.js";
import { cacheKey } from "../cache.js";
import type { AnswererIdentity, GenerationSettings } from "../results.js";
import type { Answer, Answerer, AnswerRequest } from "./answerer.js";
import { withSystem } from "./answerer.js";
import { EndpointPool } from "./endpointPool.js";
import type { OpenAIEndpoint } from "./openaiEndpoint.js";

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
    this.#templateSource =
      settings.template === "server" || settings.template === "model"
        ? undefined
        : resolveChatTemplate({ chatTemplate: undefined, chatTemplates: {} }, settings.template);
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
    // The pool bounds each replica's concurrency; a failure aborts the others instead of leaving them running.
    const local = new AbortController();
    // Every request listens on this signal; thousands of prompts are expected, not a listener leak.
    setMaxListeners(0, local.signal);
    const onAbort = () => local.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.all(
        requests.map(async (request, index) => {
          const messages = withSystem(request.prompt, s.system);
          const options = { ...sampling, seed: request.seed };
          try {
            const reply = this.#templateSource
              ? await this.pool.complete(
                  renderChatTemplate(this.#templateSource, {
                    messages,
                    add_generation_prompt: true,
                    bos_token: "",
                    eos_token: "",
                  }),
                  options,
                  local.signal,
                )
              : await this.pool.chat(messages, options, local.signal);
            onAnswer(index, { text: reply.text, finishReason: reply.finishReason });
          } catch (err) {
            local.abort(err);
            throw err;
          }
        }),
      );
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  dispose(): void {
    this.pool.dispose();
  }
}
