// Who answers the prompts: the local engine or an OpenAI-compatible endpoint, behind one interface.
import type { ChatMessage } from "../../data/records.js";
import type { AnswererIdentity } from "../results.js";

export interface Answer {
  text: string;
  /** stop | length | (an endpoint's own reason). */
  finishReason: string;
}

export interface AnswerRequest {
  prompt: ChatMessage[];
  /** The sampling seed of this prompt (from its place in the benchmark, so a resumed run samples the same). */
  seed: number;
}

export interface Answerer {
  readonly identity: AnswererIdentity;
  /** The template actually used: a name, "model" (the model's own) or "server" (the endpoint renders it). */
  readonly template: string;
  /**
   * What else makes this answerer's outputs what they are, for response-cache keys: a fingerprint of the
   * weights (so retraining a model in the same folder invalidates the cache), the served model name, ...
   */
  readonly fingerprint: string;
  /**
   * Answers every prompt, calling `onAnswer` as each is ready (in any order), so callers can cache answers
   * as they come and an interruption loses at most the answers in flight.
   */
  answerAll(
    requests: readonly AnswerRequest[],
    onAnswer: (index: number, answer: Answer) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  dispose(): void;
}

/** The messages to send: an optional system message, then the benchmark's conversation. */
export function withSystem(prompt: readonly ChatMessage[], system: string | undefined): ChatMessage[] {
  return system === undefined ? [...prompt] : [{ role: "system", content: system }, ...prompt];
}
