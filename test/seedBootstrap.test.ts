// Tests of the two-level (seeds, then prompts) bootstrap of a seed group's mean (differences: seedWelch.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { bootstrapMean } from "../src/eval/metrics/bootstrap.js";
import {
  seedGroupBootstrap,
  seedLevelCorrection,
  seedLevelScale,
} from "../src/eval/metrics/seedBootstrap.js";
import { normalQuantile, studentTCdf, studentTQuantile } from "../src/eval/metrics/studentT.js";
import { mulberry32 } from "../src/util/random.js";

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
}

/** n 0/1 outcomes with success probability p from a seeded stream, so test data is fixed. */
function outcomes(n: number, p: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => (random() < p ? 1 : 0));
}

const width = (e: { low: number; high: number }) => e.high - e.low;

test("one seed without missing scores is bootstrapMean, draw for draw", () => {
  const values = outcomes(150, 0.7, 3);
  for (const seed of [0, 11]) {
    const one = seedGroupBootstrap([values], { seed, resamples: 700 });
    const plain = bootstrapMean(values, { seed, resamples: 700 });
    assert.deepEqual({ value: one.value, low: one.low, high: one.high, n: one.n }, plain);
    assert.deepEqual(
      [one.seeds, one.sd, one.min, one.max, one.perSeed],
      [1, 0, plain.value, plain.value, [plain.value]],
    );
  }
});

test("zero between-seed variance: three identical seeds give the one-seed interval", () => {
  const values = outcomes(120, 0.4, 5);
  const three = seedGroupBootstrap([values, values, values], { seed: 2, resamples: 1000 });
  const one = bootstrapMean(values, { seed: 2, resamples: 1000 });
  assertClose(three.value, one.value, 1e-12, "value");
  assertClose(three.low, one.low, 1e-12, "low");
  assertClose(three.high, one.high, 1e-12, "high");
  assert.equal(three.sd, 0);
});

test("large between-seed variance widens the interval far beyond the pooled one-level interval", () => {
  const seeds = [outcomes(200, 0.2, 1), outcomes(200, 0.5, 2), outcomes(200, 0.8, 3)];
  const group = seedGroupBootstrap(seeds, { seed: 0, resamples: 2000 });
  const pooled = bootstrapMean(seeds.flat(), { seed: 0, resamples: 2000 });
  const means = seeds.map((s) => s.reduce((a, x) => a + x, 0) / s.length);
  assert.ok(width(group) > 4 * width(pooled), `group ${width(group)} vs pooled ${width(pooled)}`);
  // Three seeds: the extreme resamples (one seed drawn three times) carry 1/27 each, beyond the 2.5% tails,
  // so the interval reaches about the lowest and highest seed means (give or take prompt noise).
  assert.ok(group.low < Math.min(...means) + 0.05 && group.high > Math.max(...means) - 0.05);
  assert.deepEqual(group.perSeed, means);
  assertClose(group.min, Math.min(...means), 0, "min");
  assertClose(group.max, Math.max(...means), 0, "max");
});

test("mean over seeds, sd and range of hand-made seeds: means 0.25, 0.5, 0.75 → sd 0.25", () => {
  const g = seedGroupBootstrap(
    [
      [1, 0, 0, 0],
      [1, 1, 0, 0],
      [1, 1, 1, 0],
    ],
    { resamples: 50 },
  );
  assert.deepEqual([g.value, g.sd, g.min, g.max, g.n, g.seeds], [0.5, 0.25, 0.25, 0.75, 4, 3]);
});

test("one prompt, seeds scoring 0 and 1: the seed draws alone make the exact 1/4, 1/2, 1/4 distribution", () => {
  // Resampled statistic: 0 (seed 0 twice), 0.5 (one of each), 1 (seed 1 twice), with probabilities 1/4, 1/2, 1/4.
  const g = seedGroupBootstrap([[0], [1]], { resamples: 4000, confidence: 0.95 });
  assert.deepEqual([g.value, g.low, g.high], [0.5, 0, 1]);
  const middle = seedGroupBootstrap([[0], [1]], { resamples: 4000, confidence: 0.4 });
  assert.deepEqual([middle.low, middle.high], [0.5, 0.5]);
});

