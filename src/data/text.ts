// The text of a record's prompt and answers, and the normalised keys that de-duplication, splitting and
// overlap checks compare: two prompts are "the same" when they match after NFC normalisation, trimming and
// collapsing runs of whitespace (case is kept: "What is X?" and "what is x?" are different prompts).
import type { ChatMessage, DataRecord } from "./records.js";

/** NFC, runs of whitespace collapsed to one space, trimmed. */
export function normalizeText(text: string): string {
  return text.normalize("NFC").replace(/\s+/g, " ").trim();
}

/** One user turn is its content; a longer conversation is "role: content" lines. */
export function messagesText(messages: readonly ChatMessage[]): string {
  const [only] = messages;
  if (messages.length === 1 && only && only.role === "user") return only.content;
  return messages.map((m) => `${m.role}: ${m.content}`).join("\n");
}

/** The prompt an instruction record renders as one user turn: the instruction, a blank line, the input. */
export function instructionPrompt(instruction: string, input?: string): string {
  return input !== undefined && input.trim() !== "" ? `${instruction}\n\n${input}` : instruction;
}

/** Index of the last assistant turn, or -1. */
export function lastAssistantIndex(messages: readonly ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === "assistant") return i;
  return -1;
}

/** The content of the last user turn, or "" when there is none. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--)
    if (messages[i]?.role === "user") return messages[i]?.content ?? "";
  return "";
}

/** A chat record's prompt: every turn before its last assistant turn. */
export function chatPrompt(messages: readonly ChatMessage[]): ChatMessage[] {
  const last = lastAssistantIndex(messages);
  return last < 0 ? [...messages] : messages.slice(0, last);
}

/** The text of what a record asks (instruction + input, or the conversation before the answer). */
export function promptText(record: DataRecord): string {
  switch (record.kind) {
    case "instruction":
      return instructionPrompt(record.instruction, record.input);
    case "chat":
      return messagesText(chatPrompt(record.messages));
    case "preference":
    case "prompt":
    case "labelled":
      return messagesText(record.prompt);
    case "text":
      return record.text;
  }
}

/** The text of a record's answer(s): the output, the final assistant turn(s), or "chosen" and "rejected". */
export function answerTexts(record: DataRecord): Record<string, string> {
  switch (record.kind) {
    case "instruction":
      return { answer: record.output };
    case "chat": {
      const last = lastAssistantIndex(record.messages);
      return last < 0 ? {} : { answer: answerText(record.messages.slice(last)) };
    }
    case "preference":
      return { chosen: answerText(record.chosen), rejected: answerText(record.rejected) };
    case "labelled":
      return { answer: answerText(record.answer) };
    case "prompt":
    case "text":
      return {};
  }
}

function answerText(messages: readonly ChatMessage[]): string {
  return messages.length === 1 && messages[0] ? messages[0].content : messagesText(messages);
}

/** The normalised prompt: records with equal keys ask the same thing. */
export function promptKey(record: DataRecord): string {
  return normalizeText(promptText(record));
}

/**
 * The normalised prompt and answers: records with equal keys are duplicates, whatever their kind
 * (an instruction record and a two-turn chat record with the same texts are the same example).
 */
export function recordKey(record: DataRecord): string {
  const answers = answerTexts(record);
  const parts = [promptKey(record)];
  for (const name of ["answer", "chosen", "rejected"]) {
    const text = answers[name];
    if (text !== undefined) parts.push(`${name}\u0001${normalizeText(text)}`);
  }
  return parts.join("\u0000");
}
