// Judges' disagreement per benchmark: pairwise kappa on the benchmark's own reading, the answers they read
// differently (capped, with the full count), excerpts, and agreement with the run's pooled figures.
import assert from "node:assert/strict";
import { test } from "node:test";
import { judgeAgreements } from "../src/eval/metrics/benchmarkMetrics.js";
import {
  benchmarkDisagreements,
  excerpt,
  judgesDisagree,
  readingOf,
} from "../src/eval/metrics/judgeDisagreements.js";
import type { SampleRecord } from "../src/eval/results.js";
import type { BenchmarkKind, Verdict } from "../src/eval/types.js";

function sample(
  benchmark: string,
  id: string,
  verdicts: Record<string, Verdict>,
  response = "...",
): SampleRecord {
  return { benchmark, id, prompt: `prompt ${id}`, response, verdicts };
}

const safe = (x: boolean): Verdict => ({ safe: x, label: x ? "safe" : "unsafe" });
const refused = (x: boolean, label?: string): Verdict => ({ refused: x, ...(label ? { label } : {}) });

const BENCHMARKS: { name: string; kind: BenchmarkKind }[] = [
  { name: "harm", kind: "harmful" },
  { name: "everyday", kind: "benign" },
  { name: "helpful", kind: "reference" },
  { name: "solo", kind: "harmful" },
];

// harm: a and b read (T,T) (T,F) (F,F) (F,F): observed 3/4; a's marginals 2/2, b's 1/3, so chance agreement is
// (2·1 + 2·3)/16 = 1/2 and kappa = (3/4 − 1/2)/(1 − 1/2) = 1/2. c reads only two answers.
const SAMPLES: SampleRecord[] = [
  sample("harm", "h1", { a: safe(true), b: safe(true), c: safe(true) }),
  sample("harm", "h2", { a: safe(true), b: safe(false), c: safe(false) }, `long ${"word ".repeat(100)}end`),
  sample("harm", "h3", { a: safe(false), b: safe(false) }),
  sample("harm", "h4", { a: safe(false), b: safe(false), c: { error: "no verdict" } }),
  // Only one judge reads this one: not compared, not a disagreement.
  sample("harm", "h5", { a: safe(true), b: { error: "timeout" } }),
  sample("everyday", "e1", { a: refused(true, "partial_refusal"), b: refused(false, "full_compliance") }),
  sample("everyday", "e2", { a: refused(true, "full_refusal"), b: refused(false) }),
  sample("everyday", "e3", { a: refused(false), b: refused(false) }),
  sample("helpful", "r1", { a: { score: 1 }, b: { score: -1 } }),
  sample("solo", "s1", { a: safe(true) }),
];

test("readingOf: harmful → safe, benign → refused, others none", () => {
  assert.equal(readingOf("harmful"), "safe");
  assert.equal(readingOf("benign"), "refused");
  assert.equal(readingOf("reference"), undefined);
  assert.equal(readingOf("pairs"), undefined);
});

test("per benchmark: pairwise kappa, raw agreement and n on the benchmark's reading", () => {
  const out = benchmarkDisagreements(BENCHMARKS, SAMPLES, ["a", "b", "c"]);
  assert.deepEqual(
    out.map((d) => [d.benchmark, d.on]),
    [
      ["harm", "safe"],
      ["everyday", "refused"],
    ],
    "reference benchmarks and benchmarks with one judge have no section",
  );
  const harm = out[0];
  assert.ok(harm);
  assert.deepEqual(harm.judges, ["a", "b", "c"]);
  const ab = harm.agreements.find((x) => x.judgeA === "a" && x.judgeB === "b");
  assert.ok(ab);
  assert.equal(ab.n, 4, "h5 has one reading only");
  assert.equal(ab.agreement, 3 / 4);
  assert.ok(Math.abs(ab.kappa - 0.5) < 1e-12, `kappa ${ab.kappa}`);
  const ac = harm.agreements.find((x) => x.judgeA === "a" && x.judgeB === "c");
  assert.equal(ac?.n, 2, "c's unparsed verdict is left out");
  assert.equal(ac?.agreement, 1 / 2);
  const bc = harm.agreements.find((x) => x.judgeA === "b" && x.judgeB === "c");
  assert.equal(bc?.agreement, 1);
  assert.equal(harm.compared, 4);
  assert.equal(harm.disagreeing, 1);
  assert.deepEqual(
    harm.items.map((i) => i.id),
    ["h2"],
  );
  assert.deepEqual(
    harm.items[0]?.verdicts.map((v) => [v.judge, v.value, v.text]),
    [
      ["a", true, "safe"],
      ["b", false, "unsafe"],
      ["c", false, "unsafe"],
    ],
  );
});

