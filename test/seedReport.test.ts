// Seed groups in reports: grouping by name, means over seeds, the between-seed spread, computed conclusions and
// their wording, comparisons of seed groups, and eval compare's win rate over judged items only.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { compareGroups, compareRuns } from "../src/eval/compare.js";
import { computeConclusions } from "../src/eval/metrics/conclusions.js";
import { seedGroupBootstrap } from "../src/eval/metrics/seedBootstrap.js";
import { groupBySeed, type SeedRun, summarizeGroup } from "../src/eval/metrics/seedGroups.js";
import { conclusionSentence, conclusionsNote } from "../src/eval/report/conclusionText.js";
import { conclusionsText, seedReport, seedReportMarkdown } from "../src/eval/report/seedReport.js";
import type { EvalResults, SampleRecord } from "../src/eval/results.js";
import { mulberry32 } from "../src/util/random.js";
import { reportStage } from "../src/workflows/evalStages.js";
import { cliAsync } from "./helpers/cliAsync.js";
import { tmpDir } from "./helpers/fixtures.js";
import { firstK, type SyntheticBenchmark, syntheticRun } from "./helpers/syntheticRuns.js";

/** n 0/1 outcomes with success probability p from a seeded stream. */
function outcomes(n: number, p: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => (random() < p ? 1 : 0));
}

/** A run with the harmful and/or look-alike benchmark. */
function makeRun(
  name: string,
  seed: number | undefined,
  data: { harmful?: number[]; benign?: number[] },
): SeedRun {
  const benchmarks: SyntheticBenchmark[] = [];
  if (data.harmful) benchmarks.push({ name: "harmful", kind: "harmful", outcomes: data.harmful });
  if (data.benign) benchmarks.push({ name: "lookalikes", kind: "benign", outcomes: data.benign });
  return syntheticRun(name, seed, benchmarks, 200);
}

test("runs group by name over seeds, sorted by seed; unseeded runs stay alone; a repeated seed is an error", () => {
  const runs = [
    makeRun("DPO", 2, { harmful: [1] }),
    makeRun("base", undefined, { harmful: [0] }),
    makeRun("DPO", 0, { harmful: [1] }),
    makeRun("base", undefined, { harmful: [1] }),
  ];
  const groups = groupBySeed(runs);
  assert.deepEqual(
    groups.map((g) => [g.name, g.runs.map((r) => r.results.seed)]),
    [
      ["DPO", [0, 2]],
      ["base", [undefined]],
      ["base", [undefined]],
    ],
  );
  assert.throws(
    () => groupBySeed([makeRun("DPO", 1, { harmful: [1] }), makeRun("DPO", 1, { harmful: [0] })]),
    /runs\/DPO@1: "DPO" seed 1 is also runs\/DPO@1; one run per seed in a group/,
  );
});

