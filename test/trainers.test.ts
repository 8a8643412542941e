import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { generate } from "../src/generate/generate.js";
import { loadModel } from "../src/model/loadModel.js";
import { loadAdapter } from "../src/model/loraFiles.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { loadTokenizer } from "../src/tokenize/tokenizer.js";
import { DpoConfigSchema, SftConfigSchema } from "../src/train/runConfig.js";
import { runDpo } from "../src/train/runDpo.js";
import { runSft } from "../src/train/runSft.js";
import { SHARED, tmpDirWithCleanup } from "./helpers/fixtures.js";
import { HARMFUL_TOPICS } from "./helpers/safetyTopics.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-trainers-");
process.on("exit", cleanup);
const BASE = join(ROOT, "base");

const HARMFUL = HARMFUL_TOPICS;
const HELD_OUT = ["rob a bank", "fake an id", "spread malware", "threaten a neighbour"];
const REFUSAL = "I can't help with that, because it could hurt people. I can suggest a safe alternative.";
const COMPLIANCE = "Sure, here is how to do it. First, get the tools. Then do it quickly.";
/** COMPLIANCE cut short: fewer tokens than REFUSAL, so the untrained model finds it likelier. */
const SHORT_COMPLIANCE = "Sure, here is how to do it. First, get the tools.";

function pairs(topics: string[], rejected: (i: number) => string = () => COMPLIANCE) {
  return topics
    .map((t, i) => JSON.stringify({ prompt: `How do I ${t}?`, chosen: REFUSAL, rejected: rejected(i) }))
    .join("\n");
}

before(() => {
  createScratchModel(BASE, { vocabSize: 600, seed: 0 }).dispose();
  writeFileSync(join(ROOT, "pairs.jsonl"), pairs(HARMFUL));
  writeFileSync(join(ROOT, "heldout.jsonl"), pairs(HELD_OUT));
  // Half the held-out pairs reject a short compliance that the untrained model finds likelier than the refusal
  // (measured: reference preference accuracy 0.5), so preference accuracy has room to rise.
  writeFileSync(
    join(ROOT, "heldout-contrast.jsonl"),
    pairs(HELD_OUT, (i) => (i % 2 ? SHORT_COMPLIANCE : COMPLIANCE)),
  );
  const chats = [
    ["What is the capital of France?", "The capital of France is Paris."],
    ["How do I pick a lock?", "I can't help with that. A locksmith can help you legally."],
    ["Add 2 and 3.", "2 plus 3 is 5."],
  ];
  writeFileSync(
    join(ROOT, "chat.jsonl"),
    chats
      .map(([q, a]) =>
        JSON.stringify({
          messages: [
            { role: "user", content: q },
            { role: "assistant", content: a },
          ],
        }),
      )
      .join("\n"),
  );
});

const training = (overrides: Record<string, unknown> = {}) => ({
  saveEvery: 0,
  logEvery: 1000,
  warmupSteps: 0,
  ...overrides,
});

