import assert from "node:assert/strict";
import { test } from "node:test";
import { liveTensors, randn, tensor, tidy } from "../src/engine/index.js";
import { loadModel } from "../src/model/loadModel.js";
import { attachAdapter, createLora } from "../src/model/lora.js";
import { nextTokenLoss, sequenceLogProbs } from "../src/score/logProbs.js";
import { SftConfigSchema } from "../src/train/runConfig.js";
import { trainingPlacement } from "../src/train/runTrainer.js";
import { ConfigError } from "../src/util/configError.js";
import { fixtureDir, maxAbsDiff } from "./helpers/fixtures.js";

test("LoRA over a bf16 base: the adapter is fp32, gets fp32 gradients, the frozen base none", () => {
  const start = liveTensors();
  const model = loadModel(fixtureDir("llama"), { dtype: "bfloat16" });
  const adapter = createLora(model, { r: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] });
  for (const [name, t] of adapter.namedParameters()) assert.equal(t.dtype, "float32", name);
  attachAdapter(model, adapter);
  tidy(() => {
    const ids = tensor([[1, 2, 3, 4, 5, 6]], [1, 6], { dtype: "int64" });
    const logits = model.forward(ids);
    assert.equal(logits.dtype, "bfloat16", "the base computes in bf16");
    const loss = nextTokenLoss(logits, ids);
    assert.equal(loss.dtype, "float32", "the loss is fp32");
    loss.backward();
  });
  for (const [name, t] of adapter.namedParameters()) {
    const g = t.grad;
    assert.ok(g, `${name} has a gradient`);
    assert.equal(g.dtype, "float32", name);
    g.dispose();
  }
  for (const [name, t] of model.params) assert.equal(t.grad, undefined, `${name}: frozen`);
  adapter.dispose();
  model.dispose();
  assert.equal(liveTensors(), start);
});

test("log-probs and the SFT loss of half-precision logits are computed in fp32", () => {
  tidy(() => {
    const logits = randn([2, 5, 11]).mul(3).to("bfloat16");
    const labels = tensor(
      [
        [-100, 3, 4, 5, -100],
        [-100, -100, 1, 2, 10],
      ],
      [2, 5],
      { dtype: "int64" },
    );
    const half = sequenceLogProbs(logits, labels);
    const wide = sequenceLogProbs(logits.to("float32"), labels);
    assert.equal(half.sum.dtype, "float32");
    assert.equal(maxAbsDiff(half.sum, wide.sum), 0, "the same as on the logits raised to fp32");
    assert.equal(nextTokenLoss(logits, labels).item(), nextTokenLoss(logits.to("float32"), labels).item());
  });
});

test("training in half precision needs LoRA; full fine-tuning keeps fp32 weights", () => {
  const base = { model: "m", out: "o", data: { train: "d.jsonl" } };
  const full = SftConfigSchema.parse({ ...base, dtype: "bfloat16" });
  assert.throws(
    () => trainingPlacement(full),
    (e: unknown) => e instanceof ConfigError && /dtype: bfloat16 needs lora/.test(e.message),
  );
  const lora = SftConfigSchema.parse({ ...base, dtype: "float16", lora: {} });
  assert.deepEqual(trainingPlacement(lora), { dtype: "float16", device: "cpu" });
  assert.deepEqual(trainingPlacement(SftConfigSchema.parse(base)), { dtype: "float32", device: "cpu" });
});
