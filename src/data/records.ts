// The record kinds every dataset becomes, whatever its file format or field names.

/** One chat turn. Extra fields (tool_calls, reasoning_content, ...) are passed through to the chat template. */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

interface RecordBase {
  /** Stable id when the source has one (else assigned from file and line). */
  id?: string;
  /** Where the record came from: "file:line". */
  source?: string;
  /** A category label (harm category, task family, ...), when the source has one. */
  category?: string;
}

/** An Alpaca-style example: instruction, optional input, the answer. */
export interface InstructionRecord extends RecordBase {
  kind: "instruction";
  instruction: string;
  input?: string;
  output: string;
}

/** A conversation whose assistant turns are what a model learns to say. */
export interface ChatRecord extends RecordBase {
  kind: "chat";
  messages: ChatMessage[];
}

/** A shared conversation prefix and two answers, the chosen one preferred. */
export interface PreferenceRecord extends RecordBase {
  kind: "preference";
  /** The conversation up to (not including) the answers; ends with a user turn. */
  prompt: ChatMessage[];
  /** The preferred answer: one or more assistant (and tool) turns. */
  chosen: ChatMessage[];
  rejected: ChatMessage[];
  /** Safety labels when the source has them (PKU-SafeRLHF): whether each answer is safe. */
  chosenSafe?: boolean;
  rejectedSafe?: boolean;
}

/** A prompt with no answer (generation, RAFT, evaluation). */
export interface PromptRecord extends RecordBase {
  kind: "prompt";
  prompt: ChatMessage[];
}

/** An answer labelled safe or unsafe (cost models, judge calibration). */
export interface LabelledAnswerRecord extends RecordBase {
  kind: "labelled";
  prompt: ChatMessage[];
  answer: ChatMessage[];
  safe: boolean;
}

/** Plain text learned whole (continued pretraining, TRL's language-modeling rows): no chat template, loss on every token. */
export interface TextRecord extends RecordBase {
  kind: "text";
  text: string;
}

export type DataRecord =
  | InstructionRecord
  | ChatRecord
  | PreferenceRecord
  | PromptRecord
  | LabelledAnswerRecord
  | TextRecord;
export type RecordKind = DataRecord["kind"];

/** A one-turn user prompt. */
export function userPrompt(text: string): ChatMessage[] {
  return [{ role: "user", content: text }];
}

/** A one-turn assistant answer. */
export function assistantAnswer(text: string): ChatMessage[] {
  return [{ role: "assistant", content: text }];
}
