// Every architecture against its PyTorch reference (../shared/fixtures/models): logits, loss, gradients,
// batching and no-grad inference. Tolerances as in the fixtures' README: logits 1e-4 absolute, loss 1e-5,
// gradients 1e-4 relative to max(1, max|expected|).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { crossEntropy, liveTensors, noGrad, type Tensor, tidy } from "../src/engine/index.js";
import { loadModel } from "../src/model/loadModel.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { disposeAll, expected, fixtureDir, maxAbs, maxAbsDiff, must } from "./helpers/fixtures.js";

const LOGITS_TOL = 1e-4;
const LOSS_TOL = 1e-5;
const GRAD_TOL = 1e-4;
/** With and without grad mode the same kernels run: the logits agree to float32 rounding at most. */
const SAME_TOL = 1e-5;
/** A row alone and inside a batch may take different GEMM blockings (measured up to ~1.3e-5 on CPU). */
const BATCH_TOL = LOGITS_TOL;

const LM_FIXTURES = ["llama", "llama-bf16", "qwen2", "gpt2", "gpt2-legacy-keys"] as const;
/** The fixtures that carry grad.* entries (the BF16 and legacy-key copies of llama and gpt2 carry none). */
const WITH_GRADIENTS: ReadonlySet<string> = new Set(["llama", "qwen2", "gpt2"]);

const startLive = liveTensors();

/** Mean next-token cross-entropy: logits[:, :-1] against ids[:, 1:]. */
function nextTokenLoss(logits: Tensor, ids: Tensor): Tensor {
  const [, steps, vocab] = logits.shape as [number, number, number];
  return crossEntropy(
    logits.narrow(1, 0, steps - 1).reshape(-1, vocab),
    ids.narrow(1, 1, steps - 1).reshape(-1),
  );
}

function setRequiresGrad(model: TransformerModel, value: boolean): void {
  for (const p of model.params.values()) p.requiresGrad_(value);
}

function clearGrads(model: TransformerModel): void {
  for (const p of model.params.values()) {
    p.grad = undefined;
    p.requiresGrad_(false);
  }
}

const fmt = (x: number) => x.toExponential(2);

for (const name of LM_FIXTURES) {
  describe(name, () => {
    let model: TransformerModel;
    let exp: Map<string, Tensor>;
    let ids: Tensor;

    before(() => {
      model = loadModel(fixtureDir(name));
      exp = expected(name);
      ids = must(exp, "input_ids");
    });
    after(() => {
      model.dispose();
      disposeAll(exp);
    });

    test("loads every weight in float32", () => {
      assert.equal(model.dtype, "float32");
      for (const spec of model.paramSpecs()) {
        const p = model.param(spec.name);
        assert.deepEqual([...p.shape], spec.shape, spec.name);
        assert.equal(p.dtype, "float32", spec.name);
      }
      assert.equal(model.params.size, model.paramSpecs().length);
    });

    test(`logits match the reference within ${LOGITS_TOL}`, (t) => {
      tidy(() => {
        const want = must(exp, "logits");
        const logits = model.forward(ids);
        assert.deepEqual([...logits.shape], [...want.shape]);
        const diff = maxAbsDiff(logits, want);
        t.diagnostic(`${name}: logits max abs diff ${fmt(diff)}`);
        assert.ok(diff <= LOGITS_TOL, `${name}: logits max abs diff ${diff} > ${LOGITS_TOL}`);
      });
    });

    test(`next-token loss matches the reference within ${LOSS_TOL}`, (t) => {
      tidy(() => {
        const loss = nextTokenLoss(model.forward(ids), ids).item();
        const want = must(exp, "loss").item();
        const diff = Math.abs(loss - want);
        t.diagnostic(`${name}: loss ${loss} vs ${want}, abs diff ${fmt(diff)}`);
        assert.ok(
          diff <= LOSS_TOL,
          `${name}: loss ${loss} vs reference ${want} (diff ${diff} > ${LOSS_TOL})`,
        );
      });
    });

    // Declared, not read from the fixture: a fixture that lost its gradients fails here instead of skipping.
    const gradientTest = WITH_GRADIENTS.has(name) ? test : test.skip;
    gradientTest("gradients of the loss match the reference", (t) => {
      const gradNames = [...exp.keys()]
        .filter((k) => k.startsWith("grad."))
        .map((k) => k.slice("grad.".length));
      assert.ok(gradNames.length > 0, `${name}: expected.safetensors has no grad.* entries`);
      setRequiresGrad(model, true);
      try {
        tidy(() => {
          nextTokenLoss(model.forward(ids), ids).backward();
          // Every weight takes part in the forward pass, so every one receives a gradient.
          for (const [param, p] of model.params)
            assert.ok(p.grad, `${name}: '${param}' received no gradient`);
          for (const param of gradNames) {
            const grad = model.param(param).grad;
            assert.ok(grad, `${name}: no gradient for '${param}'`);
            const want = must(exp, `grad.${param}`);
            const diff = maxAbsDiff(grad, want);
            const scale = Math.max(1, maxAbs(want));
            t.diagnostic(`${name}: grad ${param} max abs diff ${fmt(diff)} (max|ref| ${fmt(maxAbs(want))})`);
            assert.ok(
              diff <= GRAD_TOL * scale,
              `${name}: grad '${param}' max abs diff ${diff} > ${GRAD_TOL * scale}`,
            );
          }
        });
      } finally {
        clearGrads(model);
      }
      for (const p of model.params.values()) {
        assert.equal(p.grad, undefined);
        assert.equal(p.requiresGrad, false);
      }
    });

    test("a batch of both rows gives the same logits as each row alone", (t) => {
      tidy(() => {
        const batch = model.forward(ids);
        for (let row = 0; row < ids.size(0); row++) {
          const alone = model.forward(ids.narrow(0, row, 1));
          const diff = maxAbsDiff(alone, batch.narrow(0, row, 1));
          t.diagnostic(`${name}: row ${row} alone vs batched max abs diff ${fmt(diff)}`);
          assert.ok(diff <= BATCH_TOL, `${name}: row ${row} alone differs from the batch by ${diff}`);
        }
      });
    });

    test("an all-ones attention mask gives the same logits as no mask", (t) => {
      tidy(() => {
        const plain = model.forward(ids);
        const masked = model.forward(ids, { attentionMask: ids.ne(-1).long() });
        const diff = maxAbsDiff(masked, plain);
        t.diagnostic(`${name}: all-ones mask vs no mask logits max abs diff ${fmt(diff)}`);
        assert.ok(diff <= SAME_TOL, `${name}: an all-ones attention mask changes the logits by ${diff}`);
      });
    });

    test("a noGrad forward gives the same logits and records no graph", (t) => {
      setRequiresGrad(model, true);
      try {
        tidy(() => {
          const withGrad = model.forward(ids);
          assert.equal(withGrad.requiresGrad, true);
          const without = noGrad(() => model.forward(ids));
          assert.equal(without.requiresGrad, false);
          const diff = maxAbsDiff(without, withGrad);
          t.diagnostic(`${name}: noGrad vs grad-mode logits max abs diff ${fmt(diff)}`);
          assert.ok(diff <= SAME_TOL, `${name}: noGrad logits differ by ${diff}`);
          assert.ok(maxAbsDiff(without, must(exp, "logits")) <= LOGITS_TOL);
        });
      } finally {
        clearGrads(model);
      }
    });
  });
}

