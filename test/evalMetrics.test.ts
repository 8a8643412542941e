// Tests of the evaluation statistics: bootstrap intervals, paired differences, McNemar, kappa, binary reports.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bootstrapMean, bootstrapRate, bootstrapStatistic } from "../src/eval/metrics/bootstrap.js";
import { binaryReport } from "../src/eval/metrics/classification.js";
import { cohensKappa } from "../src/eval/metrics/kappa.js";
import { erfc, mcnemarTest } from "../src/eval/metrics/mcnemar.js";
import { pairedDifference } from "../src/eval/metrics/pairedDifference.js";
import type { Estimate } from "../src/eval/types.js";
import { mulberry32 } from "../src/util/random.js";

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
}

function assertRelClose(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= rel, `${what}: ${actual} vs ${expected}, relative error ${err} > ${rel}`);
}

function assertContains(e: Estimate, what: string): void {
  assert.ok(
    e.low <= e.value && e.value <= e.high,
    `${what}: [${e.low}, ${e.high}] does not contain ${e.value}`,
  );
}

const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sampleVariance = (xs: readonly number[]) => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
};

/** `count` values from a seeded stream, so test data is fixed. */
function uniforms(count: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => random());
}

/** Boolean pairs with the given cells of the 2x2 table (both succeed, only A, only B, neither). */
function pairs(both: number, onlyA: number, onlyB: number, neither: number): [boolean[], boolean[]] {
  const a: boolean[] = [];
  const b: boolean[] = [];
  const push = (count: number, x: boolean, y: boolean) => {
    for (let i = 0; i < count; i++) {
      a.push(x);
      b.push(y);
    }
  };
  push(both, true, true);
  push(onlyA, true, false);
  push(onlyB, false, true);
  push(neither, false, false);
  return [a, b];
}

// ---- bootstrap ----

// Exact bootstrap distribution of the mean of a resample of [0, 1, 3] (27 equally likely ordered resamples),
// by composition (#0s, #1s, #3s) → sum, multiplicity 3!/(i!j!k!):
//   (3,0,0)→0 ×1  (2,1,0)→1 ×3  (1,2,0)→2 ×3  (0,3,0)→3 ×1  (2,0,1)→3 ×3  (1,1,1)→4 ×6
//   (0,2,1)→5 ×3  (1,0,2)→6 ×3  (0,1,2)→7 ×3  (0,0,3)→9 ×1
// Cumulative counts by sum: 0:1 1:4 2:7 3:11 4:17 5:20 6:23 7:26 9:27 (of 27).
// 95%: the 2.5% quantile lies in the atom at sum 0 (1/27 ≈ 3.7% > 2.5%), the 97.5% one in the atom at 9 → [0, 3].
// 60%: 20% lies in the atom at sum 2 (cumulative 4/27 ≈ 0.148 to 7/27 ≈ 0.259), 80% in the atom at sum 6
// (20/27 ≈ 0.741 to 23/27 ≈ 0.852) → [2/3, 2]. Every quantile sits well inside an atom, so with many resamples
// the type-7 interpolation lands between two equal order statistics and returns the atom itself.
const THREE = [0, 1, 3];
const meanOfIndices = (values: readonly number[]) => (idx: Int32Array) => {
  let s = 0;
  for (let i = 0; i < idx.length; i++) s += values[idx[i] as number] as number;
  return s / idx.length;
};

test("bootstrapMean of a 3-item sample matches the hand-enumerated exact bootstrap quantiles", () => {
  const at95 = bootstrapMean(THREE, { resamples: 20000, seed: 1 });
  assert.equal(at95.n, 3);
  assertClose(at95.value, 4 / 3, 1e-12, "value");
  assertClose(at95.low, 0, 1e-12, "95% low");
  assertClose(at95.high, 3, 1e-12, "95% high");
  const at60 = bootstrapMean(THREE, { resamples: 20000, confidence: 0.6, seed: 2 });
  assertClose(at60.low, 2 / 3, 1e-12, "60% low");
  assertClose(at60.high, 2, 1e-12, "60% high");
});

