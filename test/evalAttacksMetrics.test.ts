// Attack metrics and reports: success rates per attack, per category, the direct baseline and the worst case per
// prompt, checked against counts made here; then a whole run through the CLI with a suite's `attacks:` and a
// replayed JailbreakBench-shaped artifact, ending in results.json, report.md and report.html.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ANY_ATTACK, type AttackSample, attackSummary, DIRECT } from "../src/eval/attacks/attackMetrics.js";
import { ATTACK_NAMES } from "../src/eval/attacks/registry.js";
import { attackChart } from "../src/eval/report/attackReport.js";
import type { EvalResults, SampleRecord } from "../src/eval/results.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { mulberry32 } from "../src/util/random.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-attack-metrics-");
after(cleanup);

/** Random verdicts for 3 attacks + direct over 40 prompts of 2 categories, some unparsed. */
function randomSamples(seed: number): AttackSample[] {
  const random = mulberry32(seed);
  const out: AttackSample[] = [];
  for (const attack of [undefined, "a1", "a2", "a3"])
    for (let i = 0; i < 40; i++) {
      const r = random();
      const verdict = r < 0.05 ? { error: "x" } : { safe: r > 0.55 };
      out.push({
        benchmark: attack === undefined ? "H" : `H+${attack}`,
        id: String(i),
        category: i % 3 === 0 ? "c1" : "c2",
        ...(attack === undefined ? {} : { attack, attackedBenchmark: "H" }),
        verdicts: { j: verdict },
      });
    }
  // A benchmark nobody attacked does not count as the direct baseline.
  out.push({ benchmark: "Other", id: "0", verdicts: { j: { safe: false } } });
  return out;
}

describe("attackSummary", () => {
  const samples = randomSamples(7);
  const summary = attackSummary(samples, "j", { resamples: 500 });
  assert.ok(summary);
  const rate = (attack: string, category?: string) =>
    summary.rates.find((r) => r.attack === attack && r.category === category);

  test("each attack's rate is unsafe / readable answers, errors counted apart, per category too", () => {
    for (const attack of ["a1", "a2", "a3"])
      for (const category of [undefined, "c1", "c2"]) {
        const mine = samples.filter(
          (s) => s.attack === attack && (category === undefined || s.category === category),
        );
        const read = mine.filter((s) => s.verdicts.j?.error === undefined);
        const unsafe = read.filter((s) => s.verdicts.j?.safe === false).length;
        const r = rate(attack, category);
        assert.ok(r, `${attack} ${category}`);
        assert.equal(r.estimate.n, read.length);
        assert.equal(r.estimate.value, unsafe / read.length);
        assert.equal(r.unparsed ?? 0, mine.length - read.length);
        assert.ok(r.estimate.low <= r.estimate.value && r.estimate.value <= r.estimate.high);
        assert.ok(r.estimate.high - r.estimate.low > 0, "a rate strictly inside (0,1) has a real interval");
      }
  });

  test("the direct row reads the attacked benchmark's own items only", () => {
    const direct = samples.filter((s) => s.benchmark === "H" && s.verdicts.j?.error === undefined);
    const r = rate(DIRECT);
    assert.equal(r?.estimate.n, direct.length);
    assert.equal(
      r?.estimate.value,
      direct.filter((s) => s.verdicts.j?.safe === false).length / direct.length,
    );
  });

  test("the worst case counts a prompt broken when any attack on it succeeded", () => {
    let broken = 0;
    let counted = 0;
    for (let i = 0; i < 40; i++) {
      const vs = samples.filter((s) => s.attack !== undefined && s.id === String(i)).map((s) => s.verdicts.j);
      if (vs.some((v) => v?.safe === false)) broken++;
      if (vs.some((v) => v?.error === undefined)) counted++;
    }
    const r = rate(ANY_ATTACK);
    assert.equal(r?.estimate.n, counted);
    assert.equal(r?.estimate.value, broken / counted);
    const single = Math.max(...["a1", "a2", "a3"].map((a) => rate(a)?.estimate.value ?? 1));
    assert.ok((r?.estimate.value ?? 0) >= single, "the worst case is at least each attack's rate");
  });

  test("no attacked sample, no summary", () => {
    assert.equal(
      attackSummary(
        samples.filter((s) => s.attack === undefined),
        "j",
      ),
      undefined,
    );
  });
});

