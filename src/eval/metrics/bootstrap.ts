// Percentile bootstrap: resample items with replacement, recompute a statistic, read its interval off the quantiles.
import { mulberry32 } from "../../util/random.js";
import type { Estimate } from "../types.js";

export interface BootstrapOptions {
  /** Resamples drawn (default 2000). */
  resamples?: number;
  /** Two-sided confidence level (default 0.95). */
  confidence?: number;
  /** PRNG seed, so intervals are reproducible (default 0). */
  seed?: number;
}

export interface ResolvedOptions {
  resamples: number;
  confidence: number;
  seed: number;
}

export function resolveOptions(where: string, options: BootstrapOptions = {}): ResolvedOptions {
  const resamples = options.resamples ?? 2000;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`${where}: resamples must be a positive integer, got ${resamples}`);
  }
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`${where}: confidence must lie strictly between 0 and 1, got ${confidence}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) throw new RangeError(`${where}: seed must be a finite number, got ${seed}`);
  return { resamples, confidence, seed };
}

function checkItemCount(where: string, n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new RangeError(`${where}: the number of items must be an integer in [1, 2^31), got ${n}`);
  }
  if (n === 0) throw new RangeError(`${where}: ${what} is empty; a statistic of no items has no interval`);
}

/**
 * The p-quantile of ascending `sorted` by linear interpolation between order statistics (Hyndman & Fan type 7,
 * R's and NumPy's default): with m values, position h = (m − 1)·p, and the quantile lies the fraction h − ⌊h⌋ of
 * the way from the ⌊h⌋-th to the next (0-based). Where both neighbours are equal (a quantile inside an atom of a
 * discrete statistic) this is that value exactly.
 */
function quantileSorted(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const below = Math.floor(h);
  const lower = sorted[below] as number;
  const upper = sorted[Math.min(below + 1, sorted.length - 1)] as number;
  // Equal neighbours short-circuit so that infinite statistics do not turn into NaN (∞ − ∞).
  return lower === upper ? lower : lower + (h - below) * (upper - lower);
}

/** The interval between the (1 − c)/2 and (1 + c)/2 quantiles of the resampled statistics (sorted in place). */
export function percentileEstimate(
  value: number,
  stats: Float64Array,
  confidence: number,
  n: number,
): Estimate {
  stats.sort();
  const tail = (1 - confidence) / 2;
  return { value, low: quantileSorted(stats, tail), high: quantileSorted(stats, 1 - tail), n };
}

/**
 * Percentile bootstrap of any statistic of n items: `statistic` receives the resampled item indices.
 *
 * `value` is the statistic of the original sample (indices 0..n−1 in order); `low`/`high` are the quantiles of
 * the statistic over `resamples` resamples of n indices drawn uniformly with replacement, interpolated as in
 * type-7 quantiles (see quantileSorted). A percentile interval can miss `value` for very skewed statistics or
 * tiny samples; for means and rates of samples of useful size it contains it in practice.
 *
 * The index array is reused and overwritten between calls, so `statistic` must copy it to keep it. A statistic
 * that returns NaN (on the sample or on any resample) throws a RangeError: it would leave the quantiles
 * meaningless, and silently dropping those resamples would bias them.
 */
export function bootstrapStatistic(
  n: number,
  statistic: (indices: Int32Array) => number,
  options?: BootstrapOptions,
): Estimate {
  const where = "bootstrapStatistic";
  checkItemCount(where, n, "the sample");
  const { resamples, confidence, seed } = resolveOptions(where, options);
  const random = mulberry32(seed);
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  const value = statistic(indices);
  if (Number.isNaN(value)) throw new RangeError(`${where}: the statistic is NaN on the original sample`);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    // Same draw order as meanBootstrap, so a mean statistic here reproduces bootstrapMean bit for bit.
    for (let i = 0; i < n; i++) indices[i] = (random() * n) | 0;
    const s = statistic(indices);
    if (Number.isNaN(s)) throw new RangeError(`${where}: the statistic is NaN on resample ${r}`);
    stats[r] = s;
  }
  return percentileEstimate(value, stats, confidence, n);
}

/**
 * One resample of the mean fast path: adds n values at indices drawn from the mulberry32 stream in `state`,
 * stores the mean in stats[r] and returns the advanced state. The generator is src/util/random.ts's mulberry32,
 * inlined: calling its closure for each of the n × resamples draws took about twice as long. A test pins this
 * path to bootstrapStatistic's output (which calls mulberry32 itself), so the copy cannot drift. Kept as its own
 * small function so that V8 optimises it after a few calls instead of waiting for on-stack replacement.
 */
function resampleMean(values: Float64Array, state: number, stats: Float64Array, r: number): number {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const uniform = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    sum += values[(uniform * n) | 0] as number;
  }
  stats[r] = sum / n;
  return state;
}

/** The fast path of means: typed arrays and no closure per draw; the same draws as bootstrapStatistic. */
function meanBootstrap(values: Float64Array, where: string, options?: BootstrapOptions): Estimate {
  const n = values.length;
  const { resamples, confidence, seed } = resolveOptions(where, options);
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i] as number;
  const stats = new Float64Array(resamples);
  let state = seed >>> 0;
  for (let r = 0; r < resamples; r++) state = resampleMean(values, state, stats, r);
  return percentileEstimate(total / n, stats, confidence, n);
}

/**
 * Draws for the rate fast path: the number of successes in a resample of n items of which k succeeded is exactly
 * Binomial(n, k/n), so one uniform per resample, inverted through that distribution's CDF, replaces n draws. Only
 * the support where the probability is not negligible is tabulated: weights start at 1 at the mode (which is k)
 * and follow the ratio pmf(j+1)/pmf(j) = (n − j)/(j + 1) · k/(n − k) outward until they fall below 1e-20, a mass
 * far below what a 2^-32-resolution uniform can reach.
 */
function binomialResampleCounts(k: number, n: number, resamples: number, random: () => number): Float64Array {
  const counts = new Float64Array(resamples);
  if (k === 0 || k === n) return counts.fill(k);
  const odds = k / (n - k);
  const below: number[] = [];
  for (let j = k, w = 1; j > 0; j--) {
    w *= j / ((n - j + 1) * odds);
    if (w < 1e-20) break;
    below.push(w);
  }
  const above: number[] = [];
  for (let j = k, w = 1; j < n; j++) {
    w *= ((n - j) / (j + 1)) * odds;
    if (w < 1e-20) break;
    above.push(w);
  }
  // Cumulative weights over counts first..first + length − 1, ascending.
  const first = k - below.length;
  const cumulative = new Float64Array(below.length + 1 + above.length);
  let running = 0;
  let slot = 0;
  for (let i = below.length - 1; i >= 0; i--) {
    running += below[i] as number;
    cumulative[slot++] = running;
  }
  running += 1;
  cumulative[slot++] = running;
  for (const w of above) {
    running += w;
    cumulative[slot++] = running;
  }
  const last = cumulative.length - 1;
  for (let r = 0; r < resamples; r++) {
    // The smallest slot whose cumulative weight exceeds u·total: inverse-CDF sampling by binary search.
    const target = random() * running;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    counts[r] = first + lo;
  }
  return counts;
}

/** Mean of `values` with a percentile bootstrap interval. Empty input or a non-finite value: RangeError. */
export function bootstrapMean(values: readonly number[], options?: BootstrapOptions): Estimate {
  const where = "bootstrapMean";
  checkItemCount(where, values.length, "values");
  const copy = Float64Array.from(values);
  for (let i = 0; i < copy.length; i++) {
    if (!Number.isFinite(copy[i]))
      throw new RangeError(`${where}: values[${i}] is ${copy[i]}, not a finite number`);
  }
  return meanBootstrap(copy, where, options);
}

/**
 * Share of `true` outcomes with a percentile bootstrap interval. Only the count of successes matters, and its
 * bootstrap distribution is exactly Binomial(n, rate), so each resample is one draw from that (see
 * binomialResampleCounts) rather than n item draws: the same bootstrap distribution as bootstrapMean of the
 * outcomes as 0/1 (though not the same draws for a seed), in O(n + resamples · log n). Resampled rates are count/n
 * with integer counts, so an all-true or all-false sample gives low = high = value exactly. Empty input: RangeError.
 */
export function bootstrapRate(outcomes: readonly boolean[], options?: BootstrapOptions): Estimate {
  const where = "bootstrapRate";
  const n = outcomes.length;
  checkItemCount(where, n, "outcomes");
  const { resamples, confidence, seed } = resolveOptions(where, options);
  let successes = 0;
  for (const outcome of outcomes) if (outcome) successes++;
  const stats = binomialResampleCounts(successes, n, resamples, mulberry32(seed));
  for (let r = 0; r < resamples; r++) stats[r] = (stats[r] as number) / n;
  return percentileEstimate(successes / n, stats, confidence, n);
}