test("bootstrapStatistic with a mean statistic reproduces bootstrapMean bit for bit (same draws, same seed)", () => {
  // This pins bootstrapMean's inlined generator to src/util/random.ts's mulberry32, used by bootstrapStatistic.
  const values = uniforms(257, 11).map((u) => u * 10 - 3);
  for (const seed of [0, 7, 123456789]) {
    const options = { resamples: 300, seed };
    assert.deepEqual(
      bootstrapStatistic(values.length, meanOfIndices(values), options),
      bootstrapMean(values, options),
    );
  }
  assert.deepEqual(
    bootstrapStatistic(3, meanOfIndices(THREE), { resamples: 20000, confidence: 0.6, seed: 2 }),
    bootstrapMean(THREE, { resamples: 20000, confidence: 0.6, seed: 2 }),
  );
});

test("bootstrapStatistic of the median of [0, 1, 3] matches its exact bootstrap distribution", () => {
  // Medians by composition (see above): 0 for (3,0,0),(2,1,0),(2,0,1) → 7/27; 3 for (1,0,2),(0,1,2),(0,0,3) → 7/27;
  // 1 otherwise → 13/27. 95%: both tails fall in the end atoms → [0, 3]. 40%: 30% and 70% both fall in the
  // middle atom (cumulative 7/27 ≈ 0.259 to 20/27 ≈ 0.741) → [1, 1].
  const median = (idx: Int32Array) => {
    const xs = Array.from(idx, (i) => THREE[i] as number).sort((x, y) => x - y);
    return xs[1] as number;
  };
  assert.deepEqual(bootstrapStatistic(3, median, { resamples: 20000, seed: 3 }), {
    value: 1,
    low: 0,
    high: 3,
    n: 3,
  });
  assert.deepEqual(bootstrapStatistic(3, median, { resamples: 20000, confidence: 0.4, seed: 3 }), {
    value: 1,
    low: 1,
    high: 1,
    n: 3,
  });
});

test("quantiles interpolate linearly between order statistics (type 7)", () => {
  // A statistic that ignores the indices and returns 0 on the sample, then 5, 4, 3, 2, 1 on the resamples.
  // Sorted: 1..5, m = 5. low: h = 4 × 0.025 = 0.1 → 1 + 0.1 = 1.1; high: h = 4 × 0.975 = 3.9 → 4 + 0.9 = 4.9.
  let calls = 0;
  const countdown = () => (calls++ === 0 ? 0 : 7 - calls);
  const e = bootstrapStatistic(4, countdown, { resamples: 5 });
  assert.equal(e.value, 0);
  assertClose(e.low, 1.1, 1e-12, "low");
  assertClose(e.high, 4.9, 1e-12, "high");
  // One resample: both ends are that resample's statistic.
  calls = 0;
  assert.deepEqual(bootstrapStatistic(4, countdown, { resamples: 1 }), { value: 0, low: 5, high: 5, n: 4 });
});

test("the same seed gives identical intervals, another seed different ones", () => {
  const values = uniforms(500, 5);
  const a = bootstrapMean(values, { seed: 42 });
  assert.deepEqual(bootstrapMean(values, { seed: 42 }), a);
  const b = bootstrapMean(values, { seed: 43 });
  assert.equal(b.value, a.value);
  assert.notDeepEqual([b.low, b.high], [a.low, a.high]);
  // Default seed is 0.
  assert.deepEqual(bootstrapMean(values), bootstrapMean(values, { seed: 0 }));

  const outcomes = values.map((u) => u < 0.3);
  const r = bootstrapRate(outcomes, { seed: 42 });
  assert.deepEqual(bootstrapRate(outcomes, { seed: 42 }), r);
  assert.notDeepEqual(
    [bootstrapRate(outcomes, { seed: 43 }).low, bootstrapRate(outcomes, { seed: 43 }).high],
    [r.low, r.high],
  );
});

