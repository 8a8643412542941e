// The issue's requirement: "A test runs 1,000 training steps of a small model and checks that resident memory
// stays flat after warm-up". Native tensors are invisible to V8's collector, so this is what proves that tidy()
// and the addon together free every step's activations, gradients and autograd graph.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  AdamW,
  arange,
  clipGradNorm,
  crossEntropy,
  liveTensors,
  manualSeed,
  randint,
  type Tensor,
  tidy,
  weightDecayGroups,
  zeros,
} from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";

const MiB = 2 ** 20;
const STEPS = 1000;
const WARMUP = 100;
const BATCH = 4;
const SEQ = 16;
const VOCAB = 256;

/** A tiny Llama: vocab 256, hidden 32, 2 layers, 4 heads, 2 kv heads, intermediate 64 (presets.ts's shape). */
const TINY_LLAMA = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  vocab_size: VOCAB,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  hidden_act: "silu",
  tie_word_embeddings: false,
  attention_bias: false,
  torch_dtype: "float32",
  bos_token_id: 1,
  eos_token_id: 2,
};

/**
 * RSS budgets. Leaking one logits tensor per step retains B * T * V * 4 bytes = 64 KiB a step, so
 * (STEPS - WARMUP) * 64 KiB = 56.25 MiB over steps 100..1000 (measured: 58-69 MiB of growth with
 * `leaked.push(keep(logits.detach()))` added to the step, which also fails both budgets and the count). Without a leak the growth measured on this 2-core machine was
 * 4-17 MiB, all of it allocator warm-up during steps 100-500 and flat after (late-half growth -6..+5 MiB).
 * The total budget is two thirds of the leak (37.5 MiB), leaving ~20 MiB either side; the second half alone
 * (steps 550..1000) gets half of what the leak would add there (14 MiB). The live-tensor count catches any
 * leaked tensor exactly; these catch native memory the counter cannot see.
 */
const LOGITS_BYTES = BATCH * SEQ * VOCAB * 4;
const MIDPOINT = (WARMUP + STEPS) / 2;
const RSS_BUDGET = ((STEPS - WARMUP) * LOGITS_BYTES * 2) / 3;
const LATE_RSS_BUDGET = ((STEPS - MIDPOINT) * LOGITS_BYTES) / 2;

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

