import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { userPrompt } from "../src/data/records.js";
import { c10dAvailable } from "../src/distributed/processGroup.js";
import { createModel } from "../src/model/createModel.js";
import { presetConfig } from "../src/model/presets.js";
import { saveModel, TOKENIZER_FILES } from "../src/model/saveModel.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { modelScorer } from "../src/score/scorer.js";
import { loadTokenizer } from "../src/tokenize/tokenizer.js";
import { degenerateReason } from "../src/train/degenerate.js";
import {
  iterationFigures,
  type ScoredSample,
  sampleAnswers,
  scoreAnswers,
  selectSamples,
} from "../src/train/raft.js";
import { RaftConfigSchema } from "../src/train/runConfig.js";
import { promptBatch, runRaft } from "../src/train/runRaft.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-raft-");
process.on("exit", cleanup);
const BASE = join(ROOT, "base");
const REWARD = join(ROOT, "reward");
const PROMPTS = [
  "Tell me a story.",
  "What is a cat?",
  "Say something.",
  "Describe the sea.",
  "Write a line.",
];

before(() => {
  createScratchModel(BASE, { vocabSize: 500, seed: 0 }).dispose();
  writeFileSync(join(ROOT, "prompts.jsonl"), PROMPTS.map((p) => JSON.stringify({ prompt: p })).join("\n"));
  // A tiny reward model folder: a random LlamaForSequenceClassification with the scratch tokenizer.
  const config = JSON.parse(readFileSync(join(BASE, "config.json"), "utf8")) as Record<string, unknown>;
  const rm = createModel(
    {
      ...presetConfig("llama-tiny", config.vocab_size as number, { pad: 0, bos: 1, eos: 2 }),
      architectures: ["LlamaForSequenceClassification"],
      num_labels: 1,
      num_hidden_layers: 2,
    },
    { seed: 1, initStd: 0.2 },
  );
  saveModel(rm, REWARD);
  rm.dispose();
  for (const f of TOKENIZER_FILES)
    if (existsSync(join(BASE, f))) copyFileSync(join(BASE, f), join(REWARD, f));
});

test("degenerateReason: too short, one character or word repeated, loops; ordinary answers pass", () => {
  assert.match(degenerateReason("ok", { minChars: 8 }) ?? "", /too short/);
  assert.match(degenerateReason("") ?? "", /too short/);
  assert.match(degenerateReason("# # # # # # # #") ?? "", /"#" is 100% of the characters/);
  assert.match(degenerateReason("################") ?? "", /"#"/);
  assert.match(degenerateReason("no no no no no yes") ?? "", /word "no"/);
  assert.match(
    degenerateReason("I am here. I am here. I am here. I am here.") ?? "",
    /distinct word 3-grams/,
  );
  assert.match(degenerateReason("abcdefgabcdefgabcdefgabcdefgabcdefg") ?? "", /distinct character 6-grams/);
  for (const ok of [
    "The capital of France is Paris.",
    "I can't help with that, because it could hurt people. I can suggest a safe alternative.",
    "Yes.",
    "2 + 2 = 4",
  ]) {
    assert.equal(degenerateReason(ok, { minChars: 2 }), undefined, ok);
  }
});

function scored(rewards: number[][]): ScoredSample[] {
  return rewards.flatMap((row, p) =>
    row.map((reward, s) => ({
      promptIndex: p,
      sampleIndex: s,
      prompt: userPrompt(`prompt ${p}`),
      answer: `a fine answer number ${p} ${s}`,
      reward,
      score: reward,
    })),
  );
}

