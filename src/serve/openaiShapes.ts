// The shapes of OpenAI's completion responses, in one place for chat and text completions, whole and streamed.
export type CompletionKind = "chat" | "text";
export type FinishReason = "stop" | "length" | "content_filter";

/** The `object` field: chat.completion, chat.completion.chunk, or text_completion (whole and streamed alike). */
export function responseObject(kind: CompletionKind, stream: boolean): string {
  if (kind === "text") return "text_completion";
  return stream ? "chat.completion.chunk" : "chat.completion";
}

/** One choice of a whole response. */
export function wholeChoice(kind: CompletionKind, index: number, text: string, finish: FinishReason): object {
  return kind === "chat"
    ? {
        index,
        message: { role: "assistant", content: text, refusal: null },
        logprobs: null,
        finish_reason: finish,
      }
    : { index, text, logprobs: null, finish_reason: finish };
}

/** One choice of a stream chunk: a delta for chat (`role` only in a choice's first chunk), a text piece otherwise. */
export function streamChoice(
  kind: CompletionKind,
  index: number,
  delta: { role?: "assistant"; content?: string },
  finish: FinishReason | null,
): object {
  return kind === "chat"
    ? { index, delta, logprobs: null, finish_reason: finish }
    : { index, text: delta.content ?? "", logprobs: null, finish_reason: finish };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}
