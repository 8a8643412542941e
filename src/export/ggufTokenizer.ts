// tokenizer.json + tokenizer_config.json -> llama.cpp's tokenizer metadata (tokenizer.ggml.*), for byte-level
// BPE tokenizers (GPT-2, Llama 3, Qwen2, SmolLM and the ones safetune trains). llama.cpp re-implements the
// tokenizer from this metadata, so the vocabulary, merges and pre-tokenizer name must describe it exactly.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../model/config.js";
import { isPlainObject, parseJsonObject, readTextSync } from "../tokenize/files.js";
import { loadTokenizerSync } from "../tokenize/tokenizer.js";
import { ExportError } from "./errors.js";
import { type GgufValue, gguf } from "./ggufWriter.js";

/** llama.cpp's token types (llama_token_type). */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

/** Split regexes of well-known tokenizers (as their tokenizer.json spells them) -> llama.cpp pre-tokenizer. */
const KNOWN_SPLIT_PATTERNS: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    "llama-bpe",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+":
    "qwen2",
};

export interface TokenizerMetadata {
  entries: [string, GgufValue][];
  /** Things llama.cpp may do differently from the Hugging Face tokenizer (printed, not fatal). */
  warnings: string[];
}

type Json = Record<string, unknown>;

const asObjects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);

/** Every pre-tokenizer step, flattening a Sequence. */
function preTokenizerSteps(pre: unknown): Json[] {
  if (!isPlainObject(pre)) return [];
  return pre.type === "Sequence" ? asObjects(pre.pretokenizers) : [pre];
}

/**
 * The llama.cpp pre-tokenizer that splits text as this tokenizer.json does: GPT-2's regex for a plain
 * ByteLevel step, or a known split regex. Anything else gets "default" and a warning.
 */
function preTokenizerName(tj: Json, path: string, warnings: string[]): string {
  const steps = preTokenizerSteps(tj.pre_tokenizer);
  const byteLevel = steps.find((s) => s.type === "ByteLevel");
  if (steps.length === 1 && byteLevel && byteLevel.use_regex !== false) {
    if (byteLevel.add_prefix_space === true)
      warnings.push(`${path}: ByteLevel add_prefix_space is not applied by llama.cpp's gpt-2 pre-tokenizer`);
    return "gpt-2";
  }
  const digits = steps.find((s) => s.type === "Digits");
  if (steps.length === 2 && digits?.individual_digits === true && byteLevel && byteLevel.use_regex !== false)
    return "smollm";
  const split = steps.find((s) => s.type === "Split");
  const pattern = isPlainObject(split?.pattern) ? split.pattern.Regex : undefined;
  const known = typeof pattern === "string" ? KNOWN_SPLIT_PATTERNS[pattern] : undefined;
  if (steps.length === 2 && known && byteLevel?.use_regex === false) return known;
  warnings.push(
    `${path}: pre-tokenizer not recognised; wrote tokenizer.ggml.pre "default", so llama.cpp may split text differently`,
  );
  return "default";
}

/** Refuses tokenizers llama.cpp's "gpt2" (byte-level BPE) tokenizer cannot reproduce, naming the field. */
function checkByteLevelBpe(tj: Json, path: string): Json {
  const model = tj.model;
  if (!isPlainObject(model)) throw new ExportError(`${path}: no "model" object`);
  if (model.type !== "BPE")
    throw new ExportError(
      `${path}: model.type '${String(model.type)}' is not supported for GGUF export (only byte-level BPE tokenizers)`,
    );
  const byteLevel =
    preTokenizerSteps(tj.pre_tokenizer).some((s) => s.type === "ByteLevel") ||
    (isPlainObject(tj.decoder) && tj.decoder.type === "ByteLevel");
  if (model.byte_fallback === true || !byteLevel)
    throw new ExportError(
      `${path}: SentencePiece-style BPE (byte_fallback / Metaspace) is not supported for GGUF export yet (only byte-level BPE tokenizers)`,
    );
  if (!isPlainObject(model.vocab)) throw new ExportError(`${path}: model.vocab is not an object`);
  if (!Array.isArray(model.merges)) throw new ExportError(`${path}: model.merges is not a list`);
  return model;
}

