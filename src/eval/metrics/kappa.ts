// Cohen's kappa: agreement between two raters on the same items, corrected for the agreement expected by chance.

export interface Agreement {
  /** Cohen's kappa, (observed − expected) / (1 − expected); 1 is perfect, 0 is chance level, negative is worse. */
  kappa: number;
  /** Observed agreement: the share of items both raters labelled the same. */
  agreement: number;
  /** Items rated. */
  n: number;
}

/**
 * Cohen's kappa of two raters over the same items (any label type compared with ===).
 *
 * Expected agreement is Σ over labels of the product of the two raters' label shares. It is 1 only when both
 * raters gave one and the same label to every item; kappa's ratio is then 0/0, and this returns kappa 1, since
 * observed agreement is necessarily 1 too (the raters never disagreed). Counts are kept as integers, so that case
 * is detected exactly. Lengths that differ or empty input: RangeError.
 */
export function cohensKappa<T extends string | boolean>(a: readonly T[], b: readonly T[]): Agreement {
  if (a.length !== b.length) {
    throw new RangeError(
      `cohensKappa: a has ${a.length} ratings but b has ${b.length}; they must be matched`,
    );
  }
  const n = a.length;
  if (n === 0) throw new RangeError("cohensKappa: no items rated");
  // label → [count by rater a, count by rater b]
  const counts = new Map<T, [number, number]>();
  let agreed = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] as T;
    const y = b[i] as T;
    if (x === y) agreed++;
    const cx = counts.get(x) ?? [0, 0];
    cx[0]++;
    counts.set(x, cx);
    const cy = counts.get(y) ?? [0, 0];
    cy[1]++;
    counts.set(y, cy);
  }
  let productSum = 0;
  for (const [countA, countB] of counts.values()) productSum += countA * countB;
  const agreement = agreed / n;
  if (productSum === n * n) return { kappa: 1, agreement, n };
  const expected = productSum / (n * n);
  return { kappa: (agreement - expected) / (1 - expected), agreement, n };
}
