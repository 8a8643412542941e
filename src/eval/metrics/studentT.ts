// Quantiles of the standard normal and of Student's t with whole degrees of freedom, by bisection on their CDFs.
import { erfc } from "./mcnemar.js";

/** Φ(x), the standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/**
 * The CDF of Student's t with `df` whole degrees of freedom, in closed form (Abramowitz & Stegun 26.7.3–4): with
 * θ = atan(t/√df), even df: ½ + ½·sin θ·Σ_{j<df/2} c_j cos^{2j} θ with c_0 = 1, c_j = c_{j−1}·(2j − 1)/(2j); odd df:
 * ½ + (θ + sin θ cos θ·Σ_{j<(df−1)/2} d_j cos^{2j} θ)/π with d_0 = 1, d_j = d_{j−1}·(2j)/(2j + 1).
 */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isInteger(df) || df < 1)
    throw new RangeError(`studentTCdf: df must be a whole number ≥ 1, got ${df}`);
  const theta = Math.atan(t / Math.sqrt(df));
  const s = Math.sin(theta);
  const c2 = Math.cos(theta) ** 2;
  if (df % 2 === 0) {
    let term = 1;
    let sum = 1;
    for (let j = 1; j < df / 2; j++) {
      term *= (c2 * (2 * j - 1)) / (2 * j);
      sum += term;
    }
    return 0.5 + 0.5 * s * sum;
  }
  let term = 1;
  let sum = df > 1 ? 1 : 0;
  for (let j = 1; j < (df - 1) / 2; j++) {
    term *= (c2 * 2 * j) / (2 * j + 1);
    sum += term;
  }
  return 0.5 + (theta + s * Math.cos(theta) * sum) / Math.PI;
}

/** The x where the increasing cdf reaches p, by bisection to full double precision. */
function invert(cdf: (x: number) => number, p: number, where: string): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`${where}: p must lie strictly between 0 and 1, got ${p}`);
  let lo = -1;
  let hi = 1;
  while (cdf(lo) > p) lo *= 2;
  while (cdf(hi) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-14 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The p-quantile of the standard normal. */
export function normalQuantile(p: number): number {
  return invert(normalCdf, p, "normalQuantile");
}

/** The p-quantile of Student's t with df whole degrees of freedom. */
export function studentTQuantile(p: number, df: number): number {
  return invert((t) => studentTCdf(t, df), p, "studentTQuantile");
}