test("constant samples give low = high = value", () => {
  const c = bootstrapMean(new Array(50).fill(0.1));
  assert.equal(c.low, c.value);
  assert.equal(c.high, c.value);
  assertClose(c.value, 0.1, 1e-15, "constant mean");
  assert.deepEqual(bootstrapMean([-2.5]), { value: -2.5, low: -2.5, high: -2.5, n: 1 });
  assert.deepEqual(bootstrapRate(new Array(40).fill(true)), { value: 1, low: 1, high: 1, n: 40 });
  assert.deepEqual(bootstrapRate(new Array(40).fill(false)), { value: 0, low: 0, high: 0, n: 40 });
  assert.deepEqual(
    bootstrapStatistic(10, () => 3),
    { value: 3, low: 3, high: 3, n: 10 },
  );
});

test("bootstrapRate of [true, false, false] matches the exact Binomial(3, 1/3) bootstrap quantiles", () => {
  // Resampled count of trues ~ Binomial(3, 1/3): P = 8, 12, 6, 1 (/27); cumulative 0.296, 0.741, 0.963, 1.
  // 95%: 2.5% → 0, 97.5% → 3 (rates 0 and 1). 60%: 20% → 0, 80% → 2 (rates 0 and 2/3).
  const outcomes = [true, false, false];
  const at95 = bootstrapRate(outcomes, { resamples: 20000, seed: 9 });
  assertClose(at95.value, 1 / 3, 1e-15, "value");
  assert.deepEqual([at95.low, at95.high, at95.n], [0, 1, 3]);
  const at60 = bootstrapRate(outcomes, { resamples: 20000, confidence: 0.6, seed: 9 });
  assertClose(at60.low, 0, 1e-15, "60% low");
  assertClose(at60.high, 2 / 3, 1e-15, "60% high");
  // bootstrapMean on the same items as 0/1 has the same exact distribution.
  const asMean = bootstrapMean([1, 0, 0], { resamples: 20000, confidence: 0.6, seed: 9 });
  assertClose(asMean.low, 0, 1e-15, "mean 60% low");
  assertClose(asMean.high, 2 / 3, 1e-15, "mean 60% high");
});

test("a 300/1000 rate: bootstrap interval ≈ the Wilson and normal intervals and the exact binomial quantiles", () => {
  // By hand, p = 0.3, n = 1000, z = 1.959964:
  //   normal: SE = √(0.3·0.7/1000) = 0.0144914 → 0.3 ± 0.028403 = [0.271597, 0.328403]
  //   Wilson: centre (0.3 + z²/2000)/(1 + z²/1000) = 0.300765, half-width 1.952464 × √(0.00021 + z²/4e6)
  //           = 0.028359 → [0.272406, 0.329124]
  //   exact bootstrap: Binomial(1000, 0.3) 2.5% and 97.5% quantiles are 272 and 329 (scipy binom.ppf) → [0.272, 0.329]
  const outcomes = Array.from({ length: 1000 }, (_, i) => i % 10 < 3);
  const e = bootstrapRate(outcomes, { resamples: 20000, seed: 4 });
  assert.equal(e.value, 0.3);
  assert.equal(e.n, 1000);
  assertClose(e.low, 0.271597, 0.005, "vs normal low");
  assertClose(e.high, 0.328403, 0.005, "vs normal high");
  assertClose(e.low, 0.272406, 0.005, "vs Wilson low");
  assertClose(e.high, 0.329124, 0.005, "vs Wilson high");
  assertClose(e.low, 0.272, 0.0015, "vs exact low");
  assertClose(e.high, 0.329, 0.0015, "vs exact high");
  // Same data through the item-resampling mean path: the same distribution, other draws.
  const m = bootstrapMean(
    outcomes.map((o) => (o ? 1 : 0)),
    { resamples: 4000, seed: 4 },
  );
  assertClose(m.low, 0.272, 0.003, "mean path low");
  assertClose(m.high, 0.329, 0.003, "mean path high");
});

