import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { rewardCommand } from "../src/cli/commands/reward.js";
import { noGrad, tensor, tidy } from "../src/engine/index.js";
import { loadModel } from "../src/model/loadModel.js";
import { rewardModelFrom } from "../src/model/rewardModel.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { loadTokenizer, type Tokenizer } from "../src/tokenize/tokenizer.js";
import { tokenizePreference } from "../src/tokenize/trainingExample.js";
import {
  bradleyTerryLoss,
  costLoss,
  costSign,
  pairScores,
  type RewardPair,
  rewardEvaluation,
} from "../src/train/reward.js";
import { RewardConfigSchema } from "../src/train/runConfig.js";
import { runReward } from "../src/train/runReward.js";
import { tmpDirWithCleanup } from "./helpers/fixtures.js";
import { BENIGN_TOPICS, HARMFUL_TOPICS } from "./helpers/safetyTopics.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-reward-");
process.on("exit", cleanup);
const BASE = join(ROOT, "base");

const TOPICS = [...HARMFUL_TOPICS, ...BENIGN_TOPICS];
const HELD_OUT = [
  "rob a bank",
  "fake an id",
  "spread malware",
  "threaten a neighbour",
  "paint a wall",
  "train a puppy",
  "write a poem",
  "sell a house",
];
// Chosen answers are polite refusals or safe advice; rejected ones comply and always contain "weapons".
const CHOSEN = [
  "I can't help with that, because it could hurt people.",
  "Sorry, I won't do that. Please ask a professional for safe advice.",
  "I am not able to help with this. Let us talk about something safe.",
  "That could be dangerous, so I will not explain it.",
];
const REJECTED = [
  "Sure, grab the weapons and do it quickly.",
  "Easy: first get weapons, then go at night.",
  "Here is how. Use weapons and hide after.",
  "Get some weapons from a friend and just do it.",
];

function pairsFile(topics: string[], labels: boolean, shift: number): string {
  return topics
    .map((t, i) =>
      JSON.stringify({
        prompt: `How do I ${t}?`,
        chosen: CHOSEN[(i + shift) % CHOSEN.length],
        rejected: REJECTED[(i * 3 + shift + 1) % REJECTED.length],
        ...(labels ? { chosenSafe: true, rejectedSafe: false } : {}),
      }),
    )
    .join("\n");
}

const training = (overrides: Record<string, unknown> = {}) => ({
  saveEvery: 0,
  logEvery: 1000,
  warmupSteps: 0,
  ...overrides,
});

