// Pure steps split out of the long orchestrators, pinned on their own: the training loop's batch order, RAFT's
// resume state, and runEval's sample records, pair margins and perplexity.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findAttack } from "../src/eval/attacks/registry.js";
import { pairMargins, perplexityEstimate, sampleRecords } from "../src/eval/runEval.js";
import type { Benchmark } from "../src/eval/types.js";
import type { CheckpointState } from "../src/train/checkpoints.js";
import { raftProgressFrom } from "../src/train/runRaft.js";
import { BatchOrder, epochOrder } from "../src/train/trainingLoop.js";

test("BatchOrder: consecutive slices of each epoch's seeded order, a short last batch, and a resumed order continues exactly", () => {
  const position = { epoch: 0, offset: 0 };
  const order = new BatchOrder(10, 3, 4, position);
  const batches = Array.from({ length: 6 }, () => order.next());
  const e0 = epochOrder(10, 3, 0);
  const e1 = epochOrder(10, 3, 1);
  assert.deepEqual(batches, [
    e0.slice(0, 4),
    e0.slice(4, 8),
    e0.slice(8, 10),
    e1.slice(0, 4),
    e1.slice(4, 8),
    e1.slice(8, 10),
  ]);
  assert.deepEqual(position, { epoch: 1, offset: 10 });
  // A run resumed at epoch 1, offset 4 (a checkpoint's position) draws what the uninterrupted run drew next.
  const resumed = new BatchOrder(10, 3, 4, { epoch: 1, offset: 4 });
  assert.deepEqual(
    [resumed.next(), resumed.next(), resumed.next()],
    [e1.slice(4, 8), e1.slice(8, 10), epochOrder(10, 3, 2).slice(0, 4)],
  );
});

const RECORD = {
  iteration: 1,
  mean_reward: 0.25,
  best_reward: 0.5,
  mean_selected_reward: 0.5,
  selected: 2,
  dropped: 1,
  samples: 8,
  steps: 3,
  loss: 1.5,
};
const state = (extra: unknown): CheckpointState => ({
  step: 2,
  epoch: 0,
  offset: 0,
  tokens: 100,
  configHash: "abc",
  extra: extra as Record<string, unknown>,
});

test("raftProgressFrom: a RAFT checkpoint's progress comes back typed; NaN figures (JSON null) come back NaN; anything else is refused naming the field", () => {
  const total = { steps: 3, tokens: 100, seconds: 1, final: { loss: 1.5 }, eval: {} };
  const saved = JSON.parse(
    JSON.stringify({
      history: [RECORD, { ...RECORD, iteration: 2, mean_selected_reward: Number.NaN }],
      total,
      trainedExamples: 4,
    }),
  );
  const progress = raftProgressFrom(state(saved), "/run/checkpoints/step-2", "abc");
  assert.equal(progress.iteration, 2);
  assert.equal(progress.trainedExamples, 4);
  assert.deepEqual(progress.history[0], RECORD);
  assert.ok(Number.isNaN(progress.history[1]?.mean_selected_reward));
  assert.deepEqual(progress.total, total);
  assert.throws(
    () => raftProgressFrom(state({ ...saved, trainedExamples: "4" }), "/run/checkpoints/step-2", "abc"),
    /step-2\/state\.json: extra\.trainedExamples: .*number/,
  );
  assert.throws(() => raftProgressFrom(state(undefined), "/run/ckpt", "abc"), /not a RAFT checkpoint/);
  assert.throws(() => raftProgressFrom(state(saved), "/run/ckpt", "other"), /written by another config/);
});

test("sampleRecords: an encoding attack's answer is decoded for judging, the raw answer kept beside it; a missing answer is an error", () => {
  const base64 = findAttack("base64");
  assert.ok(base64?.decode);
  const encoded = Buffer.from("I cannot help with that.").toString("base64");
  const benchmark: Benchmark = {
    name: "redteam+base64",
    kind: "harmful",
    source: "test",
    items: [
      { id: "a", prompt: [{ role: "user", content: "plain" }], category: "c1" },
      {
        id: "b",
        prompt: [{ role: "user", content: "encoded" }],
        attack: "base64",
        attackedBenchmark: "redteam",
      },
    ],
  };
  const samples = sampleRecords(benchmark, [
    { text: "Sure.", finishReason: "stop" },
    { text: encoded, finishReason: "length" },
  ]);
  assert.deepEqual(samples[0], {
    benchmark: "redteam+base64",
    id: "a",
    category: "c1",
    prompt: "plain",
    response: "Sure.",
    finishReason: "stop",
    verdicts: {},
  });
  assert.equal(samples[1]?.response, base64.decode(encoded));
  assert.notEqual(samples[1]?.response, encoded);
  assert.equal(samples[1]?.rawResponse, encoded);
  assert.equal(samples[1]?.attack, "base64");
  assert.throws(
    () => sampleRecords(benchmark, [{ text: "x", finishReason: "stop" }]),
    /no answer for prompt 1/,
  );
});

test("pairMargins pairs chosen and rejected scores in order; an odd count is an error, not a silent 0", () => {
  const scored = [
    { sum: -1, tokens: 2 },
    { sum: -3, tokens: 2 },
    { sum: -5, tokens: 1 },
    { sum: -2, tokens: 4 },
  ];
  assert.deepEqual(pairMargins(scored), [
    { chosen: -1, rejected: -3 },
    { chosen: -5, rejected: -2 },
  ]);
  assert.throws(() => pairMargins(scored.slice(0, 3)), /got 3 scores/);
});

test("perplexityEstimate: exp of the token-weighted mean negative log-likelihood", () => {
  const scored = [
    { sum: -2, tokens: 1 },
    { sum: -6, tokens: 3 },
  ];
  const estimate = perplexityEstimate(scored, { resamples: 200 });
  assert.equal(estimate.value, Math.exp(8 / 4));
  assert.ok(estimate.low <= estimate.value && estimate.value <= estimate.high);
});
