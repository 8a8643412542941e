/**
 * Byte-level BPE training (GPT-2 style) for the small models safetune trains from scratch, producing a
 * tokenizer.json that @huggingface/tokenizers (and Hugging Face `tokenizers`) load.
 *
 * - Text is split on the special tokens (never merged across or into), then pre-tokenized with GPT-2's
 *   regex, exactly the one @huggingface/tokenizers' ByteLevel pre-tokenizer applies at encode time.
 * - Each pre-token is UTF-8 bytes, each byte a symbol; all 256 bytes are in the vocabulary, so any text
 *   encodes without an unknown token and decode(encode(s)) === s.
 * - Repeatedly the most frequent adjacent pair is merged. Ties go to the pair with the smaller
 *   (left id, right id); ids are assigned specials first, then bytes in byte order, then merges in order,
 *   so training is deterministic. Pair counts are updated incrementally: only the words holding the merged
 *   pair are touched, and a max-heap with lazy invalidation picks the next pair.
 *
 * Vocabulary layout (as Hugging Face's BpeTrainer): special tokens get ids 0..k-1, then the 256 byte
 * symbols, then one id per merge (a merge whose result already exists reuses that id).
 */
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "./files.js";

export interface BpeTrainerOptions {
  /** Total vocabulary size including special tokens and the 256 byte symbols. */
  vocabSize: number;
  /** Added as single, never-split tokens with ids 0..k-1 (e.g. "<|endoftext|>", "<|im_start|>"). */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are not merged (training stops there). Default 2. */
  minFrequency?: number;
}

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The subset of the tokenizer.json format this trainer writes. */
export interface BpeTokenizerJson {
  version: "1.0";
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: { type: "ByteLevel"; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  post_processor: { type: "ByteLevel"; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  decoder: { type: "ByteLevel"; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  model: {
    type: "BPE";
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: false;
    byte_fallback: false;
    ignore_merges: false;
    vocab: Record<string, number>;
    /** "left right" strings (byte-level symbols never contain a space); both formats load. */
    merges: string[];
  };
}

/** GPT-2's pre-tokenizer pattern, as @huggingface/tokenizers' ByteLevel pre-tokenizer writes it. */
export const GPT2_PRETOKENIZE_PATTERN =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(printable(b) ? b : 256 + next++));
  return Object.freeze(out);
})();

/** Pair keys pack (left, right) ids into one number; ids must stay below 2^21. */
const ID_LIMIT = 2 ** 21;
const pairKey = (a: number, b: number) => a * ID_LIMIT + b;

/** Max-heap of (count, pair key): larger count first, then smaller key. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i] as number;
    const cj = this.counts[j] as number;
    return ci > cj || (ci === cj && (this.keys[i] as number) < (this.keys[j] as number));
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i] as number;
    this.counts[i] = this.counts[j] as number;
    this.counts[j] = c;
    const k = this.keys[i] as number;
    this.keys[i] = this.keys[j] as number;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top entry into `out` ([count, key]); false when empty. */
  pop(out: [number, number]): boolean {
    const n = this.counts.length;
    if (n === 0) return false;
    out[0] = this.counts[0] as number;
    out[1] = this.keys[0] as number;
    const lastCount = this.counts.pop() as number;
    const lastKey = this.keys.pop() as number;
    if (n === 1) return true;
    this.counts[0] = lastCount;
    this.keys[0] = lastKey;
    let i = 0;
    const size = n - 1;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let top = i;
      if (left < size && this.above(left, top)) top = left;
      if (right < size && this.above(right, top)) top = right;
      if (top === i) break;
      this.swap(i, top);
      i = top;
    }
    return true;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Counts pre-tokens (as strings) over all texts, never crossing a special token. */