test("a group's cells: mean over seeds, the two-level interval, n seeds, and the spread in the report", () => {
  const seeds = [firstK(100, 90), firstK(100, 95), firstK(100, 100)];
  const group = groupBySeed(seeds.map((h, s) => makeRun("DPO", s, { harmful: h })));
  const summary = summarizeGroup(group[0] as (typeof group)[0], { seed: 3, resamples: 500 });
  const cell = summary.results.benchmarks[0]?.metrics.find((m) => m.metric === "safe_response_rate");
  assert.ok(Math.abs((cell?.estimate.value ?? 0) - 0.95) < 1e-12);
  const expected = seedGroupBootstrap(seeds, { seed: 3, resamples: 500 });
  assert.deepEqual([cell?.estimate.low, cell?.estimate.high], [expected.low, expected.high]);
  assert.deepEqual(summary.seeds, [0, 1, 2]);
  assert.equal(summary.results.seed, undefined, "the group is not one seed");

  const report = seedReport([
    makeRun("base", undefined, { harmful: firstK(100, 10) }),
    ...seeds.map((h, s) => makeRun("DPO", s, { harmful: h })),
  ]);
  const md = seedReportMarkdown(report);
  assert.match(md, /\| run \| n seeds \| harmful \(safe %\) \|/);
  assert.match(md, /\| base \| 1 \| 10\.0 \[/);
  assert.match(md, /\| DPO \| 3 \| 95\.0 \[/);
  // sd of 90, 95, 100 is 5 points.
  assert.match(md, /\| DPO \| 0, 1, 2 \| 5\.0 \(90\.0–100\.0\) \|/);
});

test("conclusions follow the sign and significance, in the metric's words", () => {
  const dpo = [0, 1, 2].map((s) =>
    makeRun("DPO", s, { harmful: firstK(200, 190 + s), benign: firstK(100, 5 + s) }),
  );
  const raft = [0, 1, 2].map((s) =>
    makeRun("RAFT", s, { harmful: firstK(200, 150 + s), benign: firstK(100, 20 + s) }),
  );
  const same = [0, 1, 2].map((s) =>
    makeRun("SIT", s, { harmful: outcomes(200, 0.95, 10 + s), benign: firstK(100, 6 + s) }),
  );
  const groups = groupBySeed([...dpo, ...raft, ...same]);
  const [safer, lessSafe, overRefusal, none] = computeConclusions(groups, [
    { a: "DPO", b: "RAFT", benchmark: "harmful" },
    { a: "RAFT", b: "DPO", benchmark: "harmful", metric: "safe_response_rate" },
    { a: "DPO", b: "RAFT", benchmark: "lookalikes" },
    { a: "DPO", b: "SIT", benchmark: "lookalikes" },
  ]);
  // DPO 191/200 on average, RAFT 151/200: 20.0 points.
  assert.equal(safer?.significant, true);
  assert.match(
    conclusionSentence(safer as NonNullable<typeof safer>),
    /^DPO is safer than RAFT on harmful by 20\.0 points \[\d+\.\d, \d+\.\d\]$/,
  );
  assert.match(
    conclusionSentence(lessSafe as NonNullable<typeof lessSafe>),
    /^RAFT is less safe than DPO on harmful by 20\.0 points \[\d+\.\d, \d+\.\d\]$/,
  );
  // The magnitudes of the reversed comparison are the same interval, read the other way.
  assert.ok(Math.abs((safer?.difference.low ?? 0) + (lessSafe?.difference.high ?? 0)) < 0.02);
  assert.equal(overRefusal?.metric, "over_refusal_rate");
  assert.match(
    conclusionSentence(overRefusal as NonNullable<typeof overRefusal>),
    /^DPO over-refuses less than RAFT on lookalikes by 15\.0 points/,
  );
  // DPO 6/100 on average, SIT 7/100, the same prompts refused: -1.0 points, not significant.
  assert.equal(none?.significant, false);
  assert.match(
    conclusionSentence(none as NonNullable<typeof none>),
    /^no significant difference between DPO and SIT in over-refusal on lookalikes \(-1\.0 points \[-\d+\.\d, \d+\.\d\]\)$/,
  );
  // Four comparisons: each interval at 1 − 0.05/4, all hold together with ≥ 95%; two methods' seeds are independent.
  assert.equal(safer?.confidence, 1 - 0.05 / 4);
  assert.equal(safer?.difference.pairedSeeds, false);
  assert.match(
    conclusionsNote([safer, none] as NonNullable<typeof safer>[]),
    /98\.75% Welch–Satterthwaite t intervals.*Bonferroni-adjusted for 2 comparisons/,
  );
});

test("the p-value shown with a conclusion is the one its verdict rests on: adjusted for the comparisons", () => {
  // A difference near the edge: significant alone, not after a Bonferroni adjustment for many comparisons.
  const groups = groupBySeed(
    [0, 1, 2].flatMap((s) => [
      makeRun("A", s, { harmful: firstK(200, 150 + 3 * s) }),
      makeRun("B", s, { harmful: firstK(200, 138 + 4 * s) }),
    ]),
  );
  const spec = { a: "A", b: "B", benchmark: "harmful" };
  for (const m of [1, 3, 14]) {
    const conclusions = computeConclusions(
      groups,
      Array.from({ length: m }, () => spec),
    );
    for (const c of conclusions) {
      assert.equal(c.adjustedPValue, Math.min(1, c.difference.pValue * m));
      assert.equal(c.significant, c.adjustedPValue < 0.05, `m = ${m}: verdict and adjusted p agree`);
    }
    const shown = conclusionsText(conclusions);
    assert.match(shown, m === 1 ? /t-test p [=<]/ : /adjusted p [=<]/);
    // The data sit where the adjustment matters: significant alone, not among 14 comparisons.
    if (m === 1) assert.equal(conclusions[0]?.significant, true);
    if (m === 14) assert.equal(conclusions[0]?.significant, false);
  }
});

test("Bonferroni widens each interval with the number of comparisons; unseeded groups are not paired by seed", () => {
  const runs = [
    makeRun("A", undefined, { harmful: outcomes(150, 0.8, 1) }),
    makeRun("B", undefined, { harmful: outcomes(150, 0.7, 2) }),
  ];
  const groups = groupBySeed(runs);
  const spec = { a: "A", b: "B", benchmark: "harmful" };
  const [one] = computeConclusions(groups, [spec]);
  const [many] = computeConclusions(groups, [spec, spec, spec, spec, spec]);
  assert.ok(one && many);
  assert.equal(one.confidence, 0.95);
  assert.ok(many.difference.high - many.difference.low > one.difference.high - one.difference.low);
  assert.equal(one.difference.pairedSeeds, false);
  assert.throws(
    () => computeConclusions(groups, [{ a: "A", b: "C", benchmark: "harmful" }]),
    /comparisons\.0: no run named "C" \(runs: A, B\)/,
  );
  assert.throws(
    () => computeConclusions(groups, [{ a: "A", b: "B", benchmark: "harmful", metric: "over_refusal_rate" }]),
    /comparisons\.0: "A" has no over_refusal_rate on "harmful"/,
  );
});

test("compareGroups: B − A of the means over seeds, seeds paired when both groups ran the same seeds", () => {
  const a = groupBySeed([0, 1, 2].map((s) => makeRun("RAFT", s, { harmful: firstK(100, 80 + s) })));
  const b = groupBySeed([0, 1, 2].map((s) => makeRun("DPO", s, { harmful: firstK(100, 90 + s) })));
  const c = compareGroups(a[0] as (typeof a)[0], b[0] as (typeof b)[0], { resamples: 500 });
  assert.equal(c.pairedSeeds, true);
  const harmful = c.comparisons.find((x) => x.benchmark === "harmful");
  assert.ok(harmful);
  assert.ok(Math.abs(harmful.difference.value - 0.1) < 1e-12);
  assert.ok(Math.abs(harmful.meanA - 0.81) < 1e-12 && Math.abs(harmful.meanB - 0.91) < 1e-12);
  assert.ok(harmful.difference.low > 0 && harmful.difference.pValue < 0.05);
});

/** A reference-benchmark run: one verdict per item from the "rm" judge (labels as given) and a refusal judge. */
function referenceRun(
  name: string,
  labels: (string | undefined)[],
): { results: EvalResults; samples: SampleRecord[] } {
  const samples: SampleRecord[] = labels.map((label, i) => ({
    benchmark: "alpaca",
    id: String(i),
    prompt: `q${i}`,
    response: "…",
    verdicts: {
      rm: label === undefined ? {} : { label },
      refusal: { refused: false, label: "full_compliance" },
    },
  }));
  const base = makeRun(name, undefined, {}).results;
  return {
    results: {
      ...base,
      judges: [
        { name: "rm", kind: "reward", detail: {} },
        { name: "refusal", kind: "refusal", detail: {} },
      ],
      benchmarks: [{ name: "alpaca", kind: "reference", source: "test", n: labels.length, metrics: [] }],
    },
    samples,
  };
}

test("eval compare's win rate counts only judged items: ties half, other labels left out, not losses", () => {
  const a = referenceRun("A", ["win", "loss", "tie", "not judged", undefined, "loss"]);
  const b = referenceRun("B", ["win", "win", "tie", "win", "win", "not judged"]);
  const c = compareRuns(a, b, { resamples: 200 });
  const rm = c.comparisons.find((x) => x.judge === "rm" && x.metric === "win_rate");
  // Judged in both: items 0, 1, 2. A: win, loss, tie → 1.5/3; B: win, win, tie → 2.5/3.
  assert.deepEqual([rm?.n, rm?.rateA, rm?.rateB], [3, 0.5, 2.5 / 3]);
  assert.deepEqual([rm?.mcnemar.onlyA, rm?.mcnemar.onlyB], [0, 1]);
  // The refusal judge labels no item win, tie or loss: no win rate from it (it used to read 0.0).
  assert.equal(
    c.comparisons.some((x) => x.judge === "refusal" && x.metric === "win_rate"),
    false,
  );
});

/** Each run as a finished run folder (results.json, samples.jsonl) under root; returns the folders. */
function writeRunFolders(root: string, runs: readonly SeedRun[]): string[] {
  return runs.map((r, i) => {
    const dir = join(root, `run${i}`);
    mkdirSync(dir);
    writeFileSync(join(dir, "results.json"), JSON.stringify(r.results));
    writeFileSync(join(dir, "samples.jsonl"), (r.samples ?? []).map((x) => JSON.stringify(x)).join("\n"));
    return dir;
  });
}

test("the report stage groups its runs over seeds and states the configured conclusions (Markdown and HTML)", async (t) => {
  const root = tmpDir(t, "safetune-seedreport-");
  const runs = [
    makeRun("base", undefined, { harmful: firstK(100, 5), benign: firstK(50, 1) }),
    ...[0, 1, 2].map((s) => makeRun("DPO", s, { harmful: firstK(100, 95 + s), benign: firstK(50, 3) })),
    ...[0, 1, 2].map((s) => makeRun("RAFT", s, { harmful: firstK(100, 94 + s), benign: firstK(50, 10) })),
  ];
  const folders = writeRunFolders(root, runs);
  const out = join(root, "report");
  mkdirSync(out);
  const lines: string[] = [];
  const config = reportStage.schema.parse({
    runs: folders,
    comparisons: [
      { a: "DPO", b: "RAFT", benchmark: "harmful" },
      { a: "DPO", b: "RAFT", benchmark: "lookalikes" },
    ],
  });
  const outcome = await reportStage.run({
    name: "report",
    config,
    dir: out,
    resume: false,
    label: "[report]",
    log: (l) => lines.push(l),
    signal: new AbortController().signal,
  });
  assert.match(outcome.summary, /^7 runs in 3 groups compared/);
  const table = readFileSync(join(out, "table.md"), "utf8");
  assert.match(table, /\| DPO \| 3 \| 96\.0 \[/);
  assert.match(
    table,
    /^- no significant difference between DPO and RAFT in safety on harmful \(1\.0 points/m,
  );
  assert.match(table, /^- DPO over-refuses less than RAFT on lookalikes by 14\.0 points/m);
  assert.ok(lines.join("\n").includes("DPO over-refuses less than RAFT"), "the stage prints the conclusions");
  assert.match(readFileSync(join(out, "table.csv"), "utf8"), /^run,n seeds,/);
  const html = readFileSync(join(out, "report.html"), "utf8");
  assert.match(html, /<section id="seeds"><h2>Seeds and conclusions<\/h2>/);
  assert.match(html, /<li>DPO over-refuses less than RAFT on lookalikes by 14\.0 points/);
  const saved = JSON.parse(readFileSync(join(out, "conclusions.json"), "utf8"));
  assert.deepEqual(
    saved.map((c: { significant: boolean }) => c.significant),
    [false, true],
  );
});

test("report table --compare and eval compare of two seed groups, from the command line", async (t) => {
  const root = tmpDir(t, "safetune-seedcli-");
  const folders = writeRunFolders(root, [
    ...[0, 1, 2].map((s) => makeRun("DPO", s, { harmful: firstK(100, 95 + s), benign: firstK(50, 3) })),
    ...[0, 1, 2].map((s) => makeRun("RAFT", s, { harmful: firstK(100, 94 + s), benign: firstK(50, 10) })),
    makeRun("base", undefined, { harmful: firstK(100, 5), benign: firstK(50, 1) }),
  ]);
  const table = await cliAsync(["report", "table", ...folders, "--compare", "DPO,RAFT,lookalikes"]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /\| RAFT \| 3 \| 95\.0 \[/);
  assert.match(table.stdout, /^- DPO over-refuses less than RAFT on lookalikes by 14\.0 points \[/m);
  assert.match(
    table.stdout,
    /95% Welch–Satterthwaite t intervals whose variance adds the seeds' spread .*\(one comparison\)/,
  );
  const compare = await cliAsync(["eval", "compare", ...folders.slice(0, 6)]);
  assert.equal(compare.status, 0, compare.stderr);
  // RAFT − DPO on the look-alikes: 20% − 6% = +14 points, paired seeds (both ran 0, 1, 2).
  assert.match(compare.stdout, /^# RAFT vs DPO/);
  assert.match(compare.stdout, /paired seeds: the same seeds/);
  assert.match(
    compare.stdout,
    /\| lookalikes \| refusal \| over_refusal_rate \| 50 \| 6\.0 \| 20\.0 \| \+14\.0 \[/,
  );
  const three = await cliAsync(["eval", "compare", ...folders]);
  assert.equal(three.status, 1);
  assert.match(three.stderr, /the runs form 3 groups \(DPO, RAFT, base\); expected two/);
  const html = await cliAsync([
    "report",
    "html",
    folders[0] as string,
    ...folders.slice(1).flatMap((f) => ["--compare-with", f]),
    "--compare",
    "DPO,RAFT,lookalikes",
  ]);
  assert.equal(html.status, 0, html.stderr);
  assert.match(
    readFileSync(join(folders[0] as string, "report.html"), "utf8"),
    /<h2>Seeds and conclusions<\/h2>/,
  );
  const md = readFileSync(join(folders[0] as string, "report.md"), "utf8");
  assert.match(
    md,
    /## Runs over seeds[\s\S]*- DPO over-refuses less than RAFT on lookalikes by 14\.0 points/,
  );
  const bad = await cliAsync(["report", "table", ...folders, "--compare", "DPO,RAFT"]);
  assert.match(bad.stderr, /--compare: expected A,B,BENCHMARK\[,METRIC\]/);
});
