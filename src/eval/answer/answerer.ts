// Who answers the prompts: the local engine or an OpenAI-compatible endpoint, behind one interface.
import type { ChatMessage } from "../../data/records.js";
import type { AnswererIdentity } from "../results.js";
import type { AnswerLogProb } from "../scoring/answerLogProbs.js";

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
  /**
   * The log-probability of each given answer to its prompt under this answerer's model, the prompt rendered as
   * the answerer renders it (template, system message): perplexity of reference answers, a policy's preference
   * between two answers. Absent where the answerer cannot score text (an endpoint).
   */
  scoreAnswers?(items: readonly ScoredAnswer[], onProgress?: (done: number) => void): AnswerLogProb[];
  dispose(): void;
}

/** An answer to score, given its prompt. */
export interface ScoredAnswer {
  prompt: readonly ChatMessage[];
  answer: string;
}

/** The messages to send: an optional system message, then the benchmark's conversation. */
export function withSystem(prompt: readonly ChatMessage[], system: string | undefined): ChatMessage[] {
  return system === undefined ? [...prompt] : [{ role: "system", content: system }, ...prompt];
}
