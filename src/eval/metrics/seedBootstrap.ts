// Two-level bootstrap over seeds, then prompts: the mean of a run's seeds with an interval that covers both
// training randomness (which seeds were drawn) and prompt sampling (which prompts the benchmark happens to hold).
import { mulberry32 } from "../../util/random.js";
import type { Estimate } from "../types.js";
import { type BootstrapOptions, percentileEstimate, resolveOptions } from "./bootstrap.js";
import { normalQuantile, studentTQuantile } from "./studentT.js";

/**
 * scores[s][i]: seed s's score on prompt i (a rate's 0/1 outcome, a reward, ...). Every seed has one entry per
 * prompt, in the same prompt order; NaN marks a prompt the seed has no score for (the judge could not label it).
 */
export type SeedScores = readonly (readonly number[])[];

export interface SeedGroupEstimate extends Estimate {
  /** The mean over seeds of each seed's mean over its scored prompts (every seed weighs the same). */
  value: number;
  /** The prompts scored by at least one seed. */
  n: number;
  seeds: number;
  /** Each seed's own mean, in the order given. */
  perSeed: number[];
  /** The between-seed standard deviation of perSeed (n − 1 denominator; 0 for one seed). */
  sd: number;
  min: number;
  max: number;
}

/** The seed stream is mulberry32 of the bootstrap seed xor this, so the prompt stream stays bootstrapMean's. */
const SEED_STREAM = 0x9e3779b9;
/** Resamples in a row whose statistic is undefined (no drawn seed has a drawn prompt with a score) before giving up. */
const MAX_REDRAWS = 1000;

/** Checks the score matrices and returns their rows as typed arrays, keeping only prompts some row scores. */
export function scoredColumns(where: string, groups: Record<string, SeedScores>): Float64Array[][] {
  let width: number | undefined;
  for (const [name, rows] of Object.entries(groups)) {
    if (rows.length === 0) throw new RangeError(`${where}: ${name} has no seeds; a group needs at least one`);
    rows.forEach((row, s) => {
      width ??= row.length;
      if (row.length !== width)
        throw new RangeError(
          `${where}: ${name}[${s}] has ${row.length} prompts but the first seed has ${width}; every seed scores the same prompts`,
        );
      let scored = false;
      row.forEach((x, i) => {
        if (Number.isNaN(x)) return;
        if (!Number.isFinite(x))
          throw new RangeError(`${where}: ${name}[${s}][${i}] is ${x}, not a finite number or NaN`);
        scored = true;
      });
      if (!scored)
        throw new RangeError(`${where}: ${name}[${s}] scores no prompt; a seed without scores has no mean`);
    });
  }
  const all = Object.values(groups).flat();
  const keep: number[] = [];
  for (let i = 0; i < (width ?? 0); i++) if (all.some((row) => !Number.isNaN(row[i] as number))) keep.push(i);
  return Object.values(groups).map((rows) =>
    rows.map((row) => Float64Array.from(keep, (i) => row[i] as number)),
  );
}

/**
 * The mean of row over the drawn prompts, weights[i] being how often prompt i was drawn; NaN when it scores none
 * of them. A complete row (no NaN) skips the checks.
 */
