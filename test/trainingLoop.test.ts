import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { crossEntropy, liveTensors, tensor } from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { latestCheckpoint } from "../src/train/checkpoints.js";
import { learningRate } from "../src/train/schedule.js";
import {
  epochOrder,
  type LoopOptions,
  runTrainingLoop,
  TrainingError,
  TrainingInterrupted,
  type TrainingTask,
} from "../src/train/trainingLoop.js";
import { tmpDir } from "./helpers/fixtures.js";

const CONFIG = {
  model_type: "llama",
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
};

/** Sequences "k, k+1, ..., k+7" for k = 0..31: learnable next-token prediction. */
function countingTask(
  model: TransformerModel,
  options: { failAtCall?: number; nanAtCall?: number } = {},
): TrainingTask {
  let calls = 0;
  return {
    size: 32,
    step(indices) {
      calls++;
      if (calls === options.failAtCall) throw new Error("simulated crash");
      const rows = indices.map((k) => Array.from({ length: 8 }, (_, i) => (k + i) % 64));
      const ids = tensor(rows.flat(), [rows.length, 8], { dtype: "int64" });
      const logits = model.forward(ids.narrow(1, 0, 7));
      let loss = crossEntropy(logits.reshape(-1, 64), ids.narrow(1, 1, 7).reshape(-1));
      if (calls === options.nanAtCall) loss = loss.mul(Number.NaN);
      return { loss, tokens: rows.length * 8 };
    },
  };
}

function options(outDir: string, overrides: Partial<LoopOptions> = {}): LoopOptions {
  return {
    outDir,
    seed: 7,
    epochs: 3,
    batchSize: 4,
    gradientAccumulation: 2,
    lr: 3e-3,
    weightDecay: 0.01,
    beta1: 0.9,
    beta2: 0.999,
    schedule: "cosine",
    warmupRatio: 0.1,
    warmupSteps: 0,
    maxGradNorm: 1,
    evalEvery: 0,
    saveEvery: 0,
    keepCheckpoints: 2,
    logEvery: 100,
    ...overrides,
  };
}

const weights = (m: TransformerModel) => [...m.params.values()].map((t) => t.toBytes());

test("learning-rate schedules: warm-up from 0, cosine and linear decay, constant", () => {
  const o = { lr: 1, warmupSteps: 10, totalSteps: 110 };
  assert.equal(learningRate(0, { ...o, kind: "cosine" }), 0);
  assert.equal(learningRate(5, { ...o, kind: "cosine" }), 0.5);
  assert.equal(learningRate(10, { ...o, kind: "cosine" }), 1);
  assert.ok(Math.abs(learningRate(60, { ...o, kind: "cosine" }) - 0.5) < 1e-12);
  assert.ok(Math.abs(learningRate(60, { ...o, kind: "linear" }) - 0.5) < 1e-12);
  assert.equal(learningRate(110, { ...o, kind: "linear" }), 0);
  assert.equal(learningRate(80, { ...o, kind: "constant" }), 1);
  assert.ok(Math.abs(learningRate(110, { ...o, kind: "cosine", minRatio: 0.1 }) - 0.1) < 1e-12);
});

test("epoch order is a seeded permutation, different per epoch", () => {
  const a = epochOrder(20, 1, 0);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(epochOrder(20, 1, 0), a);
  assert.notDeepEqual(epochOrder(20, 1, 1), a);
});

test("the loop trains: loss falls; metrics.jsonl has a line per step", async (t) => {
  const dir = tmpDir(t);
  const model = createModel(CONFIG, { seed: 1 });
  const trainable = [...model.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  const summary = await runTrainingLoop(trainable, countingTask(model), options(dir, { epochs: 6 }), {
    configHash: "a",
    resume: false,
    label: "test",
  });
  const lines = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, summary.steps);
  assert.equal(summary.steps, 24);
  const first = lines[0].loss;
  const last = lines[lines.length - 1].loss;
  assert.ok(last < first - 0.8, `loss ${first} -> ${last}`);
  assert.ok(lines.every((l) => typeof l.lr === "number" && typeof l.grad_norm === "number"));
  model.dispose();
});