test("bootstrapMean of a large sample ≈ mean ± 1.96·sd/√n and contains the mean", () => {
  const values = uniforms(2000, 21).map((u) => u * u * 4);
  const e = bootstrapMean(values, { seed: 8 });
  const half = 1.959964 * Math.sqrt(sampleVariance(values) / values.length);
  assertClose(e.value, mean(values), 1e-12, "value");
  assertContains(e, "interval");
  assertClose(e.low, e.value - half, 0.1 * half, "low");
  assertClose(e.high, e.value + half, 0.1 * half, "high");
  // A wider confidence gives a wider interval around the same value.
  const e99 = bootstrapMean(values, { seed: 8, confidence: 0.99 });
  assert.ok(e99.low < e.low && e99.high > e.high, "99% interval is wider than the 95% one");
});

test("bootstrap inputs are validated", () => {
  assert.throws(() => bootstrapMean([]), RangeError);
  assert.throws(() => bootstrapRate([]), RangeError);
  assert.throws(() => bootstrapStatistic(0, () => 0), RangeError);
  assert.throws(() => bootstrapStatistic(2.5, () => 0), RangeError);
  assert.throws(() => bootstrapMean([1, Number.NaN]), RangeError);
  assert.throws(() => bootstrapMean([1, Number.POSITIVE_INFINITY]), RangeError);
  assert.throws(() => bootstrapMean([1, 2], { resamples: 0 }), RangeError);
  assert.throws(() => bootstrapMean([1, 2], { resamples: 1.5 }), RangeError);
  assert.throws(() => bootstrapMean([1, 2], { confidence: 1 }), RangeError);
  assert.throws(() => bootstrapMean([1, 2], { confidence: 0 }), RangeError);
  assert.throws(() => bootstrapMean([1, 2], { seed: Number.NaN }), RangeError);
  assert.throws(() => bootstrapStatistic(3, () => Number.NaN), RangeError);
  let calls = 0;
  assert.throws(() => bootstrapStatistic(3, () => (calls++ === 5 ? Number.NaN : 1)), /resample 4/);
});

test("2000 resamples of 5,000 items stay fast", () => {
  // A loose guard against pathological slowness (shared CI machines are noisy); typically tens of ms.
  const values = uniforms(5000, 1);
  const outcomes = values.map((u) => u < 0.2);
  const start = performance.now();
  bootstrapMean(values);
  bootstrapRate(outcomes);
  const ms = performance.now() - start;
  assert.ok(ms < 1500, `took ${ms.toFixed(0)} ms`);
});

// ---- pairedDifference ----

test("pairedDifference: hand-checkable mean of b − a, interval within the range of the differences", () => {
  // Differences 0.1, 0.2, 0.1, 0.2 → mean 0.15; every resample mean lies in [0.1, 0.2].
  const e = pairedDifference([0.2, 0.5, 0.9, 0.4], [0.3, 0.7, 1.0, 0.6], { resamples: 5000 });
  assertClose(e.value, 0.15, 1e-12, "value");
  assert.equal(e.n, 4);
  assert.ok(e.low >= 0.1 - 1e-12 && e.high <= 0.2 + 1e-12, `[${e.low}, ${e.high}] within [0.1, 0.2]`);
  assertContains(e, "interval");
  // Equal to the bootstrap of the per-item differences with the same seed.
  const a = uniforms(100, 2);
  const b = uniforms(100, 3);
  assert.deepEqual(
    pairedDifference(a, b, { seed: 5 }),
    bootstrapMean(
      a.map((x, i) => (b[i] as number) - x),
      { seed: 5 },
    ),
  );
  // Identical systems: difference exactly 0.
  assert.deepEqual(pairedDifference(a, a), { value: 0, low: 0, high: 0, n: 100 });
});

