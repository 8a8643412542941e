// How well a binary judge agrees with human labels: confusion matrix, accuracy with an interval, P/R/F1, kappa.
import type { Estimate } from "../types.js";
import { type BootstrapOptions, bootstrapRate } from "./bootstrap.js";
import { cohensKappa } from "./kappa.js";

export interface BinaryReport {
  /** Items compared. */
  n: number;
  /** Counts with `true` as the positive class: predicted true and actually true is tp, and so on. */
  confusion: { tp: number; fp: number; tn: number; fn: number };
  /** Share of items where the judge matches the label, with a percentile bootstrap interval. */
  accuracy: Estimate;
  /** tp / (tp + fp); 0 when there are no positive predictions. */
  precision: number;
  /** tp / (tp + fn); 0 when there are no actual positives. */
  recall: number;
  /** Harmonic mean of precision and recall, 2tp / (2tp + fp + fn); 0 when tp is 0. */
  f1: number;
  /** Cohen's kappa between judge and labels (1 when both are one and the same class throughout). */
  kappa: number;
}

/** `num / den`, or 0 when the denominator is 0, so that reports stay NaN-free (and JSON-serialisable). */
function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

/**
 * How well a binary judge (predicted) matches human labels (actual); `true` is the positive class.
 *
 * Precision, recall and F1 are 0 rather than NaN when undefined (no positive predictions, no actual positives,
 * tp = 0), the usual "zero division → 0" convention: a judge that never fires scores 0 on them even when there
 * was nothing to find, so read them beside the confusion counts. `options` go to the accuracy bootstrap.
 * Lengths that differ or empty input: RangeError.
 */
export function binaryReport(
  predicted: readonly boolean[],
  actual: readonly boolean[],
  options?: BootstrapOptions,
): BinaryReport {
  if (predicted.length !== actual.length) {
    throw new RangeError(
      `binaryReport: ${predicted.length} predictions but ${actual.length} labels; they must be matched`,
    );
  }
  const n = predicted.length;
  if (n === 0) throw new RangeError("binaryReport: no items to compare");
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  const correct = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const p = predicted[i] === true;
    const t = actual[i] === true;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
    else tn++;
    correct[i] = p === t;
  }
  return {
    n,
    confusion: { tp, fp, tn, fn },
    accuracy: bootstrapRate(correct, options),
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    kappa: cohensKappa(predicted, actual).kappa,
  };
}