test("selectSamples: best-of-k keeps the best answer of each prompt; top-fraction the best of all", () => {
  const samples = scored([
    [0.1, 0.9, 0.5],
    [0.3, 0.2, 0.4],
  ]);
  const best = selectSamples(samples, { mode: "best-of-k" });
  assert.deepEqual(
    best.filter((s) => s.selected).map((s) => [s.promptIndex, s.sampleIndex]),
    [
      [0, 1],
      [1, 2],
    ],
  );
  const top = selectSamples(samples, { mode: "top-fraction", fraction: 0.5 });
  assert.deepEqual(
    top.filter((s) => s.selected).map((s) => [s.promptIndex, s.sampleIndex]),
    [
      [0, 1],
      [0, 2],
      [1, 2],
    ],
  );
  // Ties go to the earlier sample; at least one is selected.
  const ties = selectSamples(scored([[1, 1]]), { mode: "top-fraction", fraction: 0.01 });
  assert.deepEqual(
    ties.map((s) => s.selected),
    [true, false],
  );
  const figures = iterationFigures(best);
  assert.equal(figures.selected, 2);
  assert.ok(Math.abs(figures.mean_reward - 2.4 / 6) < 1e-12, `mean ${figures.mean_reward}`);
  assert.equal(figures.best_reward, 0.9);
  assert.ok(
    Math.abs(figures.mean_selected_reward - 0.65) < 1e-12,
    `selected ${figures.mean_selected_reward}`,
  );
});

test("the degenerate filter drops '#' spam even when the reward favours it; cost lowers the score", () => {
  const hashes = (answer: string) => [...answer].filter((c) => c === "#").length;
  const prompts = [userPrompt("Write a heading."), userPrompt("Say hi.")];
  const answers = [
    ["# # # # # # # # # #", "## Heading about the ocean"],
    ["Hello there, nice to meet you.", "#########"],
  ];
  const result = scoreAnswers(hashes, prompts, answers);
  assert.deepEqual(
    result.map((s) => s.reward),
    [10, 2, 0, 9],
  );
  const ranked = selectSamples(result, { mode: "best-of-k", degenerate: { minChars: 4 } });
  assert.deepEqual(
    ranked.map((s) => s.selected),
    [false, true, true, false],
  );
  assert.match(ranked[0]?.dropped ?? "", /"#" is 100%/);
  assert.match(ranked[3]?.dropped ?? "", /"#"/);
  // Without the filter the spam wins.
  const unfiltered = selectSamples(result, { mode: "best-of-k", degenerate: false });
  assert.deepEqual(
    unfiltered.map((s) => s.selected),
    [true, false, false, true],
  );
  // score = reward - lambda × cost.
  const withCost = scoreAnswers(hashes, prompts, answers, { scorer: (a) => a.length, lambda: 0.5 });
  assert.deepEqual(
    withCost.map((s) => s.score),
    answers.flat().map((a) => hashes(a) - 0.5 * a.length),
  );
});

test("scoreAnswers with a reward-model folder: one finite score per answer, different across answers", async () => {
  const scorer = await modelScorer(REWARD, { batchSize: 2 });
  const prompts = [userPrompt("What is a cat?"), userPrompt("Describe the sea.")];
  const answers = [
    ["A cat is a small animal.", "I do not know.", "Cats purr."],
    ["The sea is big and blue.", "Water."],
  ];
  const result = scoreAnswers(scorer, prompts, answers);
  assert.equal(result.length, 5);
  for (const s of result) assert.ok(Number.isFinite(s.reward), `finite: ${s.reward}`);
  assert.ok(
    new Set(result.map((s) => s.reward.toFixed(6))).size >= 4,
    JSON.stringify(result.map((s) => s.reward)),
  );
  // Batched scores equal one-at-a-time scores.
  const single = scorer.reward(prompts[0] ?? [], "Cats purr.");
  assert.ok(Math.abs(single - (result[2]?.reward ?? Number.NaN)) < 1e-4, `${single} vs ${result[2]?.reward}`);
  scorer.dispose?.();
});

