import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { crossEntropy, tensor } from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { EventFileWriter } from "../src/tensorboard/index.js";
import { tensorboardScalars } from "../src/train/reportTo.js";
import { type LoopOptions, runTrainingLoop, type TrainingTask } from "../src/train/trainingLoop.js";
import { numberedChatJsonl } from "./helpers/cliSync.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";
import {
  type DecodedEvent,
  decodeEvents,
  readRecords,
  referenceCrc32c,
} from "./helpers/tensorboardReader.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-tensorboard-");
process.on("exit", cleanup);

test("the reference CRC-32C gives the published check value", () => {
  // RFC 3720 (iSCSI) B.4 / the CRC catalogue: CRC-32C of ASCII "123456789" is 0xE3069283.
  assert.equal(referenceCrc32c(Buffer.from("123456789", "ascii")), 0xe3069283);
});

test("event files decode against TensorBoard's event.proto: version first, then scalars at their steps", () => {
  let now = 1_700_000_000_500;
  const writer = new EventFileWriter(join(ROOT, "unit"), () => now);
  assert.match(writer.path, /events\.out\.tfevents\.1700000000\.[^/]+\.\d+\.\d+$/);
  writer.scalars(1, [
    ["train/loss", 2.5],
    ["train/learning_rate", 3e-5],
  ]);
  now += 1000;
  writer.scalars(5_000_000_007, [["train/grad_norm", -0.1]]);
  writer.restartAt(2);
  writer.scalars(2, []); // nothing to write: no event
  writer.close();
  const events = decodeEvents(writer.path);
  assert.equal(events.length, 4);
  assert.equal(events[0]?.fileVersion, "brain.Event:2");
  assert.equal(events[0]?.wallTime, 1_700_000_000.5);
  assert.equal(events[1]?.step, 1);
  assert.deepEqual(
    [...(events[1]?.scalars ?? [])],
    [
      ["train/loss", 2.5],
      ["train/learning_rate", Math.fround(3e-5)],
    ],
  );
  assert.equal(events[2]?.step, 5_000_000_007);
  assert.equal(events[2]?.wallTime, 1_700_000_001.5);
  assert.equal(events[2]?.scalars.get("train/grad_norm"), Math.fround(-0.1));
  assert.equal(events[3]?.sessionStatus, "START");
  assert.equal(events[3]?.step, 2);
});

test("the file is valid after every write, and a torn last record leaves the earlier ones readable", () => {
  const writer = new EventFileWriter(join(ROOT, "live"));
  for (let step = 1; step <= 5; step++) {
    writer.scalars(step, [["train/loss", 1 / step]]);
    // A live reader (TensorBoard polling the file) sees every step so far, each record whole.
    const events = decodeEvents(writer.path);
    assert.equal(events.length, step + 1);
    assert.equal(events.at(-1)?.scalars.get("train/loss"), Math.fround(1 / step));
  }
  writer.close();
  const size = readFileSync(writer.path).length;
  truncateSync(writer.path, size - 3); // a kill in the middle of the last write
  assert.throws(() => readRecords(readFileSync(writer.path)), /torn record/);
  assert.equal(decodeEvents(writer.path, { allowTornTail: true }).length, 5);
  // A flipped byte is caught by the CRCs (the reader's own bitwise CRC, not the writer's).
  const bytes = readFileSync(writer.path);
  bytes[20] = (bytes[20] ?? 0) ^ 0xff;
  writeFileSync(writer.path, bytes);
  assert.throws(() => readRecords(bytes, { allowTornTail: true }), /bad data CRC/);
});

test("metrics rows become transformers-style tags", () => {
  assert.deepEqual(
    tensorboardScalars({
      step: 3,
      epoch: 0.5,
      loss: 1,
      lr: 2,
      grad_norm: 3,
      "rewards/chosen": 4,
      eval_loss: 5,
    }),
    [
      ["train/epoch", 0.5],
      ["train/loss", 1],
      ["train/learning_rate", 2],
      ["train/grad_norm", 3],
      ["train/rewards/chosen", 4],
      ["eval/loss", 5],
    ],
  );
});

// ---- a crash and a resume: one value per step in TensorBoard's view, as in metrics.jsonl -----------------

const TINY = {
  model_type: "llama",
  vocab_size: 32,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  max_position_embeddings: 16,
};

/** Next-token prediction on "k, k+1, ..." rows; throws in micro-batch `failAtCall`. */
function countingTask(model: TransformerModel, failAtCall?: number): TrainingTask {
  let calls = 0;
  return {
    size: 16,
    step(indices) {
      if (++calls === failAtCall) throw new Error("simulated crash");
      const rows = indices.map((k) => Array.from({ length: 6 }, (_, i) => (k + i) % 32));
      const ids = tensor(rows.flat(), [rows.length, 6], { dtype: "int64" });
      const logits = model.forward(ids.narrow(1, 0, 5));
      return {
        loss: crossEntropy(logits.reshape(-1, 32), ids.narrow(1, 1, 5).reshape(-1)),
        tokens: rows.length * 6,
      };
    },
  };
}

function loopOptions(outDir: string): LoopOptions {
  return {
    outDir,
    seed: 3,
    epochs: 3,
    batchSize: 4,
    gradientAccumulation: 1,
    lr: 3e-3,
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.999,
    schedule: "cosine",
    warmupRatio: 0,
    warmupSteps: 0,
    maxGradNorm: 1,
    evalEvery: 0,
    saveEvery: 2,
    keepCheckpoints: 3,
    logEvery: 100,
    reportTo: ["tensorboard"],
  };
}

