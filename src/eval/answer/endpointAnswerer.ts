// An OpenAI-compatible endpoint as an answerer: the server renders its model's chat template (/chat/completions),
// or safetune renders a named template and sends the text (/completions), for servers of base models.
import { setMaxListeners } from "node:events";
import { renderChatTemplate, resolveChatTemplate } from "../../tokenize/chatTemplate.js";
import { cacheKey } from "../cache.js";
import type { AnswererIdentity, GenerationSettings } from "../results.js";
import type { Answer, Answerer, AnswerRequest } from "./answerer.js";
import { withSystem } from "./answerer.js";
import type { OpenAIEndpoint } from "./openaiEndpoint.js";

export class EndpointAnswerer implements Answerer {
  readonly identity: AnswererIdentity;
  readonly template: string;
  readonly fingerprint: string;
  readonly #endpoint: OpenAIEndpoint;
  readonly #settings: GenerationSettings;
  readonly #templateSource: string | undefined;

  /** `settings.template` "server" uses /chat/completions; any other name renders locally for /completions. */
  constructor(endpoint: OpenAIEndpoint, settings: GenerationSettings) {
    this.#endpoint = endpoint;
    this.#settings = settings;
    this.template = settings.template;
    this.#templateSource =
      settings.template === "server" || settings.template === "model"
        ? undefined
        : resolveChatTemplate({ chatTemplate: undefined, chatTemplates: {} }, settings.template);
    this.identity = { kind: "endpoint", url: endpoint.options.url, apiModel: endpoint.options.model };
    this.fingerprint = cacheKey([endpoint.options.url, endpoint.options.model]);
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
    // The endpoint bounds its own concurrency; a failure aborts the others instead of leaving them running.
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
              ? await this.#endpoint.complete(
                  renderChatTemplate(this.#templateSource, {
                    messages,
                    add_generation_prompt: true,
                    bos_token: "",
                    eos_token: "",
                  }),
                  options,
                  local.signal,
                )
              : await this.#endpoint.chat(messages, options, local.signal);
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

  dispose(): void {}
}
