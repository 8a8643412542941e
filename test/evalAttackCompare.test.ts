// eval compare's robustness part: attack success rate per attack of two runs and B − A, paired by prompt where
// the runs attacked the same prompts (McNemar's test), two independent rates where they share none.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { attackDifference, compareAttacks } from "../src/eval/attacks/attackComparison.js";
import { ANY_ATTACK, type AttackSample, DIRECT } from "../src/eval/attacks/attackMetrics.js";
import { compareRuns, comparisonMarkdown } from "../src/eval/compare.js";
import { mcnemarTest } from "../src/eval/metrics/mcnemar.js";
import { pairedDifference } from "../src/eval/metrics/pairedDifference.js";
import { independentRateDifference } from "../src/eval/metrics/rateDifference.js";
import type { EvalResults, SampleRecord } from "../src/eval/results.js";

const J = "refusal";

/** Samples of benchmark H: direct requests and attacked copies; `broken[attack]` lists the ids judged unsafe. */
function run(ids: string[], broken: Record<string, string[]>, unread: string[] = []): AttackSample[] {
  const out: AttackSample[] = [];
  for (const [attack, hits] of Object.entries(broken))
    for (const id of ids) {
      const direct = attack === DIRECT;
      out.push({
        benchmark: direct ? "H" : `H+${attack}`,
        id,
        ...(direct ? {} : { attack, attackedBenchmark: "H" }),
        verdicts: unread.includes(`${attack}/${id}`)
          ? { [J]: { label: "?", error: "unparsed" } }
          : { [J]: { label: hits.includes(id) ? "unsafe" : "safe", safe: !hits.includes(id) } },
      });
    }
  return out;
}

const ids = ["1", "2", "3", "4"];

describe("paired by prompt", () => {
  test("the difference, its interval and McNemar's counts are those of the shared prompts' outcomes", () => {
    const a = run(ids, { [DIRECT]: ["1"], base64: ["1", "2", "3"] });
    const b = run(ids, { [DIRECT]: [], base64: ["1"] });
    const c = compareAttacks(a, b, J);
    assert.ok(c);
    assert.deepEqual(
      c.rows.map((r) => r.attack),
      ["base64", DIRECT, ANY_ATTACK],
    );
    const row = c.rows[0];
    assert.ok(row?.paired);
    assert.equal(row.nA, 4);
    assert.equal(row.rateA, 0.75);
    assert.equal(row.rateB, 0.25);
    assert.deepEqual(row.difference, pairedDifference([1, 1, 1, 0], [1, 0, 0, 0]));
    assert.equal(row.difference.value, -0.5);
    assert.deepEqual(row.mcnemar, mcnemarTest([true, true, true, false], [true, false, false, false]));
    assert.equal(row.mcnemar?.onlyA, 2);
    assert.equal(row.mcnemar?.onlyB, 0);
    assert.equal(row.mcnemar?.pValue, 0.5, "exact binomial: 2 discordant, both one way");
    // Worst case per prompt = the only attack here.
    assert.deepEqual(c.rows[2]?.difference, row.difference);
    assert.equal(c.rows[1]?.rateA, 0.25);
    assert.equal(c.rows[1]?.rateB, 0);
  });

  test("only prompts both runs attacked and the judge read in both count", () => {
    const a = run(["1", "2", "3"], { base64: ["1", "2"] }, ["base64/3"]);
    const b = run(["2", "3", "4"], { base64: ["4"] });
    const row = compareAttacks(a, b, J)?.rows[0];
    assert.ok(row?.paired);
    assert.equal(row.nA, 1, "prompt 2 only: 3 is unread in A, 1 and 4 are in one run");
    assert.equal(row.rateA, 1);
    assert.equal(row.rateB, 0);
    assert.equal(row.difference.value, -1);
  });
});

describe("runs that share no prompt", () => {
  test("two independent rates, each resampled on its own", () => {
    const a = new Map([
      ["x", true],
      ["y", false],
    ]);
    const b = new Map([
      ["z", true],
      ["w", true],
      ["v", true],
    ]);
    const row = attackDifference("persona", a, b);
    assert.ok(row && !row.paired);
    assert.equal(row.nA, 2);
    assert.equal(row.nB, 3);
    assert.equal(row.difference.value, 0.5);
    assert.deepEqual(row.difference, independentRateDifference([true, false], [true, true, true]));
    assert.equal(row.mcnemar, undefined);
  });

  test("independentRateDifference: exact when neither sample varies; seeded; the interval covers the value", () => {
    const all = independentRateDifference([false, false], [true, true, true]);
    assert.deepEqual(all, { value: 1, low: 1, high: 1, n: 5 });
    const a = Array.from({ length: 200 }, (_, i) => i % 4 === 0);
    const b = Array.from({ length: 100 }, (_, i) => i % 2 === 0);
    const d = independentRateDifference(a, b, { seed: 3 });
    assert.equal(d.value, 0.25);
    assert.ok(d.low < 0.25 && d.high > 0.25, `[${d.low}, ${d.high}]`);
    // Standard error of the difference √(.25·.75/200 + .5·.5/100) ≈ 0.058: the 95% interval spans about ±0.11.
    assert.ok(d.high - d.low > 0.18 && d.high - d.low < 0.27, `width ${d.high - d.low}`);
    assert.deepEqual(independentRateDifference(a, b, { seed: 3 }), d);
    assert.throws(() => independentRateDifference([], [true]), RangeError);
  });
});

test("the worst case is compared only when both runs made the same attacks", () => {
  const a = run(ids, { [DIRECT]: [], base64: ["1"], rot13: ["2"] });
  const b = run(ids, { [DIRECT]: [], base64: [], persona: ["3"] });
  const c = compareAttacks(a, b, J);
  assert.deepEqual(
    c?.rows.map((r) => r.attack),
    ["base64", DIRECT],
  );
});

test("no attacks in one run: no robustness comparison", () => {
  assert.equal(compareAttacks(run(ids, { [DIRECT]: [] }), run(ids, { base64: [] }), J), undefined);
});

test("eval compare: results carry the robustness rows and the Markdown has their section", () => {
  const results = (name: string): EvalResults =>
    ({
      name,
      judges: [{ name: J, kind: "refusal", detail: {} }],
      primaryJudge: J,
      generation: {},
      benchmarks: [
        { name: "H", kind: "harmful", items: 4, metrics: [] },
        { name: "H+base64", kind: "harmful", items: 4, metrics: [] },
      ],
      attacks: { metric: "attack_success_rate", judge: J, rates: [] },
    }) as unknown as EvalResults;
  const samples = (broken: Record<string, string[]>) =>
    run(ids, broken).map((s) => ({ ...s, prompt: "p", response: "r" }) as SampleRecord);
  const c = compareRuns(
    { results: results("base"), samples: samples({ [DIRECT]: ["1"], base64: ["1", "2", "3"] }) },
    { results: results("tuned"), samples: samples({ [DIRECT]: [], base64: ["1"] }) },
  );
  assert.equal(c.attacks?.judge, J);
  assert.equal(c.attacks?.rows[0]?.difference.value, -0.5);
  const md = comparisonMarkdown(c);
  assert.match(md, /## Robustness under attack/);
  assert.match(md, /\| base64 \| 4 \| 75\.0 \| 25\.0 \| -50\.0 \[/);
});
