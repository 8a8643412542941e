// Degenerate answers: what RAFT (and any best-of-n selection) must not train on, because a reward model's quirks can
// prefer them (LMFlow's RAFT learned "#" spam). Pure text checks, no model: too short, one character or word
// repeated, or few distinct n-grams (a loop).

export interface DegenerateOptions {
  /** Fewest characters (after trimming) an answer must have. Default 1 (only empty answers are too short). */
  minChars?: number;
  /**
   * Most any single non-space character, or any single word, may make up of the answer (0..1). Default 0.5:
   * "# # # #" (all '#') and "no no no no" fail; English text (its commonest letter is ~12%) passes.
   */
  maxRepeatFraction?: number;
  /**
   * Fewest distinct word n-grams per n-gram (and distinct character 2n-grams per character 2n-gram) an answer
   * must have (0..1). Default 0.5: "I am. I am. I am. I am." fails.
   */
  minDistinctRatio?: number;
  /** n of the word n-grams (default 3; character n-grams use 2n). */
  ngram?: number;
  /** Checks of repetition and distinctness apply only to answers with at least this many words (default 4). */
  minWordsForRepetition?: number;
}

const DEFAULTS: Required<DegenerateOptions> = {
  minChars: 1,
  maxRepeatFraction: 0.5,
  minDistinctRatio: 0.5,
  ngram: 3,
  minWordsForRepetition: 4,
};

/** The most frequent item of `items` and its share of them. */
function commonest<T>(items: readonly T[]): { item: T | undefined; fraction: number } {
  const counts = new Map<T, number>();
  let best: T | undefined;
  let bestCount = 0;
  for (const x of items) {
    const c = (counts.get(x) ?? 0) + 1;
    counts.set(x, c);
    if (c > bestCount) {
      bestCount = c;
      best = x;
    }
  }
  return { item: best, fraction: items.length ? bestCount / items.length : 0 };
}

/** Distinct n-grams over all n-grams of `items` (1 when there are none). */
export function distinctNgramRatio<T>(items: readonly T[], n: number): number {
  const total = items.length - n + 1;
  if (total <= 0) return 1;
  const seen = new Set<string>();
  for (let i = 0; i < total; i++) seen.add(JSON.stringify(items.slice(i, i + n)));
  return seen.size / total;
}

/** Why `text` is degenerate ("too short (3 < 8 chars)", "'#' is 100% of the characters", ...), or undefined. */
export function degenerateReason(text: string, options: DegenerateOptions = {}): string | undefined {
  const o = { ...DEFAULTS, ...options };
  const trimmed = text.trim();
  const length = [...trimmed].length;
  if (length < o.minChars) return `too short (${length} < ${o.minChars} chars)`;
  const chars = [...trimmed].filter((c) => !/\s/u.test(c));
  const words = trimmed.toLowerCase().split(/\s+/u).filter(Boolean);
  const percent = (f: number) => `${Math.round(f * 100)}%`;
  // One character repeated ("########", "# # # #"): checked once there are a few characters to judge.
  if (chars.length >= o.minWordsForRepetition) {
    const { item, fraction } = commonest(chars);
    if (fraction > o.maxRepeatFraction)
      return `${JSON.stringify(item)} is ${percent(fraction)} of the characters`;
  }
  if (words.length >= o.minWordsForRepetition) {
    const { item, fraction } = commonest(words);
    if (fraction > o.maxRepeatFraction)
      return `word ${JSON.stringify(item)} is ${percent(fraction)} of the words`;
    const ratio = distinctNgramRatio(words, o.ngram);
    if (words.length >= o.ngram + 1 && ratio < o.minDistinctRatio)
      return `repetitive: ${percent(ratio)} distinct word ${o.ngram}-grams`;
  }
  // Loops without spaces ("abcabcabcabc"): distinct character 2n-grams.
  const n = 2 * o.ngram;
  if (chars.length >= 4 * n) {
    const ratio = distinctNgramRatio(chars, n);
    if (ratio < o.minDistinctRatio) return `repetitive: ${percent(ratio)} distinct character ${n}-grams`;
  }
  return undefined;
}