async function train(outDir: string, options: { resume: boolean; failAtCall?: number }) {
  const model = createModel(TINY, { seed: 1 });
  const params = [...model.params].map(([n, p]): [string, typeof p] => [n, p.requiresGrad_()]);
  try {
    return await runTrainingLoop(params, countingTask(model, options.failAtCall), loopOptions(outDir), {
      configHash: "h",
      resume: options.resume,
      label: "t",
      log: () => {},
    });
  } finally {
    model.dispose();
  }
}

/**
 * What TensorBoard shows: events of the run's files in order, where a SessionLog START at step s discards the
 * earlier events at steps >= s (TensorBoard's purge of orphaned data after a restart).
 */
function tensorboardView(files: string[]): DecodedEvent[] {
  let kept: DecodedEvent[] = [];
  for (const file of files)
    for (const event of decodeEvents(file)) {
      if (event.sessionStatus === "START") kept = kept.filter((e) => e.step < event.step);
      else if (event.scalars.size > 0) kept.push(event);
    }
  return kept;
}

test("a crashed run resumed: a second event file restarts at the resumed step; the merged view matches metrics.jsonl", async () => {
  const dir = join(ROOT, "resumed");
  // 16 examples / 4 = 4 steps an epoch, 12 in all; the crash comes in step 8, after checkpoints at 2, 4 and 6.
  await assert.rejects(train(dir, { resume: false, failAtCall: 8 }), /simulated crash/);
  assert.match(readFileSync(join(dir, "curves.svg"), "utf8"), /^<svg/, "curves drawn at the checkpoints");
  const eventFiles = () =>
    readdirSync(join(dir, "runs"))
      .filter((f) => f.includes("tfevents"))
      .map((f) => join(dir, "runs", f));
  const [first] = eventFiles();
  assert.deepEqual(
    decodeEvents(first as string)
      .filter((e) => e.scalars.size > 0)
      .map((e) => e.step),
    [1, 2, 3, 4, 5, 6, 7],
  );
  const summary = await train(dir, { resume: true });
  assert.match(summary.resumedFrom ?? "", /step-0000006$/);
  const files = eventFiles();
  assert.equal(files.length, 2);
  const second = decodeEvents(files.find((f) => f !== first) as string);
  assert.equal(second[0]?.fileVersion, "brain.Event:2");
  assert.deepEqual([second[1]?.sessionStatus, second[1]?.step], ["START", 7]);
  // Files sort by their creation second, then counter; order them by their first wall time to be sure.
  const ordered = [...files].sort(
    (a, b) => (decodeEvents(a)[0]?.wallTime ?? 0) - (decodeEvents(b)[0]?.wallTime ?? 0),
  );
  const view = tensorboardView(ordered);
  const rows = readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(
    view.map((e) => [e.step, e.scalars.get("train/loss")]),
    rows.map((r) => [r.step, Math.fround(r.loss as number)]),
  );
});

describeCli();

function describeCli(): void {
  const BASE = join(ROOT, "base");
  const DATA = join(ROOT, "chat.jsonl");
  before(() => {
    createScratchModel(BASE, { vocabSize: 500, seed: 0 }).dispose();
    writeFileSync(DATA, numberedChatJsonl());
  });

  test("sft --report_to tensorboard: the event file's scalars are metrics.jsonl's rows", () => {
    const out = join(ROOT, "sft");
    const r = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, "bin", "safetune.js"),
        "sft",
        "--model",
        BASE,
        "--data",
        DATA,
        "--eval-data",
        DATA,
        "--out",
        out,
        "--max_length",
        "48",
        "--per_device_train_batch_size",
        "4",
        "--num_train_epochs",
        "2",
        "--learning_rate",
        "0.001",
        "--report_to",
        "tensorboard",
      ],
      { encoding: "utf8", timeout: 180_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const files = readdirSync(join(out, "runs")).filter((f) => f.includes("tfevents"));
    assert.equal(files.length, 1, files.join(", "));
    const events = decodeEvents(join(out, "runs", files[0] as string));
    const rows = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number>);
    assert.equal(events[0]?.fileVersion, "brain.Event:2");
    const scalarEvents = events.slice(1);
    assert.equal(scalarEvents.length, rows.length);
    const trainRows = rows.filter((row) => row.loss !== undefined);
    assert.equal(trainRows.length, 6); // 12 examples / 4 = 3 steps an epoch, 2 epochs
    scalarEvents.forEach((event, i) => {
      const row = rows[i] as Record<string, number>;
      assert.equal(event.step, row.step);
      for (const [key, value] of Object.entries(row)) {
        if (key === "step") continue;
        const tag = key.startsWith("eval_")
          ? `eval/${key.slice(5)}`
          : `train/${key === "lr" ? "learning_rate" : key}`;
        assert.equal(event.scalars.get(tag), Math.fround(value), `${tag} at step ${row.step}`);
      }
      assert.equal(event.scalars.size, Object.keys(row).length - 1);
    });
    assert.ok(scalarEvents.some((e) => e.scalars.has("eval/loss")));
    assert.ok(scalarEvents.every((e) => e.scalars.has("train/loss") || e.scalars.has("eval/loss")));
    // Every run folder gets its curves, TensorBoard or not.
    assert.match(readFileSync(join(out, "curves.svg"), "utf8"), /^<svg/);
  });
}