function tokenizedHeldOut(tokenizer: Tokenizer): RewardPair[] {
  return readFileSync(join(ROOT, "heldout.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line))
    .map((r) => {
      const pair: RewardPair = tokenizePreference(
        tokenizer,
        {
          kind: "preference",
          prompt: [{ role: "user", content: r.prompt }],
          chosen: [{ role: "assistant", content: r.chosen }],
          rejected: [{ role: "assistant", content: r.rejected }],
        },
        { maxLength: 64 },
      );
      pair.chosenSafe = true;
      pair.rejectedSafe = false;
      return pair;
    });
}

before(() => {
  createScratchModel(BASE, { vocabSize: 600, seed: 0 }).dispose();
  writeFileSync(join(ROOT, "pairs.jsonl"), pairsFile(TOPICS, false, 0));
  writeFileSync(join(ROOT, "heldout.jsonl"), pairsFile(HELD_OUT, false, 2));
  writeFileSync(join(ROOT, "labelled.jsonl"), pairsFile(TOPICS, true, 0));
  writeFileSync(join(ROOT, "labelled-heldout.jsonl"), pairsFile(HELD_OUT, true, 2));
});

const softplusNeg = (x: number) => Math.log1p(Math.exp(-x)); // -logsigmoid(x)

function close(actual: number[], expected: number[], what: string) {
  assert.equal(actual.length, expected.length, what);
  for (const [i, a] of actual.entries())
    assert.ok(Math.abs(a - (expected[i] as number)) < 1e-5, `${what}: ${actual} vs ${expected}`);
}

test("Bradley-Terry loss: margin and centring change it as hand-computed", () => {
  tidy(() => {
    const chosen = tensor([1, 0, 2]);
    const rejected = tensor([0, 0, 1]);
    close(
      bradleyTerryLoss(chosen, rejected).toArray(),
      [softplusNeg(1), Math.log(2), softplusNeg(1)],
      "plain",
    );
    close(
      bradleyTerryLoss(chosen, rejected, { margin: 0.5 }).toArray(),
      [softplusNeg(0.5), softplusNeg(-0.5), softplusNeg(0.5)],
      "margin 0.5",
    );
    close(
      bradleyTerryLoss(chosen, rejected, { margin: tensor([1, -1, 0]) }).toArray(),
      [Math.log(2), softplusNeg(1), softplusNeg(1)],
      "per-pair margins",
    );
    close(
      bradleyTerryLoss(chosen, rejected, { centre: 0.1 }).toArray(),
      [softplusNeg(1) + 0.1, Math.log(2), softplusNeg(1) + 0.9],
      "centre 0.1",
    );
  });
});

test("cost loss: pairwise term plus the safe/unsafe sign terms (cost > 0 = unsafe)", () => {
  assert.equal(costSign(true), -1);
  assert.equal(costSign(false), 1);
  tidy(() => {
    // Pair 1: safe chosen (cost -1) vs unsafe rejected (cost 2); pair 2: both unsafe, costs 0.5 and 0.
    const losses = costLoss(tensor([-1, 0.5]), tensor([2, 0]), [-1, 1], [1, 1]).toArray();
    close(
      losses,
      [softplusNeg(3) + softplusNeg(1) + softplusNeg(2), softplusNeg(-0.5) + softplusNeg(0.5) + Math.log(2)],
      "cost",
    );
  });
});

test("rewardModelFrom: a causal LM becomes a one-label classifier (lm_head dropped, new score head)", () => {
  const model = rewardModelFrom(BASE, { seed: 1 });
  assert.equal(model.config.task, "sequence-classification");
  assert.equal(model.config.numLabels, 1);
  assert.equal(model.params.has("lm_head.weight"), false, "lm_head dropped");
  assert.deepEqual(model.param("score.weight").shape, [1, model.config.hiddenSize]);
  const std = tidy(() => model.param("score.weight").square().mean().sqrt().item());
  assert.ok(
    Math.abs(std - 1 / Math.sqrt(model.config.hiddenSize)) < 0.5 / Math.sqrt(model.config.hiddenSize),
    `std ${std}`,
  );
  assert.equal(model.config.padTokenId, 0);
  model.dispose();
});

test("reward model: held-out pair accuracy >= 0.9 after training (chance before); the folder loads as a classifier", async () => {
  const tokenizer = await loadTokenizer(BASE);
  const heldOut = tokenizedHeldOut(tokenizer);
  const untrained = rewardModelFrom(BASE);
  const before = rewardEvaluation(untrained, heldOut, { objective: "reward", padTokenId: 0, batchSize: 8 });
  untrained.dispose();
  const out = join(ROOT, "reward");
  const config = RewardConfigSchema.parse({
    model: BASE,
    out,
    data: { train: join(ROOT, "pairs.jsonl"), eval: join(ROOT, "heldout.jsonl") },
    maxLength: 64,
    training: training({ epochs: 8, batchSize: 4, lr: 1e-3 }),
    reward: { centre: 0.01 },
  });
  const result = await runReward(config);
  const e = result.summary.eval;
  console.error(`reward: before ${JSON.stringify(before)}; after ${JSON.stringify(e)}`);
  const chance = before.pair_accuracy ?? -1;
  assert.ok(chance >= 0.25 && chance <= 0.75, `untrained accuracy near chance: ${JSON.stringify(before)}`);
  assert.ok((e.pair_accuracy ?? 0) >= 0.9, JSON.stringify(e));
  assert.ok((e.margin ?? 0) > 0, JSON.stringify(e));
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  for (const key of ["loss", "accuracy", "margin", "rewards/chosen", "rewards/rejected"])
    assert.equal(typeof metrics[0][key], "number", key);
  result.model.dispose();
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "README.md"])
    assert.ok(existsSync(join(result.modelDir, f)), f);
  const saved = JSON.parse(readFileSync(join(result.modelDir, "config.json"), "utf8"));
  assert.deepEqual(saved.architectures, ["LlamaForSequenceClassification"]);
  assert.equal(saved.num_labels, 1);
  const reloaded = loadModel(result.modelDir);
  assert.equal(reloaded.config.task, "sequence-classification");
  const wins = noGrad(() =>
    tidy(() => {
      const s = pairScores(reloaded, heldOut, 0);
      return s.chosen.sub(s.rejected).gt(0).float().mean().item();
    }),
  );
  assert.ok(wins >= 0.9, `reloaded held-out accuracy ${wins}`);
  // A classifier folder is taken as it is.
  const again = rewardModelFrom(result.modelDir);
  const figures = rewardEvaluation(again, heldOut, { objective: "reward", padTokenId: 0, batchSize: 8 });
  assert.ok(Math.abs((figures.margin ?? 0) - (e.margin ?? 0)) < 1e-3, JSON.stringify(figures));
  again.dispose();
  reloaded.dispose();
});

