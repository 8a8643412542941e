// Many chat prompts through one endpoint pool at once: the server renders its model's chat template
// (/chat/completions), or a named template is rendered here and the text sent (/completions), for servers of base
// models. The first failure aborts the requests still in flight. Evaluation answerers and RAFT's endpoint sampler
// both send their prompts this way.
import { setMaxListeners } from "node:events";
import type { ChatMessage } from "../data/records.js";
import { renderChatTemplate, resolveChatTemplate } from "../tokenize/chatTemplate.js";
import type { EndpointPool } from "./endpointPool.js";
import type { EndpointReply, SamplingRequest } from "./openaiEndpoint.js";

/** One prompt and its seed (each request samples with its own). */
export interface PromptRequest {
  messages: readonly ChatMessage[];
  seed?: number;
}

/**
 * The jinja source to render prompts with before /completions, or undefined when the server renders its own
 * ("server", or "model": the served model's template is the server's business).
 */
export function endpointTemplateSource(template: string): string | undefined {
  if (template === "server" || template === "model") return undefined;
  return resolveChatTemplate({ chatTemplate: undefined, chatTemplates: {} }, template);
}

/**
 * Sends every request through `pool` (which bounds each replica's concurrency) and reports each reply by its index
 * as it arrives. `templateSource` (from {@link endpointTemplateSource}) selects /completions over a locally
 * rendered prompt; without it the messages go to /chat/completions. Rejects with the first failure, after aborting
 * the others; a caller's abort rejects with its reason.
 */
export async function sendPrompts(
  pool: EndpointPool,
  requests: readonly PromptRequest[],
  sampling: Omit<SamplingRequest, "seed">,
  templateSource: string | undefined,
  onReply: (index: number, reply: EndpointReply) => void,
  signal?: AbortSignal,
): Promise<void> {
  const local = new AbortController();
  // Every request listens on this signal; thousands of prompts are expected, not a listener leak.
  setMaxListeners(0, local.signal);
  const onAbort = () => local.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await Promise.all(
      requests.map(async (request, index) => {
        const options = request.seed === undefined ? sampling : { ...sampling, seed: request.seed };
        try {
          const reply = templateSource
            ? await pool.complete(
                renderChatTemplate(templateSource, {
                  messages: request.messages,
                  add_generation_prompt: true,
                  bos_token: "",
                  eos_token: "",
                }),
                options,
                local.signal,
              )
            : await pool.chat(request.messages, options, local.signal);
          onReply(index, reply);
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
