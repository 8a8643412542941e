// What `safetune serve` (and startServer) can be told. Defaults are the safe ones: loopback only, no CORS, no
// prompts in the log.
import type { GuardConfigInput } from "./guards/guardConfig.js";

export interface ServeOptions {
  /** Hugging Face model folder with its tokenizer (and chat template, for /v1/chat/completions). */
  model: string;
  /** PEFT LoRA adapter applied on top of the model. */
  adapter?: string;
  /** The model id clients send and /v1/models lists (default: the folder's name). */
  name?: string;
  /** Chat template override: a template name (alpaca, chatml, ...) or jinja source. */
  template?: string;
  /** Compute dtype of the weights (default float32). */
  dtype?: "float32" | "bfloat16" | "float16";
  /** cpu (default), cuda or cuda:N. */
  device?: string;
  /** A quantised base: int8 or nf4 packed 2-D weights (--quantize). */
  quantize?: "int8" | "nf4";
  /** Address to bind (default 127.0.0.1: only this machine can connect). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /**
   * Host header values answered besides localhost, IP addresses and the bound address (see hostCheck.ts):
   * "name", "name:port", ".domain" (and names under it), or "*" to turn the DNS-rebinding check off.
   */
  allowedHosts?: string[];
  /** Accepted API keys; when set, /v1, /api and /metrics need `Authorization: Bearer <key>`. */
  apiKeys?: string[];
  /** Origins allowed by CORS (["*"] for any); CORS is off when empty or absent. */
  corsOrigins?: string[];
  /** Write prompts and answers into the request log (default false: they may hold personal data). */
  logPrompts?: boolean;
  /** Requests waiting for the generation worker beyond which new ones get 429 (default 64). */
  maxQueue?: number;
  /** Most rows (requests × n) decoded together (default 16). */
  maxBatchRows?: number;
  /** Completion tokens when a request sets no max_tokens, capped by the context (default 256). */
  defaultMaxTokens?: number;
  /** A request still unfinished after this is cancelled with 504 (default 120000 ms). */
  requestTimeoutMs?: number;
  /** Largest request body accepted (default 1 MiB); larger ones get 413. */
  bodyLimitBytes?: number;
  /** Input and output safety guards: a guard.yaml file, or the same config as an object (see docs/guards.md). */
  guard?: string | GuardConfigInput;
  /** Evaluation runs shown by the dashboard at /ui (default: none, only the chat playground). */
  runsDir?: string;
  /** Torch threads of the generation worker (default: libtorch's choice). */
  threads?: number;
  /** Put stacks into the log records of server-side failures. */
  verbose?: boolean;
  /** Where log records go (default: one JSON line each on stderr). */
  log?: (record: Record<string, unknown>) => void;
}

export const SERVE_DEFAULTS = {
  host: "127.0.0.1",
  port: 8080,
  maxQueue: 64,
  maxBatchRows: 16,
  defaultMaxTokens: 256,
  requestTimeoutMs: 120_000,
  bodyLimitBytes: 1024 * 1024,
} as const;
