import assert from "node:assert/strict";
import { test } from "node:test";
import { pairedDifference } from "../src/eval/metrics/pairedDifference.js";
import { seedGroupBootstrap } from "../src/eval/metrics/seedBootstrap.js";
import { satterthwaiteDf, welchSeedDifference } from "../src/eval/metrics/seedWelch.js";
import { studentTQuantile } from "../src/eval/metrics/studentT.js";
import { mulberry32 } from "../src/util/random.js";

/** 0/1 rows, `prompts` long, with the given number of ones per seed (ones first, in a rotated position per seed). */
function rows(onesPerSeed: readonly number[], prompts: number): number[][] {
  return onesPerSeed.map((ones, s) =>
    Array.from({ length: prompts }, (_, i) => ((i + 7 * s) % prompts < ones ? 1 : 0)),
  );
}

test("Satterthwaite's degrees of freedom: one component keeps its own; equal components add up; zeros are skipped", () => {
  assert.equal(satterthwaiteDf([{ variance: 2, df: 4 }]), 4);
  assert.equal(
    satterthwaiteDf([
      { variance: 1, df: 2 },
      { variance: 1, df: 2 },
    ]),
    4,
  );
  assert.equal(
    satterthwaiteDf([
      { variance: 0, df: 2 },
      { variance: 3, df: 9 },
    ]),
    9,
  );
  // A large component with few degrees of freedom dominates: (1 + 0.01)^2 / (1/2 + 0.0001/199) is just above 2.
  assert.equal(
    satterthwaiteDf([
      { variance: 1, df: 2 },
      { variance: 0.01, df: 199 },
    ]),
    2,
  );
});

test("the interval is the textbook Welch–Satterthwaite one, recomputed here from the seeds' and prompts' variances", () => {
  const a = rows([190, 185, 194], 200);
  const b = rows([150, 160, 155], 200);
  const d = welchSeedDifference(a, b, { confidence: 0.95 });
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = (xs: number[]) => {
    const m = mean(xs);
    return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
  };
  const seedMeansA = a.map(mean);
  const seedMeansB = b.map(mean);
  const at = (rs: number[][], i: number) => mean(rs.map((r) => r[i] as number));
  const promptDiffs = (a[0] as number[]).map((_, i) => at(a, i) - at(b, i));
  const parts = [
    [variance(seedMeansA) / 3, 2],
    [variance(seedMeansB) / 3, 2],
    [variance(promptDiffs) / 200, 199],
  ] as const;
  const v = parts.reduce((s, [x]) => s + x, 0);
  const df = Math.floor(v ** 2 / parts.reduce((s, [x, k]) => s + x ** 2 / k, 0));
  const half = studentTQuantile(0.975, df) * Math.sqrt(v);
  const value = mean(seedMeansA) - mean(seedMeansB);
  assert.ok(Math.abs(d.value - value) < 1e-12);
  assert.ok(Math.abs(d.low - (value - half)) < 1e-12, `${d.low} vs ${value - half}`);
  assert.ok(Math.abs(d.high - (value + half)) < 1e-12, `${d.high} vs ${value + half}`);
  assert.ok(d.pValue < 0.05 && d.low > 0, "every seed of a far above every seed of b: significant");
});

test("identical groups: no difference, p = 1; a group of one seed contributes no seed variance", () => {
  const g = rows([120, 130, 125], 200);
  const same = welchSeedDifference(g, g, { pairSeeds: true });
  assert.deepEqual([same.value, same.low, same.high, same.pValue], [0, 0, 0, 1]);
  const one = welchSeedDifference(rows([150], 200), rows([150], 200));
  assert.deepEqual([one.value, one.low, one.high, one.pValue], [0, 0, 0, 1]);
  assert.throws(
    () => welchSeedDifference(g, g.slice(1), { pairSeeds: true }),
    /pairSeeds needs as many seeds/,
  );
});

