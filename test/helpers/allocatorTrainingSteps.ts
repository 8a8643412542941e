// Child process of test/cpuAllocator.test.ts: three training steps of llama-bench on a fixed batch (seeded), printing
// each step's loss and the sum of every parameter afterwards as JSON, so that two processes with different CPU
// allocators (SAFETUNE_CPU_ALLOCATOR) can be compared bit for bit.
import { AdamW, clipGradNorm, manualSeed, randint, tidy, weightDecayGroups } from "../../src/engine/index.js";
import { createModel } from "../../src/model/createModel.js";
import { presetConfig } from "../../src/model/presets.js";
import { modelNextTokenLoss } from "../../src/score/modelLogProbs.js";

manualSeed(0);
const model = createModel(presetConfig("llama-bench", 4096), { seed: 0 });
const params = [...model.params.values()];
for (const p of params) p.requiresGrad_();
const ids = randint(0, 4096, [2, 64]);
const opt = new AdamW(weightDecayGroups(model.params, 0.1), { lr: 1e-3 });
const losses: number[] = [];
for (let step = 0; step < 3; step++) {
  tidy(() => {
    const loss = modelNextTokenLoss(model, { inputIds: ids, labels: ids });
    losses.push(loss.item());
    loss.backward();
    clipGradNorm(params, 1.0);
    opt.step();
    opt.zeroGrad();
  });
}
const sums = params.map((p) => tidy(() => p.sum().item()));
process.stdout.write(`${JSON.stringify({ losses, sums })}\n`);
