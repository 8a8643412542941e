// Two seed groups on the same prompts: the difference of their means over seeds, with a two-level bootstrap
// interval paired by prompt, and a bootstrap p-value.
import type { Estimate } from "../types.js";
import { type BootstrapOptions, percentileEstimate, resolveOptions } from "./bootstrap.js";
import {
  clamp,
  completeRows,
  definedDraw,
  drawPrompts,
  drawSeeds,
  fullMean,
  resampledGroupMean,
  type SeedScores,
  scoredColumns,
  scoreRange,
  seedAndPromptStreams,
  seedLevelCorrection,
  seedLevelScale,
  seedSpread,
} from "./seedBootstrap.js";

export interface SeedDifferenceOptions extends BootstrapOptions {
  /**
   * Resample seeds in pairs: row s of a with row s of b (both groups must have as many seeds). Right when seed s
   * of both groups shares something random (the same experiment seed: a common warm start, data order). Default
   * false: the groups' seeds are drawn independently.
   */
  pairSeeds?: boolean;
}

export interface SeedGroupDifference extends Estimate {
  /** mean(a) − mean(b), each the mean over its seeds of the seed's mean. */
  value: number;
  /** The prompts scored by at least one seed of either group. */
  n: number;
  /**
   * Two-sided bootstrap p-value of "no difference": 2·(k + 1)/(resamples + 1) capped at 1, where k is the number
   * of resampled differences on the smaller side of 0 (those equal to 0 count on both sides). Never 0.
   */
  pValue: number;
  seedsA: number;
  seedsB: number;
  pairedSeeds: boolean;
}

/**
 * mean(a) − mean(b) with a two-level percentile bootstrap interval. Every resample draws one set of prompts
 * shared by both groups and all their seeds (paired by prompt: prompt difficulty common to both cancels), and
 * seeds: independently for a and b, or as pairs (options.pairSeeds). a and b score the same prompts in the same
 * order (a prompt one group lacks is NaN there). Each group's seed level is widened to Student's t width for its
 * number of seeds, as in seedGroupBootstrap (with paired seeds, that widens the seed level of the paired
 * differences). With one seed each and no missing scores the interval is
 * pairedDifference(b, a)'s up to rounding (the same prompt draws). Malformed input, or pairSeeds with groups of
 * different sizes: RangeError.
 */
export function seedGroupDifference(
  a: SeedScores,
  b: SeedScores,
  options: SeedDifferenceOptions = {},
): SeedGroupDifference {
  const where = "seedGroupDifference";
  const [rowsA, rowsB] = scoredColumns(where, { a, b }) as [Float64Array[], Float64Array[]];
  const pairedSeeds = options.pairSeeds ?? false;
  if (pairedSeeds && rowsA.length !== rowsB.length)
    throw new RangeError(
      `${where}: pairSeeds needs as many seeds in a as in b, got ${rowsA.length} and ${rowsB.length}`,
    );
  const { resamples, confidence, seed } = resolveOptions(where, options);
  const n = (rowsA[0] as Float64Array).length;
  const perSeedA = rowsA.map(fullMean);
  const perSeedB = rowsB.map(fullMean);
  const meanA = seedSpread(perSeedA).value;
  const meanB = seedSpread(perSeedB).value;
  const value = meanA - meanB;
  const [lowA, highA] = scoreRange(rowsA);
  const [lowB, highB] = scoreRange(rowsB);
  const range: [number, number] = [lowA - highB, highA - lowB];
  const scaleA = seedLevelScale(rowsA.length, confidence);
  const scaleB = seedLevelScale(rowsB.length, confidence);
  const streams = seedAndPromptStreams(seed);
  const weights = new Float64Array(n);
  const completeA = completeRows(rowsA);
  const completeB = completeRows(rowsB);
  const countsA = new Int32Array(rowsA.length);
  const countsB = pairedSeeds ? countsA : new Int32Array(rowsB.length);
  const stats = new Float64Array(resamples);
  let below = 0;
  let above = 0;
  for (let r = 0; r < resamples; r++) {
    const d = definedDraw(where, () => {
      drawSeeds(countsA, streams.seeds);
      if (!pairedSeeds) drawSeeds(countsB, streams.seeds);
      drawPrompts(weights, streams.prompts);
      const a =
        resampledGroupMean(rowsA, completeA, countsA, weights) +
        seedLevelCorrection(perSeedA, meanA, countsA, scaleA);
      const b =
        resampledGroupMean(rowsB, completeB, countsB, weights) +
        seedLevelCorrection(perSeedB, meanB, countsB, scaleB);
      return clamp(a - b, range);
    });
    if (d <= 0) below++;
    if (d >= 0) above++;
    stats[r] = d;
  }
  const pValue = Math.min(1, (2 * (Math.min(below, above) + 1)) / (resamples + 1));
  const interval = percentileEstimate(value, stats, confidence, n);
  return { ...interval, pValue, seedsA: rowsA.length, seedsB: rowsB.length, pairedSeeds };
}
