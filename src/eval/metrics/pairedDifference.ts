// Paired comparison of two systems scored on the same items: mean per-item difference with a bootstrap interval.
import type { Estimate } from "../types.js";
import { type BootstrapOptions, bootstrapMean } from "./bootstrap.js";

/**
 * Mean of b[i] - a[i] over matched items, with a paired bootstrap interval (items resampled jointly).
 *
 * Resampling an item keeps its a and b scores together, so item difficulty shared by both systems cancels and
 * the interval is much narrower than one from resampling a and b independently. Resampling the pairs and taking
 * the difference of means is the same as bootstrapping the mean of the per-item differences, which is what this
 * does (through bootstrapMean's fast path). Lengths that differ, empty input or non-finite scores: RangeError.
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  options?: BootstrapOptions,
): Estimate {
  if (a.length !== b.length) {
    throw new RangeError(
      `pairedDifference: a has ${a.length} items but b has ${b.length}; they must be matched`,
    );
  }
  if (a.length === 0)
    throw new RangeError("pairedDifference: no items; a difference of no items has no interval");
  const differences = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      throw new RangeError(
        `pairedDifference: item ${i} has a = ${x}, b = ${y}; scores must be finite numbers`,
      );
    }
    differences[i] = y - x;
  }
  return bootstrapMean(differences, options);
}