describe("reward-llama", () => {
  let model: TransformerModel;
  let exp: Map<string, Tensor>;

  before(() => {
    model = loadModel(fixtureDir("reward-llama"));
    exp = expected("reward-llama");
  });
  after(() => {
    model.dispose();
    disposeAll(exp);
  });

  /** The score at each row's last non-pad token (position lengths[i] - 1) of per-position scores [B, T, 1]. */
  function lastTokenRewards(scores: Tensor, lengths: number[]): number[] {
    return lengths.map((length, row) =>
      scores
        .select(0, row)
        .select(0, length - 1)
        .item(),
    );
  }

  test("the score head gives one output per position", () => {
    tidy(() => {
      const ids = must(exp, "input_ids");
      const scores = model.forward(ids);
      assert.deepEqual([...scores.shape], [ids.size(0), ids.size(1), 1]);
      assert.equal(model.params.has("lm_head.weight"), false);
      assert.deepEqual([...model.param("score.weight").shape], [1, 64]);
    });
  });

  test(`rewards at the last non-pad token match the reference within ${LOGITS_TOL}`, (t) => {
    tidy(() => {
      const ids = must(exp, "input_ids");
      const lengths = must(exp, "lengths").toArray();
      const want = must(exp, "rewards").toArray();
      const got = lastTokenRewards(model.forward(ids), lengths);
      const diff = Math.max(...got.map((r, i) => Math.abs(r - (want[i] ?? Number.NaN))));
      t.diagnostic(
        `reward-llama: rewards ${got.map((r) => r.toFixed(6))} vs ${want.map((r) => r.toFixed(6))}`,
      );
      t.diagnostic(`reward-llama: rewards max abs diff ${fmt(diff)}`);
      assert.ok(diff <= LOGITS_TOL, `reward-llama: rewards max abs diff ${diff} > ${LOGITS_TOL}`);
    });
  });

  test("an attention mask over the right padding leaves the rewards unchanged", (t) => {
    tidy(() => {
      const ids = must(exp, "input_ids");
      const lengths = must(exp, "lengths").toArray();
      const want = must(exp, "rewards").toArray();
      const got = lastTokenRewards(model.forward(ids, { attentionMask: ids.ne(0).long() }), lengths);
      const diff = Math.max(...got.map((r, i) => Math.abs(r - (want[i] ?? Number.NaN))));
      t.diagnostic(`reward-llama: masked rewards max abs diff ${fmt(diff)}`);
      assert.ok(diff <= LOGITS_TOL, `reward-llama: masked rewards max abs diff ${diff} > ${LOGITS_TOL}`);
    });
  });
});

test("no native tensor leaks once the models and expected tensors are disposed", () => {
  assert.equal(liveTensors(), startLive);
});