test("pairedDifference is much narrower than an unpaired interval when a and b are strongly correlated", () => {
  // Item difficulty dominates both systems' scores; b is a + 0.05 + small noise.
  const difficulty = uniforms(400, 31);
  const noise = uniforms(400, 32);
  const a = difficulty.map((d) => d * 10);
  const b = a.map((x, i) => x + 0.05 + ((noise[i] as number) - 0.5) * 0.2);
  const paired = pairedDifference(a, b, { seed: 1 });
  assertClose(paired.value, mean(b) - mean(a), 1e-9, "value");
  assertContains(paired, "paired interval");
  assert.ok(paired.low > 0, `the paired interval excludes 0: [${paired.low}, ${paired.high}]`);
  // Unpaired (independent samples) normal-approximation width: 2 × 1.96 × √(var(a)/n + var(b)/n) ≈ 0.8.
  const unpairedWidth = 2 * 1.959964 * Math.sqrt((sampleVariance(a) + sampleVariance(b)) / a.length);
  const pairedWidth = paired.high - paired.low;
  assert.ok(pairedWidth < unpairedWidth / 20, `paired width ${pairedWidth} vs unpaired ${unpairedWidth}`);
  const aAlone = bootstrapMean(a, { seed: 1 });
  assert.ok(pairedWidth < (aAlone.high - aAlone.low) / 20, "narrower than either system's own interval");
});

test("pairedDifference validates its input", () => {
  assert.throws(() => pairedDifference([1, 2], [1]), RangeError);
  assert.throws(() => pairedDifference([], []), RangeError);
  assert.throws(() => pairedDifference([1, Number.NaN], [1, 2]), RangeError);
});

// ---- McNemar ----

test("erfc matches reference values to < 1e-12 relative error", () => {
  // References: the brief's values, and 30-digit mpmath.erfc for the rest.
  const cases: [number, number][] = [
    [0, 1],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [1.4999, 0.03390674833770473],
    [1.5, 0.033894853524689274],
    [2, 0.004677734981047266],
    [3, 2.209049699858544e-5],
    [5, 1.537459794428035e-12],
    [10, 2.088487583762545e-45],
    [-1, 1.842700792949715],
    [-3, 1.9999779095030015],
  ];
  for (const [x, expected] of cases) assertRelClose(erfc(x), expected, 1e-12, `erfc(${x})`);
  assert.equal(erfc(40), 0);
  assert.equal(erfc(-40), 2);
  assert.ok(Number.isNaN(erfc(Number.NaN)), "erfc(NaN) is NaN");
});

test("McNemar exact: onlyA = 10, onlyB = 2 → p = 2·(1 + 12 + 66)/4096", () => {
  const [a, b] = pairs(30, 10, 2, 8);
  const r = mcnemarTest(a, b);
  assert.equal(r.method, "exact");
  assert.equal(r.onlyA, 10);
  assert.equal(r.onlyB, 2);
  assert.equal(r.pValue, 0.03857421875);
  assertClose(r.statistic, 49 / 12, 1e-12, "statistic (|10 − 2| − 1)² / 12");
  // Symmetric: swapping the systems swaps the counts only.
  const s = mcnemarTest(b, a);
  assert.deepEqual(s, { ...r, onlyA: 2, onlyB: 10 });
  // Concordant items carry no information.
  const [a2, b2] = pairs(500, 10, 2, 0);
  assert.deepEqual(mcnemarTest(a2, b2), r);
});

test("McNemar chi-square: onlyA = 40, onlyB = 20 → statistic 361/60, p = erfc(√(361/120))", () => {
  // p from 30-digit mpmath: erfc(sqrt(361/120)) = 0.014171388254012330 (scipy chi2.sf(361/60, 1) agrees).
  const [a, b] = pairs(100, 40, 20, 40);
  const r = mcnemarTest(a, b);
  assert.equal(r.method, "chi-square");
  assert.deepEqual([r.onlyA, r.onlyB], [40, 20]);
  assertClose(r.statistic, 6.016666666666667, 1e-12, "statistic (|40 − 20| − 1)² / 60");
  assertRelClose(r.pValue, 0.01417138825401233, 1e-10, "p");
  const s = mcnemarTest(b, a);
  assert.deepEqual(s, { ...r, onlyA: 20, onlyB: 40 });
});

