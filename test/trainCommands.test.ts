import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { createScratchModel } from "../src/model/scratchModel.js";
import { tokenizeText } from "../src/tokenize/textExample.js";
import { loadTokenizer } from "../src/tokenize/tokenizer.js";
import { cliSync, numberedChatJsonl } from "./helpers/cliSync.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const _BIN = join(REPO_ROOT, "bin", "safetune.js");
const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-traincli-");
process.on("exit", cleanup);
const BASE = join(ROOT, "base");
const DATA = join(ROOT, "chat.jsonl");

const cli = cliSync;

before(() => {
  createScratchModel(BASE, { vocabSize: 500, seed: 0 }).dispose();
  writeFileSync(DATA, numberedChatJsonl());
});

test("sft reads --config YAML, lets flags override it, and saves the resolved config", () => {
  const out = join(ROOT, "sft");
  const config = join(ROOT, "run.yaml");
  writeFileSync(
    config,
    `model: ${BASE}\nout: ${out}\ndata:\n  train: ${DATA}\nmaxLength: 48\ntraining:\n  epochs: 1\n  batchSize: 4\n  lr: 0.001\n`,
  );
  const r = cli(["sft", "--config", config, "--lr", "0.002", "--set", "training.beta2=0.95"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sft: 3 steps; model written to .*sft\/model/);
  const resolved = parseYaml(readFileSync(join(out, "config.yaml"), "utf8"));
  assert.equal(resolved.training.lr, 0.002);
  assert.equal(resolved.training.beta2, 0.95);
  assert.equal(resolved.training.batchSize, 4);
  assert.ok(existsSync(join(out, "model", "model.safetensors")));
});

test("bad configs and data: one line naming the field or the row", () => {
  const bad = (args: string[], pattern: RegExp) => {
    const r = cli(args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.split("\n").length, 1, r.stderr);
  };
  bad(["sft", "--model", BASE, "--data", DATA], /config: out: /);
  bad(
    ["sft", "--model", BASE, "--out", join(ROOT, "x"), "--data", DATA, "--schedule", "sideways"],
    /training\.schedule: /,
  );
  bad(
    ["sft", "--model", BASE, "--out", join(ROOT, "x"), "--data", DATA, "--set", "training.bogus"],
    /--set: expected PATH=VALUE/,
  );
  bad(
    ["dpo", "--model", BASE, "--out", join(ROOT, "x"), "--data", DATA],
    /chat\.jsonl:1: a chat record cannot be used as preference data/,
  );
  bad(["sft", "--config", join(ROOT, "missing.yaml")], /missing\.yaml: config file not found/);
});

/** metrics.jsonl's step lines. */
function stepMetrics(out: string): Record<string, number>[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number>)
    .filter((r) => r.lr !== undefined);
}

test("TRL-style flags train with every setting honoured: resolved config, optimizer lr, fractional epochs, adapter", () => {
  const out = join(ROOT, "trl-flags");
  const r = cli([
    "sft",
    "--model_name_or_path",
    BASE,
    "--output_dir",
    out,
    "--dataset_name",
    DATA,
    "--learning_rate",
    "0.003",
    "--per_device_train_batch_size",
    "3",
    "--gradient_accumulation_steps",
    "2",
    "--num_train_epochs",
    "2",
    "--lr_scheduler_type",
    "constant",
    "--logging_steps",
    "1",
    "--save_steps",
    "0",
    "--save_total_limit",
    "1",
    "--max_length",
    "48",
    "--weight-decay",
    "0.01",
    "--use_peft",
    "--lora_r",
    "4",
    "--lora_alpha",
    "8",
    "--lora_dropout",
    "0.1",
    "--lora_target_modules",
    "q_proj",
    "v_proj",
    "--report_to",
    "none",
    "--lora_alpha_pattern",
    "{v_proj: 16}",
  ]);
  assert.equal(r.code, 0, r.stderr);
  // 12 examples / (3 × 2) = 2 steps an epoch, 2 epochs
  assert.match(r.stdout, /sft: 4 steps; model written to/);
  const resolved = parseYaml(readFileSync(join(out, "config.yaml"), "utf8"));
  assert.deepEqual(
    { model: resolved.model, out: resolved.out, train: resolved.data.train, maxLength: resolved.maxLength },
    { model: BASE, out, train: DATA, maxLength: 48 },
  );
  const t = resolved.training;
  assert.deepEqual(
    [
      t.lr,
      t.batchSize,
      t.gradientAccumulation,
      t.epochs,
      t.schedule,
      t.logEvery,
      t.saveEvery,
      t.keepCheckpoints,
      t.weightDecay,
    ],
    [0.003, 3, 2, 2, "constant", 1, 0, 1, 0.01],
  );
  assert.deepEqual(resolved.lora, {
    r: 4,
    alpha: 8,
    dropout: 0.1,
    targetModules: ["q_proj", "v_proj"],
    rslora: false,
    alphaPattern: { v_proj: 16 },
  });
  assert.equal(
    Object.keys(resolved).some((k) => k.includes("_")),
    false,
    "saved in canonical form",
  );
  const steps = stepMetrics(out);
  assert.deepEqual(
    steps.map((s) => s.lr),
    [0.003, 0.003, 0.003, 0.003],
    "the optimizer's learning rate",
  );
  assert.deepEqual(
    steps.map((s) => s.epoch),
    [0.5, 1, 1.5, 2],
  );
  const adapter = JSON.parse(readFileSync(join(out, "model", "adapter_config.json"), "utf8"));
  assert.deepEqual(
    [adapter.r, adapter.lora_alpha, adapter.lora_dropout, adapter.target_modules, adapter.alpha_pattern],
    [4, 8, 0.1, ["q_proj", "v_proj"], { v_proj: 16 }],
  );
});

