// The generation entry points: token ids in (batched, synchronous), or text / chat in (one prompt, async).
import type { ChatMessage } from "../data/records.js";
import type { TransformerModel } from "../model/transformer.js";
import type { Tokenizer } from "../tokenize/tokenizer.js";
import { type DecodeOptions, DecodeSession, type Generation } from "./decodeSession.js";

/** Generates for a batch of tokenized prompts (left-padded together), running to completion. */
export function generateTokens(
  model: TransformerModel,
  prompts: number[][],
  options: DecodeOptions = {},
  tokenizer?: Tokenizer,
): Generation[] {
  const session = new DecodeSession(model, prompts, options, tokenizer);
  try {
    while (!session.done) session.step();
    return session.results();
  } finally {
    session.dispose();
  }
}

export interface GenerateOptions extends DecodeOptions {
  /** Render a string prompt as one user message through the chat template. */
  chat?: boolean;
  /** A template name (alpaca, chatml, ...) or jinja source, when the tokenizer has none or to override it. */
  template?: string;
  /** A system message placed before the prompt in chat mode. */
  system?: string;
  /** Cancels generation between tokens. */
  signal?: AbortSignal;
}

export type Prompt = string | ChatMessage[] | number[];

/** The ids a prompt becomes: chat messages through the template (which adds its own specials), text as encoded. */
export function encodePrompt(
  tokenizer: Tokenizer | undefined,
  prompt: Prompt,
  options: GenerateOptions = {},
): number[] {
  if (Array.isArray(prompt) && (prompt.length === 0 || typeof prompt[0] === "number"))
    return prompt as number[];
  if (!tokenizer) throw new Error("generate: a text prompt needs a tokenizer (or pass token ids)");
  const messages: ChatMessage[] | undefined =
    typeof prompt === "string"
      ? options.chat
        ? [
            ...(options.system ? [{ role: "system", content: options.system }] : []),
            { role: "user", content: prompt },
          ]
        : undefined
      : (prompt as ChatMessage[]);
  if (!messages) return tokenizer.encode(prompt as string);
  const text = tokenizer.applyChatTemplate(messages, {
    addGenerationPrompt: true,
    template: options.template,
  });
  return tokenizer.encode(text, { addSpecialTokens: false });
}

/** Generates for one prompt, yielding to the event loop between tokens so `signal` and streaming stay live. */
export async function generate(
  model: TransformerModel,
  tokenizer: Tokenizer | undefined,
  prompt: Prompt,
  options: GenerateOptions = {},
): Promise<Generation> {
  const ids = encodePrompt(tokenizer, prompt, options);
  const session = new DecodeSession(model, [ids], options, tokenizer);
  try {
    while (!session.done) {
      if (options.signal?.aborted) session.abort();
      else session.step();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const [result] = session.results();
    return result as Generation;
  } finally {
    session.dispose();
  }
}