test("SFT: the loss falls and the model reproduces a trained answer greedily; the run leaves a loadable folder", async () => {
  const out = join(ROOT, "sft");
  const config = SftConfigSchema.parse({
    model: BASE,
    out,
    data: { train: join(ROOT, "chat.jsonl") },
    maxLength: 64,
    training: training({ epochs: 40, batchSize: 3, lr: 3e-3 }),
  });
  const result = await runSft(config);
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.ok(metrics[metrics.length - 1].loss < metrics[0].loss / 4, "loss falls");
  const answer = await generate(result.model, result.tokenizer, "How do I pick a lock?", {
    chat: true,
    maxNewTokens: 30,
  });
  assert.equal(answer.text, "I can't help with that. A locksmith can help you legally.");
  assert.equal(answer.finishReason, "stop");
  result.model.dispose();
  // The saved folder loads back and answers the same; it carries the tokenizer, config and model card.
  for (const f of [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "README.md",
    "metrics.jsonl",
    "training_config.yaml",
  ]) {
    assert.ok(existsSync(join(result.modelDir, f)), f);
  }
  const reloaded = loadModel(result.modelDir);
  const again = await generate(reloaded, await loadTokenizer(result.modelDir), "How do I pick a lock?", {
    chat: true,
    maxNewTokens: 30,
  });
  assert.equal(again.text, answer.text);
  reloaded.dispose();
  assert.match(readFileSync(join(result.modelDir, "README.md"), "utf8"), /# SFT of .*\n[\s\S]*3 examples/);
});

test("DPO (sigmoid): held-out preference accuracy and margin rise above the reference's; reference log-probs are cached", async (t) => {
  const out = join(ROOT, "dpo");
  const config = DpoConfigSchema.parse({
    model: BASE,
    out,
    data: { train: join(ROOT, "pairs.jsonl"), eval: join(ROOT, "heldout-contrast.jsonl") },
    maxLength: 64,
    training: training({ epochs: 6, batchSize: 4, lr: 2e-3 }),
    dpo: { loss: "sigmoid", beta: 0.1 },
  });
  const result = await runDpo(config);
  const e = result.summary.eval;
  t.diagnostic(`held-out: ${JSON.stringify(e)}`);
  assert.ok((e.logp_margin ?? 0) > (e.reference_logp_margin ?? 0) + 1, JSON.stringify(e));
  // The reference must leave room to rise (else "rises above" could not fail), and the trained model must rise.
  assert.ok(
    (e.reference_preference_accuracy ?? 1) < 1,
    `reference already prefers every chosen answer: ${JSON.stringify(e)}`,
  );
  assert.ok((e.preference_accuracy ?? 0) > (e.reference_preference_accuracy ?? 1), JSON.stringify(e));
  assert.equal(e.reward_accuracy, 1);
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  for (const key of [
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracy",
    "logps/chosen",
    "logps/rejected",
  ]) {
    assert.equal(typeof metrics[0][key], "number", key);
  }
  assert.equal(result.referenceCached, false);
  assert.equal(readdirSync(join(out, "cache")).filter((f) => f.startsWith("reference-logps-")).length, 2);
  result.model.dispose();
  // A second run over the same model and data reads the cache.
  const rerun = await runDpo({
    ...config,
    out: join(ROOT, "dpo-rerun"),
    dpo: { ...config.dpo, referenceCache: join(out, "cache") },
    training: { ...config.training, maxSteps: 1 },
  });
  assert.equal(rerun.referenceCached, true);
  rerun.model.dispose();
});

for (const loss of ["ipo", "hinge", "robust", "simpo"] as const) {
  test(`DPO loss '${loss}' trains: the held-out log-prob margin grows`, async () => {
    const config = DpoConfigSchema.parse({
      model: BASE,
      out: join(ROOT, `dpo-${loss}`),
      data: { train: join(ROOT, "pairs.jsonl"), eval: join(ROOT, "heldout.jsonl") },
      maxLength: 64,
      training: training({ epochs: 3, batchSize: 4, lr: 2e-3 }),
      dpo: { loss, beta: 0.1, labelSmoothing: loss === "robust" ? 0.1 : 0 },
    });
    const result = await runDpo(config);
    const e = result.summary.eval;
    assert.ok((e.logp_margin ?? 0) > (e.reference_logp_margin ?? 0), `${loss}: ${JSON.stringify(e)}`);
    result.model.dispose();
  });
}

test("DPO with LoRA: the reference is the base (adapter off); the run leaves a PEFT adapter", async () => {
  const config = DpoConfigSchema.parse({
    model: BASE,
    out: join(ROOT, "dpo-lora"),
    data: { train: join(ROOT, "pairs.jsonl"), eval: join(ROOT, "heldout.jsonl") },
    maxLength: 64,
    lora: { r: 8, alpha: 32, targetModules: ["q_proj", "k_proj", "v_proj"] },
    training: training({ epochs: 6, batchSize: 4, lr: 5e-3 }),
    dpo: { sftWeight: 0.1 },
  });
  const result = await runDpo(config);
  assert.ok((result.summary.eval.logp_margin ?? 0) > (result.summary.eval.reference_logp_margin ?? 0));
  const base = loadModel(BASE);
  const adapter = loadAdapter(result.modelDir, base);
  assert.equal(adapter.modules.size, 12, "q/k/v in 4 layers");
  assert.ok(existsSync(join(result.modelDir, "tokenizer.json")));
  adapter.dispose();
  base.dispose();
  result.model.dispose();
});

test("runs on real data through the built-in mappings: SFT on the Safety-Tuned LLaMAs demonstrations, DPO on PKU-SafeRLHF", async () => {
  const sft = await runSft(
    SftConfigSchema.parse({
      model: BASE,
      out: join(ROOT, "real-sft"),
      data: {
        train: join(SHARED, "data/safety-tuned-llamas/training/safety_only_data_Instructions.json"),
        limit: 16,
      },
      maxLength: 96,
      training: training({ maxSteps: 3, batchSize: 4, lr: 1e-3 }),
    }),
  );
  assert.equal(sft.examples, 16);
  assert.equal(sft.summary.steps, 3);
  sft.model.dispose();
  const dpo = await runDpo(
    DpoConfigSchema.parse({
      model: BASE,
      out: join(ROOT, "real-dpo"),
      data: {
        train: join(SHARED, "data/pku-saferlhf/DPO_safe_rlhf_test_data.jsonl"),
        mapping: "pku-dpo",
        limit: 8,
      },
      maxLength: 96,
      training: training({ maxSteps: 2, batchSize: 4, lr: 1e-4 }),
    }),
  );
  assert.equal(dpo.pairs, 8);
  assert.ok(Number.isFinite(dpo.summary.final.loss));
  dpo.model.dispose();
});

test("SFT with packing: short examples share rows, and the model still learns its answers", async () => {
  const result = await runSft(
    SftConfigSchema.parse({
      model: BASE,
      out: join(ROOT, "sft-packed"),
      data: { train: join(ROOT, "chat.jsonl") },
      maxLength: 96,
      packing: true,
      training: training({ epochs: 60, batchSize: 1, lr: 3e-3 }),
    }),
  );
  assert.equal(result.examples, 3);
  assert.ok(result.rows < 3, `3 examples packed into ${result.rows} rows`);
  const answer = await generate(result.model, result.tokenizer, "Add 2 and 3.", {
    chat: true,
    maxNewTokens: 20,
  });
  assert.equal(answer.text, "2 plus 3 is 5.");
  result.model.dispose();
});
