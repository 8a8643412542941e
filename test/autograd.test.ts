// Autograd, the optimizer, RNG control and tidy() scopes. Reference numbers for AdamW come from
// torch.optim.AdamW in PyTorch 1.13 (scripts shown next to each constant); gradients are hand-computed.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import {
  AdamW,
  clipGradNorm,
  crossEntropy,
  getRngState,
  isGradEnabled,
  keep,
  liveTensors,
  manualSeed,
  noGrad,
  ones,
  rand,
  randint,
  randn,
  randperm,
  scopeDepth,
  setRngState,
  type Tensor,
  tensor,
  tidy,
  weightDecayGroups,
  zeros,
} from "../src/engine/index.js";

const baseline = liveTensors();
afterEach(() => {
  assert.equal(liveTensors(), baseline, "every tensor made by the test was freed");
  assert.equal(scopeDepth(), 0, "no tidy() scope left open");
  assert.equal(isGradEnabled(), true, "grad mode back on");
});

function close(actual: Tensor | ArrayLike<number>, expected: readonly number[], tol = 1e-6): void {
  const values =
    Array.isArray(actual) || ArrayBuffer.isView(actual)
      ? Array.from(actual as ArrayLike<number>)
      : (actual as Tensor).toArray();
  assert.equal(values.length, expected.length, `length ${values.length} vs ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = values[i] as number;
    const e = expected[i] as number;
    assert.ok(
      Math.abs(a - e) <= tol,
      `[${i}]: ${a} vs ${e} (tol ${tol})\nactual   ${values}\nexpected ${expected}`,
    );
  }
}

/** The gradient (the grad getter returns a new reference, owned by the enclosing tidy). */
function gradTensor(t: Tensor): Tensor {
  const g = t.grad;
  assert.ok(g, "has a gradient");
  return g;
}

function gradOf(t: Tensor): number[] {
  return gradTensor(t).toArray();
}

describe("autograd", () => {
  test("requiresGrad_, isLeaf, backward, grad, detach", () =>
    tidy(() => {
      const x = tensor([1, 2, 3]);
      assert.equal(x.requiresGrad, false);
      assert.equal(x.requiresGrad_(), x, "returns this");
      assert.equal(x.requiresGrad, true);
      assert.equal(x.isLeaf, true);
      assert.equal(x.grad, undefined, "no gradient before backward");
      const y = x.mul(x).sum(); // d/dx = 2x
      assert.equal(y.requiresGrad, true);
      assert.equal(y.isLeaf, false);
      y.backward();
      assert.deepEqual(gradOf(x), [2, 4, 6]);
      // the getter hands out a new reference: disposing it leaves the stored gradient alone
      gradTensor(x).dispose();
      assert.deepEqual(gradOf(x), [2, 4, 6]);

      const d = x.mul(3).detach();
      assert.equal(d.requiresGrad, false);
      assert.equal(d.isLeaf, true);
      assert.deepEqual(d.toArray(), [3, 6, 9]);
      assert.equal(d.mul(x).requiresGrad, true, "mixing with a grad tensor records again");

      x.requiresGrad_(false);
      assert.equal(x.requiresGrad, false);
      assert.equal(x.mul(2).requiresGrad, false);
    }));

  test("only float tensors can require grad; backward needs a scalar or a gradient", () =>
    tidy(() => {
      assert.throws(
        () => tensor([1, 2], undefined, { dtype: "int64" }).requiresGrad_(),
        /^Error: setRequiresGrad: .*floating point/,
      );
      const x = tensor([1, 2]).requiresGrad_();
      const y = x.mul(x);
      assert.throws(
        () => y.backward(),
        /^Error: backward: grad can be implicitly created only for scalar outputs/,
      );
      // with an explicit upstream gradient: d(sum(v * x^2))/dx = 2 v x
      y.backward(tensor([1, 0.5]));
      assert.deepEqual(gradOf(x), [2, 2]);
    }));

  test("gradients accumulate over two backward calls until cleared", () =>
    tidy(() => {
      const x = tensor([1, -2, 0.5]).requiresGrad_();
      const loss = x.mul(x).sum(); // grad 2x
      loss.backward(undefined, true);
      assert.deepEqual(gradOf(x), [2, -4, 1]);
      loss.backward(undefined, true); // the retained graph again: 4x
      assert.deepEqual(gradOf(x), [4, -8, 2]);
      // a fresh graph adds on top as well: 3 * 2x = 6x
      tidy(() => x.mul(x).sum().backward());
      assert.deepEqual(gradOf(x), [6, -12, 3]);
      // without retainGraph the saved tensors are freed by the first backward
      const once = x.mul(x).sum();
      once.backward();
      assert.throws(
        () => once.backward(),
        /^Error: backward: Trying to backward through the graph a second time/,
      );
      assert.deepEqual(gradOf(x), [8, -16, 4], "the failed second backward added nothing");
      x.grad = undefined;
      assert.equal(x.grad, undefined);
      tidy(() => x.mul(x).sum().backward());
      assert.deepEqual(gradOf(x), [2, -4, 1]);
      // the setter stores a given gradient
      x.grad = tensor([7, 8, 9]);
      assert.deepEqual(gradOf(x), [7, 8, 9]);
    }));

  test("gradients of a composite function match hand-computed values", () =>
    tidy(() => {
      const xs = [1, 2, 3];
      const ys = [0.5, -1, 2];
      const x = tensor(xs).requiresGrad_();
      const y = tensor(ys).requiresGrad_();
      // f = Σ x·y + ½ Σ x² + mean(y³) + Σ σ(x)
      const f = x.mul(y).sum().add(x.square().sum().mul(0.5)).add(y.pow(3).mean()).add(x.sigmoid().sum());
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const fValue =
        xs.reduce((s, v, i) => s + v * (ys[i] as number) + 0.5 * v * v + sig(v), 0) +
        ys.reduce((s, v) => s + v ** 3, 0) / 3;
      close([f.item()], [fValue], 1e-5);
      f.backward();
      // ∂f/∂x = y + x + σ(x)(1 - σ(x)); ∂f/∂y = x + y² (d/dy of mean(y³) over 3 elements is y²)
      close(
        gradOf(x),
        xs.map((v, i) => (ys[i] as number) + v + sig(v) * (1 - sig(v))),
      );
      close(
        gradOf(y),
        ys.map((v, i) => (xs[i] as number) + v * v),
      );

      // g = Σ tanh(W v): ∂g/∂W[i][j] = (1 - tanh²(z_i)) v_j with z = W v
      const wRows = [
        [0.1, -0.2, 0.3],
        [0.5, 0.25, -0.5],
      ];
      const v = [1, 2, 3];
      const w = tensor(wRows).requiresGrad_();
      w.matmul(tensor(v)).tanh().sum().backward();
      const z = wRows.map((row) => row.reduce((s, e, j) => s + e * (v[j] as number), 0));
      close(
        gradOf(w),
        z.flatMap((zi) => v.map((vj) => (1 - Math.tanh(zi) ** 2) * vj)),
      );

      // cross-entropy of one row: ∂/∂logits = softmax(logits) - onehot(target)
      const logits = tensor([[1, 2, 3]]).requiresGrad_();
      crossEntropy(logits, tensor([0], undefined, { dtype: "int64" })).backward();
      const e = [1, 2, 3].map(Math.exp);
      const zsum = e.reduce((s, a) => s + a, 0);
      close(
        gradOf(logits),
        e.map((a, i) => a / zsum - (i === 0 ? 1 : 0)),
      );
    }));
});

describe("noGrad", () => {
  test("records no graph inside and restores grad mode after", () =>
    tidy(() => {
      const x = tensor([1, 2]).requiresGrad_();
      assert.equal(isGradEnabled(), true);
      const y = noGrad(() => {
        assert.equal(isGradEnabled(), false);
        return x.mul(2);
      });
      assert.equal(y.requiresGrad, false, "no graph recorded inside");
      assert.deepEqual(y.toArray(), [2, 4]);
      assert.equal(isGradEnabled(), true);
      assert.equal(x.mul(2).requiresGrad, true);
    }));

  test("nests and restores the previous mode, also after an exception", () =>
    tidy(() => {
      noGrad(() => {
        noGrad(() => assert.equal(isGradEnabled(), false));
        assert.equal(isGradEnabled(), false, "the inner scope restores off, not on");
      });
      assert.equal(isGradEnabled(), true);
      const boom = new Error("boom");
      assert.throws(
        () =>
          noGrad(() => {
            throw boom;
          }),
        (err) => err === boom,
      );
      assert.equal(isGradEnabled(), true, "restored after the exception");
      assert.equal(tensor([1]).requiresGrad_().mul(2).requiresGrad, true);
    }));
});

describe("AdamW", () => {
  const C = [
    [1, 2],
    [3, 4],
  ];
  const P0 = [
    [0.5, -1.0],
    [1.5, 2.0],
  ];
  /** loss = Σ c ⊙ p², so ∂loss/∂p = 2 c ⊙ p. */
  function step(p: Tensor, opt: AdamW): void {
    opt.zeroGrad();
    tidy(() => p.square().mul(tensor(C)).sum().backward());
    opt.step();
  }

  // PyTorch 1.13:
  //   c = torch.tensor([[1., 2.], [3., 4.]]); p = torch.tensor([[0.5, -1.0], [1.5, 2.0]], requires_grad=True)
  //   opt = torch.optim.AdamW([p], lr=0.01, weight_decay=0.1)
  //   for _ in range(steps): opt.zero_grad(); (p * p * c).sum().backward(); opt.step()
  const TORCH_ONE_STEP = [0.4895000159740448, -0.9890000224113464, 1.4884999990463257, 1.9880000352859497];
  const TORCH_THREE_STEPS = [0.46855399012565613, -0.9670442342758179, 1.465542197227478, 1.9640419483184814];

  test("one and three steps match torch.optim.AdamW (lr 0.01, weight decay 0.1)", () =>
    tidy(() => {
      for (const [steps, expected] of [
        [1, TORCH_ONE_STEP],
        [3, TORCH_THREE_STEPS],
      ] as const) {
        const p = tensor(P0).requiresGrad_();
        const opt = new AdamW([p], { lr: 0.01, weightDecay: 0.1 });
        assert.equal(opt.beta1, 0.9);
        assert.equal(opt.beta2, 0.999);
        assert.equal(opt.eps, 1e-8);
        for (let i = 0; i < steps; i++) step(p, opt);
        assert.equal(opt.stepCount, steps);
        close(p, expected);
        assert.equal(p.isLeaf, true, "the update is not recorded in the graph");
        opt.dispose();
      }
    }));

  test("weightDecayGroups: no decay for 1-D params; two steps match torch param groups", () =>
    tidy(() => {
      const w = tensor(P0).requiresGrad_();
      const b = tensor([1.0, -2.0]).requiresGrad_();
      const groups = weightDecayGroups(
        [
          ["layer.weight", w],
          ["layer.bias", b],
        ],
        0.1,
      );
      assert.equal(groups.length, 2);
      assert.deepEqual(groups[0]?.params, [w]);
      assert.equal(groups[0]?.weightDecay, 0.1);
      assert.deepEqual(groups[1]?.params, [b]);
      assert.equal(groups[1]?.weightDecay, 0);
      // a custom rule by name
      const byName = weightDecayGroups([["layer.weight", w]], 0.1, (name) => name.endsWith(".weight"));
      assert.deepEqual(byName[1]?.params, [w]);

      const opt = new AdamW(groups, { lr: 0.01 });
      for (let i = 0; i < 2; i++) {
        opt.zeroGrad();
        tidy(() => w.square().mul(tensor(C)).sum().add(b.square().mul(3).sum()).backward());
        opt.step();
      }
      // PyTorch 1.13: b = torch.tensor([1.0, -2.0], requires_grad=True)
      //   opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}], lr=0.01)
      //   two steps of loss = (w * w * c).sum() + (b * b * 3).sum()
      close(w, [0.47901660203933716, -0.9780141115188599, 1.4770135879516602, 1.9760136604309082]);
      close(b, [0.980002760887146, -1.9800013303756714]);
      opt.dispose();
    }));

  test("zeroGrad sets grads to undefined; params without a grad are skipped; lrScale", () =>
    tidy(() => {
      const a = tensor([1, 2]).requiresGrad_();
      const frozen = tensor([3, 4]).requiresGrad_();
      const scaled = tensor([5, 6]).requiresGrad_();
      const opt = new AdamW([{ params: [a, frozen] }, { params: [scaled], lrScale: 0, weightDecay: 0.5 }], {
        lr: 0.1,
      });
      tidy(() => a.add(scaled).sum().backward());
      assert.ok(a.grad && scaled.grad);
      assert.equal(frozen.grad, undefined);
      opt.step();
      assert.deepEqual(frozen.toArray(), [3, 4], "no gradient, no update (not even weight decay)");
      assert.deepEqual(scaled.toArray(), [5, 6], "lrScale 0: neither a step nor decay");
      // first step of Adam moves by lr * sign(grad) (up to eps) after decay (1 - lr * 0.01)
      close(a, [1 * (1 - 0.1 * 0.01) - 0.1, 2 * (1 - 0.1 * 0.01) - 0.1], 1e-6);
      opt.zeroGrad();
      assert.equal(a.grad, undefined);
      assert.equal(scaled.grad, undefined);
      assert.equal(opt.params.length, 3);
      opt.dispose();
    }));
});

describe("clipGradNorm", () => {
  test("returns the pre-clip global norm and scales grads down to maxNorm", () =>
    tidy(() => {
      const a = tensor([1, 1]).requiresGrad_();
      const b = tensor([1]).requiresGrad_();
      const none = tensor([1]).requiresGrad_();
      // grads [3, 4] and [12]: global norm sqrt(9 + 16 + 144) = 13
      tidy(() =>
        a
          .mul(tensor([3, 4]))
          .sum()
          .add(b.mul(12).sum())
          .backward(),
      );
      assert.equal(clipGradNorm([a, b, none], 100), 13);
      assert.deepEqual(gradOf(a), [3, 4], "under maxNorm: unchanged");
      assert.deepEqual(gradOf(b), [12]);
      assert.equal(none.grad, undefined);
      const norm = clipGradNorm([a, b, none], 1);
      assert.equal(norm, 13);
      // as torch.nn.utils.clip_grad_norm_: scale maxNorm / (norm + 1e-6)
      const s = 1 / (13 + 1e-6);
      close(gradOf(a), [3 * s, 4 * s]);
      close(gradOf(b), [12 * s]);
      close([clipGradNorm([a, b], 10)], [1], 1e-5);
      assert.equal(clipGradNorm([none], 1), 0, "no gradients: norm 0");
      assert.equal(clipGradNorm([], 1), 0);
    }));
});

describe("random numbers", () => {
  test("manualSeed: same seed, same randn — the same numbers as PyTorch's CPU generator", () =>
    tidy(() => {
      manualSeed(0);
      const a = randn([5]).toArray();
      // torch.manual_seed(0); torch.randn(5) in PyTorch 1.13
      close(
        a,
        [
          1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991,
          -1.0845223665237427,
        ],
        1e-7,
      );
      manualSeed(42);
      // torch.manual_seed(42); torch.randn(2, 3)
      close(
        randn([2, 3]),
        [
          0.33669036626815796, 0.12880940735340118, 0.23446236550807953, 0.23033303022384644,
          -1.1228563785552979, -0.18632829189300537,
        ],
        1e-7,
      );
      manualSeed(0);
      assert.deepEqual(randn([5]).toArray(), a);
      manualSeed(1);
      assert.notDeepEqual(randn([5]).toArray(), a);
      manualSeed(9);
      const draws = [rand([4]).toArray(), randint(0, 100, [6]).toArray(), randperm(8).toArray()];
      manualSeed(9);
      assert.deepEqual([rand([4]).toArray(), randint(0, 100, [6]).toArray(), randperm(8).toArray()], draws);
    }));

  test("getRngState / setRngState replay the same random numbers", () =>
    tidy(() => {
      manualSeed(3);
      randn([7]); // move the generator somewhere arbitrary
      const state = getRngState();
      assert.equal(state.dtype, "uint8");
      assert.ok(state.numel > 0);
      const first = [randn([8]).toArray(), rand([3]).toArray(), randint(0, 1000, [4]).toArray()];
      manualSeed(12345); // a seed in between does not matter once the state is restored
      setRngState(state);
      const again = [randn([8]).toArray(), rand([3]).toArray(), randint(0, 1000, [4]).toArray()];
      assert.deepEqual(again, first);
      // the saved state is a snapshot: restoring twice replays twice
      setRngState(state);
      assert.deepEqual(randn([8]).toArray(), first[0]);
      assert.throws(() => setRngState(zeros([3], { dtype: "uint8" })), /^Error: setRngState: /);
    }));
});

describe("tidy", () => {
  test("frees everything made inside except the returned tensor", () => {
    const before = liveTensors();
    let inner: Tensor | undefined;
    const result = tidy(() => {
      inner = ones([3]);
      const mid = inner.add(1);
      return mid.mul(2);
    });
    assert.equal(liveTensors(), before + 1);
    assert.equal(inner?.isDisposed, true);
    assert.equal(result.isDisposed, false);
    assert.deepEqual(result.toArray(), [4, 4, 4]);
    result.dispose();
    assert.equal(liveTensors(), before);
  });

  test("returned tensors inside arrays, plain objects and Maps survive", () => {
    const before = liveTensors();
    const out = tidy(() => {
      const a = ones([1]);
      a.add(5); // garbage
      return {
        list: [a, [zeros([2])]],
        obj: { deep: { t: full3() } },
        map: new Map([["m", ones([4])]]),
        n: 3,
      };
    });
    assert.equal(liveTensors(), before + 4);
    const all = [
      out.list[0] as Tensor,
      (out.list[1] as Tensor[])[0] as Tensor,
      out.obj.deep.t,
      out.map.get("m") as Tensor,
    ];
    for (const t of all) assert.equal(t.isDisposed, false);
    assert.deepEqual(out.obj.deep.t.toArray(), [3, 3, 3]);
    for (const t of all) t.dispose();
    assert.equal(liveTensors(), before);
  });

  test("nested tidy moves its result to the parent scope", () => {
    const before = liveTensors();
    let fromInner: Tensor | undefined;
    const outer = tidy(() => {
      fromInner = tidy(() => ones([2]).add(1));
      assert.equal(scopeDepth(), 1);
      assert.equal(fromInner.isDisposed, false, "alive in the parent scope");
      return fromInner.mul(3);
    });
    assert.equal(fromInner?.isDisposed, true, "freed when the parent ended without returning it");
    assert.deepEqual(outer.toArray(), [6, 6]);
    assert.equal(liveTensors(), before + 1);
    outer.dispose();
    // returned through two levels
    const twice = tidy(() => tidy(() => ones([1])));
    assert.equal(twice.isDisposed, false);
    twice.dispose();
    assert.equal(liveTensors(), before);
  });

  test("keep() survives every enclosing scope until disposed", () => {
    const before = liveTensors();
    let kept: Tensor | undefined;
    tidy(() => {
      tidy(() => {
        kept = keep(ones([2]));
        ones([2]); // garbage
      });
      assert.equal(kept?.isDisposed, false);
    });
    assert.equal(kept?.isDisposed, false);
    assert.equal(liveTensors(), before + 1);
    kept?.dispose();
    assert.equal(liveTensors(), before);
  });

  test("an exception inside frees everything and rethrows the same error", () => {
    const before = liveTensors();
    const made: Tensor[] = [];
    const boom = new Error("boom");
    assert.throws(
      () =>
        tidy(() => {
          made.push(ones([2]));
          tidy(() => made.push(zeros([2])));
          made.push(tidy(() => ones([3])));
          throw boom;
        }),
      (err) => err === boom,
    );
    assert.equal(scopeDepth(), 0);
    for (const t of made) assert.equal(t.isDisposed, true);
    assert.equal(liveTensors(), before);
    // an engine error inside tidy as well
    assert.throws(() => tidy(() => ones([2, 3]).matmul(ones([2, 3]))), /^Error: matmul: /);
    assert.equal(liveTensors(), before);
  });

  test("a Promise-returning fn throws and frees what it made before its first await", () => {
    const before = liveTensors();
    let made: Tensor | undefined;
    assert.throws(
      () =>
        tidy(async () => {
          made = ones([2]);
          return made;
        }),
      /tidy\(\) takes a synchronous function/,
    );
    assert.equal(scopeDepth(), 0);
    const freedByTidy = made?.isDisposed;
    const leaked = liveTensors() - before;
    made?.dispose(); // so that a failure here does not cascade into the other tests' leak checks
    assert.equal(freedByTidy, true, "the tensor made before the first await is freed");
    assert.equal(leaked, 0);
  });

  test("a rejected Promise from fn is not left unhandled", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      assert.throws(
        () =>
          tidy(async () => {
            throw new Error("rejected inside tidy");
          }),
        /tidy\(\) takes a synchronous function/,
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off("unhandledRejection", listener);
    }
    assert.deepEqual(
      unhandled.map((r) => String(r)),
      [],
      "tidy() reported the misuse; the promise's own rejection must not also crash the process",
    );
  });
});

function full3(): Tensor {
  return ones([3]).mul(3);
}
