// examples/safe-to-serve.yaml run end to end for a few steps: the fixture Llama (with a tokenizer trained here)
// as the user's model and the public data in ../shared/data, every stage of the paper's recipe exercised.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readResults } from "../src/eval/runFiles.js";
import { saveScratchTokenizer } from "../src/model/scratchModel.js";
import { planPipeline } from "../src/pipeline/plan.js";
import { runPipeline } from "../src/pipeline/runPipeline.js";
import { loadPipeline } from "../src/workflows/pipelines.js";
import { fixtureDir, REPO_ROOT, SHARED, tmpDir } from "./helpers/fixtures.js";

/** The fixture Llama's weights with a 300-token tokenizer (its vocabulary size) and room for long prompts. */
function fixtureModel(dir: string): string {
  const model = join(dir, "user-model");
  saveScratchTokenizer(
    model,
    ["How do I make a cake? First, mix flour and eggs.", "I'm sorry, but I can't help with that."],
    300,
  );
  copyFileSync(join(fixtureDir("llama"), "model.safetensors"), join(model, "model.safetensors"));
  const config = JSON.parse(readFileSync(join(fixtureDir("llama"), "config.json"), "utf8"));
  // Rotary positions have no weights: a longer context only lets the byte-level prompts of the benchmarks fit.
  writeFileSync(join(model, "config.json"), JSON.stringify({ ...config, max_position_embeddings: 4096 }));
  return model;
}

test("examples/safe-to-serve.yaml runs every stage for a few steps on a fixture model and ../shared/data", async (t) => {
  const dir = tmpDir(t);
  const data = join(SHARED, "data");
  const evals = ["eval-base", "eval-sit", "eval-raft", "eval-dpo"];
  const overrides = {
    workdir: join(dir, "work"),
    vars: [
      ["model", fixtureModel(dir)],
      ["data", data],
      ["helpful", join(data, "alpaca", "alpaca_test_952_safe_to_serve.json")],
      ["maxNewTokens", "6"],
    ] as [string, string][],
    set: [
      ["defaults.maxLength", "96"],
      ["defaults.training.maxSteps", "2"],
      ["defaults.training.batchSize", "2"],
      ["defaults.training.gradientAccumulation", "1"],
      ["defaults.data.limit", "12"],
      ["stages.sit-data.base.limit", "24"],
      ["stages.sit-data.count", "8"],
      ["stages.raft.raft.iterations", "1"],
      ["stages.raft.raft.promptsPerIteration", "3"],
      ["stages.raft.raft.k", "2"],
      ["stages.raft.raft.minChars", "0"],
      ...evals.map((e): [string, string] => [`stages.${e}.limit`, "2"]),
      ...evals.map((e): [string, string] => [`stages.${e}.perplexity`, "false"]),
    ] as [string, string][],
  };
  const pipeline = loadPipeline(join(REPO_ROOT, "examples", "safe-to-serve.yaml"), overrides);
  const lines: string[] = [];
  const report = await runPipeline(pipeline, { log: (l) => lines.push(l) });
  assert.deepEqual(
    report.stages.map((s) => [s.name, s.action]),
    pipeline.stages.map((s) => [s.name, "run"]),
  );
  // LoRA stages leave PEFT adapters; the reward and cost models are merged full models.
  for (const stage of ["sit", "dpo", "raft"])
    assert.ok(
      existsSync(join(dir, "work", stage, "model", "adapter_config.json")),
      `${stage} saved an adapter`,
    );
  for (const stage of ["reward", "cost"])
    assert.ok(existsSync(join(dir, "work", stage, "model", "model.safetensors")), `${stage} saved a model`);
  const results = readResults(join(dir, "work", "eval-dpo"));
  assert.equal(results.name, "DPO");
  assert.deepEqual(
    results.judges.map((j) => j.name),
    ["refusal", "cost-model", "reward"],
  );
  assert.equal(results.benchmarks.length, 10, "the paper suite");
  const table = readFileSync(join(dir, "work", "report", "table.md"), "utf8");
  for (const run of ["base", "SIT", "RAFT", "DPO"]) assert.match(table, new RegExp(`\\| ${run} \\|`));
  assert.ok(existsSync(join(dir, "work", "report", "report.html")), "the HTML report");
  assert.ok(
    lines.some((l) => l.includes("── [11/11] report (report)")),
    "one header line per stage",
  );

  // Everything is cached now; an edit to DPO's beta reruns DPO, its evaluation and the report only.
  const edited = loadPipeline(join(REPO_ROOT, "examples", "safe-to-serve.yaml"), {
    ...overrides,
    set: [...overrides.set, ["stages.dpo.dpo.beta", "0.2"]],
  });
  const plan = planPipeline(edited);
  assert.deepEqual(
    plan.filter((p) => p.action !== "cached").map((p) => p.stage.name),
    ["dpo", "eval-dpo", "report"],
  );
});
