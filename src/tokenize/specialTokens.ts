/**
 * Special-token metadata from tokenizer_config.json, generation_config.json and config.json.
 *
 * tokenizer_config.json writes a special token either as a string or as a serialized AddedToken
 * (`{"content": "<s>", "lstrip": false, ...}`, sometimes with `"__type": "AddedToken"`); null means unset.
 */
import { isPlainObject } from "./files.js";

/** The special-token attributes transformers passes to chat templates (SPECIAL_TOKENS_ATTRIBUTES). */
export const SPECIAL_TOKEN_KEYS = [
  "bos_token",
  "eos_token",
  "unk_token",
  "sep_token",
  "pad_token",
  "cls_token",
  "mask_token",
] as const;

export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

/**
 * Tokens that end an assistant turn in common chat formats. When one of them is a special token of the
 * tokenizer and its chat template emits it, it also ends generation (see {@link collectEosIds}).
 */
export const END_OF_TURN_TOKENS = [
  "<|im_end|>",
  "<|eot_id|>",
  "<|eom_id|>",
  "<|end|>",
  "<end_of_turn>",
] as const;

/** The content of a token entry: a string, or an AddedToken-like object's `content`; else undefined. */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (isPlainObject(value) && typeof value.content === "string") return value.content;
  return undefined;
}

/** Reads bos/eos/unk/sep/pad/cls/mask strings from a tokenizer_config.json object. */
export function readSpecialTokens(config: Record<string, unknown>): Partial<Record<SpecialTokenKey, string>> {
  const out: Partial<Record<SpecialTokenKey, string>> = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const content = tokenContent(config[key]);
    if (content !== undefined) out[key] = content;
  }
  return out;
}

/** `additional_special_tokens` as strings (entries may be AddedToken objects). */
export function readAdditionalSpecialTokens(config: Record<string, unknown>): string[] {
  const list = config.additional_special_tokens;
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const item of list) {
    const content = tokenContent(item);
    if (content !== undefined) out.push(content);
  }
  return out;
}

/** A boolean flag if present (add_bos_token/add_eos_token), else undefined. */
export function readFlag(config: Record<string, unknown>, key: string): boolean | undefined {
  const value = config[key];
  return typeof value === "boolean" ? value : undefined;
}

/** `eos_token_id` of a generation_config.json / config.json object: a number or a list of numbers. */
export function readEosTokenIds(config: Record<string, unknown> | undefined): number[] {
  if (!config) return [];
  const value = config.eos_token_id;
  const list = Array.isArray(value) ? value : [value];
  return list.filter((id): id is number => Number.isInteger(id) && (id as number) >= 0);
}

/**
 * All ids that end generation, without duplicates, `eosTokenId` first: the eos token, the eos ids of
 * generation_config.json then config.json, then any {@link END_OF_TURN_TOKENS} that the chat template emits.
 */
export function collectEosIds(parts: {
  eosTokenId: number | undefined;
  generationConfig?: Record<string, unknown> | undefined;
  modelConfig?: Record<string, unknown> | undefined;
  chatTemplates: readonly string[];
  tokenToId: (token: string) => number | undefined;
  isSpecial: (id: number) => boolean;
}): number[] {
  const ids: number[] = [];
  const add = (id: number | undefined) => {
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  };
  add(parts.eosTokenId);
  for (const id of readEosTokenIds(parts.generationConfig)) add(id);
  for (const id of readEosTokenIds(parts.modelConfig)) add(id);
  for (const token of END_OF_TURN_TOKENS) {
    if (!parts.chatTemplates.some((template) => template.includes(token))) continue;
    const id = parts.tokenToId(token);
    if (id !== undefined && parts.isSpecial(id)) add(id);
  }
  return ids;
}