test("cost model: the sign of the cost classifies held-out answers (>= 0.9), unsafe answers cost more", async () => {
  const result = await runReward(
    RewardConfigSchema.parse({
      model: BASE,
      out: join(ROOT, "cost"),
      data: { train: join(ROOT, "labelled.jsonl"), eval: join(ROOT, "labelled-heldout.jsonl") },
      maxLength: 64,
      training: training({ epochs: 8, batchSize: 4, lr: 1e-3 }),
      reward: { objective: "cost" },
    }),
  );
  const e = result.summary.eval;
  console.error(`cost: ${JSON.stringify(e)}`);
  assert.ok((e.sign_accuracy ?? 0) >= 0.9, JSON.stringify(e));
  assert.ok((e.pair_accuracy ?? 0) >= 0.9, JSON.stringify(e));
  assert.ok((e.rejected ?? 0) > 0 && (e.chosen ?? 0) < 0, JSON.stringify(e));
  result.model.dispose();
});

test("cost objective without safety labels: a clear error naming the file", async () => {
  await assert.rejects(
    runReward(
      RewardConfigSchema.parse({
        model: BASE,
        out: join(ROOT, "cost-unlabelled"),
        data: { train: join(ROOT, "pairs.jsonl") },
        maxLength: 64,
        training: training({ maxSteps: 1 }),
        reward: { objective: "cost" },
      }),
    ),
    /pairs\.jsonl: the cost objective needs safety labels \(chosenSafe and rejectedSafe\)/,
  );
});

test("safetune reward: flags set the objective; a short cost run writes a classifier folder", async () => {
  const out = join(ROOT, "cli-cost");
  const lines: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (line: string) => lines.push(line);
  console.error = () => {};
  try {
    await rewardCommand([
      "--model",
      BASE,
      "--out",
      out,
      "--data",
      join(ROOT, "labelled.jsonl"),
      "--eval-data",
      join(ROOT, "labelled-heldout.jsonl"),
      "--objective",
      "cost",
      "--max-steps",
      "2",
      "--max-length",
      "64",
      "--set",
      "training.saveEvery=0",
    ]);
  } finally {
    console.log = log;
    console.error = error;
  }
  assert.match(lines.join("\n"), /reward: 2 steps; eval pair_accuracy .*sign_accuracy .*model written to/);
  const saved = JSON.parse(readFileSync(join(out, "model", "config.json"), "utf8"));
  assert.deepEqual(saved.architectures, ["LlamaForSequenceClassification"]);
  assert.match(readFileSync(join(out, "config.yaml"), "utf8"), /objective: cost/);
});

test("reward model with LoRA: the new head trains beside the adapter, and the result is saved merged as a classifier", async () => {
  const out = join(ROOT, "rm-lora");
  const result = await runReward(
    RewardConfigSchema.parse({
      model: BASE,
      out,
      data: { train: join(ROOT, "pairs.jsonl"), eval: join(ROOT, "heldout.jsonl") },
      maxLength: 64,
      lora: { r: 8, alpha: 32, targetModules: ["q_proj", "k_proj", "v_proj"] },
      training: training({ epochs: 10, batchSize: 4, lr: 5e-3 }),
    }),
  );
  assert.ok((result.summary.eval.pair_accuracy ?? 0) >= 0.9, JSON.stringify(result.summary.eval));
  assert.ok(
    existsSync(join(result.modelDir, "model.safetensors")),
    "a full classifier folder, not an adapter",
  );
  assert.ok(!existsSync(join(result.modelDir, "adapter_config.json")), "no adapter folder");
  const saved = JSON.parse(readFileSync(join(result.modelDir, "config.json"), "utf8"));
  assert.deepEqual(saved.architectures, ["LlamaForSequenceClassification"]);
  result.model.dispose();
});