test("McNemar switches from exact to chi-square at 25 discordant pairs", () => {
  // 18 + 6 = 24: exact, p = 2·Σ_{i≤6} C(24, i) / 2^24 = 380102 / 16777216.
  const [a24, b24] = pairs(0, 18, 6, 0);
  const r24 = mcnemarTest(a24, b24);
  assert.equal(r24.method, "exact");
  assert.equal(r24.pValue, 380102 / 16777216);
  assertClose(r24.statistic, 121 / 24, 1e-12, "statistic at 24");
  // 19 + 6 = 25: chi-square, statistic 12²/25 = 5.76, p = erfc(√2.88) = 0.016395071849192259 (mpmath).
  const [a25, b25] = pairs(0, 19, 6, 0);
  const r25 = mcnemarTest(a25, b25);
  assert.equal(r25.method, "chi-square");
  assertClose(r25.statistic, 5.76, 1e-12, "statistic at 25");
  assertRelClose(r25.pValue, 0.01639507184919226, 1e-10, "p at 25");
});

test("McNemar: no discordance or balanced discordance gives p = 1", () => {
  const [a, b] = pairs(5, 0, 0, 7);
  assert.deepEqual(mcnemarTest(a, b), { onlyA: 0, onlyB: 0, statistic: 0, pValue: 1, method: "exact" });
  const [a3, b3] = pairs(1, 3, 3, 1);
  assert.deepEqual(mcnemarTest(a3, b3), { onlyA: 3, onlyB: 3, statistic: 0, pValue: 1, method: "exact" });
  // Off by one: the continuity correction zeroes the statistic; exact p = min(1, 2·P(X ≤ 3 | 7)) = 1.
  const [a4, b4] = pairs(0, 4, 3, 0);
  assert.deepEqual(mcnemarTest(a4, b4), { onlyA: 4, onlyB: 3, statistic: 0, pValue: 1, method: "exact" });
  const [a15, b15] = pairs(0, 15, 15, 0);
  assert.deepEqual(mcnemarTest(a15, b15), {
    onlyA: 15,
    onlyB: 15,
    statistic: 0,
    pValue: 1,
    method: "chi-square",
  });
});

test("McNemar validates its input", () => {
  assert.throws(() => mcnemarTest([true], [true, false]), RangeError);
  assert.throws(() => mcnemarTest([], []), RangeError);
});

// ---- kappa ----

test("Cohen's kappa: the 20/5/10/15 textbook table gives 0.4", () => {
  // n = 50, observed 35/50 = 0.7; A says yes 25/50, B 30/50 → expected 0.5·0.6 + 0.5·0.4 = 0.5;
  // kappa = (0.7 − 0.5)/(1 − 0.5) = 0.4.
  const [a, b] = pairs(20, 5, 10, 15);
  const k = cohensKappa(a, b);
  assert.equal(k.n, 50);
  assertClose(k.agreement, 0.7, 1e-12, "agreement");
  assertClose(k.kappa, 0.4, 1e-12, "kappa");
  // Labels can be strings; only equality matters.
  const s = cohensKappa(
    a.map((x) => (x ? "yes" : "no")),
    b.map((x) => (x ? "yes" : "no")),
  );
  assert.deepEqual(s, k);
});

test("Cohen's kappa with three labels", () => {
  // Rows A, columns B (safe, unsafe, unclear): [5 1 0; 0 3 1; 1 0 1], n = 12, observed 9/12 = 0.75.
  // Marginals A: 6, 4, 2; B: 6, 4, 2 → expected (36 + 16 + 4)/144 = 56/144; kappa = (108 − 56)/(144 − 56) = 13/22.
  const table: [string, string, number][] = [
    ["safe", "safe", 5],
    ["safe", "unsafe", 1],
    ["unsafe", "unsafe", 3],
    ["unsafe", "unclear", 1],
    ["unclear", "safe", 1],
    ["unclear", "unclear", 1],
  ];
  const a: string[] = [];
  const b: string[] = [];
  for (const [x, y, count] of table) {
    for (let i = 0; i < count; i++) {
      a.push(x);
      b.push(y);
    }
  }
  const k = cohensKappa(a, b);
  assertClose(k.agreement, 0.75, 1e-12, "agreement");
  assertClose(k.kappa, 13 / 22, 1e-12, "kappa");
});

