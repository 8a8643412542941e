// The chunked log-prob op (native/src/chunkedLogProbs.cc) against autograd of the unfused ops it replaces
// (linear -> log_softmax -> gather, masked): values and gradients of hidden states, head weight and bias, on random
// tensors with chunk sizes that do and do not divide the positions, and on the fixture models against their
// PyTorch reference loss and gradients (in the spirit of llm.c's test_gpt2.c).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  chunkedTokenLogProbs,
  chunkedTokenLoss,
  defaultChunkPositions,
  linear,
  manualSeed,
  noGrad,
  randint,
  randn,
  type Tensor,
  tidy,
  where,
} from "../src/engine/index.js";
import { loadModel } from "../src/model/loadModel.js";
import { nextTokenLogProbs, nextTokenLossSum } from "../src/model/nextTokenLogProbs.js";
import { disposeAll, expected, fixtureDir, maxAbs, maxAbsDiff, must } from "./helpers/fixtures.js";

const IGNORE = -100;
/** float32 rounding of the same sums in other orders (chunked GEMMs, index_select'ed rows). */
const VALUE_TOL = 1e-5;
const GRAD_TOL = 1e-5;

/** The unfused reference: full logits, log-softmax, gather, masked to 0 at ignored targets. */
function unfused(hidden: Tensor, weight: Tensor, bias: Tensor | undefined, targets: Tensor): Tensor {
  const keep = targets.ne(IGNORE);
  const logProbs = linear(hidden, weight, bias)
    .logSoftmax(-1)
    .gather(-1, targets.maskedFill(keep.logicalNot(), 0).unsqueeze(-1))
    .squeeze(-1);
  return logProbs.mul(keep.float());
}

interface Case {
  batch: number;
  steps: number;
  width: number;
  vocab: number;
  bias: boolean;
  /** Fraction of targets set to the ignore index. */
  ignored: number;
}

/** Values and gradients of both paths on the same random inputs, under a random upstream gradient. */
function compare(c: Case, chunkSize: number | undefined) {
  return tidy(() => {
    const hidden = randn([c.batch, c.steps, c.width]).requiresGrad_();
    const weight = randn([c.vocab, c.width]).mul(0.3).requiresGrad_();
    const bias = c.bias ? randn([c.vocab]).requiresGrad_() : undefined;
    const drawn = randint(0, c.vocab, [c.batch, c.steps]);
    const targets = where(randn([c.batch, c.steps]).lt(quantile(c.ignored)), IGNORE, drawn);
    const upstream = randn([c.batch, c.steps]);
    const run = (fused: boolean) => {
      const out = fused
        ? chunkedTokenLogProbs(hidden, weight, bias, targets, chunkSize === undefined ? {} : { chunkSize })
        : unfused(hidden, weight, bias, targets);
      out.mul(upstream).sum().backward();
      const grads = [hidden.grad, weight.grad, bias?.grad].map((g) => g?.clone());
      hidden.grad = undefined;
      weight.grad = undefined;
      if (bias) bias.grad = undefined;
      return { out: out.detach(), grads };
    };
    const fused = run(true);
    const reference = run(false);
    return { fused, reference, targets };
  });
}

/** The same for the summed loss: Σ -log p, backward from a scalar upstream gradient (as gradient accumulation scales). */
function compareLoss(c: Case, chunkSize: number | undefined) {
  return tidy(() => {
    const hidden = randn([c.batch, c.steps, c.width]).requiresGrad_();
    const weight = randn([c.vocab, c.width]).mul(0.3).requiresGrad_();
    const bias = c.bias ? randn([c.vocab]).requiresGrad_() : undefined;
    const drawn = randint(0, c.vocab, [c.batch, c.steps]);
    const targets = where(randn([c.batch, c.steps]).lt(quantile(c.ignored)), IGNORE, drawn);
    const run = (fused: boolean) => {
      const out = fused
        ? chunkedTokenLoss(hidden, weight, bias, targets, chunkSize === undefined ? {} : { chunkSize })
        : unfused(hidden, weight, bias, targets).sum().neg();
      out.mul(0.37).backward();
      const grads = [hidden.grad, weight.grad, bias?.grad].map((g) => g?.clone());
      hidden.grad = undefined;
      weight.grad = undefined;
      if (bias) bias.grad = undefined;
      return { out: out.detach(), grads };
    };
    return { fused: run(true), reference: run(false) };
  });
}

