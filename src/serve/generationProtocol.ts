// The messages between the server's main thread and its generation worker. The worker owns the model and the
// tokenizer, so prompts cross as messages or text and come back as text pieces: no tensors cross threads.
import type { ChatMessage } from "../data/records.js";
import type { FinishReason } from "../generate/decodeSession.js";

/** What the worker loads. */
export interface WorkerModelOptions {
  /** Hugging Face model folder (config.json, safetensors, tokenizer files). */
  model: string;
  /** PEFT LoRA adapter folder applied on top. */
  adapter?: string;
  /** Chat template override: a template name or jinja source (default: the tokenizer's own). */
  template?: string;
  /** Compute dtype (float32 default). */
  dtype?: "float32" | "bfloat16" | "float16";
  /** cpu (default), cuda or cuda:N. */
  device?: string;
  /** A quantised base: int8 or nf4 packed 2-D weights (--quantize). */
  quantize?: "int8" | "nf4";
  /** Most rows (requests × n) decoded together in one batch. */
  maxBatchRows: number;
  /** Completion tokens when a request sets no max_tokens (capped by what the context has left). */
  defaultMaxTokens: number;
  /** Torch threads of the worker (default: libtorch's choice). */
  threads?: number;
}

export interface ModelSummary {
  /** The context length: prompt plus completion tokens must fit. */
  contextLength: number;
  vocabSize: number;
  family: string;
  hasChatTemplate: boolean;
}

export type PromptInput = { kind: "chat"; messages: ChatMessage[] } | { kind: "text"; text: string };

export interface SamplingRequest {
  /** Completion tokens per choice; undefined: the server's default, capped by the context. */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  frequencyPenalty?: number;
  presencePenalty?: number;
}

export type ToWorker =
  | { type: "generate"; id: number; prompt: PromptInput; n: number; sampling: SamplingRequest }
  | { type: "cancel"; id: number };

export interface ChoiceResult {
  index: number;
  text: string;
  completionTokens: number;
  finishReason: FinishReason;
}

export type FromWorker =
  | { type: "ready"; model: ModelSummary }
  /** Loading failed, or the worker's loop ended: the pool restarts it (or, while starting, fails the start). */
  | { type: "failed"; message: string; stack?: string }
  | { type: "started"; id: number; promptTokens: number; batchRows: number }
  | { type: "token"; id: number; choice: number; text: string }
  | { type: "done"; id: number; promptTokens: number; choices: ChoiceResult[] }
  /** A cancelled request's rows stopped, after generating this many tokens in all. */
  | { type: "cancelled"; id: number; completionTokens: number }
  /** The request cannot be served as asked (prompt too long, template error): a 400 for the client. */
  | { type: "rejected"; id: number; message: string; param: string }
  /** Preparing or decoding the request threw (a bug, or a broken model folder): a 500 for that request alone. */
  | { type: "error"; id: number; message: string; stack?: string }
  /** Something for the server's log that belongs to no request. */
  | { type: "log"; level: "error"; message: string };