test("a flat TRL-style YAML trains as written; a flag in either spelling overrides it", () => {
  const out = join(ROOT, "trl-yaml");
  const config = join(ROOT, "trl.yaml");
  writeFileSync(
    config,
    [
      `model_name_or_path: ${BASE}`,
      `output_dir: ${out}`,
      `dataset_name: ${DATA}`,
      "learning_rate: 1.0e-3",
      "per_device_train_batch_size: 4",
      "max_steps: 4",
      "lr_scheduler_type: constant_with_warmup",
      "warmup_steps: 2",
      "save_steps: 0",
      "max_length: 48",
      "seed: 7",
    ].join("\n"),
  );
  const r = cli(["sft", "--config", config, "--learning-rate", "0.002"]);
  assert.equal(r.code, 0, r.stderr);
  const resolved = parseYaml(readFileSync(join(out, "config.yaml"), "utf8"));
  assert.deepEqual(
    [resolved.training.lr, resolved.training.maxSteps, resolved.training.warmupSteps, resolved.training.seed],
    [0.002, 4, 2, 7],
  );
  // linear warm-up over 2 steps from 0, then constant
  assert.deepEqual(
    stepMetrics(out).map((s) => s.lr),
    [0, 0.001, 0.002, 0.002],
  );
});

test("a misspelled nested key or flag fails with one line naming it and the nearest name", () => {
  const config = join(ROOT, "typo.yaml");
  writeFileSync(
    config,
    `model: ${BASE}\nout: ${join(ROOT, "typo")}\ndata: {train: ${DATA}}\ntraining:\n  learning_rat: 1.0e-4\n`,
  );
  const r = cli(["sft", "--config", config]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `safetune: ${config}:5: training.learning_rat: unknown key; did you mean learning_rate?`,
  );
  const flag = cli(["sft", "--config", config, "--learning_rat", "1e-4"]);
  assert.equal(flag.code, 1);
  assert.match(
    flag.stderr,
    /^safetune: sft: unknown option --learning-rat; did you mean --learning-rate\? \(see safetune sft --help\)$/,
  );
});

test("--version prints the package's version", () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  const r = cli(["--version"]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), `safetune ${pkg.version}`);
});

test("prompt/completion and text records train without a mapping; text records train every token", async () => {
  const pc = join(ROOT, "pc.jsonl");
  writeFileSync(
    pc,
    Array.from({ length: 4 }, (_, i) => JSON.stringify({ prompt: `Say ${i}.`, completion: `${i}.` })).join(
      "\n",
    ),
  );
  const text = join(ROOT, "text.jsonl");
  writeFileSync(
    text,
    Array.from({ length: 4 }, (_, i) =>
      JSON.stringify({ text: `Document number ${i} is plain prose.` }),
    ).join("\n"),
  );
  for (const [name, data] of [
    ["pc", pc],
    ["text", text],
  ] as const) {
    const out = join(ROOT, `data-${name}`);
    const r = cli([
      "sft",
      "--model",
      BASE,
      "--out",
      out,
      "--data",
      data,
      "--batch-size",
      "2",
      "--max-length",
      "48",
      "--save-every",
      "0",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sft: 2 steps; model written to/);
  }
  const tokenizer = await loadTokenizer(BASE);
  const example = tokenizeText(
    tokenizer,
    { kind: "text", text: "Document number 1 is plain prose." },
    { maxLength: 48 },
  );
  assert.deepEqual(example.labels, example.inputIds);
  assert.equal(example.inputIds.at(-1), tokenizer.eosTokenId);
  assert.deepEqual(example.inputIds.slice(0, -1), tokenizer.encode("Document number 1 is plain prose."));
  const cut = tokenizeText(
    tokenizer,
    { kind: "text", text: "Document number 1 is plain prose." },
    { maxLength: 3 },
  );
  assert.deepEqual(cut.inputIds, example.inputIds.slice(0, 3));
  assert.equal(cut.truncatedTokens, example.inputIds.length - 3);
});

test("--resume may extend --max-steps: the run continues from its checkpoint to the new end", () => {
  const out = join(ROOT, "extend");
  const common = [
    "sft",
    "--model",
    BASE,
    "--out",
    out,
    "--data",
    DATA,
    "--batch-size",
    "4",
    "--max-length",
    "48",
    "--save_steps",
    "1",
  ];
  const first = cli([...common, "--max_steps", "2"]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /sft: 2 steps;/);
  const longer = cli([...common, "--max_steps", "4", "--resume"]);
  assert.equal(longer.code, 0, longer.stderr);
  assert.match(longer.stdout, /sft: 4 steps;/);
  assert.deepEqual(
    stepMetrics(out).map((s) => s.step),
    [1, 2, 3, 4],
    "steps 3 and 4 added, 1 and 2 not redone",
  );
  // what the checkpoint computes must still match: another learning rate is refused
  const other = cli([...common, "--max_steps", "5", "--resume", "--lr", "0.5"]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /--resume: .* was written by another config/);
});
