import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { createScratchModel } from "../src/model/scratchModel.js";
import { EventFileWriter } from "../src/tensorboard/index.js";
import { tensorboardScalars } from "../src/train/reportTo.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";
import { decodeEvents, readRecords, referenceCrc32c } from "./helpers/tensorboardReader.js";

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

describeCli();

function describeCli(): void {
  const BASE = join(ROOT, "base");
  const DATA = join(ROOT, "chat.jsonl");
  before(() => {
    createScratchModel(BASE, { vocabSize: 500, seed: 0 }).dispose();
    const rows = Array.from({ length: 12 }, (_, i) => ({
      messages: [
        { role: "user", content: `Question number ${i}?` },
        { role: "assistant", content: `Answer number ${i}.` },
      ],
    }));
    writeFileSync(DATA, rows.map((r) => JSON.stringify(r)).join("\n"));
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