test("Student's t and normal quantiles match published tables", () => {
  // t_{0.975} for 1, 2, 3, 4, 9 degrees of freedom, t_{0.995} for 30, z_{0.975} (to the tables' 15 digits).
  const table: [number, number, number][] = [
    [0.975, 1, 12.7062047361747],
    [0.975, 2, 4.30265272974946],
    [0.975, 3, 3.18244630528371],
    [0.975, 4, 2.77644510519779],
    [0.975, 9, 2.2621571627982],
    [0.995, 30, 2.74999565356723],
  ];
  for (const [p, df, t] of table) assertClose(studentTQuantile(p, df), t, 1e-11 * t, `t(${p}, ${df})`);
  assertClose(normalQuantile(0.975), 1.959963984540054, 1e-12, "z(0.975)");
  assert.equal(studentTCdf(0, 7), 0.5);
  assert.throws(() => studentTQuantile(1, 3), /p must lie strictly between 0 and 1/);
});

test("the seed level is widened to Student's t width, and resamples stay within the scores' range", () => {
  // Three seeds at 95%: √(3/2)·t_{2}(0.975)/z(0.975); one seed: nothing to widen.
  const scale = seedLevelScale(3, 0.95);
  assertClose(scale, Math.sqrt(1.5) * (4.30265272974946 / 1.959963984540054), 1e-10, "scale");
  assert.equal(seedLevelScale(1, 0.95), 1);
  assert.ok(seedLevelScale(3, 0.99) > scale && seedLevelScale(10, 0.95) < seedLevelScale(5, 0.95));
  // Seed 0 drawn three times: the drawn seeds' mean is 0.2, 0.3 below the group's; widened to scale·0.3 below.
  const low = seedLevelCorrection([0.2, 0.5, 0.8], 0.5, Int32Array.from([3, 0, 0]), scale);
  assertClose(0.5 + 0.3 * -1 + low, 0.5 - scale * 0.3, 1e-15, "low");
  assert.equal(seedLevelCorrection([0.2, 0.5, 0.8], 0.5, Int32Array.from([1, 1, 1]), scale), 0);
  // One prompt, seed means 0.2, 0.5, 0.8: the extreme resamples (one seed three times, 1/27 = 3.7% > 2.5%)
  // would lie at 0.5 ± scale·0.3, beyond every score; they are kept at the lowest and highest score.
  const g = seedGroupBootstrap([[0.2], [0.5], [0.8]], { resamples: 20000 });
  assert.deepEqual([g.low, g.high], [0.2, 0.8]);
  // Room to widen: seed means 0.4, 0.5, 0.6 of 0/1 scores; the 1/27 atoms then sit at 0.5 ± scale·0.1 give or
  // take prompt noise, well beyond the seed means' own range.
  const tenths = (k: number) => Array.from({ length: 10 }, (_, i) => (i < k ? 1 : 0));
  const h = seedGroupBootstrap([tenths(4), tenths(5), tenths(6)], { resamples: 4000 });
  assert.ok(h.low < 0.5 - 0.2 && h.high > 0.5 + 0.2, `[${h.low}, ${h.high}]`);
});

test("missing scores: a prompt no seed scores is dropped, a seed's mean is over the prompts it scores", () => {
  const a = [1, 0, 1, 1, 0, 1, 1, 1];
  const b = [0, 0, 1, 1, 0, 1, 0, 1];
  const withHoles = seedGroupBootstrap(
    [
      [...a, Number.NaN],
      [...b, Number.NaN],
    ],
    { seed: 4, resamples: 300 },
  );
  const without = seedGroupBootstrap([a, b], { seed: 4, resamples: 300 });
  assert.deepEqual(withHoles, without);
  const partial = seedGroupBootstrap(
    [
      [1, Number.NaN, 0, 1],
      [Number.NaN, 1, 1, 1],
    ],
    { resamples: 200 },
  );
  assert.deepEqual(partial.perSeed, [2 / 3, 1]);
  assert.equal(partial.value, (2 / 3 + 1) / 2);
});

test("seedGroupBootstrap validates its input", () => {
  assert.throws(() => seedGroupBootstrap([]), /no seeds/);
  assert.throws(
    () => seedGroupBootstrap([[1, 0], [1]]),
    /scores\[1\] has 1 prompts but the first seed has 2/,
  );
  assert.throws(() => seedGroupBootstrap([[1, Number.POSITIVE_INFINITY]]), /scores\[0\]\[1\] is Infinity/);
  assert.throws(() => seedGroupBootstrap([[1], [Number.NaN]]), /scores\[1\] scores no prompt/);
  assert.throws(() => seedGroupBootstrap([[1]], { resamples: 0 }), /resamples must be a positive integer/);
});
