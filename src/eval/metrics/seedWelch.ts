// Two seed groups on the same prompts: the difference of their means over seeds with a Welch–Satterthwaite t
// interval on the two sources of variance, training randomness (seeds) and prompt sampling (prompts), and its
// t-test p-value. This is what the computed conclusions use: with three seeds a bootstrap over seeds has only ten
// distinct draws and cannot be calibrated, while the t distribution with Satterthwaite's degrees of freedom is the
// textbook answer for a mean whose variance has components estimated with few and with many degrees of freedom.

import type { Estimate } from "../types.js";
import { fullMean, type SeedScores, scoredColumns, scoreRange } from "./seedBootstrap.js";
import { studentTCdf, studentTQuantile } from "./studentT.js";

/** mean(a) − mean(b) of two seed groups, with its interval and p-value. */
export interface SeedGroupDifference extends Estimate {
  /** mean(a) − mean(b), each the mean over its seeds of the seed's mean. */
  value: number;
  /** The prompts scored by at least one seed of either group. */
  n: number;
  /** Two-sided p-value of "no difference" (the t-test's; 0 only when there is no variance at all). */
  pValue: number;
  seedsA: number;
  seedsB: number;
  pairedSeeds: boolean;
}

/** One estimated variance of the difference and the degrees of freedom it was estimated with. */
export interface VarianceComponent {
  variance: number;
  df: number;
}

/** The unbiased sample variance (n − 1 in the denominator); 0 for fewer than two values. */
export function sampleVariance(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((s, x) => s + x, 0) / values.length;
  return values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1);
}

/**
 * Satterthwaite's degrees of freedom of a sum of independent variance estimates: (Σ v)² / Σ (v² / df), rounded
 * down to a whole number (conservative, and what studentTCdf takes), at least 1 and at most 1,000 (beyond which t is
 * the normal to four digits). Components with zero variance carry no information and are skipped.
 */
export function satterthwaiteDf(components: readonly VarianceComponent[]): number {
  const used = components.filter((c) => c.variance > 0 && c.df > 0);
  const total = used.reduce((s, c) => s + c.variance, 0);
  const denominator = used.reduce((s, c) => s + c.variance ** 2 / c.df, 0);
  if (denominator === 0) return 1000;
  return Math.min(1000, Math.max(1, Math.floor(total ** 2 / denominator)));
}

/**
 * The variance components of mean(a) − mean(b), each group's mean being the mean over its seeds of the seeds' means:
 * - seeds: with paired seeds (seed s of both groups shares its experiment seed), the variance of the per-seed
 *   differences over S, with S − 1 degrees of freedom; otherwise var(seed means of a) / S_a and var(seed means of
 *   b) / S_b, each with S − 1 (a group of one seed contributes nothing: its training randomness is not measured);
 * - prompts: the variance over prompts of (a's mean over seeds − b's mean over seeds) on each prompt both groups
 *   scored, over the number of such prompts, with that number − 1 (paired by prompt).
 * Each seed's mean already averages the same prompts, and each prompt's mean the same seeds, so the two overlap in
 * the seed-by-prompt interaction: the sum is slightly conservative, never optimistic.
 */
export function differenceComponents(
  rowsA: readonly Float64Array[],
  rowsB: readonly Float64Array[],
  pairSeeds: boolean,
): VarianceComponent[] {
  const perSeedA = rowsA.map(fullMean);
  const perSeedB = rowsB.map(fullMean);
  const components: VarianceComponent[] = [];
  if (pairSeeds) {
    const diffs = perSeedA.map((x, s) => x - (perSeedB[s] as number));
    if (diffs.length > 1)
      components.push({ variance: sampleVariance(diffs) / diffs.length, df: diffs.length - 1 });
  } else {
    for (const perSeed of [perSeedA, perSeedB])
      if (perSeed.length > 1)
        components.push({ variance: sampleVariance(perSeed) / perSeed.length, df: perSeed.length - 1 });
  }
  const promptMean = (rows: readonly Float64Array[], i: number): number => {
    let sum = 0;
    let count = 0;
    for (const row of rows) {
      const x = row[i] as number;
      if (!Number.isNaN(x)) {
        sum += x;
        count++;
      }
    }
    return count === 0 ? Number.NaN : sum / count;
  };
  const width = (rowsA[0] as Float64Array).length;
  const perPrompt: number[] = [];
  for (let i = 0; i < width; i++) {
    const d = promptMean(rowsA, i) - promptMean(rowsB, i);
    if (!Number.isNaN(d)) perPrompt.push(d);
  }
  if (perPrompt.length > 1)
    components.push({ variance: sampleVariance(perPrompt) / perPrompt.length, df: perPrompt.length - 1 });
  return components;
}

/**
 * mean(a) − mean(b) with a Welch–Satterthwaite t interval at `confidence` (default 0.95) and the two-sided t-test
 * p-value of "no difference". a and b score the same prompts in the same order (NaN where a seed did not score a
 * prompt). With no variance at all the interval is the point and p is 1 for a zero difference, 0 otherwise.
 * Malformed input, or pairSeeds with groups of different sizes: RangeError.
 */
export function welchSeedDifference(
  a: SeedScores,
  b: SeedScores,
  options: { confidence?: number; pairSeeds?: boolean } = {},
): SeedGroupDifference {
  const where = "welchSeedDifference";
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`${where}: confidence must lie strictly between 0 and 1, got ${confidence}`);
  const [rowsA, rowsB] = scoredColumns(where, { a, b }) as [Float64Array[], Float64Array[]];
  const pairedSeeds = options.pairSeeds ?? false;
  if (pairedSeeds && rowsA.length !== rowsB.length)
    throw new RangeError(
      `${where}: pairSeeds needs as many seeds in a as in b, got ${rowsA.length} and ${rowsB.length}`,
    );
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const value = mean(rowsA.map(fullMean)) - mean(rowsB.map(fullMean));
  const components = differenceComponents(rowsA, rowsB, pairedSeeds);
  const variance = components.reduce((s, c) => s + c.variance, 0);
  const n = (rowsA[0] as Float64Array).length;
  const base = { value, n, seedsA: rowsA.length, seedsB: rowsB.length, pairedSeeds };
  if (!(variance > 0)) return { ...base, low: value, high: value, pValue: value === 0 ? 1 : 0 };
  const df = satterthwaiteDf(components);
  const se = Math.sqrt(variance);
  const t = studentTQuantile(1 - (1 - confidence) / 2, df);
  const [lowA, highA] = scoreRange(rowsA);
  const [lowB, highB] = scoreRange(rowsB);
  const low = Math.max(lowA - highB, value - t * se);
  const high = Math.min(highA - lowB, value + t * se);
  const pValue = Math.min(1, 2 * (1 - studentTCdf(Math.abs(value) / se, df)));
  return { ...base, low, high, pValue };
}
