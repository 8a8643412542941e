// The run config's names: strict keys at every level with "did you mean", TRL/HF/PEFT names from one table,
// flat TRL-style configs, flag spellings. The trainers themselves are run in trainCommands.test.ts.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { canonicalArgv } from "../src/cli/args.js";
import { trainerFlags } from "../src/cli/commands/train.js";
import { canonicalPath, normalizeConfig } from "../src/train/normalizeConfig.js";
import { configNames, OPTION_NAMES } from "../src/train/optionNames.js";
import {
  DpoConfigSchema,
  RaftConfigSchema,
  RewardConfigSchema,
  resolveConfig,
  SftConfigSchema,
} from "../src/train/runConfig.js";
import { ConfigError } from "../src/util/configError.js";
import { closestName, editDistance } from "../src/util/suggest.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-confignames-");
process.on("exit", cleanup);
const SCHEMAS = {
  sft: SftConfigSchema,
  dpo: DpoConfigSchema,
  reward: RewardConfigSchema,
  raft: RaftConfigSchema,
};

let files = 0;
function yamlFile(text: string): string {
  const path = join(ROOT, `run-${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(!err.message.includes("\n"), err.message);
    return err.message;
  }
  assert.fail("expected a ConfigError");
}

const BASE = "model: m\nout: o\ndata: {train: d.jsonl}\n";

test("edit distance and the nearest name", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(closestName("learning_rat", ["lr", "learning_rate", "seed"]), "learning_rate");
  assert.equal(closestName("batchsize", ["batchSize", "epochs"]), "batchSize");
  assert.equal(closestName("gradient_checkpointing", ["lr", "seed", "epochs"]), undefined);
});

test("a misspelled key fails at every level, naming the path and the nearest name", () => {
  // [file text, the line the problem is on, the message]
  const cases: [string, number, string][] = [
    [
      `${BASE}training:\n  seed: 1\n  learning_rat: 1.0e-4\n`,
      6,
      "training.learning_rat: unknown key; did you mean learning_rate?",
    ],
    [`${BASE}training: {batchSise: 2}\n`, 4, "training.batchSise: unknown key; did you mean batchSize?"],
    [
      `${BASE}lora: {target_module: [q_proj]}\n`,
      4,
      "lora.target_module: unknown key; did you mean target_modules?",
    ],
    [`${BASE}data2: {}\n`, 4, "data2: unknown key; did you mean data?"],
    [`${BASE}lerning_rate: 1.0e-4\n`, 4, "lerning_rate: unknown key; did you mean learning_rate?"],
    [
      "model: m\nout: o\ndata:\n  train: d.jsonl\n  evl: e.jsonl\n",
      5,
      "data.evl: unknown key; did you mean eval?",
    ],
    [`${BASE}\n\nlearning_rate: -1\n`, 6, "training.lr (learning_rate): Too small: expected number to be >0"],
    [
      `${BASE}lora:\n  rank_pattern: {q_proj: 0.5}\n`,
      5,
      "lora.rankPattern.q_proj: Invalid input: expected int, received number",
    ],
  ];
  for (const [text, line, message] of cases) {
    const file = yamlFile(text);
    assert.equal(
      configError(() => resolveConfig(SftConfigSchema, file, [])),
      `${file}:${line}: ${message}`,
    );
  }
  const dpo = yamlFile(`${BASE}dpo: {betta: 0.2}\n`);
  assert.match(
    configError(() => resolveConfig(DpoConfigSchema, dpo, [])),
    /dpo\.betta: unknown key; did you mean beta\?$/,
  );
  const far = yamlFile(`${BASE}push_to_hub: true\n`);
  assert.match(
    configError(() => resolveConfig(SftConfigSchema, far, [])),
    /push_to_hub: unknown key \(known: model, out, data/,
  );
  // --set reaches the same check
  assert.match(
    configError(() =>
      resolveConfig(SftConfigSchema, undefined, [
        ["model", "m"],
        ["out", "o"],
        ["data.train", "d"],
        ["training.bogus", 1],
      ]),
    ),
    /^config: training\.bogus: unknown key/,
  );
});

test("the issue's silent cases: nested TRL/PEFT names are honoured, not dropped", () => {
  const file = yamlFile(
    `${BASE}training: {learning_rate: 1.0e-4}\nlora: {target_modules: [q_proj], lora_dropout: 0.1}\n`,
  );
  const config = resolveConfig(SftConfigSchema, file, []);
  assert.equal(config.training.lr, 1e-4);
  assert.ok(config.lora);
  assert.deepEqual(config.lora.targetModules, ["q_proj"]);
  assert.equal(config.lora.dropout, 0.1);
});

test("a flat TRL-style YAML resolves to safetune's canonical config", () => {
  const trl = {
    model_name_or_path: "base",
    output_dir: "runs/x",
    dataset_name: "train.jsonl",
    learning_rate: 2.0e-4,
    per_device_train_batch_size: 2,
    gradient_accumulation_steps: 3,
    num_train_epochs: 2,
    max_steps: 7,
    lr_scheduler_type: "constant_with_warmup",
    warmup_ratio: 0.1,
    weight_decay: 0.01,
    adam_beta2: 0.95,
    max_grad_norm: 0.5,
    logging_steps: 5,
    save_steps: 9,
    save_total_limit: 1,
    eval_steps: 4,
    seed: 42,
    max_length: 64,
    use_peft: true,
    lora_r: 4,
    lora_alpha: 8,
    lora_dropout: 0.05,
    lora_target_modules: ["q_proj", "v_proj"],
    packing: true,
    report_to: "none",
  };
  const file = yamlFile(
    Object.entries(trl)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join("\n"),
  );
  const c = resolveConfig(SftConfigSchema, file, []);
  assert.equal(c.model, trl.model_name_or_path);
  assert.equal(c.out, trl.output_dir);
  assert.equal(c.data.train, trl.dataset_name);
  assert.equal(c.maxLength, trl.max_length);
  assert.equal(c.packing, true);
  const t = c.training;
  assert.deepEqual(
    [
      t.lr,
      t.batchSize,
      t.gradientAccumulation,
      t.epochs,
      t.maxSteps,
      t.schedule,
      t.warmupRatio,
      t.weightDecay,
    ],
    [
      trl.learning_rate,
      trl.per_device_train_batch_size,
      trl.gradient_accumulation_steps,
      trl.num_train_epochs,
      trl.max_steps,
      "constant",
      trl.warmup_ratio,
      trl.weight_decay,
    ],
  );
  assert.deepEqual(
    [t.beta2, t.maxGradNorm, t.logEvery, t.saveEvery, t.keepCheckpoints, t.evalEvery, t.seed, t.reportTo],
    [
      trl.adam_beta2,
      trl.max_grad_norm,
      trl.logging_steps,
      trl.save_steps,
      trl.save_total_limit,
      trl.eval_steps,
      trl.seed,
      "none",
    ],
  );
  assert.deepEqual(c.lora && [c.lora.r, c.lora.alpha, c.lora.dropout, c.lora.targetModules], [
    4,
    8,
    0.05,
    ["q_proj", "v_proj"],
  ]);
  // DPO and reward options by TRL's names
  const dpo = yamlFile(`${BASE}beta: 0.3\nloss_type: ipo\nlabel_smoothing: 0.1\nrpo_alpha: 0.5\n`);
  const d = resolveConfig(DpoConfigSchema, dpo, []).dpo;
  assert.deepEqual([d.beta, d.loss, d.labelSmoothing, d.sftWeight], [0.3, "ipo", 0.1, 0.5]);
  const reward = yamlFile(`${BASE}center_rewards_coefficient: 0.01\n`);
  assert.equal(resolveConfig(RewardConfigSchema, reward, []).reward.centre, 0.01);
  // beta belongs to DPO: an SFT config does not take it silently
  assert.match(
    configError(() => resolveConfig(SftConfigSchema, dpo, [])),
    /: beta: unknown key/,
  );
});

test("contradictions and values out of range name the option as it was written", () => {
  const twice = yamlFile(`${BASE}learning_rate: 1\ntraining: {lr: 2}\n`);
  assert.match(
    configError(() => resolveConfig(SftConfigSchema, twice, [])),
    /training\.lr is set twice \(as learning_rate and as training\.lr\)/,
  );
  const off = yamlFile(`${BASE}use_peft: false\nlora_r: 4\n`);
  assert.match(
    configError(() => resolveConfig(SftConfigSchema, off, [])),
    /use_peft is false, but lora_r is set/,
  );
  const negative = yamlFile(`${BASE}learning_rate: -1\n`);
  assert.match(
    configError(() => resolveConfig(SftConfigSchema, negative, [])),
    /training\.lr \(learning_rate\): Too small/,
  );
  const missing = yamlFile("output_dir: o\ndataset_name: d\n");
  assert.match(
    configError(() => resolveConfig(SftConfigSchema, missing, [])),
    /: model: required, not set \(or model_name_or_path\)$/,
  );
  const report = yamlFile(`${BASE}report_to: wandb\n`);
  assert.match(
    configError(() => resolveConfig(SftConfigSchema, report, [])),
    /training\.reportTo \(report_to\): "tensorboard" or "none"/,
  );
});

test("flags override the file whatever either spells; the lora switch keeps settings it is given", () => {
  const file = yamlFile(`${BASE}learning_rate: 1.0e-4\nlora: false\n`);
  const c = resolveConfig(SftConfigSchema, file, [
    ["training.lr", 3e-4],
    ["lora", true],
    ["lora.target_modules", ["k_proj"]],
    ["adam_beta1", 0.8],
  ]);
  assert.equal(c.training.lr, 3e-4);
  assert.equal(c.training.beta1, 0.8);
  assert.deepEqual(c.lora ? c.lora.targetModules : undefined, ["k_proj"]);
  assert.equal(canonicalPath("learning_rate", SftConfigSchema), "training.lr");
  assert.equal(canonicalPath("training.learning_rate", SftConfigSchema), "training.lr");
  assert.equal(canonicalPath("lora.lora_alpha", SftConfigSchema), "lora.alpha");
  assert.equal(canonicalPath("training.bogus", SftConfigSchema), "training.bogus");
  assert.equal(canonicalPath("lora.rank_pattern.q_proj", SftConfigSchema), "lora.rankPattern.q_proj");
  const normalized = normalizeConfig({ Training: { BatchSize: 2 }, outputDir: "o" }, SftConfigSchema, "x");
  assert.deepEqual(normalized.config, { training: { batchSize: 2 }, out: "o" });
});

test("the names table: every entry is an option of some trainer, no name means two options", () => {
  const paths = new Set(Object.values(SCHEMAS).flatMap((s) => configNames(s).fields.map((f) => f.path)));
  for (const path of Object.keys(OPTION_NAMES)) assert.ok(paths.has(path), `${path} is no trainer's option`);
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const names = configNames(schema);
    // configNames throws on a name claimed twice; every field has a flag of its own
    assert.equal(new Set(names.fields.map((f) => f.flag)).size, names.fields.length, name);
  }
});