/** The standard-normal value below which a fraction `p` of draws fall (coarse, enough to mask some targets). */
function quantile(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  return p < 0.5 ? -0.675 * ((0.5 - p) / 0.25) : 0.675 * ((p - 0.5) / 0.25);
}

describe("chunkedTokenLogProbs against the unfused ops", () => {
  const cases: Case[] = [
    { batch: 3, steps: 7, width: 16, vocab: 50, bias: true, ignored: 0.3 },
    { batch: 2, steps: 5, width: 8, vocab: 33, bias: false, ignored: 0 },
    { batch: 1, steps: 11, width: 12, vocab: 97, bias: false, ignored: 0.5 },
  ];
  for (const c of cases) {
    for (const chunkSize of [1, 3, 4, 7, 1000, undefined]) {
      test(`B${c.batch} T${c.steps} D${c.width} V${c.vocab}${c.bias ? " bias" : ""}, ignored ~${c.ignored}, chunk ${chunkSize ?? "default"}`, () => {
        manualSeed(1000 * c.batch + c.steps + (chunkSize ?? 0));
        tidy(() => {
          const { fused, reference, targets } = compare(c, chunkSize);
          assert.deepEqual(fused.out.shape, [c.batch, c.steps]);
          assert.equal(fused.out.dtype, "float32");
          assert.ok(maxAbsDiff(fused.out, reference.out) <= VALUE_TOL, "log-probs");
          // Ignored targets give exactly 0 and no gradient to their hidden state.
          const ignored = targets.eq(IGNORE);
          assert.equal(fused.out.maskedSelect(ignored).abs().sum().item(), 0);
          const names = ["hidden", "weight", "bias"];
          fused.grads.forEach((g, i) => {
            const want = reference.grads[i];
            if (want === undefined) {
              assert.equal(g, undefined, `${names[i]}: no gradient expected`);
              return;
            }
            assert.ok(g, `${names[i]}: no gradient`);
            const diff = maxAbsDiff(g, want);
            assert.ok(diff <= GRAD_TOL * Math.max(1, maxAbs(want)), `${names[i]} grad diff ${diff}`);
          });
          const hiddenGrad = fused.grads[0] as Tensor;
          assert.equal(hiddenGrad.abs().sum(-1).maskedSelect(ignored).sum().item(), 0);
        });
      });
    }
  }

  for (const c of cases) {
    for (const chunkSize of [1, 4, 7, undefined]) {
      test(`chunkedTokenLoss B${c.batch} T${c.steps} V${c.vocab}${c.bias ? " bias" : ""}, chunk ${chunkSize ?? "default"}: Σ -log p and its gradients`, () => {
        manualSeed(77 + c.steps + (chunkSize ?? 0));
        tidy(() => {
          const { fused, reference } = compareLoss(c, chunkSize);
          assert.deepEqual(fused.out.shape, []);
          const want = reference.out.item();
          assert.ok(Math.abs(fused.out.item() - want) <= VALUE_TOL * Math.max(1, Math.abs(want)), "loss");
          fused.grads.forEach((g, i) => {
            const ref = reference.grads[i];
            if (ref === undefined) {
              assert.equal(g, undefined);
              return;
            }
            assert.ok(g, `gradient ${i} missing`);
            assert.ok(maxAbsDiff(g, ref) <= GRAD_TOL * Math.max(1, maxAbs(ref)), `gradient ${i}`);
          });
        });
      });
    }
  }

  test("chunkedTokenLoss without grad mode gives the same value and computes no gradients", () => {
    manualSeed(9);
    tidy(() => {
      const hidden = randn([2, 5, 8]).requiresGrad_();
      const weight = randn([20, 8]).requiresGrad_();
      const targets = randint(0, 20, [2, 5]);
      const withGrad = chunkedTokenLoss(hidden, weight, undefined, targets, { chunkSize: 3 });
      const without = noGrad(() => chunkedTokenLoss(hidden, weight, undefined, targets, { chunkSize: 3 }));
      assert.equal(without.requiresGrad, false);
      assert.ok(Math.abs(withGrad.item() - without.item()) <= 1e-6);
    });
  });

  test("every target ignored: zeros, and zero gradients", () => {
    manualSeed(7);
    tidy(() => {
      const { fused, reference } = compare(
        { batch: 2, steps: 4, width: 8, vocab: 20, bias: true, ignored: 1 },
        3,
      );
      assert.equal(fused.out.abs().sum().item(), 0);
      for (const g of fused.grads) assert.equal((g as Tensor).abs().sum().item(), 0);
      for (const g of reference.grads) assert.equal((g as Tensor).abs().sum().item(), 0);
    });
  });

  test("a non-contiguous view of the hidden states (the shifted positions) gives the same as a copy", () => {
    manualSeed(3);
    tidy(() => {
      const hidden = randn([2, 9, 8]);
      const weight = randn([30, 8]);
      const targets = randint(0, 30, [2, 8]);
      const view = hidden.narrow(1, 0, 8);
      const a = chunkedTokenLogProbs(view, weight, undefined, targets, { chunkSize: 5 });
      const b = chunkedTokenLogProbs(view.contiguous(), weight, undefined, targets, { chunkSize: 5 });
      assert.equal(maxAbsDiff(a, b), 0);
    });
  });

  test("bfloat16 hidden states and head: float32 softmax, close to the float32 op", () => {
    manualSeed(5);
    tidy(() => {
      const hidden = randn([2, 6, 16]).to("bfloat16").requiresGrad_();
      const weight = randn([40, 16]).mul(0.3).to("bfloat16").requiresGrad_();
      const targets = randint(0, 40, [2, 6]);
      const low = chunkedTokenLogProbs(hidden, weight, undefined, targets, { chunkSize: 4 });
      assert.equal(low.dtype, "float32");
      low.sum().backward();
      assert.equal(hidden.grad?.dtype, "bfloat16");
      assert.equal(weight.grad?.dtype, "bfloat16");
      const high = chunkedTokenLogProbs(hidden.detach().float(), weight.detach().float(), undefined, targets);
      // bf16 keeps 8 bits of mantissa: the logits of a 16-wide dot product differ by a few hundredths.
      assert.ok(maxAbsDiff(low, high) < 0.1, `bf16 vs f32 ${maxAbsDiff(low, high)}`);
    });
  });

  test("bad inputs: one-line errors before any work", () => {
    tidy(() => {
      const hidden = randn([2, 3, 8]);
      assert.throws(
        () => chunkedTokenLogProbs(hidden, randn([10, 8]).to("bfloat16"), undefined, randint(0, 10, [2, 3])),
        /hidden is float32 but the head weight is bfloat16/,
      );
      assert.throws(
        () => chunkedTokenLogProbs(hidden, randn([10, 7]), undefined, randint(0, 10, [2, 3])),
        /same D/,
      );
      assert.throws(
        () => chunkedTokenLogProbs(hidden, randn([10, 8]), undefined, randint(0, 10, [2, 4])),
        /targets must have hidden's shape/,
      );
      assert.throws(
        () =>
          chunkedTokenLogProbs(hidden, randn([10, 8]), undefined, randint(0, 10, [2, 3]), { chunkSize: 0 }),
        /chunkSize must be a positive integer/,
      );
    });
  });

  test("the default chunk holds about 2^21 logits, and never fewer than 128 positions", () => {
    assert.equal(defaultChunkPositions(4096), 512);
    assert.equal(defaultChunkPositions(8192), 256);
    assert.equal(defaultChunkPositions(32000), 128);
    assert.equal(defaultChunkPositions(151_936), 128);
  });
});

