import assert from "node:assert/strict";
import { test } from "node:test";
import {
  liveCheckpoints,
  liveTensors,
  manualSeed,
  noGrad,
  randn,
  type Tensor,
  tensor,
  tidy,
} from "../src/engine/index.js";
import { loadModel } from "../src/model/loadModel.js";
import { attachAdapter, createLora } from "../src/model/lora.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { nextTokenLoss } from "../src/score/logProbs.js";
import { fixtureDir } from "./helpers/fixtures.js";

/** Loss and every trainable gradient of one forward/backward over a padded batch. */
function lossAndGrads(
  model: TransformerModel,
  trainable: [string, Tensor][],
): { loss: number; grads: Map<string, number[]> } {
  for (const [, t] of trainable) t.grad = undefined;
  return tidy(() => {
    const vocab = model.config.vocabSize;
    const ids = tensor(
      [
        [1, 5, 9, 13, 17, 21, 3, 7],
        [2, 4, 6, 8, 10, 12, 0, 0],
      ].map((row) => row.map((v) => v % vocab)),
      [2, 8],
      { dtype: "int64" },
    );
    const mask = tensor(
      [
        [1, 1, 1, 1, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1, 0, 0],
      ],
      [2, 8],
      { dtype: "int64" },
    );
    const labels = ids.maskedFill(mask.eq(0), -100);
    manualSeed(7); // the same dropout masks in both runs
    const loss = nextTokenLoss(model.forward(ids, { attentionMask: mask }), labels);
    loss.backward();
    const grads = new Map<string, number[]>();
    for (const [name, t] of trainable) {
      const g = t.grad;
      assert.ok(g, `${name} has a gradient`);
      grads.set(name, [...(g.toFloat32Array() as Float32Array)]);
      g.dispose();
    }
    for (const [, t] of trainable) t.grad = undefined;
    return { loss: loss.item(), grads };
  });
}

function assertSameGradients(a: Map<string, number[]>, b: Map<string, number[]>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, ga] of a) {
    const gb = b.get(name) as number[];
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < ga.length; i++) {
      scale = Math.max(scale, Math.abs(ga[i] as number));
      diff = Math.max(diff, Math.abs((ga[i] as number) - (gb[i] as number)));
    }
    assert.ok(scale > 0, `${name}: a non-zero gradient to compare`);
    assert.ok(diff <= 1e-5 * scale + 1e-9, `${name}: gradients differ by ${diff} (largest ${scale})`);
  }
}

for (const fixture of ["llama", "gpt2"]) {
  test(`${fixture}: gradient checkpointing gives the same loss and gradients (full fine-tuning)`, () => {
    const start = liveTensors();
    const model = loadModel(fixtureDir(fixture));
    const trainable = [...model.params].map(([n, t]): [string, Tensor] => [n, t.requiresGrad_()]);
    const plain = lossAndGrads(model, trainable);
    model.gradientCheckpointing = true;
    const recomputed = lossAndGrads(model, trainable);
    assert.equal(recomputed.loss, plain.loss);
    assertSameGradients(plain.grads, recomputed.grads);
    assert.equal(liveCheckpoints(), 0, "no layer function left registered once the graph is freed");
    model.dispose();
    assert.equal(liveTensors(), start);
  });

  test(`${fixture}: gradient checkpointing gives the same gradients with LoRA (frozen base, dropout)`, () => {
    const start = liveTensors();
    const model = loadModel(fixtureDir(fixture));
    const adapter = createLora(model, { r: 4, alpha: 8, dropout: 0.1, targetModules: "all-linear" });
    // B starts at 0 (no gradient reaches A): give it values so both factors are tested.
    tidy(() =>
      noGrad(() => {
        for (const pair of adapter.modules.values()) pair.b.copy_(randn([...pair.b.shape]).mul(0.05));
      }),
    );
    attachAdapter(model, adapter);
    adapter.training = true;
    const trainable = adapter.namedParameters();
    const plain = lossAndGrads(model, trainable);
    model.gradientCheckpointing = true;
    const recomputed = lossAndGrads(model, trainable);
    assert.equal(recomputed.loss, plain.loss);
    assertSameGradients(plain.grads, recomputed.grads);
    for (const [, t] of model.params) assert.equal(t.grad, undefined, "the frozen base gets no gradient");
    assert.equal(liveCheckpoints(), 0);
    adapter.dispose();
    model.dispose();
    assert.equal(liveTensors(), start);
  });
}