/** "a b" for both merge formats tokenizer.json uses ("a b" strings, or ["a", "b"] pairs). */
function mergeText(merge: unknown, path: string): string {
  if (typeof merge === "string") return merge;
  if (Array.isArray(merge) && merge.length === 2 && merge.every((m) => typeof m === "string"))
    return `${merge[0]} ${merge[1]}`;
  throw new ExportError(
    `${path}: model.merges holds ${JSON.stringify(merge)} (expected "a b" or ["a", "b"])`,
  );
}

/** Tokens looking like "<|...|>" are control tokens even when not flagged special (as llama.cpp's converter). */
const looksSpecial = (token: string): boolean => /^<\|.*\|>$/.test(token);

/** The tokenizer.* metadata of a model folder's tokenizer, for a model with `config.vocabSize` rows. */
export function tokenizerMetadata(dir: string, config: ModelConfig): TokenizerMetadata {
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path))
    throw new ExportError(`${path}: missing (GGUF export needs the model's tokenizer.json)`);
  const tj = parseJsonObject(path, readTextSync(path, "a tokenizer.json", true) ?? "", "a tokenizer.json");
  const model = checkByteLevelBpe(tj, path);
  const warnings: string[] = [];

  const tokens: (string | undefined)[] = new Array(config.vocabSize);
  const types: number[] = new Array(config.vocabSize).fill(TOKEN_TYPE.normal);
  const place = (token: string, id: unknown, type: number) => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0)
      throw new ExportError(`${path}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}`);
    if (id >= config.vocabSize)
      throw new ExportError(
        `${path}: token ${JSON.stringify(token)} has id ${id}, beyond the model's vocab_size ${config.vocabSize}`,
      );
    tokens[id] = token;
    types[id] = type;
  };
  for (const [token, id] of Object.entries(model.vocab as Json)) place(token, id, TOKEN_TYPE.normal);
  for (const added of asObjects(tj.added_tokens)) {
    const content = String(added.content);
    const control = added.special === true || looksSpecial(content);
    place(content, added.id, control ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined);
  }
  // Rows of the embedding no token uses (vocab padded for speed) get unique placeholder names.
  for (let id = 0; id < config.vocabSize; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TOKEN_TYPE.unused;
    }
  }

  const tokenizer = loadTokenizerSync(dir);
  const bos = tokenizer.bosTokenId ?? config.bosTokenId;
  const eos = tokenizer.eosTokenId ?? config.eosTokenIds[0];
  const entries: [string, GgufValue][] = [
    ["tokenizer.ggml.model", gguf.str("gpt2")],
    ["tokenizer.ggml.pre", gguf.str(preTokenizerName(tj, path, warnings))],
    ["tokenizer.ggml.tokens", gguf.strings(tokens as string[])],
    ["tokenizer.ggml.token_type", gguf.i32s(types)],
    ["tokenizer.ggml.merges", gguf.strings((model.merges as unknown[]).map((m) => mergeText(m, path)))],
  ];
  const ids: [string, number | undefined][] = [
    ["bos_token_id", bos],
    ["eos_token_id", eos],
    ["unknown_token_id", tokenizer.unkTokenId],
    ["padding_token_id", tokenizer.padTokenId],
  ];
  for (const [key, id] of ids) if (id !== undefined) entries.push([`tokenizer.ggml.${key}`, gguf.u32(id)]);
  entries.push(
    ["tokenizer.ggml.add_bos_token", gguf.bool(bos !== undefined && tokenizer.specialPrefix.includes(bos))],
    ["tokenizer.ggml.add_eos_token", gguf.bool(eos !== undefined && tokenizer.specialSuffix.includes(eos))],
  );
  if (tokenizer.chatTemplate !== undefined)
    entries.push(["tokenizer.chat_template", gguf.str(tokenizer.chatTemplate)]);
  else warnings.push(`${dir}: no chat template found; chat front ends will fall back to their own`);
  return { entries, warnings };
}
