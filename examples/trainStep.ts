// Tensors, autograd and AdamW on the libtorch engine: `npx tsx examples/trainStep.ts`
import { AdamW, crossEntropy, manualSeed, randn, tensor, tidy } from "../src/index.js";

manualSeed(0);
const w = randn([4, 3]).requiresGrad_();
const optimizer = new AdamW([w], { lr: 0.1 });
const x = randn([5, 4]);
const labels = tensor([0, 1, 2, 0, 1], [5], { dtype: "int64" });
for (let step = 0; step < 3; step++) {
  // tidy() frees every tensor made inside except what it returns: native memory stays flat.
  const loss = tidy(() => {
    const l = crossEntropy(x.matmul(w), labels);
    l.backward();
    optimizer.step();
    optimizer.zeroGrad();
    return l.item();
  });
  console.log(`step ${step}: loss ${loss.toFixed(4)}`);
}
