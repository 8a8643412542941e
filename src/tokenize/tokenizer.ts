/**
 * Hugging Face tokenizers, loaded from a model folder with @huggingface/tokenizers (pure JS, no network).
 *
 * A folder holds tokenizer.json (required) and optionally tokenizer_config.json (special tokens,
 * add_bos_token/add_eos_token, chat_template), chat_template.jinja (overrides the config's template, as
 * in recent transformers), chat_template.json (older processor format), additional_chat_templates/*.jinja
 * (named templates), and generation_config.json / config.json (extra end-of-generation ids).
 *
 * Loading is synchronous underneath (the library's constructor is synchronous): {@link loadTokenizer}
 * only reads the files asynchronously; {@link loadTokenizerSync} does everything synchronously.
 */

import { readdirSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import type { ChatMessage } from "../data/records.js";
import {
  type ApplyChatTemplateOptions,
  parseChatTemplateField,
  renderChatTemplate,
  resolveChatTemplate,
} from "./chatTemplate.js";
import {
  errorText,
  isPlainObject,
  parseJsonObject,
  readText,
  readTextSync,
  TokenizerFileError,
} from "./files.js";
import {
  collectEosIds,
  readAdditionalSpecialTokens,
  readFlag,
  readSpecialTokens,
  SPECIAL_TOKEN_KEYS,
} from "./specialTokens.js";

export type { ApplyChatTemplateOptions } from "./chatTemplate.js";
export { ChatTemplateError, PLAIN_TEMPLATES, resolveChatTemplate } from "./chatTemplate.js";
export { TokenizerFileError } from "./files.js";
export { StreamDecoder } from "./streamDecoder.js";

export interface EncodeOptions {
  /**
   * Add the special tokens the tokenizer adds around a single sequence (its post-processor, adjusted by
   * tokenizer_config.json's add_bos_token/add_eos_token when present). Default true, as in transformers.
   * Use false for text rendered by a chat template, which already contains them.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (added tokens marked special, and the config's special tokens). Default false. */
  skipSpecialTokens?: boolean;
  /**
   * transformers' clean_up_tokenization_spaces (" ." -> "." etc.). Default false here, whatever the config
   * says, because it is lossy: decode(encode(s)) must give back s.
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** The parsed contents of a tokenizer folder (see {@link Tokenizer.fromSources}). */
export interface TokenizerSources {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig?: Record<string, unknown>;
  /** chat_template.jinja: replaces tokenizer_config.json's default chat template. */
  chatTemplateJinja?: string;
  /** Named templates (additional_chat_templates/NAME.jinja); they override same-named config entries. */
  additionalChatTemplates?: Record<string, string>;
  generationConfig?: Record<string, unknown>;
  modelConfig?: Record<string, unknown>;
  /** Where the sources came from, for error messages (a folder path). */
  source?: string;
}

const TOKENIZER_JSON_EXPECTED = "a Hugging Face tokenizer.json object with a model section";

function sameIds(a: readonly number[], b: readonly number[], at: number): boolean {
  for (let i = 0; i < b.length; i++) if (a[at + i] !== b[i]) return false;
  return true;
}

export class Tokenizer {
  /** Number of addressable ids: highest id in the vocabulary or added tokens, plus one. */
  readonly vocabSize: number;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly padToken: string | undefined;
  readonly unkToken: string | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId: number | undefined;
  /**
   * Every id that ends generation: eosTokenId, generation_config.json's and config.json's eos_token_id,
   * and end-of-turn tokens (<|im_end|>, <|eot_id|>, <|eom_id|>, <|end|>, <end_of_turn>) that are special
   * tokens of this tokenizer and appear in one of its chat templates.
   */
  readonly eosTokenIds: readonly number[];
  /** Ids of special tokens (added tokens marked special, plus the config's special and additional tokens). */
  readonly specialTokenIds: ReadonlySet<number>;
  /** Default chat template (chat_template.jinja, else tokenizer_config.json's), if any. */
  readonly chatTemplate: string | undefined;
  /** Named chat templates (list form of chat_template, additional_chat_templates/). */
  readonly chatTemplates: Readonly<Record<string, string>>;
  /** Ids `encode` puts before / after the text when addSpecialTokens is true. */
  readonly specialPrefix: readonly number[];
  readonly specialSuffix: readonly number[];

  private readonly inner: HfTokenizer;
  private readonly vocab: readonly (string | undefined)[];
  private readonly templateTokens: Record<string, unknown>;

  private constructor(sources: TokenizerSources) {
    const jsonPath = sources.source ? join(sources.source, "tokenizer.json") : "tokenizer.json";
    const configPath = sources.source
      ? join(sources.source, "tokenizer_config.json")
      : "tokenizer_config.json";
    const tj = sources.tokenizerJson;
    if (!isPlainObject(tj.model)) {
      throw new TokenizerFileError(jsonPath, `no "model" object (expected ${TOKENIZER_JSON_EXPECTED})`);
    }
    if (tj.added_tokens !== undefined && !Array.isArray(tj.added_tokens)) {
      throw new TokenizerFileError(
        jsonPath,
        `"added_tokens" is not a list (expected ${TOKENIZER_JSON_EXPECTED})`,
      );
    }
    const config = sources.tokenizerConfig ?? {};
    const specials = readSpecialTokens(config);
    const additional = readAdditionalSpecialTokens(config);
    // The library reads a few config keys as plain strings; give it strings for AddedToken objects.
    const libConfig: Record<string, unknown> = {
      ...config,
      ...specials,
      additional_special_tokens: additional,
    };
    for (const key of SPECIAL_TOKEN_KEYS) if (specials[key] === undefined) delete libConfig[key];
    try {
      this.inner = new HfTokenizer(
        {
          normalizer: null,
          pre_tokenizer: null,
          post_processor: null,
          decoder: null,
          ...tj,
          added_tokens: tj.added_tokens ?? [],
        },
        libConfig,
      );
    } catch (error) {
      throw new TokenizerFileError(
        jsonPath,
        `cannot build tokenizer (${errorText(error)}; expected ${TOKENIZER_JSON_EXPECTED})`,
      );
    }
    this.vocab = this.inner.model?.vocab ?? [];
    this.vocabSize = this.vocab.length;

    this.bosToken = specials.bos_token;
    this.eosToken = specials.eos_token;
    this.padToken = specials.pad_token;
    this.unkToken = specials.unk_token;
    this.bosTokenId = this.optionalId(this.bosToken);
    this.eosTokenId = this.optionalId(this.eosToken);
    this.padTokenId = this.optionalId(this.padToken);
    this.unkTokenId = this.optionalId(this.unkToken);

    const specialIds = new Set<number>();
    for (const [id, token] of this.inner.get_added_tokens_decoder()) if (token.special) specialIds.add(id);
    for (const token of [...Object.values(specials), ...additional]) {
      const id = this.optionalId(token);
      if (id !== undefined) specialIds.add(id);
    }
    this.specialTokenIds = specialIds;

    const templates = parseChatTemplateField(config.chat_template, configPath);
    this.chatTemplates = Object.freeze({ ...templates.named, ...sources.additionalChatTemplates });
    this.chatTemplate = sources.chatTemplateJinja ?? templates.default;

    this.eosTokenIds = Object.freeze(
      collectEosIds({
        eosTokenId: this.eosTokenId,
        generationConfig: sources.generationConfig,
        modelConfig: sources.modelConfig,
        chatTemplates: [
          ...(this.chatTemplate === undefined ? [] : [this.chatTemplate]),
          ...Object.values(this.chatTemplates),
        ],
        tokenToId: (token) => this.tokenToId(token),
        isSpecial: (id) => specialIds.has(id),
      }),
    );

    const templateTokens: Record<string, unknown> = {};
    for (const key of SPECIAL_TOKEN_KEYS)
      if (specials[key] !== undefined) templateTokens[key] = specials[key];
    templateTokens.additional_special_tokens = additional;
    this.templateTokens = templateTokens;

    const { prefix, suffix } = this.probeSpecialTokens({
      addBos: readFlag(config, "add_bos_token"),
      addEos: readFlag(config, "add_eos_token"),
    });
    this.specialPrefix = Object.freeze(prefix);
    this.specialSuffix = Object.freeze(suffix);
  }

  /** Builds a tokenizer from already-parsed files (e.g. a freshly trained tokenizer.json object). */
  static fromSources(sources: TokenizerSources): Tokenizer {
    return new Tokenizer(sources);
  }

  private optionalId(token: string | undefined): number | undefined {
    return token === undefined ? undefined : this.tokenToId(token);
  }

  /**
   * What the post-processor adds around one sequence (compares a probe text encoded with and without
   * special tokens), then add_bos_token/add_eos_token, when the config sets them, force bos/eos in or out
   * (transformers does this for Llama-family tokenizers; the library ignores the flags).
   */
  private probeSpecialTokens(flags: { addBos: boolean | undefined; addEos: boolean | undefined }): {
    prefix: number[];
    suffix: number[];
  } {
    const probe = "a";
    const raw: number[] = this.inner.encode(probe, { add_special_tokens: false }).ids;
    const full: number[] = this.inner.encode(probe, { add_special_tokens: true }).ids;
    let at = 0;
    while (at + raw.length <= full.length && !sameIds(full, raw, at)) at++;
    if (at + raw.length > full.length) at = full.length; // not found: treat everything as prefix
    let prefix = full.slice(0, at);
    let suffix = full.slice(Math.min(full.length, at + raw.length));
    const bos = this.bosTokenId;
    const eos = this.eosTokenId;
    if (bos !== undefined && flags.addBos === true && prefix[0] !== bos) prefix = [bos, ...prefix];
    if (bos !== undefined && flags.addBos === false) prefix = prefix.filter((id) => id !== bos);
    if (eos !== undefined && flags.addEos === true && suffix.at(-1) !== eos) suffix = [...suffix, eos];
    if (eos !== undefined && flags.addEos === false) suffix = suffix.filter((id) => id !== eos);
    return { prefix, suffix };
  }

  encode(text: string, opts?: EncodeOptions): number[] {
    const encoded: number[] = this.inner.encode(text, { add_special_tokens: false }).ids;
    const ids = encoded.every((id) => Number.isInteger(id))
      ? encoded
      : encoded.filter((id) => Number.isInteger(id));
    if (
      opts?.addSpecialTokens === false ||
      (this.specialPrefix.length === 0 && this.specialSuffix.length === 0)
    ) {
      return ids;
    }
    return [...this.specialPrefix, ...ids, ...this.specialSuffix];
  }

  /** Token strings for `text` (no special tokens added), as the vocabulary spells them. */
  tokenize(text: string): string[] {
    return this.encode(text, { addSpecialTokens: false }).map((id) => this.vocab[id] ?? "");
  }

  /** Ids outside the vocabulary (e.g. a model's padded embedding rows) are skipped, as in Rust tokenizers. */
  decode(ids: readonly number[], opts?: DecodeOptions): string {
    const skip = opts?.skipSpecialTokens === true;
    const kept: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || this.vocab[id] === undefined) continue;
      if (skip && this.specialTokenIds.has(id)) continue;
      kept.push(id);
    }
    if (kept.length === 0) return ""; // the library throws on an empty list
    return this.inner.decode(kept, {
      skip_special_tokens: false,
      clean_up_tokenization_spaces: opts?.cleanUpTokenizationSpaces ?? false,
    });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }

  isSpecialId(id: number): boolean {
    return this.specialTokenIds.has(id);
  }

  /**
   * Renders a conversation with the chat template, passing what transformers passes: messages, tools
   * (null when absent), documents (null), add_generation_prompt, the special tokens as strings (bos_token,
   * eos_token, ... ; unset ones stay undefined), additional_special_tokens, raise_exception (throws a
   * ChatTemplateError) and strftime_now, then `extra`. Template choice: `opts.template` (see
   * resolveChatTemplate), else the "tool_use" template when tools are given and one exists, else the
   * default; throws a ChatTemplateError if there is none. Encode the result with addSpecialTokens: false.
   */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ApplyChatTemplateOptions): string {
    const tools = opts?.tools ?? null;
    let source: string;
    if (opts?.template !== undefined) source = resolveChatTemplate(this, opts.template);
    else if (tools !== null && this.chatTemplates.tool_use !== undefined)
      source = this.chatTemplates.tool_use;
    else source = resolveChatTemplate(this);
    return renderChatTemplate(source, {
      messages,
      tools,
      documents: null,
      add_generation_prompt: opts?.addGenerationPrompt === true,
      ...this.templateTokens,
      ...opts?.extra,
    });
  }
}

