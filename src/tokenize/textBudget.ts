// Texts clipped to what `maxLength` tokens can hold before they are rendered and tokenized: a valid 10 MB row
// otherwise costs tens of seconds and hundreds of megabytes to encode only to be cut to a few hundred tokens.
import type { ChatMessage } from "../data/records.js";
import type { Tokenizer } from "./tokenizer.js";

const longestTokens = new WeakMap<Tokenizer, number>();

/** Characters in the tokenizer's longest vocabulary entry (its spelling is never shorter than its text). */
export function longestTokenChars(tokenizer: Tokenizer): number {
  const cached = longestTokens.get(tokenizer);
  if (cached !== undefined) return cached;
  let longest = 1;
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const token = tokenizer.idToToken(id);
    if (token !== undefined && token.length > longest) longest = token.length;
  }
  longestTokens.set(tokenizer, longest);
  return longest;
}

/** Texts up to this many characters are never clipped (encoding them costs milliseconds). */
export const MIN_CHAR_BUDGET = 65_536;

/**
 * The most characters of one text that can matter for a sequence of `maxLength` tokens: every token covers at
 * most the longest vocabulary entry's characters (byte-level and SentencePiece vocabularies spell each input
 * character with at least one character), doubled for normalizers that drop characters; never below
 * MIN_CHAR_BUDGET, so that ordinary rows are encoded whole and their truncatedTokens stay exact.
 */
export function charBudget(tokenizer: Tokenizer, maxLength: number): number {
  return Math.max(MIN_CHAR_BUDGET, 2 * maxLength * longestTokenChars(tokenizer));
}

/** `text` cut to its first (`keep: "head"`) or last (`"tail"`) `budget` characters, at a code point boundary. */
export function clipText(text: string, budget: number, keep: "head" | "tail"): string {
  if (text.length <= budget) return text;
  if (keep === "head") {
    const end = isLowSurrogate(text.charCodeAt(budget)) ? budget - 1 : budget;
    return text.slice(0, end);
  }
  const start = text.length - budget;
  return text.slice(isLowSurrogate(text.charCodeAt(start)) ? start + 1 : start);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Messages with contents clipped the way prompt-first truncation cuts tokens: from index `answersFrom` on (the
 * protected final answer and whatever follows it) each keeps its start, everything before keeps its end.
 * Messages within the budget are returned as they are (the same objects).
 */
export function clipMessages(
  messages: readonly ChatMessage[],
  budget: number,
  answersFrom: number,
): ChatMessage[] {
  return messages.map((message, i) => {
    if (typeof message.content !== "string" || message.content.length <= budget) return message;
    return { ...message, content: clipText(message.content, budget, i >= answersFrom ? "head" : "tail") };
  });
}
