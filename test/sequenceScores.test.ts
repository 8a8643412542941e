import assert from "node:assert/strict";
import { test } from "node:test";
import { tensor, tidy } from "../src/engine/index.js";
import { loadModel } from "../src/model/loadModel.js";
import { lastTokenIndex, sequenceScores } from "../src/model/sequenceScores.js";
import { expected, fixtureDir, maxAbsDiff, must } from "./helpers/fixtures.js";

test("sequenceScores reads the reward at each row's last real token (reward-llama reference)", () => {
  const model = loadModel(fixtureDir("reward-llama"));
  const exp = expected("reward-llama");
  tidy(() => {
    const ids = must(exp, "input_ids");
    const scores = sequenceScores(model, ids);
    assert.deepEqual(scores.shape, [3, 1]);
    assert.ok(maxAbsDiff(scores.squeeze(1), must(exp, "rewards")) < 1e-4);
    // With an explicit attention mask built from the lengths: the same.
    const lengths = must(exp, "lengths").toArray();
    const mask = tensor(
      lengths.flatMap((n) => Array.from({ length: ids.size(1) }, (_, j) => (j < n ? 1 : 0))),
      [3, ids.size(1)],
      { dtype: "int64" },
    );
    assert.ok(
      maxAbsDiff(sequenceScores(model, ids, { attentionMask: mask }).squeeze(1), must(exp, "rewards")) < 1e-4,
    );
  });
  for (const t of exp.values()) t.dispose();
  model.dispose();
});

test("lastTokenIndex: the mask wins over ids, so a real token equal to the pad id (pad == eos) still counts", () => {
  tidy(() => {
    // Row 0 ends with eos (= pad = 2) that is real; row 1 is right-padded with 2s; row 2 is left-padded.
    const ids = tensor(
      [
        [5, 6, 2, 2],
        [7, 8, 2, 2],
        [2, 9, 10, 11],
      ],
      undefined,
      { dtype: "int64" },
    );
    const mask = tensor(
      [
        [1, 1, 1, 0],
        [1, 1, 0, 0],
        [0, 1, 1, 1],
      ],
      undefined,
      { dtype: "int64" },
    );
    assert.deepEqual(lastTokenIndex(ids, mask, 2).toArray(), [2, 1, 3]);
    // Without a mask, the last non-pad token (transformers' rule), which misses row 0's real eos.
    assert.deepEqual(lastTokenIndex(ids, undefined, 2).toArray(), [1, 1, 3]);
    // Without a mask or pad id, the last position.
    assert.deepEqual(lastTokenIndex(ids, undefined, undefined).toArray(), [3, 3, 3]);
  });
});

test("sequenceScores refuses a causal language model", () => {
  const model = loadModel(fixtureDir("llama"));
  tidy(() =>
    assert.throws(
      () => sequenceScores(model, tensor([[1, 2]], undefined, { dtype: "int64" })),
      /needs a \*ForSequenceClassification model/,
    ),
  );
  model.dispose();
});