test("flag spellings: - or _, aliases, lone switches, list values", () => {
  const { forms, spec } = trainerFlags(SftConfigSchema);
  assert.deepEqual(
    canonicalArgv(
      [
        "--learning_rate",
        "1e-4",
        "--per_device_train_batch_size=2",
        "--use_peft",
        "--packing",
        "false",
        "--lora_target_modules",
        "q_proj",
        "v_proj",
        "--lr_scheduler_type",
        "linear",
        "--",
        "--learning_rate",
      ],
      forms,
    ),
    [
      "--lr",
      "1e-4",
      "--batch-size=2",
      "--lora",
      "true",
      "--packing",
      "false",
      "--lora-target-modules",
      "q_proj",
      "--lora-target-modules",
      "v_proj",
      "--schedule",
      "linear",
      "--",
      "--learning_rate",
    ],
  );
  assert.equal(spec["lora-target-modules"]?.multiple, true);
  assert.equal(spec.lr?.type, "string");
});

test("docs/training.md's table names every other tool's name the table in optionNames.ts accepts", () => {
  const docs = readFileSync(join(REPO_ROOT, "docs", "training.md"), "utf8");
  for (const [path, entry] of Object.entries(OPTION_NAMES))
    for (const name of entry.names ?? [])
      assert.ok(docs.includes(`\`${name}\``), `${name} (${path}) is not in docs/training.md`);
});