const FILES = {
  tokenizer: ["tokenizer.json", TOKENIZER_JSON_EXPECTED],
  config: ["tokenizer_config.json", "a tokenizer_config.json object"],
  jinja: ["chat_template.jinja", "a jinja chat template"],
  chatJson: ["chat_template.json", 'a chat_template.json object with a "chat_template" string'],
  generation: ["generation_config.json", "a generation_config.json object"],
  model: ["config.json", "a model config.json object"],
} as const;

type FileKey = keyof typeof FILES;
type FileTexts = Record<FileKey, string | undefined> & { templates: Record<string, string> };

const ADDITIONAL_TEMPLATES_DIR = "additional_chat_templates";

function buildFromTexts(dir: string, texts: FileTexts): Tokenizer {
  const parse = (key: FileKey): Record<string, unknown> | undefined => {
    const text = texts[key];
    const [name, expected] = FILES[key];
    return text === undefined ? undefined : parseJsonObject(join(dir, name), text, expected);
  };
  const tokenizerJson = parse("tokenizer") as Record<string, unknown>;
  let chatTemplateJinja = texts.jinja;
  if (chatTemplateJinja === undefined) {
    const chatJson = parse("chatJson");
    if (chatJson !== undefined) {
      if (typeof chatJson.chat_template !== "string") {
        throw new TokenizerFileError(join(dir, FILES.chatJson[0]), `expected ${FILES.chatJson[1]}`);
      }
      chatTemplateJinja = chatJson.chat_template;
    }
  }
  return Tokenizer.fromSources({
    tokenizerJson,
    tokenizerConfig: parse("config"),
    chatTemplateJinja,
    additionalChatTemplates: texts.templates,
    generationConfig: parse("generation"),
    modelConfig: parse("model"),
    source: dir,
  });
}

