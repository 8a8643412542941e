// Dataset statistics: counts by kind and category, lengths (characters, or tokens with a tokenizer),
// duplicates, and how many unique prompts two datasets share (train/eval leakage).
import type { DataRecord } from "./records.js";
import { answerTexts, promptKey, promptText, recordKey } from "./text.js";

/** Anything that turns text into token ids (a Tokenizer from src/tokenize/tokenizer.ts). */
export interface TextTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
}

export interface LengthSummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RecordStats {
  records: number;
  byKind: Record<string, number>;
  byCategory: Record<string, number>;
  /** Distinct normalised prompts. */
  uniquePrompts: number;
  /** Records whose prompt appeared in an earlier record (records - uniquePrompts). */
  repeatedPrompts: number;
  /** Records equal to an earlier one in prompt and answers (after normalisation). */
  duplicateRecords: number;
  lengthUnit: "characters" | "tokens";
  /** Lengths of the prompt and of each answer part present (answer, chosen, rejected). */
  lengths: Record<string, LengthSummary>;
}

/** Nearest-rank percentiles, min, max and mean of a list of numbers (all 0 when empty). */
export function summarizeLengths(values: readonly number[]): LengthSummary {
  if (values.length === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    min: sorted[0] as number,
    mean: Math.round((sum / sorted.length) * 10) / 10,
    p50: rank(0.5),
    p90: rank(0.9),
    p99: rank(0.99),
    max: sorted[sorted.length - 1] as number,
  };
}

/** Counts, lengths and duplicates of a list of records; lengths in tokens when given a tokenizer. */
export function recordStats(records: readonly DataRecord[], tokenizer?: TextTokenizer): RecordStats {
  const byKind: Record<string, number> = {};
  const byCategory: Record<string, number> = {};
  const prompts = new Set<string>();
  const keys = new Set<string>();
  let duplicateRecords = 0;
  const lengths: Record<string, number[]> = { prompt: [] };
  const measure = tokenizer
    ? (text: string) => tokenizer.encode(text, { addSpecialTokens: false }).length
    : (text: string) => [...text].length;
  for (const record of records) {
    byKind[record.kind] = (byKind[record.kind] ?? 0) + 1;
    if (record.category !== undefined) byCategory[record.category] = (byCategory[record.category] ?? 0) + 1;
    prompts.add(promptKey(record));
    const key = recordKey(record);
    if (keys.has(key)) duplicateRecords++;
    else keys.add(key);
    lengths.prompt?.push(measure(promptText(record)));
    for (const [part, text] of Object.entries(answerTexts(record))) {
      const list = lengths[part] ?? [];
      list.push(measure(text));
      lengths[part] = list;
    }
  }
  return {
    records: records.length,
    byKind,
    byCategory,
    uniquePrompts: prompts.size,
    repeatedPrompts: records.length - prompts.size,
    duplicateRecords,
    lengthUnit: tokenizer ? "tokens" : "characters",
    lengths: Object.fromEntries(
      Object.entries(lengths).map(([part, values]) => [part, summarizeLengths(values)]),
    ),
  };
}

export interface PromptOverlap {
  /** Unique prompts in a and in b. */
  aPrompts: number;
  bPrompts: number;
  /** Unique prompts in both. */
  shared: number;
  /** Records of a (of b) whose prompt is also in b (in a). */
  aRecords: number;
  bRecords: number;
  /** A few shared prompts, for the report. */
  examples: string[];
}

/** How many unique (normalised) prompts two lists of records share. */
export function promptOverlap(
  a: readonly DataRecord[],
  b: readonly DataRecord[],
  examples = 3,
): PromptOverlap {
  const aKeys = a.map(promptKey);
  const bKeys = b.map(promptKey);
  const aSet = new Set(aKeys);
  const bSet = new Set(bKeys);
  const sharedKeys = [...aSet].filter((k) => bSet.has(k));
  return {
    aPrompts: aSet.size,
    bPrompts: bSet.size,
    shared: sharedKeys.length,
    aRecords: aKeys.filter((k) => bSet.has(k)).length,
    bRecords: bKeys.filter((k) => aSet.has(k)).length,
    examples: sharedKeys.slice(0, examples),
  };
}