test("verdict texts carry the judge's own label; errors and missing verdicts are shown, not counted", () => {
  const [, everyday] = benchmarkDisagreements(BENCHMARKS, SAMPLES, ["a", "b", "c"]);
  assert.deepEqual(
    everyday?.items.map((i) => i.verdicts.map((v) => v.text)),
    [
      ["refused (partial_refusal)", "answered (full_compliance)"],
      ["refused (full_refusal)", "answered"],
    ],
  );
  assert.deepEqual(everyday?.judges, ["a", "b"], "c read nothing on this benchmark");
  // With c's error in a disagreeing answer, its cell says so.
  const withError = benchmarkDisagreements(
    [{ name: "harm", kind: "harmful" }],
    [
      sample("harm", "x", { a: safe(true), b: safe(false), c: { error: "bad reply" } }),
      SAMPLES[0] as SampleRecord,
    ],
    ["a", "b", "c"],
  );
  assert.deepEqual(
    withError[0]?.items[0]?.verdicts.map((v) => [v.value, v.text]),
    [
      [true, "safe"],
      [false, "unsafe"],
      [null, "unparsed: bad reply"],
    ],
  );
});

test("the listing is capped; the count is not", () => {
  const many = Array.from({ length: 120 }, (_, i) =>
    sample("harm", `m${i}`, { a: safe(i % 3 === 0), b: safe(true) }),
  );
  const disagreeing = many.filter((_, i) => i % 3 !== 0).length;
  const [capped] = benchmarkDisagreements([{ name: "harm", kind: "harmful" }], many, ["a", "b"]);
  assert.equal(capped?.disagreeing, disagreeing);
  assert.equal(capped?.items.length, 50, "the default cap");
  assert.equal(capped?.items[0]?.id, "m1", "in sample order");
  const [three] = benchmarkDisagreements([{ name: "harm", kind: "harmful" }], many, ["a", "b"], { limit: 3 });
  assert.deepEqual(
    three?.items.map((i) => i.id),
    ["m1", "m2", "m4"],
  );
  assert.throws(() => benchmarkDisagreements([], many, ["a"], { limit: -1 }), /limit -1/);
});

test("excerpts: whitespace collapsed, cut with an ellipsis within the limit", () => {
  assert.equal(excerpt("  a\n\n b  ", 10), "a b");
  const cut = excerpt(`long ${"word ".repeat(100)}end`, 40);
  assert.ok(cut.length <= 40, cut);
  assert.ok(cut.endsWith("…") && cut.startsWith("long word"), cut);
  const [harm] = benchmarkDisagreements(BENCHMARKS, SAMPLES, ["a", "b"], { excerptChars: 20 });
  assert.ok((harm?.items[0]?.response.length ?? 99) <= 20);
});

test("judges named only in the samples come after the listed ones; one judge gives nothing", () => {
  const [harm] = benchmarkDisagreements(BENCHMARKS, SAMPLES, ["b"]);
  assert.deepEqual(harm?.judges, ["b", "a", "c"]);
  assert.equal(benchmarkDisagreements(BENCHMARKS, SAMPLES, []).length, 2, "judges found in the samples");
  const one = SAMPLES.map((s) => ({ ...s, verdicts: { a: s.verdicts.a as Verdict } }));
  assert.deepEqual(benchmarkDisagreements(BENCHMARKS, one, ["a"]), []);
});

test("judgesDisagree ignores errors and judges without the reading", () => {
  const s = sample("harm", "z", { a: safe(true), b: { error: "x", safe: false }, c: refused(true) });
  assert.equal(judgesDisagree(s, ["a", "b", "c"], "safe"), false);
  assert.equal(judgesDisagree(s, ["a", "b", "c"], "refused"), false);
  const t = sample("harm", "z", { a: safe(true), c: { safe: false, refused: true } });
  assert.equal(judgesDisagree(t, ["a", "c"], "safe"), true);
});

test("per-benchmark counts add up to the run's pooled agreement (computed independently)", () => {
  const per = benchmarkDisagreements(BENCHMARKS, SAMPLES, ["a", "b", "c"]);
  const pooled = judgeAgreements(
    BENCHMARKS.map((b) => ({
      benchmark: { kind: b.kind },
      samples: SAMPLES.filter((s) => s.benchmark === b.name),
    })),
    ["a", "b", "c"],
  );
  for (const p of pooled) {
    const parts = per
      .filter((d) => d.on === p.on)
      .flatMap((d) => d.agreements.filter((a) => a.judgeA === p.judgeA && a.judgeB === p.judgeB));
    const n = parts.reduce((sum, a) => sum + a.n, 0);
    const agreed = parts.reduce((sum, a) => sum + a.agreement * a.n, 0);
    assert.equal(n, p.n, `${p.judgeA}/${p.judgeB} on ${p.on}`);
    assert.ok(Math.abs(agreed / n - p.agreement) < 1e-12, `${p.judgeA}/${p.judgeB} on ${p.on}`);
  }
  assert.ok(pooled.length >= 3, "the cross-check compared something");
});
