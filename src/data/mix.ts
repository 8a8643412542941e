// SIT mixtures: instruction data plus N safety demonstrations (Bianchi et al. 2023 add 100-2,000 to 20k
// Alpaca examples), sampled with a seed, de-duplicated by normalised prompt and answer.
import { DataError } from "./errors.js";
import type { DataRecord, RecordKind } from "./records.js";
import { deriveSeed, seededShuffle } from "./shuffle.js";
import { recordKey } from "./text.js";

export interface MixOptions {
  /** How many extra (safety) records to add. Give this or `fraction`. */
  count?: number;
  /** Extra records as a fraction of the (de-duplicated) base: 0.05 adds 5 per 100 base records. */
  fraction?: number;
  seed: number;
  /** Shuffle the output (default true); false keeps the base in order, then the extra records. */
  shuffle?: boolean;
}

export interface MixPart {
  /** Records given. */
  given: number;
  /** Dropped as duplicates (of an earlier record of the same part, or, for extra, of a base record). */
  duplicates: number;
  /** Records in the mixture. */
  used: number;
}

export interface MixResult {
  records: DataRecord[];
  base: MixPart;
  extra: MixPart & { available: number };
}

/** Record kinds that can share a training file. */
const FAMILIES: Record<RecordKind, string> = {
  instruction: "sft",
  chat: "sft",
  preference: "preference",
  prompt: "prompt",
  labelled: "labelled",
  text: "sft",
};

function dedupe(
  records: readonly DataRecord[],
  seen: Set<string>,
): { kept: DataRecord[]; duplicates: number } {
  const kept: DataRecord[] = [];
  let duplicates = 0;
  for (const record of records) {
    const key = recordKey(record);
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    kept.push(record);
  }
  return { kept, duplicates };
}

/** How many extra records a count or fraction asks for. */
export function extraCount(options: Pick<MixOptions, "count" | "fraction">, baseSize: number): number {
  const { count, fraction } = options;
  if ((count === undefined) === (fraction === undefined))
    throw new DataError("mix: give exactly one of count or fraction");
  if (count !== undefined) {
    if (!Number.isInteger(count) || count < 0)
      throw new DataError(`mix: count must be an integer >= 0, got ${count}`);
    return count;
  }
  if (!(Number.isFinite(fraction) && (fraction as number) >= 0))
    throw new DataError(`mix: fraction must be a number >= 0, got ${fraction}`);
  return Math.round((fraction as number) * baseSize);
}

/**
 * The base records (de-duplicated) plus `count` (or `fraction` x base) extra records drawn without
 * replacement from the de-duplicated extra records not already in the base. The draw takes a prefix of one
 * seeded permutation, so with the same seed a mixture with 100 extra records is a subset of one with 300.
 * Asking for more extra records than there are unique ones is an error.
 */
export function mixRecords(
  base: readonly DataRecord[],
  extra: readonly DataRecord[],
  options: MixOptions,
): MixResult {
  const families = new Set([...base, ...extra].map((r) => FAMILIES[r.kind]));
  if (families.size > 1) {
    const kinds = [...new Set([...base, ...extra].map((r) => r.kind))].join(", ");
    throw new DataError(`mix: cannot mix these record kinds in one training file: ${kinds}`);
  }
  const seen = new Set<string>();
  const b = dedupe(base, seen);
  const e = dedupe(extra, seen);
  const n = extraCount(options, b.kept.length);
  if (n > e.kept.length) {
    throw new DataError(
      `mix: asked for ${n} extra records but there are only ${e.kept.length} unique ones ` +
        `(${extra.length} given, ${e.duplicates} duplicates)`,
    );
  }
  const drawn = seededShuffle(e.kept, options.seed).slice(0, n);
  const joined = [...b.kept, ...drawn];
  const records = options.shuffle === false ? joined : seededShuffle(joined, deriveSeed(options.seed, 1));
  return {
    records,
    base: { given: base.length, duplicates: b.duplicates, used: b.kept.length },
    extra: { given: extra.length, duplicates: e.duplicates, available: e.kept.length, used: n },
  };
}