describe("memory", () => {
  test("1,000 training steps of a tiny Llama: RSS and live tensors stay flat after warm-up", async (t) => {
    const started = performance.now();
    const baseline = liveTensors();
    const model = createModel(TINY_LLAMA, { seed: 0 });
    for (const p of model.params.values()) p.requiresGrad_();
    const opt = new AdamW(weightDecayGroups(model.params, 0.1), { lr: 3e-3 });
    manualSeed(1);

    /** One step: random batch, next-token cross-entropy, backward, clip, AdamW, zeroGrad; all inside tidy(). */
    const trainStep = (): number =>
      tidy(() => {
        // Random ids from randint every step; each row counts up from a random start token, so "next = this + 1"
        // is learnable and the loss must fall from ln 256 ≈ 5.55.
        const ids = randint(0, VOCAB - SEQ, [BATCH, 1]).add(arange(0, SEQ).view(1, SEQ));
        const logits: Tensor = model.forward(ids);
        assert.deepEqual(logits.shape, [BATCH, SEQ, VOCAB]);
        const loss = crossEntropy(
          logits.narrow(1, 0, SEQ - 1).reshape(-1, VOCAB),
          ids.narrow(1, 1, SEQ - 1).reshape(-1),
        );
        loss.backward();
        clipGradNorm(opt.params, 1);
        opt.step();
        opt.zeroGrad();
        return loss.item();
      });

    const losses: number[] = [];
    const rssTrace: string[] = [];
    let rssWarm = 0;
    let rssMid = 0;
    let liveWarm = 0;
    for (let step = 1; step <= STEPS; step++) {
      losses.push(trainStep());
      // No await: a synchronous trainer must stay flat too (handles are finalized during GC, not on a later
      // event-loop turn; with event-loop finalizers this loop grew ~40 KiB a step).
      if (step === WARMUP) {
        rssWarm = process.memoryUsage().rss;
        liveWarm = liveTensors();
      }
      if (step === MIDPOINT) rssMid = process.memoryUsage().rss;
      if (step % 100 === 0) rssTrace.push(`${step}:${(process.memoryUsage().rss / MiB).toFixed(0)}`);
    }
    const rssEnd = process.memoryUsage().rss;
    const liveEnd = liveTensors();
    const seconds = (performance.now() - started) / 1000;

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const firstLoss = mean(losses.slice(0, 10));
    const lastLoss = mean(losses.slice(-10));
    t.diagnostic(`rss after warm-up (step ${WARMUP}): ${mib(rssWarm)}; after step ${STEPS}: ${mib(rssEnd)}`);
    t.diagnostic(
      `rss growth: ${mib(rssEnd - rssWarm)} (budget ${mib(RSS_BUDGET)}); over steps ${MIDPOINT}..${STEPS}: ${mib(rssEnd - rssMid)} (budget ${mib(LATE_RSS_BUDGET)})`,
    );
    t.diagnostic(`rss by step (MiB): ${rssTrace.join(" ")}`);
    t.diagnostic(`live tensors: ${liveWarm} after warm-up, ${liveEnd} at the end (baseline ${baseline})`);
    t.diagnostic(`loss: first 10 steps ${firstLoss.toFixed(3)}, last 10 steps ${lastLoss.toFixed(4)}`);
    t.diagnostic(
      `${STEPS} steps in ${seconds.toFixed(1)} s (${((seconds * 1000) / STEPS).toFixed(1)} ms/step)`,
    );

    assert.equal(liveEnd, liveWarm, "no tensor leaked per step");
    assert.ok(
      rssEnd - rssWarm < RSS_BUDGET,
      `rss grew ${mib(rssEnd - rssWarm)} after warm-up (budget ${mib(RSS_BUDGET)})`,
    );
    assert.ok(
      rssEnd - rssMid < LATE_RSS_BUDGET,
      `rss grew ${mib(rssEnd - rssMid)} over steps ${MIDPOINT}..${STEPS} (budget ${mib(LATE_RSS_BUDGET)})`,
    );
    assert.ok(
      losses.every((l) => Number.isFinite(l)),
      "every loss is finite",
    );
    assert.ok(firstLoss > 5 && firstLoss < 6, `starts near ln 256: ${firstLoss}`);
    assert.ok(lastLoss < 1, `the model learned the successor task: ${lastLoss}`);

    opt.dispose();
    model.dispose();
    assert.equal(liveTensors(), baseline, "model and optimizer state freed");
  });

  test("a synchronous loop that never yields does not accumulate native memory per tensor", async (t) => {
    // Every tensor is an N-API external with a finalizer (native/src/common.cc, wrap()). dispose() frees the
    // at::Tensor at once, but Node runs non-basic finalizers only from the event loop (setImmediate), so until the
    // loop yields each collected handle keeps its TensorBox and N-API reference alive. A synchronous loop (a
    // CLI trainer that never awaits) must still run in bounded memory. Measured with event-loop finalizers: about
    // 130-145 MiB for these 400,000 tensors (~350 B each); with the basic (GC-time) finalizer the addon now uses,
    // 0 MiB. The 32 MiB budget is far above V8's own churn for this loop.
    const baseline = liveTensors();
    const churn = () =>
      tidy(() => {
        zeros([1]).add(1);
      });
    for (let i = 0; i < 20_000; i++) churn();
    await yieldToEventLoop();
    const before = process.memoryUsage().rss;
    const started = performance.now();
    for (let i = 0; i < 200_000; i++) churn();
    const growth = process.memoryUsage().rss - before;
    t.diagnostic(
      `400,000 tensors made and disposed without yielding: rss +${mib(growth)} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    await yieldToEventLoop();
    assert.equal(liveTensors(), baseline);
    assert.ok(growth < 32 * MiB, `rss grew ${mib(growth)} over 400,000 disposed tensors (budget 32 MiB)`);
  });
});