test("the configs shown in docs/training.md resolve as they are written", () => {
  const docs = readFileSync(join(REPO_ROOT, "docs", "training.md"), "utf8");
  const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const dpo = blocks.find((b) => b.includes("dpo:"));
  const trl = blocks.find((b) => b.includes("model_name_or_path"));
  assert.ok(dpo && trl);
  const d = resolveConfig(DpoConfigSchema, yamlFile(dpo), []);
  assert.deepEqual(
    [d.dpo.beta, d.training.gradientAccumulation, d.lora ? d.lora.alpha : undefined],
    [0.1, 4, 32],
  );
  const t = resolveConfig(SftConfigSchema, yamlFile(trl), []);
  assert.deepEqual(
    [t.training.lr, t.training.warmupRatio, t.maxLength, t.lora ? t.lora.r : undefined],
    [2e-5, 0.03, 1024, 16],
  );
});

test("TRL's bf16 / fp16 switches choose the dtype; false leaves it; a clash or a non-boolean is an error", () => {
  const dtypeOf = (text: string) =>
    resolveConfig(DpoConfigSchema, yamlFile(`${BASE}use_peft: true\n${text}`), []).dtype;
  assert.equal(dtypeOf("bf16: true\n"), "bfloat16");
  assert.equal(dtypeOf("fp16: true\n"), "float16");
  assert.equal(dtypeOf("bf16: false\n"), "float32");
  assert.equal(dtypeOf("bf16: false\ntorch_dtype: float16\n"), "float16");
  assert.match(
    configError(() => dtypeOf("bf16: true\nfp16: true\n")),
    /dtype is set twice \(as bf16 and as fp16\)/,
  );
  assert.match(
    configError(() => dtypeOf("bf16: true\ntorch_dtype: float32\n")),
    /dtype is set twice \(as bf16 and as torch_dtype\)/,
  );
  assert.match(
    configError(() => dtypeOf("fp16: yes please\n")),
    /fp16: expected true or false, got "yes please"/,
  );
  // The same switch under every trainer that has a dtype.
  for (const schema of Object.values(SCHEMAS))
    assert.equal(
      normalizeConfig({ bf16: true }, schema, "x").config.dtype,
      configNames(schema).fields.some((f) => f.path === "dtype") ? "bfloat16" : undefined,
    );
});