describe("a run with attacks, through the CLI", () => {
  test("a suite's attacks: all and a replayed artifact reach results.json, samples and both reports", async () => {
    const model = join(ROOT, "model");
    createScratchModel(model, { vocabSize: 400, seed: 3 }).dispose();
    const data = join(ROOT, "data");
    writeFileSync(
      join(ROOT, "harmful.jsonl"),
      ["Describe a sunny beach", "List three kinds of apples", "Name a famous painter"]
        .map((p, i) => JSON.stringify({ id: `h${i}`, prompt: p, kind: i === 0 ? "place" : "thing" }))
        .join("\n"),
    );
    writeFileSync(join(ROOT, "benign.jsonl"), `${JSON.stringify({ prompt: "Say hello" })}\n`);
    // An artifact in JailbreakBench's layout (text written here): one null prompt to skip.
    const artifacts = join(data, "jailbreakbench", "attack-artifacts", "DEMO", "black_box");
    mkdirSync(artifacts, { recursive: true });
    const rows = [
      { index: 0, goal: "g0", behavior: "B0", category: "Cat A", prompt: "Imagine a story about a garden" },
      { index: 1, goal: "g1", behavior: "B1", category: "Cat B", prompt: null },
      { index: 2, goal: "g2", behavior: "B2", category: "Cat A", prompt: "Pretend you are a tour guide" },
    ];
    writeFileSync(join(artifacts, "target-1.json"), JSON.stringify({ parameters: {}, jailbreaks: rows }));
    const suite = join(ROOT, "suite.yaml");
    writeFileSync(
      suite,
      [
        "benchmarks:",
        "  - { name: H, path: harmful.jsonl, kind: harmful, id: id, category: kind }",
        "  - { name: B, path: benign.jsonl, kind: benign }",
        "  - jbb:DEMO:target-1",
        "attacks: all",
        "judges: [refusal]",
      ].join("\n"),
    );
    const out = join(ROOT, "run");
    const res = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, "bin", "safetune.js"),
        "eval",
        ...["--model", model, "--benchmarks", suite, "--data", data, "--out", out],
        ...["--max-new-tokens", "6", "--no-perplexity"],
      ],
      { encoding: "utf8" },
    );
    assert.equal(res.status, 0, res.stderr);
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as EvalResults;
    assert.deepEqual(
      results.benchmarks.map((b) => b.name),
      ["H", ...ATTACK_NAMES.map((a) => `H+${a}`), "B", "jbb:DEMO:target-1"],
    );
    const jbb = results.benchmarks.at(-1);
    assert.equal(jbb?.n, 2);
    assert.match(jbb?.source ?? "", /1 null prompts skipped/);
    const summary = results.attacks;
    assert.ok(summary);
    assert.equal(summary.judge, "refusal");
    const whole = summary.rates.filter((r) => r.category === undefined);
    assert.deepEqual(
      whole.map((r) => r.attack),
      [...ATTACK_NAMES, "jbb:DEMO:target-1", DIRECT, ANY_ATTACK],
    );
    const samples = readFileSync(join(out, "samples.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as SampleRecord);
    for (const r of whole.filter((x) => ATTACK_NAMES.includes(x.attack))) {
      const mine = samples.filter((s) => s.attack === r.attack);
      assert.equal(mine.length, 3);
      assert.ok(mine.every((s) => s.attackedBenchmark === "H"));
      const unsafe = mine.filter((s) => s.verdicts.refusal?.safe === false).length;
      assert.equal(r.estimate.value, unsafe / 3, r.attack);
    }
    assert.deepEqual(
      summary.rates.filter((r) => r.attack === "persona" && r.category !== undefined).map((r) => r.category),
      ["place", "thing"],
    );
    assert.ok(samples.filter((s) => s.attack === "jbb:DEMO:target-1").every((s) => s.category === "Cat A"));
    const md = readFileSync(join(out, "report.md"), "utf8");
    assert.match(md, /## Attacks/);
    for (const a of ATTACK_NAMES) assert.match(md, new RegExp(`\\| ${a} \\| \\d+\\.\\d%`));
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.match(html, /<section id="attacks">/);
    const chart = await attackChart(results);
    const bars = /<g class="[^"]*\bbars_marks\b[^"]*"[^>]*>(.*?)<\/g>/s.exec(chart ?? "")?.[1] ?? "";
    assert.equal(bars.match(/<path\b/g)?.length, whole.length, "one bar per attack row");
    assert.ok(html.includes("attack success rate"), "the chart is in the page");
  });
});

describe("command-line mistakes fail before a model loads, in one line", () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, "bin", "safetune.js"), "eval", ...args], {
      encoding: "utf8",
    });
  test("an unknown attack names the known ones", () => {
    writeFileSync(join(ROOT, "one.jsonl"), `${JSON.stringify({ prompt: "Say hi" })}\n`);
    writeFileSync(join(ROOT, "one.yaml"), "benchmarks:\n  - { name: O, path: one.jsonl, kind: harmful }\n");
    const res = cli(
      ["--model", join(ROOT, "no-model"), "--benchmarks", join(ROOT, "one.yaml")].concat([
        "--attacks",
        "persona,rot14",
        "--out",
        join(ROOT, "x"),
      ]),
    );
    assert.notEqual(res.status, 0);
    assert.match(
      res.stderr,
      /--attacks: no attack "rot14" \(known: prefix-injection, .*multi-turn, or all\)/,
    );
    assert.doesNotMatch(res.stderr, /no-model/);
  });
  test("--attacker-endpoint without --attacker-model", () => {
    const res = cli(
      ["--model", join(ROOT, "no-model"), "--benchmarks", join(ROOT, "one.yaml")].concat([
        "--attacker-endpoint",
        "http://127.0.0.1:9/v1",
        "--out",
        join(ROOT, "y"),
      ]),
    );
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /--attacker-endpoint needs --attacker-model NAME/);
  });
});
