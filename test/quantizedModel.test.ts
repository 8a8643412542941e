import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AdamW,
  dequantizeWeight,
  keep,
  liveTensors,
  noGrad,
  type QuantizeKind,
  quantizeWeight,
  type Tensor,
  tensor,
  tidy,
} from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";
import { ModelError } from "../src/model/errors.js";
import { loadModel } from "../src/model/loadModel.js";
import { attachAdapter, createLora, mergeAdapter } from "../src/model/lora.js";
import { quantizedFootprint } from "../src/model/quantizeModel.js";
import { computeReferenceLogProbs, dpoTask, type TokenizedPair } from "../src/train/dpo.js";
import { preferenceLossSettings } from "../src/train/preferenceLoss.js";
import { expected, fixtureDir, maxAbsDiff, must } from "./helpers/fixtures.js";

const LLAMA = fixtureDir("llama");

/** rms(a - b) / rms(b): the logits' error relative to their own scale. */
function relativeRmsError(a: Tensor, b: Tensor): number {
  return noGrad(() => tidy(() => a.sub(b).square().mean().sqrt().item() / b.square().mean().sqrt().item()));
}

/** The float model whose 2-D weights are the dequantised packed ones: what the packed model must compute. */
function dequantisedReference(kind: QuantizeKind) {
  const model = loadModel(LLAMA);
  noGrad(() => {
    for (const [name, t] of [...model.params]) {
      if (t.rank !== 2) continue;
      const packed = quantizeWeight(t, kind);
      model.params.set(name, keep(dequantizeWeight(packed)));
      for (const x of [t, packed.data, packed.scales]) x.dispose();
    }
  });
  return model;
}

// Two checks per kind. (1) Against the float model with the same dequantised weights: only float rounding differs,
// so the fixtures' usual 1e-4 holds; a wrong scale, row, nibble order or transposition fails it by orders of
// magnitude. (2) Against the original float model: int8 rounds each weight to within absmax(row)/254 (measured rms
// error 0.6% of the weights' rms on this fixture), and this random 2-layer fixture amplifies weight noise about 7x
// into its logits (measured 4.5% rms), so the bound is 10%. NF4's 16 levels give 9% rms weight error, which this
// fixture turns into ~60% logit error: a random tiny model is no test of NF4's quality, so NF4 is held to (1) only.
for (const kind of ["int8", "nf4"] as const) {
  test(`fixture llama with --quantize ${kind}: the logits of the model with dequantised weights; int8 near the float model`, () => {
    const start = liveTensors();
    const exp = expected("llama");
    const float = loadModel(LLAMA);
    const reference = dequantisedReference(kind);
    const packed = loadModel(LLAMA, { quantize: kind });
    tidy(() => {
      const ids = must(exp, "input_ids");
      const floatLogits = float.forward(ids);
      assert.ok(maxAbsDiff(floatLogits, must(exp, "logits")) < 1e-4, "the float model is the fixture's");
      const logits = packed.forward(ids);
      assert.ok(maxAbsDiff(logits, reference.forward(ids)) < 1e-4, `${kind}: packed = dequantised reference`);
      const error = relativeRmsError(logits, floatLogits);
      assert.ok(error > 0, "the quantised model is not the float one");
      if (kind === "int8") assert.ok(error < 0.1, `int8: relative rms error ${error}`);
    });
    // Every 2-D weight is packed; norms stay float.
    const footprint = quantizedFootprint(packed);
    assert.equal(footprint.packedParameters + footprint.floatParameters, float.numParameters);
    assert.equal(packed.numParameters, float.numParameters);
    assert.ok([...packed.params.keys()].every((name) => name.endsWith("norm.weight")));
    const bytesPerWeight = footprint.packedBytes / footprint.packedParameters;
    if (kind === "nf4") assert.ok(bytesPerWeight <= 0.6, `nf4: ${bytesPerWeight} bytes per weight`);
    else assert.ok(bytesPerWeight < 1.1, `int8: ${bytesPerWeight}`);
    for (const m of [float, reference, packed]) m.dispose();
    for (const t of exp.values()) t.dispose();
    assert.equal(liveTensors(), start, "no tensor leaked");
  });
}

test("a LoRA DPO step over an int8 base: gradients reach the adapter only, and the step changes it", () => {
  const model = loadModel(LLAMA, { quantize: "int8" });
  const adapter = createLora(model, { r: 8, alpha: 32, targetModules: ["q_proj", "k_proj", "v_proj"] });
  attachAdapter(model, adapter);
  adapter.training = true;
  const sequence = (answer: number[]) => ({
    inputIds: [1, 5, 6, 7, ...answer],
    labels: [-100, -100, -100, -100, ...answer],
  });
  const pairs: TokenizedPair[] = [
    { chosen: sequence([10, 11, 12]), rejected: sequence([20, 21]) },
    { chosen: sequence([30, 31]), rejected: sequence([40, 41, 42, 43]) },
  ];
  // DPO's defaults (sigmoid loss, beta 0.1), no SFT term.
  const options = { ...preferenceLossSettings({}), sftWeight: 0, padTokenId: 0 };
  const reference = computeReferenceLogProbs(model, pairs, { padTokenId: 0, batchSize: 2 });
  const task = dpoTask(model, pairs, reference, options);
  const optimizer = new AdamW(adapter.parameters(), { lr: 1e-2 });
  const before = tidy(() => adapter.parameters().map((p) => p.toFloat32Array()));
  tidy(() => {
    const { loss } = task.step([0, 1]);
    assert.ok(Math.abs(loss.item() - Math.log(2)) < 1e-4, "B = 0: the policy starts at the reference");
    loss.backward();
  });
  const grads = adapter.parameters().map((p) => p.grad);
  assert.ok(
    grads.every((g) => g !== undefined),
    "every adapter tensor has a gradient",
  );
  assert.ok(
    grads.some((g) => g && tidy(() => g.abs().sum().item()) > 0),
    "a non-zero gradient",
  );
  optimizer.step();
  const after = tidy(() => adapter.parameters().map((p) => p.toFloat32Array()));
  assert.notDeepEqual(after, before, "the step moved the adapter");
  for (const g of grads) g?.dispose();
  optimizer.dispose?.();
  adapter.dispose();
  model.dispose();
});

test("a quantised base refuses what needs float weights, and GPT-2 refuses --quantize, each in one line", () => {
  const model = loadModel(LLAMA, { quantize: "nf4" });
  assert.throws(
    () => model.param("model.layers.0.self_attn.q_proj.weight"),
    /stored quantised \(--quantize nf4\)/,
  );
  const adapter = createLora(model, { targetModules: ["q_proj"] });
  assert.throws(() => mergeAdapter(model, adapter), ModelError);
  adapter.dispose();
  model.dispose();
  assert.throws(() => loadModel(fixtureDir("gpt2"), { quantize: "int8" }), /only Llama-family models/);
});

test("createModel with quantize packs each weight as it is drawn", () => {
  const model = createModel(
    {
      model_type: "llama",
      hidden_size: 128,
      intermediate_size: 256,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 100,
    },
    { seed: 1, quantize: "nf4" },
  );
  assert.equal(model.quantized.size, 2 * 7 + 2);
  const logits = tidy(() => model.forward(tensor([[1, 2, 3]], [1, 3], { dtype: "int64" })).shape);
  assert.deepEqual(logits, [1, 3, 100]);
  model.dispose();
});