// The fixtures' reference: mean next-token cross-entropy of input_ids under PyTorch, and its gradients.
const LOSS_TOL = 1e-5;
const FIXTURE_GRAD_TOL = 1e-4;

for (const name of ["llama", "gpt2"] as const) {
  describe(`${name} fixture: nextTokenLogProbs through the chunked head`, () => {
    test("loss and every gradient match the PyTorch reference and the unfused path", (t) => {
      const model = loadModel(fixtureDir(name));
      const exp = expected(name);
      try {
        const ids = must(exp, "input_ids");
        const run = (fused: boolean, chunkSize?: number) =>
          tidy(() => {
            for (const p of model.params.values()) p.requiresGrad_();
            const logProbs = nextTokenLogProbs(model, ids, ids, {
              ignoreIndex: IGNORE,
              fused,
              ...(chunkSize === undefined ? {} : { chunkSize }),
            });
            const loss = logProbs.sum().neg().div(logProbs.numel);
            loss.backward();
            const grads = new Map([...model.params].map(([k, p]) => [k, (p.grad as Tensor).clone()]));
            for (const p of model.params.values()) {
              p.grad = undefined;
              p.requiresGrad_(false);
            }
            return { loss: loss.item(), logProbs: logProbs.detach(), grads };
          });
        const runLoss = (chunkSize?: number) =>
          tidy(() => {
            for (const p of model.params.values()) p.requiresGrad_();
            const total = nextTokenLossSum(model, ids, ids, {
              ignoreIndex: IGNORE,
              ...(chunkSize === undefined ? {} : { chunkSize }),
            });
            const loss = total.div(ids.size(0) * (ids.size(1) - 1));
            loss.backward();
            const grads = new Map([...model.params].map(([k, p]) => [k, (p.grad as Tensor).clone()]));
            for (const p of model.params.values()) {
              p.grad = undefined;
              p.requiresGrad_(false);
            }
            return { loss: loss.item(), grads };
          });
        const reference = run(false);
        for (const chunkSize of [5, undefined]) {
          const fused = run(true, chunkSize);
          const want = must(exp, "loss").item();
          t.diagnostic(`${name} chunk ${chunkSize ?? "default"}: loss ${fused.loss} vs PyTorch ${want}`);
          assert.ok(Math.abs(fused.loss - want) <= LOSS_TOL, `loss ${fused.loss} vs ${want}`);
          assert.ok(maxAbsDiff(fused.logProbs, reference.logProbs) <= VALUE_TOL, "token log-probs");
          for (const [param, grad] of fused.grads) {
            const unfusedGrad = reference.grads.get(param) as Tensor;
            const scale = Math.max(1, maxAbs(unfusedGrad));
            assert.ok(maxAbsDiff(grad, unfusedGrad) <= GRAD_TOL * scale * 10, `${param} vs unfused`);
            const ref = exp.get(`grad.${param}`);
            if (ref) {
              const diff = maxAbsDiff(grad, ref);
              assert.ok(diff <= FIXTURE_GRAD_TOL * Math.max(1, maxAbs(ref)), `${param} vs PyTorch: ${diff}`);
            }
          }
          for (const g of fused.grads.values()) g.dispose();
          fused.logProbs.dispose();
          const summed = runLoss(chunkSize);
          assert.ok(Math.abs(summed.loss - want) <= LOSS_TOL, `summed loss ${summed.loss} vs ${want}`);
          for (const [param, grad] of summed.grads) {
            const unfusedGrad = reference.grads.get(param) as Tensor;
            const scale = Math.max(1, maxAbs(unfusedGrad));
            assert.ok(
              maxAbsDiff(grad, unfusedGrad) <= GRAD_TOL * scale * 10,
              `${param} (loss op) vs unfused`,
            );
            grad.dispose();
          }
        }
      } finally {
        disposeAll(exp);
        model.dispose();
      }
    });
  });
}