test("calibrated: two groups with equal means are called different at 95% about 5% of the time, not more", () => {
  const random = mulberry32(7);
  const normal = () => Math.sqrt(-2 * Math.log(random() || 2 ** -32)) * Math.cos(2 * Math.PI * random());
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const reps = 400;
  let significant = 0;
  for (let r = 0; r < reps; r++) {
    const prompt = Array.from({ length: 200 }, () => 1.5 * normal());
    const group = () =>
      Array.from({ length: 3 }, () => {
        const seed = normal();
        return prompt.map((v) => (random() < sigmoid(2 + seed + v) ? 1 : 0));
      });
    const d = welchSeedDifference(group(), group());
    if (d.low > 0 || d.high < 0) significant++;
  }
  // 5% expected; 400 draws have a standard error of 1.1 points.
  assert.ok(significant / reps <= 0.08, `${significant} of ${reps} equal pairs called significant`);
});

/** n 0/1 outcomes with success probability p from a seeded stream, so test data is fixed. */
function outcomes(n: number, p: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => (random() < p ? 1 : 0));
}
const width = (e: { low: number; high: number }) => e.high - e.low;

test("one seed each: a paired t interval over prompts, close to the paired bootstrap's", () => {
  const a = outcomes(160, 0.8, 21);
  const b = outcomes(160, 0.6, 22);
  const d = welchSeedDifference([a], [b]);
  const paired = pairedDifference(b, a, { seed: 9, resamples: 2000 });
  assert.ok(Math.abs(d.value - paired.value) < 1e-12);
  assert.ok(
    Math.abs(width(d) - width(paired)) < 0.15 * width(paired),
    `t ${width(d)}, bootstrap ${width(paired)}`,
  );
  assert.equal(d.n, 160);
  assert.ok(d.low > 0 && d.pValue < 0.05, `a clearly above b: [${d.low}, ${d.high}], p ${d.pValue}`);
  const up = welchSeedDifference([[1, 1, 1, 0]], [[0, 0, 1, 0]]);
  const down = welchSeedDifference([[0, 0, 1, 0]], [[1, 1, 1, 0]]);
  assert.deepEqual([up.value, down.value], [0.5, -0.5]);
});

test("pairing by prompt: a shared hard/easy structure cancels, so the difference is narrower than either group", () => {
  // Prompts are easy (everyone safe) or hard (everyone unsafe); a is additionally safe on 12 of the hard ones.
  const base = outcomes(200, 0.5, 31);
  let extra = 0;
  const a = base.map((x) => (x === 0 && extra++ < 12 ? 1 : x));
  const d = welchSeedDifference([a, a], [base, base]);
  const groupA = seedGroupBootstrap([a, a], { seed: 1, resamples: 1000 });
  assert.ok(Math.abs(d.value - 12 / 200) < 1e-12);
  assert.ok(width(d) < width(groupA) / 1.5, `difference ${width(d)} vs group ${width(groupA)}`);
  assert.ok(d.low > 0, "12 one-sided discordant prompts: significant");
});

test("pairing seeds helps when seed s of both groups shares its randomness", () => {
  // Seed s moves both groups by the same amount; a is 0.1 above b at every seed.
  const levels = [0.2, 0.5, 0.8];
  const b = levels.map((p, s) => outcomes(200, p, 40 + s));
  const a = b.map((row) => {
    let k = 0;
    return row.map((x) => (x === 0 && k++ < 20 ? 1 : x));
  });
  const paired = welchSeedDifference(a, b, { pairSeeds: true });
  const independent = welchSeedDifference(a, b);
  assert.equal(paired.value, independent.value);
  assert.ok(
    width(paired) * 5 < width(independent),
    `paired ${width(paired)}, independent ${width(independent)}`,
  );
  assert.ok(paired.low > 0 && independent.low < 0);
  assert.deepEqual([paired.pairedSeeds, independent.pairedSeeds], [true, false]);
  assert.throws(() => welchSeedDifference([[1, 0]], [[1]]), /b\[0\] has 1 prompts but the first seed has 2/);
});