test("sampleAnswers: K answers per prompt, reproducible with a seed", async () => {
  const { loadModel } = await import("../src/model/loadModel.js");
  const model = loadModel(BASE);
  const tokenizer = await loadTokenizer(BASE);
  const prompts = [userPrompt("Hi."), userPrompt("Tell me a story.")];
  const options = { k: 3, maxNewTokens: 6, temperature: 1, seed: 5, batchSize: 4 };
  const a = sampleAnswers(model, tokenizer, prompts, options);
  const b = sampleAnswers(model, tokenizer, prompts, { ...options, batchSize: 64 });
  assert.equal(a.length, 2);
  assert.equal(a[0]?.length, 3);
  assert.deepEqual(a, b, "batching does not change the samples");
  assert.ok(new Set(a.flat().map((x) => x.text)).size > 1, "samples differ");
  model.dispose();
});

test("promptBatch uses every prompt once before repeating", () => {
  const first = [...promptBatch(5, 3, 0, 0), ...promptBatch(5, 3, 0, 1)].slice(0, 5);
  assert.deepEqual([...first].sort(), [0, 1, 2, 3, 4]);
});

test("RAFT: the mean reward of sampled answers rises over iterations; iteration files keep every sample", async () => {
  const target = new Set("e");
  const reward = (answer: string) => {
    const chars = [...answer].filter((c) => !/\s/.test(c));
    return chars.length ? chars.filter((c) => target.has(c)).length / chars.length : 0;
  };
  const out = join(ROOT, "raft");
  const config = RaftConfigSchema.parse({
    model: BASE,
    out,
    data: { train: join(ROOT, "prompts.jsonl") },
    maxLength: 64,
    training: { saveEvery: 0, logEvery: 1000, lr: 3e-3, batchSize: 4, schedule: "constant", seed: 0 },
    raft: {
      iterations: 4,
      promptsPerIteration: 5,
      k: 6,
      maxNewTokens: 10,
      temperature: 1,
      minChars: 1,
      stepsPerIteration: 8,
    },
  });
  const lines: string[] = [];
  const result = await runRaft(config, { reward, log: (l) => lines.push(l) });
  const history = readFileSync(join(out, "raft.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(history.length, 4);
  const first = history[0].mean_reward;
  const last = history[history.length - 1].mean_reward;
  assert.ok(last > first + 0.05, `mean reward ${history.map((h) => h.mean_reward.toFixed(3)).join(" -> ")}`);
  for (const h of history) {
    assert.equal(h.samples, 30);
    assert.ok(h.best_reward >= h.mean_reward, "best >= mean");
  }
  assert.equal(lines.length, 4);
  assert.match(lines[0] ?? "", /raft iteration 1\/4: mean reward/);
  const samples = readFileSync(join(out, "iterations", "iter-0001.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(samples.length, 30);
  for (const s of samples) {
    assert.equal(typeof s.reward, "number", "reward");
    assert.equal(typeof s.selected, "boolean", "selected");
    assert.equal(typeof s.answer, "string", "answer");
  }
  assert.equal(samples.filter((s) => s.selected).length, history[0].selected);
  assert.ok(existsSync(join(result.modelDir, "model.safetensors")), "model saved");
  assert.ok(existsSync(join(result.modelDir, "raft.jsonl")), "raft.jsonl in the model folder");
  console.log(`RAFT mean reward by iteration: ${history.map((h) => h.mean_reward.toFixed(3)).join(" -> ")}`);
  result.model.dispose();
});

test("safetune raft: a reward-model folder (and a cost model) end to end from the command line", () => {
  const out = join(ROOT, "raft-cli");
  const bin = join(REPO_ROOT, "bin", "safetune.js");
  // biome-ignore format: one flag per line pair reads better
  const args = [
    bin, "raft", "--model", BASE, "--out", out, "--data", join(ROOT, "prompts.jsonl"),
    "--reward-model", REWARD, "--cost-model", REWARD, "--cost-lambda", "0.5",
    "--iterations", "2", "--prompts", "2", "--k", "3", "--max-new-tokens", "6", "--min-chars", "1",
    "--selection", "top-fraction", "--top-fraction", "0.5", "--steps-per-iteration", "1", "--batch-size", "2",
  ];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /raft: \d+ steps; eval iterations 2, mean_reward -?[\d.]+, best_reward -?[\d.]+; model written to/,
  );
  assert.match(r.stderr, /raft iteration 2\/2: mean reward/);
  const samples = readFileSync(join(out, "iterations", "iter-0002.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(samples.length, 6);
  for (const s of samples) {
    assert.ok(Number.isFinite(s.reward) && Number.isFinite(s.cost), JSON.stringify(s));
    assert.ok(Math.abs(s.score - (s.reward - 0.5 * s.cost)) < 1e-9, "score = reward - lambda × cost");
  }
  const missing = spawnSync(
    process.execPath,
    [bin, "raft", "--model", BASE, "--out", join(ROOT, "x"), "--data", join(ROOT, "prompts.jsonl")],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /--reward-model/);
});

test("safetune raft --nproc 2: ranks sample their share of the prompts, rank 0 writes, training is sharded", {
  skip: c10dAvailable() ? false : "this safetune build has no c10d",
}, () => {
  const out = join(ROOT, "raft-nproc");
  // biome-ignore format: one flag per line pair reads better
  const args = [
    join(REPO_ROOT, "bin", "safetune.js"), "raft", "--model", BASE, "--out", out, "--data", join(ROOT, "prompts.jsonl"),
    "--reward-model", REWARD, "--iterations", "2", "--prompts", "4", "--k", "3", "--max-new-tokens", "6",
    "--min-chars", "1", "--selection", "top-fraction", "--top-fraction", "0.5", "--steps-per-iteration", "2",
    "--batch-size", "2", "--nproc", "2",
  ];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /2 process\(es\) on node 0 of 1/);
  assert.match(r.stdout, /raft: 4 steps; eval iterations 2/);
  for (const name of ["iter-0001", "iter-0002"]) {
    const samples = readFileSync(join(out, "iterations", `${name}.jsonl`), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { prompt_index?: number; promptIndex?: number; selected: boolean });
    assert.equal(samples.length, 12, `${name}: 4 prompts x 3 answers, gathered from both ranks`);
    assert.equal(samples.filter((x) => x.selected).length, 6, `${name}: the top half selected`);
  }
  assert.equal(
    readFileSync(join(out, "raft.jsonl"), "utf8").trim().split("\n").length,
    2,
    "rank 0 alone logs",
  );
  assert.ok(existsSync(join(out, "model", "model.safetensors")), "rank 0 wrote the model");
});

test("RAFT --resume continues after the last finished iteration and ends with the weights of an uninterrupted run", async () => {
  const reward = (answer: string) => [...answer].filter((c) => c === "e").length / Math.max(1, answer.length);
  const configFor = (out: string) =>
    RaftConfigSchema.parse({
      model: BASE,
      out,
      data: { train: join(ROOT, "prompts.jsonl") },
      maxLength: 64,
      training: { saveEvery: 0, logEvery: 1000, lr: 3e-3, batchSize: 4, schedule: "constant", seed: 0 },
      raft: {
        iterations: 3,
        promptsPerIteration: 3,
        k: 2,
        maxNewTokens: 6,
        minChars: 1,
        stepsPerIteration: 3,
      },
    });
  const straight = await runRaft(configFor(join(ROOT, "raft-straight")), { reward });
  const dir = join(ROOT, "raft-resumed");
  let calls = 0;
  const crashing = (answer: string) => {
    // 6 samples per iteration: the crash comes while scoring iteration 3, after iteration 2's checkpoint.
    if (++calls > 12) throw new Error("simulated crash");
    return reward(answer);
  };
  await assert.rejects(runRaft(configFor(dir), { reward: crashing }), /simulated crash/);
  const resumed = await runRaft(configFor(dir), { reward, resume: true });
  assert.equal(resumed.history.length, 3);
  const bytes = (m: typeof straight.model) => [...m.params.values()].map((t) => t.toBytes());
  assert.deepEqual(bytes(resumed.model), bytes(straight.model));
  assert.equal(readFileSync(join(dir, "raft.jsonl"), "utf8").trim().split("\n").length, 3);
  straight.model.dispose();
  resumed.model.dispose();
});
