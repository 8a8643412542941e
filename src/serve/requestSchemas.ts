// The request bodies of /v1/chat/completions and /v1/completions, validated as OpenAI does: a field this server
// does not know is a 400 naming it (a typo must not pass silently), and a known OpenAI field it cannot honour
// (tools, logprobs, ...) is a 400 that says so, rather than being ignored.

import { z } from "zod";
import type { ChatMessage } from "../data/records.js";
import { ApiError } from "./apiError.js";
import { describeValue, validationMessage } from "./validationMessage.js";

/** Most choices one request may ask for (n). */
export const MAX_CHOICES = 16;

/** OpenAI request fields this server accepts but cannot honour, with the value that means "not used". */
const UNSUPPORTED: Record<string, (value: unknown) => boolean> = {
  tools: (v) => v == null || (Array.isArray(v) && v.length === 0),
  tool_choice: (v) => v == null || v === "none",
  functions: (v) => v == null,
  function_call: (v) => v == null || v === "none",
  parallel_tool_calls: () => true,
  logprobs: (v) => v == null || v === false,
  top_logprobs: (v) => v == null,
  logit_bias: (v) => v == null || (typeof v === "object" && Object.keys(v as object).length === 0),
  response_format: (v) => v == null || (v as { type?: unknown }).type === "text",
  echo: (v) => v == null || v === false,
  suffix: (v) => v == null,
  store: (v) => v == null || v === false,
  metadata: () => true,
  service_tier: () => true,
  modalities: (v) => v == null || (Array.isArray(v) && v.every((m) => m === "text")),
  reasoning_effort: (v) => v == null,
};

const sampling = {
  model: z.string().min(1),
  /** Completion tokens per choice (max_completion_tokens is the newer name of the same limit). */
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(MAX_CHOICES).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
  stop: z.union([z.string(), z.array(z.string().min(1)).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  /** An end-user id (OpenAI uses it for abuse monitoring); recorded in the log only. */
  user: z.string().nullish(),
  best_of: z.number().int().min(1).nullish(),
};

const unsupported = Object.fromEntries(Object.keys(UNSUPPORTED).map((k) => [k, z.unknown().optional()]));

const textPart = z.object({ type: z.literal("text"), text: z.string() }).strict();

const message = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant"]),
    content: z.union([z.string(), z.array(textPart)]).nullable(),
    name: z.string().optional(),
  })
  .strict();

export const ChatRequestSchema = z
  .object({ ...sampling, ...unsupported, messages: z.array(message).min(1) })
  .strict();

export const CompletionRequestSchema = z
  .object({ ...sampling, ...unsupported, prompt: z.union([z.string(), z.array(z.string()).min(1).max(16)]) })
  .strict();

export type ChatRequest = z.infer<typeof ChatRequestSchema>;
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

function parseWith<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ApiError(
      400,
      "invalid_request_error",
      `the request body must be a JSON object, but got ${describeValue(body)}`,
    );
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (!issue) throw new ApiError(400, "invalid_request_error", "the request body is invalid");
    const { message, param } = validationMessage(issue, body);
    throw new ApiError(400, "invalid_request_error", message, param);
  }
  for (const [key, fine] of Object.entries(UNSUPPORTED)) {
    const value = (body as Record<string, unknown>)[key];
    if (!fine(value))
      throw new ApiError(400, "invalid_request_error", `${key} is not supported by safetune serve`, key);
  }
  return result.data;
}

export function parseChatRequest(body: unknown): ChatRequest {
  return parseWith(ChatRequestSchema, body);
}

export function parseCompletionRequest(body: unknown): CompletionRequest {
  const request = parseWith(CompletionRequestSchema, body);
  if (request.best_of != null && request.best_of !== (request.n ?? 1))
    throw new ApiError(400, "invalid_request_error", "best_of other than n is not supported", "best_of");
  return request;
}

/** OpenAI message content (text or text parts) as the plain text a chat template renders; developer = system. */
export function toChatMessages(messages: ChatRequest["messages"]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === "developer" ? "system" : m.role,
    content: typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join(""),
  }));
}
