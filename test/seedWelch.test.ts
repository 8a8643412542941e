import assert from "node:assert/strict";
import { test } from "node:test";
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