function drawnMean(row: Float64Array, weights: Float64Array, complete: boolean): number {
  const n = row.length;
  let sum = 0;
  if (complete) {
    for (let i = 0; i < n; i++) sum += (weights[i] as number) * (row[i] as number);
    return sum / n;
  }
  let count = 0;
  for (let i = 0; i < n; i++) {
    const x = row[i] as number;
    if (!Number.isNaN(x)) {
      const w = weights[i] as number;
      sum += w * x;
      count += w;
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** Whether each row scores every prompt (no NaN). */
export function completeRows(rows: readonly Float64Array[]): boolean[] {
  return rows.map((row) => !row.some((x) => Number.isNaN(x)));
}

/**
 * The resampled group mean: each drawn seed's mean over the drawn prompts, weighted by how often the seed was
 * drawn. Drawn seeds that score none of the drawn prompts drop out; NaN when every drawn seed does.
 */
export function resampledGroupMean(
  rows: Float64Array[],
  complete: readonly boolean[],
  counts: Int32Array,
  weights: Float64Array,
): number {
  let sum = 0;
  let weight = 0;
  for (let s = 0; s < rows.length; s++) {
    const c = counts[s] as number;
    if (c === 0) continue;
    const m = drawnMean(rows[s] as Float64Array, weights, complete[s] as boolean);
    if (Number.isNaN(m)) continue;
    sum += c * m;
    weight += c;
  }
  return weight === 0 ? Number.NaN : sum / weight;
}

/**
 * How much the seed level of the bootstrap is widened for S seeds at a two-sided `confidence`:
 * √(S/(S − 1)) · t_{S−1}(q) / z(q) with q = (1 + confidence)/2. A bootstrap over S seeds spreads their mean with
 * the plug-in between-seed variance, (S − 1)/S of the unbiased one, and reads its tails as if that variance were
 * known, where S draws only estimate it (Student's t with S − 1 degrees of freedom). For normal seed effects the
 * widened seed level has the t interval's width: 2.69 for three seeds at 95%, 1.58 for five, 1.22 for ten; 1 for
 * one seed (nothing to widen). Without it three seeds of a group with large seed-to-seed spread gave 15% false
 * "significant" differences at 95% in simulation (scripts/seed-coverage.ts).
 */
export function seedLevelScale(seeds: number, confidence: number): number {
  if (seeds < 2) return 1;
  const q = (1 + confidence) / 2;
  return Math.sqrt(seeds / (seeds - 1)) * (studentTQuantile(q, seeds - 1) / normalQuantile(q));
}

/**
 * The widening of the seed level for one resample: (scale − 1)·(A − mean), where A is the mean of the drawn seeds'
 * full-sample means, so the seed-level deviation A − mean is scaled by `scale` and the prompt level left alone.
 * Zero for one seed, and when all seeds have the same mean.
 */
export function seedLevelCorrection(
  perSeed: readonly number[],
  value: number,
  counts: Int32Array,
  scale: number,
): number {
  const seeds = perSeed.length;
  if (seeds < 2) return 0;
  let drawn = 0;
  for (let s = 0; s < seeds; s++) drawn += (counts[s] as number) * (perSeed[s] as number);
  return (scale - 1) * (drawn / seeds - value);
}

/** The lowest and highest score: no mean of them lies outside, so neither does a corrected resample. */
export function scoreRange(rows: readonly Float64Array[]): [number, number] {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const row of rows)
    for (const x of row)
      if (!Number.isNaN(x)) {
        if (x < low) low = x;
        if (x > high) high = x;
      }
  return [low, high];
}

export const clamp = (x: number, [low, high]: readonly [number, number]) => Math.min(high, Math.max(low, x));

/** The state of the prompt stream: src/util/random.ts's mulberry32, inlined below for speed. */
export interface PromptStream {
  state: number;
}

/**
 * Draws weights.length prompt indices uniformly with replacement and stores how often each was drawn. The draws
 * are mulberry32's (inlined: a closure call per draw took most of the time), in bootstrapMean's order, so one
 * complete seed gives bootstrapMean's resamples (a test pins it).
 */
export function drawPrompts(weights: Float64Array, stream: PromptStream): void {
  const n = weights.length;
  weights.fill(0);
  let state = stream.state;
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const pick = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
    weights[pick] = (weights[pick] as number) + 1;
  }
  stream.state = state;
}

/** Fills counts with how often each of its seeds is drawn in counts.length draws (no draws for one seed). */
export function drawSeeds(counts: Int32Array, random: () => number): void {
  const s = counts.length;
  if (s === 1) {
    counts[0] = 1;
    return;
  }
  counts.fill(0);
  for (let k = 0; k < s; k++) {
    const pick = (random() * s) | 0;
    counts[pick] = (counts[pick] as number) + 1;
  }
}

/** The prompt stream (bootstrapMean's) and the seed stream of a bootstrap seed. */
export function seedAndPromptStreams(seed: number): { prompts: PromptStream; seeds: () => number } {
  return { prompts: { state: seed >>> 0 }, seeds: mulberry32((seed ^ SEED_STREAM) >>> 0) };
}

/** Redraws until draw() gives a number; a RangeError naming `where` when it never does. */
export function definedDraw(where: string, draw: () => number): number {
  for (let attempt = 0; attempt < MAX_REDRAWS; attempt++) {
    const x = draw();
    if (!Number.isNaN(x)) return x;
  }
  throw new RangeError(`${where}: ${MAX_REDRAWS} resamples in a row left no scored prompt; too few scores`);
}

/** Mean, sample standard deviation, min and max of the seeds' own means. */
export function seedSpread(
  perSeed: readonly number[],
): Pick<SeedGroupEstimate, "value" | "sd" | "min" | "max"> {
  const s = perSeed.length;
  const value = perSeed.reduce((a, x) => a + x, 0) / s;
  const ss = perSeed.reduce((a, x) => a + (x - value) * (x - value), 0);
  return {
    value,
    sd: s > 1 ? Math.sqrt(ss / (s - 1)) : 0,
    min: Math.min(...perSeed),
    max: Math.max(...perSeed),
  };
}

export function fullMean(row: Float64Array): number {
  let sum = 0;
  let count = 0;
  for (const x of row)
    if (!Number.isNaN(x)) {
      sum += x;
      count++;
    }
  return sum / count;
}

/**
 * The mean of a seed group with a two-level percentile bootstrap interval. Each resample draws as many seeds as
 * there are, with replacement (training randomness), and one set of prompts, with replacement, shared by every
 * drawn seed: the seeds answered the same benchmark, so which prompts it holds is one draw common to all of them
 * (a crossed design; drawing prompts separately per seed would treat the shared prompt set as several independent
 * ones and narrow the interval by up to √seeds). The statistic is the mean over the drawn seeds of their means over
 * the drawn prompts they score. Prompts no seed scores are dropped first.
 *
 * With one seed and no missing scores it is bootstrapMean, draw for draw (the prompt stream is the same mulberry32
 * stream; seeds come from a second stream, not used for one seed), up to the rounding of the sums' order. When every seed has the same scores the seed
 * draws change nothing and the interval is the one-seed interval (up to rounding); spread between seeds widens it.
 * Sharing the prompt draw across seeds makes the interval slightly conservative (the seed × prompt interaction is
 * counted in both levels). The seed level is widened to Student's t width for S seeds (seedLevelScale), and
 * resamples are kept within the scores' range (a rate's interval stays in [0, 1]). Coverage measured on simulated
 * seeds × prompts data is in docs/evaluation.md (scripts/seed-coverage.ts). Malformed input (no seeds, ragged
 * rows, ±Infinity, a seed scoring nothing): RangeError.
 */
export function seedGroupBootstrap(scores: SeedScores, options?: BootstrapOptions): SeedGroupEstimate {
  const where = "seedGroupBootstrap";
  const [rows] = scoredColumns(where, { scores }) as [Float64Array[]];
  const { resamples, confidence, seed } = resolveOptions(where, options);
  const n = (rows[0] as Float64Array).length;
  const perSeed = rows.map(fullMean);
  const spread = seedSpread(perSeed);
  const range = scoreRange(rows);
  const scale = seedLevelScale(rows.length, confidence);
  const streams = seedAndPromptStreams(seed);
  const weights = new Float64Array(n);
  const complete = completeRows(rows);
  const counts = new Int32Array(rows.length);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    stats[r] = definedDraw(where, () => {
      drawSeeds(counts, streams.seeds);
      drawPrompts(weights, streams.prompts);
      const mean = resampledGroupMean(rows, complete, counts, weights);
      return clamp(mean + seedLevelCorrection(perSeed, spread.value, counts, scale), range);
    });
  }
  const interval = percentileEstimate(spread.value, stats, confidence, n);
  return { ...interval, seeds: rows.length, perSeed, sd: spread.sd, min: spread.min, max: spread.max };
}