test("interrupted + resumed ends with exactly the weights of an uninterrupted run", async (t) => {
  const start = liveTensors();
  const straight = createModel(CONFIG, { seed: 1 });
  const a = [...straight.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  await runTrainingLoop(a, countingTask(straight), options(tmpDir(t)), {
    configHash: "h",
    resume: false,
    label: "a",
  });

  const dir = tmpDir(t);
  const crashed = createModel(CONFIG, { seed: 1 });
  const b = [...crashed.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  // Crash on the 11th micro-batch (step 6 of 12), after the step-4 checkpoint.
  await assert.rejects(
    runTrainingLoop(b, countingTask(crashed, { failAtCall: 11 }), options(dir, { saveEvery: 4 }), {
      configHash: "h",
      resume: false,
      label: "b",
    }),
    /simulated crash/,
  );
  assert.match(latestCheckpoint(dir) ?? "", /step-0000004$/);
  crashed.dispose();

  // A fresh process would start from freshly initialised weights: use other ones to prove they are replaced.
  const resumed = createModel(CONFIG, { seed: 99 });
  const c = [...resumed.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  const summary = await runTrainingLoop(c, countingTask(resumed), options(dir, { saveEvery: 4 }), {
    configHash: "h",
    resume: true,
    label: "c",
  });
  assert.match(summary.resumedFrom ?? "", /step-0000004$/);
  assert.deepEqual(weights(resumed), weights(straight));

  await assert.rejects(
    runTrainingLoop(c, countingTask(resumed), options(dir), {
      configHash: "other",
      resume: true,
      label: "d",
    }),
    (e: Error) => e instanceof TrainingError && /was written by another config/.test(e.message),
  );
  straight.dispose();
  resumed.dispose();
  assert.equal(liveTensors(), start);
});

test("a NaN loss stops the run before the update and names the last good checkpoint", async (t) => {
  const dir = tmpDir(t);
  const model = createModel(CONFIG, { seed: 1 });
  const trainable = [...model.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  await assert.rejects(
    runTrainingLoop(trainable, countingTask(model, { nanAtCall: 9 }), options(dir, { saveEvery: 2 }), {
      configHash: "h",
      resume: false,
      label: "n",
    }),
    (e: Error) =>
      e instanceof TrainingError &&
      /step 5: the loss is NaN.*Last good checkpoint: .*step-0000004/.test(e.message),
  );
  assert.ok(existsSync(join(dir, "checkpoints", "step-0000004", "state.json")));
  assert.ok(
    [...model.params.values()].every((p) => p.isfinite().all().item() === 1),
    "weights stay finite",
  );
  model.dispose();
});

test("Ctrl-C (SIGINT) finishes the current step, saves a checkpoint and stops; --resume continues", async (t) => {
  const dir = tmpDir(t);
  const model = createModel(CONFIG, { seed: 1 });
  const trainable = [...model.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  const task = countingTask(model);
  let calls = 0;
  const interrupting: TrainingTask = {
    size: task.size,
    step(indices) {
      // The signal arrives in the middle of step 3's second micro-batch.
      if (++calls === 6) process.emit("SIGINT");
      return task.step(indices);
    },
  };
  await assert.rejects(
    runTrainingLoop(trainable, interrupting, options(dir), { configHash: "h", resume: false, label: "i" }),
    (e: Error) =>
      e instanceof TrainingInterrupted &&
      /interrupted at step 3\/12; checkpoint saved to .*step-0000003/.test(e.message),
  );
  assert.equal(process.listenerCount("SIGINT"), 0, "the handler is removed");
  const summary = await runTrainingLoop(trainable, countingTask(model), options(dir), {
    configHash: "h",
    resume: true,
    label: "i",
  });
  assert.match(summary.resumedFrom ?? "", /step-0000003$/);
  assert.equal(summary.steps, 12);
  model.dispose();
});

// --- checkpoints that heal (issue 21) -------------------------------------------------------------

/** A run of 12 steps that crashes in step 8 after checkpoints at steps 2, 4 and 6; returns its folder. */
async function crashedRun(t: Parameters<typeof tmpDir>[0]): Promise<string> {
  const dir = tmpDir(t);
  const crashed = createModel(CONFIG, { seed: 1 });
  const b = [...crashed.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  await assert.rejects(
    runTrainingLoop(
      b,
      countingTask(crashed, { failAtCall: 15 }),
      options(dir, { saveEvery: 2, keepCheckpoints: 3 }),
      { configHash: "h", resume: false, label: "b" },
    ),
    /simulated crash/,
  );
  crashed.dispose();
  return dir;
}

/** Resumes the run in `dir`; returns the weights, where it resumed from and the lines it logged. */
async function resumeRun(dir: string) {
  const resumed = createModel(CONFIG, { seed: 99 });
  const c = [...resumed.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  const logged: string[] = [];
  try {
    const summary = await runTrainingLoop(
      c,
      countingTask(resumed),
      options(dir, { saveEvery: 2, keepCheckpoints: 3 }),
      { configHash: "h", resume: true, label: "c", log: (line) => logged.push(line) },
    );
    return { weights: weights(resumed), resumedFrom: summary.resumedFrom ?? "", logged };
  } finally {
    resumed.dispose();
  }
}

async function straightWeights(t: Parameters<typeof tmpDir>[0]) {
  const straight = createModel(CONFIG, { seed: 1 });
  const a = [...straight.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  await runTrainingLoop(a, countingTask(straight), options(tmpDir(t)), {
    configHash: "h",
    resume: false,
    label: "a",
  });
  const out = weights(straight);
  straight.dispose();
  return out;
}

const checkpoint = (dir: string, step: number) =>
  join(dir, "checkpoints", `step-${String(step).padStart(7, "0")}`);

test("each checkpoint records sha256 checksums of its files", async (t) => {
  const dir = await crashedRun(t);
  const sums = JSON.parse(readFileSync(join(checkpoint(dir, 6), "checksums.json"), "utf8"));
  assert.equal(sums.algorithm, "sha256");
  assert.deepEqual(Object.keys(sums.files).sort(), [
    "optimizer.safetensors",
    "rng.safetensors",
    "state.json",
    "trainable.safetensors",
  ]);
  const bytes = readFileSync(join(checkpoint(dir, 6), "trainable.safetensors"));
  assert.equal(sums.files["trainable.safetensors"], createHash("sha256").update(bytes).digest("hex"));
});

test("a truncated newest checkpoint is skipped, named with why, and the run resumes exactly from the one before", async (t) => {
  const want = await straightWeights(t);
  const dir = await crashedRun(t);
  const file = join(checkpoint(dir, 6), "trainable.safetensors");
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.byteLength >> 1));
  const r = await resumeRun(dir);
  assert.match(r.resumedFrom, /step-0000004$/);
  assert.equal(r.logged.length, 1);
  assert.match(
    r.logged[0] ?? "",
    /--resume: skipped .*step-0000006: .*trainable\.safetensors: sha256 differs/,
  );
  assert.deepEqual(r.weights, want);
});

test("after a crash and a resume metrics.jsonl holds one row per step", async (t) => {
  const dir = await crashedRun(t);
  const before = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n");
  assert.equal(before.length, 7, "the crashed attempt logged steps 1-7");
  appendFileSync(join(dir, "metrics.jsonl"), '{"step": 8, "lo'); // a row torn by kill -9
  await resumeRun(dir);
  const steps = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).step);
  assert.deepEqual(
    steps,
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
});

test("state.json is validated against the run: a step beyond its total is refused, naming the file", async (t) => {
  const dir = await crashedRun(t);
  // An older checkpoint format (no checksums.json) whose state.json claims step 100000 of a 12-step run.
  rmSync(join(checkpoint(dir, 6), "checksums.json"));
  const statePath = join(checkpoint(dir, 6), "state.json");
  writeFileSync(statePath, JSON.stringify({ ...JSON.parse(readFileSync(statePath, "utf8")), step: 100000 }));
  await assert.rejects(resumeRun(dir), (e: Error) => {
    assert.ok(e instanceof TrainingError, String(e));
    assert.match(e.message, /step-0000006\/state\.json: step 100000 is beyond this run's 12 steps/);
    return true;
  });
  // A field of the wrong type is damage: that checkpoint is skipped and the one before it used.
  writeFileSync(statePath, JSON.stringify({ ...JSON.parse(readFileSync(statePath, "utf8")), step: "6" }));
  const r = await resumeRun(dir);
  assert.match(r.resumedFrom, /step-0000004$/);
  assert.match(r.logged[0] ?? "", /state\.json: field 'step' is "6" \(expected an integer from 1 to \d+\)/);
});

test("a truncated state.json is named; when no checkpoint is usable --resume stops in one line", async (t) => {
  const dir = await crashedRun(t);
  for (const step of [2, 4, 6]) {
    rmSync(join(checkpoint(dir, step), "checksums.json"));
    const statePath = join(checkpoint(dir, step), "state.json");
    writeFileSync(statePath, readFileSync(statePath, "utf8").slice(0, 50));
  }
  await assert.rejects(resumeRun(dir), (e: Error) => {
    assert.ok(e instanceof TrainingError, String(e));
    assert.match(e.message, /no usable checkpoint/);
    assert.match(e.message, /step-0000006\/state\.json: not valid JSON/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});
