// Difference of two rates measured on different items (no pairing): each sample resampled on its own.

import { mulberry32 } from "../../util/random.js";
import type { Estimate } from "../types.js";
import { type BootstrapOptions, percentileEstimate, resolveOptions } from "./bootstrap.js";

/**
 * rate(b) − rate(a) for two independent samples of 0/1 outcomes, with a percentile bootstrap interval: each
 * resample draws a's and b's items with replacement separately (a first, then b, from one seeded stream).
 * `n` of the estimate is a.length + b.length. Either sample empty: RangeError (a rate of nothing has no interval).
 */
export function independentRateDifference(
  a: readonly boolean[],
  b: readonly boolean[],
  options?: BootstrapOptions,
): Estimate {
  const where = "independentRateDifference";
  if (a.length === 0 || b.length === 0)
    throw new RangeError(`${where}: a has ${a.length} outcomes and b ${b.length}; both need at least one`);
  const { resamples, confidence, seed } = resolveOptions(where, options);
  const random = mulberry32(seed);
  const rate = (xs: readonly boolean[]) => xs.filter(Boolean).length / xs.length;
  const draw = (xs: readonly boolean[]) => {
    let hits = 0;
    for (let i = 0; i < xs.length; i++) if (xs[(random() * xs.length) | 0]) hits++;
    return hits / xs.length;
  };
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const ra = draw(a);
    stats[r] = draw(b) - ra;
  }
  return percentileEstimate(rate(b) - rate(a), stats, confidence, a.length + b.length);
}