function templateName(file: string): string | undefined {
  return file.endsWith(".jinja") ? file.slice(0, -".jinja".length) : undefined;
}

/** Loads a tokenizer folder (see the module comment for the files read). Files are read concurrently. */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const keys = Object.keys(FILES) as FileKey[];
  const values = await Promise.all(
    keys.map((key) => readText(join(dir, FILES[key][0]), FILES[key][1], key === "tokenizer")),
  );
  const templates: Record<string, string> = {};
  let entries: string[] = [];
  try {
    entries = (await readdir(join(dir, ADDITIONAL_TEMPLATES_DIR))).sort();
  } catch {
    // no additional templates
  }
  for (const file of entries) {
    const name = templateName(file);
    if (name === undefined) continue;
    const text = await readText(join(dir, ADDITIONAL_TEMPLATES_DIR, file), "a jinja chat template", true);
    if (text !== undefined) templates[name] = text;
  }
  const texts = { templates } as FileTexts;
  keys.forEach((key, i) => {
    texts[key] = values[i];
  });
  return buildFromTexts(dir, texts);
}

/** Synchronous {@link loadTokenizer}. */
export function loadTokenizerSync(dir: string): Tokenizer {
  const texts = { templates: {} } as FileTexts;
  for (const key of Object.keys(FILES) as FileKey[]) {
    texts[key] = readTextSync(join(dir, FILES[key][0]), FILES[key][1], key === "tokenizer");
  }
  let entries: string[] = [];
  try {
    entries = readdirSync(join(dir, ADDITIONAL_TEMPLATES_DIR)).sort();
  } catch {
    // no additional templates
  }
  for (const file of entries) {
    const name = templateName(file);
    if (name === undefined) continue;
    const text = readTextSync(join(dir, ADDITIONAL_TEMPLATES_DIR, file), "a jinja chat template", true);
    if (text !== undefined) texts.templates[name] = text;
  }
  return buildFromTexts(dir, texts);
}