test("Cohen's kappa: perfect, chance-level, opposite, and single-label cases", () => {
  assert.deepEqual(cohensKappa(["x", "y", "y", "z"], ["x", "y", "y", "z"]), { kappa: 1, agreement: 1, n: 4 });
  // Chance level: observed 0.5 = expected 0.5.
  assert.deepEqual(cohensKappa(["x", "x", "y", "y"], ["x", "y", "x", "y"]), {
    kappa: 0,
    agreement: 0.5,
    n: 4,
  });
  // Always disagreeing on a balanced pair: observed 0, expected 0.5 → −1.
  assert.deepEqual(cohensKappa([true, false], [false, true]), { kappa: -1, agreement: 0, n: 2 });
  // Both raters use one and the same label everywhere: expected agreement 1, kappa defined as 1.
  assert.deepEqual(cohensKappa([false, false, false], [false, false, false]), {
    kappa: 1,
    agreement: 1,
    n: 3,
  });
  // One rater constant, the other not: expected = observed = 0.5 → 0.
  assert.deepEqual(cohensKappa(["x", "x"], ["x", "y"]), { kappa: 0, agreement: 0.5, n: 2 });
  // Different single labels: observed 0, expected 0 → 0.
  assert.deepEqual(cohensKappa(["x", "x"], ["y", "y"]), { kappa: 0, agreement: 0, n: 2 });
});

test("Cohen's kappa validates its input", () => {
  assert.throws(() => cohensKappa(["x"], ["x", "y"]), RangeError);
  assert.throws(() => cohensKappa([], []), RangeError);
});

// ---- binaryReport ----

test("binaryReport on a hand-computed confusion matrix", () => {
  // tp 3, fp 1, tn 4, fn 2 (n = 10): accuracy 7/10, precision 3/4, recall 3/5, F1 = 6/9;
  // kappa: observed 0.7, predicted-positive 0.4, actual-positive 0.5 → expected 0.4·0.5 + 0.6·0.5 = 0.5 → 0.4.
  const predicted = [true, true, true, true, false, false, false, false, false, false];
  const actual = [true, true, true, false, true, true, false, false, false, false];
  const r = binaryReport(predicted, actual, { seed: 3 });
  assert.equal(r.n, 10);
  assert.deepEqual(r.confusion, { tp: 3, fp: 1, tn: 4, fn: 2 });
  assert.equal(r.accuracy.value, 0.7);
  assert.equal(r.accuracy.n, 10);
  assertContains(r.accuracy, "accuracy");
  assert.deepEqual(
    r.accuracy,
    bootstrapRate(
      predicted.map((p, i) => p === actual[i]),
      { seed: 3 },
    ),
  );
  assertClose(r.precision, 0.75, 1e-12, "precision");
  assertClose(r.recall, 0.6, 1e-12, "recall");
  assertClose(r.f1, 2 / 3, 1e-12, "f1");
  assertClose(r.kappa, 0.4, 1e-12, "kappa");
});

test("binaryReport stays NaN-free when there are no positives", () => {
  // No positive predictions: precision, recall and F1 are 0 by convention.
  const r = binaryReport([false, false, false, false], [true, false, true, false]);
  assert.deepEqual(r.confusion, { tp: 0, fp: 0, tn: 2, fn: 2 });
  assert.deepEqual([r.precision, r.recall, r.f1, r.kappa], [0, 0, 0, 0]);
  assert.equal(r.accuracy.value, 0.5);
  // Nothing positive anywhere: perfect agreement (accuracy 1, kappa 1) but P/R/F1 are 0.
  const none = binaryReport([false, false, false], [false, false, false]);
  assert.deepEqual([none.precision, none.recall, none.f1, none.kappa], [0, 0, 0, 1]);
  assert.deepEqual(none.accuracy, { value: 1, low: 1, high: 1, n: 3 });
  // Perfect judge.
  const perfect = binaryReport([true, false, true], [true, false, true]);
  assert.deepEqual([perfect.precision, perfect.recall, perfect.f1, perfect.kappa], [1, 1, 1, 1]);
});

test("binaryReport validates its input", () => {
  assert.throws(() => binaryReport([true], [true, false]), RangeError);
  assert.throws(() => binaryReport([], []), RangeError);
});