function countWords(texts: Iterable<string>, specialTokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const specials = [...specialTokens].sort((x, y) => y.length - x.length).map(escapeRegExp);
  const splitter = specials.length > 0 ? new RegExp(specials.join("|"), "g") : undefined;
  const pattern = new RegExp(GPT2_PRETOKENIZE_PATTERN.source, GPT2_PRETOKENIZE_PATTERN.flags);
  for (const text of texts) {
    if (typeof text !== "string") throw new TypeError("trainBpeTokenizer: texts must be strings");
    const pieces = splitter ? text.split(splitter) : [text];
    for (const piece of pieces) {
      pattern.lastIndex = 0;
      for (const match of piece.matchAll(pattern)) {
        const word = match[0];
        counts.set(word, (counts.get(word) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/**
 * Trains a byte-level BPE tokenizer and returns its tokenizer.json object (see the module comment).
 * The vocabulary has exactly `vocabSize` entries unless the corpus runs out of pairs seen at least
 * `minFrequency` times first. Throws a RangeError if vocabSize cannot hold the specials and 256 bytes.
 */
export function trainBpeTokenizer(texts: Iterable<string>, opts: BpeTrainerOptions): BpeTokenizerJson {
  const specialTokens = [...new Set(opts.specialTokens ?? [])];
  for (const token of specialTokens) {
    if (typeof token !== "string" || token.length === 0) {
      throw new TypeError("trainBpeTokenizer: special tokens must be non-empty strings");
    }
  }
  const minFrequency = Math.max(1, opts.minFrequency ?? 2);
  const base = specialTokens.length + 256;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < base || opts.vocabSize > ID_LIMIT) {
    throw new RangeError(
      `trainBpeTokenizer: vocabSize must be an integer in [${base}, ${ID_LIMIT}] (${specialTokens.length} special tokens + 256 bytes), got ${opts.vocabSize}`,
    );
  }

  // id -> token string; token string -> id
  const tokens: string[] = [...specialTokens];
  const ids = new Map<string, number>();
  specialTokens.forEach((token, id) => {
    ids.set(token, id);
  });
  const byteId: number[] = [];
  for (let b = 0; b < 256; b++) {
    const symbol = BYTE_TO_UNICODE[b] as string;
    let id = ids.get(symbol);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(symbol);
      ids.set(symbol, id);
    }
    byteId.push(id);
  }

  // Words as symbol-id arrays with their counts.
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const wordCounts: number[] = [];
  for (const [word, count] of countWords(texts, specialTokens)) {
    const bytes = encoder.encode(word);
    if (bytes.length < 2) continue; // nothing to merge
    words.push(Array.from(bytes, (b) => byteId[b] as number));
    wordCounts.push(count);
  }

  // Pair counts and, for each pair, the words that (may) hold it.
  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const changed = new Set<number>();
  const increase = (key: number, by: number, word: number) => {
    pairCounts.set(key, (pairCounts.get(key) ?? 0) + by);
    let set = where.get(key);
    if (!set) {
      set = new Set();
      where.set(key, set);
    }
    set.add(word);
    changed.add(key);
  };
  const decrease = (key: number, by: number) => {
    const left = (pairCounts.get(key) ?? 0) - by;
    if (left > 0) pairCounts.set(key, left);
    else pairCounts.delete(key);
  };
  words.forEach((symbols, w) => {
    const count = wordCounts[w] as number;
    for (let i = 0; i + 1 < symbols.length; i++)
      increase(pairKey(symbols[i] as number, symbols[i + 1] as number), count, w);
  });
  const heap = new PairHeap();
  for (const key of changed) heap.push(pairCounts.get(key) as number, key);
  changed.clear();

  const merges: string[] = [];
  const top: [number, number] = [0, 0];
  while (tokens.length < opts.vocabSize) {
    // The top entry is current when its count matches; stale ones are re-queued with their real count.
    let best = -1;
    while (heap.pop(top)) {
      const actual = pairCounts.get(top[1]) ?? 0;
      if (actual === 0) continue;
      if (actual !== top[0]) {
        heap.push(actual, top[1]);
        continue;
      }
      best = top[1];
      break;
    }
    if (best < 0 || top[0] < minFrequency) break;

    const a = Math.floor(best / ID_LIMIT);
    const b = best % ID_LIMIT;
    const left = tokens[a] as string;
    const right = tokens[b] as string;
    const mergedToken = left + right;
    let z = ids.get(mergedToken);
    if (z === undefined) {
      z = tokens.length;
      tokens.push(mergedToken);
      ids.set(mergedToken, z);
    }
    merges.push(`${left} ${right}`);

    for (const w of where.get(best) ?? []) {
      const symbols = words[w] as number[];
      const count = wordCounts[w] as number;
      for (let i = 0; i + 1 < symbols.length; i++) {
        if (symbols[i] !== a || symbols[i + 1] !== b) continue;
        if (i > 0) {
          const prev = symbols[i - 1] as number;
          decrease(pairKey(prev, a), count);
          increase(pairKey(prev, z), count, w);
        }
        if (i + 2 < symbols.length) {
          const next = symbols[i + 2] as number;
          decrease(pairKey(b, next), count);
          increase(pairKey(z, next), count, w);
        }
        symbols.splice(i, 2, z);
      }
    }
    pairCounts.delete(best);
    where.delete(best);
    for (const key of changed) {
      const count = pairCounts.get(key);
      if (count !== undefined) heap.push(count, key);
    }
    changed.clear();
  }

  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((token, id) => {
    vocab[token] = id;
  });
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specialTokens.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevel },
    post_processor: { type: "ByteLevel", ...byteLevel, trim_offsets: false },
    decoder: { type: "ByteLevel", ...byteLevel },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

export interface TokenizerFolderConfig {
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  unkToken?: string;
  /** Stored as tokenizer_config.json's chat_template (and in chat_template.jinja if that file exists). */
  chatTemplate?: string;
  modelMaxLength?: number;
  /** More tokenizer_config.json keys (they override the ones written here). */
  extra?: Record<string, unknown>;
}

function tokenJsonParts(tokenizerJson: object): { vocab: Record<string, unknown>; added: AddedTokenJson[] } {
  const json = tokenizerJson as { model?: { vocab?: unknown }; added_tokens?: unknown };
  const vocab = json.model?.vocab;
  if (typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) {
    throw new TypeError("saveTokenizerFolder: tokenizerJson has no model.vocab object");
  }
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as AddedTokenJson[]) : [];
  return { vocab: vocab as Record<string, unknown>, added };
}

/**
 * Writes tokenizer.json and tokenizer_config.json into `dir` (created if needed), each atomically
 * (temporary file + fsync + rename). The declared bos/eos/pad/unk tokens must exist in the tokenizer.
 */
export function saveTokenizerFolder(
  dir: string,
  tokenizerJson: object,
  config: TokenizerFolderConfig = {},
): void {
  const { vocab, added } = tokenJsonParts(tokenizerJson);
  const known = (token: string) => Object.hasOwn(vocab, token) || added.some((t) => t.content === token);
  const specials: Record<string, string | null> = {
    bos_token: config.bosToken ?? null,
    eos_token: config.eosToken ?? null,
    pad_token: config.padToken ?? null,
    unk_token: config.unkToken ?? null,
  };
  for (const [key, token] of Object.entries(specials)) {
    if (token !== null && !known(token)) {
      throw new Error(
        `saveTokenizerFolder: ${key} ${JSON.stringify(token)} is not in the tokenizer's vocabulary`,
      );
    }
  }
  const addedTokensDecoder: Record<string, Omit<AddedTokenJson, "id">> = {};
  for (const { id, ...rest } of added) addedTokensDecoder[String(id)] = rest;
  const tokenizerConfig: Record<string, unknown> = {
    added_tokens_decoder: addedTokensDecoder,
    ...specials,
    clean_up_tokenization_spaces: false,
    tokenizer_class: "PreTrainedTokenizerFast",
    ...(config.modelMaxLength === undefined ? {} : { model_max_length: config.modelMaxLength }),
    ...(config.chatTemplate === undefined ? {} : { chat_template: config.chatTemplate }),
    ...config.extra,
  };
  mkdirSync(dir, { recursive: true });
  writeFileAtomicSync(join(dir, "tokenizer.json"), `${JSON.stringify(tokenizerJson, null, 2)}\n`);
  writeFileAtomicSync(join(dir, "tokenizer_config.json"), `${JSON.stringify(tokenizerConfig, null, 2)}\n`);
  if (config.chatTemplate !== undefined) {
    // A chat_template.jinja left in the folder would take precedence over the template just written.
    const jinjaPath = join(dir, "chat_template.jinja");
    let exists = false;
    try {
      exists = statSync(jinjaPath).isFile();
    } catch {
      exists = false;
    }
    if (exists) writeFileAtomicSync(jinjaPath, config.chatTemplate);
  }
}
