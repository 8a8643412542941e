// The fused native decode step (native/src/decode.cc) against the TypeScript forward pass it replaces, on every
// fixture model: the logits of each step agree to float rounding and greedy decoding picks the same tokens, alone
// and in a left-padded batch; LoRA adapters (loaded and fresh, Llama and GPT-2's Conv1D) are applied inside the
// step; a full cache is an error; and what the step cannot run falls back to the TypeScript path with its reason.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { noGrad, randn, tensor, tidy } from "../src/engine/index.js";
import { type DecodeOptions, DecodeSession } from "../src/generate/decodeSession.js";
import { fusedDecodePlan } from "../src/model/fusedDecode.js";
import type { KVCache } from "../src/model/kvCache.js";
import { loadModel } from "../src/model/loadModel.js";
import { attachAdapter, createLora, type LoraAdapter } from "../src/model/lora.js";
import { loadAdapter } from "../src/model/loraFiles.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { fixtureDir } from "./helpers/fixtures.js";

const STEPS = 24;
/**
 * float32: the same arithmetic in another order: one row (batch 1) multiplies by matrix-vector products where the
 * TypeScript path runs a GEMM, and RMSNorm and rotary embeddings run as one loop each (measured up to 1.4e-5).
 * The fixtures' own tolerance for logits, as a row alone against the same row in a batch (test/models.test.ts).
 */
const F32_TOL = 1e-4;
/** bfloat16: the same ATen ops in the same order (measured: identical); one bf16 rounding of the logits at most. */
const BF16_TOL = 5e-2;

const SINGLE = [[5, 17, 42, 99, 7]];
/** Three prompts of different lengths: rows 0 and 2 are left-padded. */
const PADDED = [
  [11, 23, 5, 80],
  [3, 9, 150, 200, 31, 64, 7, 12, 40],
  [77, 1],
];

const argmax = (row: Float32Array) =>
  row.reduce((best, v, i, a) => (v > (a[best] ?? -Infinity) ? i : best), 0);

/**
 * Greedy decoding of `prompts` for STEPS tokens, the prompt through the TypeScript forward, then each decode step
 * both ways from the same cache contents: returns the largest logit difference and both paths' token streams.
 */
function compareSteps(model: TransformerModel, prompts: number[][]) {
  return noGrad(() => {
    const batch = prompts.length;
    const longest = Math.max(...prompts.map((p) => p.length));
    const padding = prompts.map((p) => longest - p.length);
    const padded = padding.some((p) => p > 0);
    const ids = prompts.map((p, i) => [...new Array(padding[i]).fill(0), ...p]);
    const mask = (length: number) =>
      padded
        ? tensor(
            padding.flatMap((pad) => Array.from({ length }, (_, j) => (j < pad ? 0 : 1))),
            [batch, length],
            { dtype: "int64" },
          )
        : undefined;
    const caches: KVCache[] = [
      model.newCache(batch, longest + STEPS),
      model.newCache(batch, longest + STEPS),
    ];
    const prompt = tensor(ids.flat(), [batch, longest], { dtype: "int64" });
    const first = tidy(() => {
      let logits: Float32Array | undefined;
      for (const cache of caches)
        logits = model
          .forward(prompt, { attentionMask: mask(longest), cache, lastOnly: true })
          .toFloat32Array();
      return logits as Float32Array;
    });
    const plan = fusedDecodePlan(model, caches[1] as KVCache, padding);
    if (typeof plan === "string") throw new Error(`fused step unavailable: ${plan}`);
    const vocab = model.config.vocabSize;
    const pick = (logits: Float32Array) =>
      Array.from({ length: batch }, (_, r) => argmax(logits.subarray(r * vocab, (r + 1) * vocab)));
    let tsTokens = pick(first);
    let fusedTokens = tsTokens;
    const streams = { ts: [tsTokens], fused: [fusedTokens] };
    let maxDiff = 0;
    try {
      for (let step = 0; step < STEPS - 1; step++) {
        const [tsLogits, fusedLogits] = tidy(() => {
          const [tsCache, fusedCache] = caches as [KVCache, KVCache];
          const past = tsCache.length;
          const last = tensor(tsTokens, [batch, 1], { dtype: "int64" });
          const ts = model
            .forward(last, { attentionMask: mask(past + 1), cache: tsCache, lastOnly: true })
            .toFloat32Array();
          // The fused step is fed the TypeScript path's tokens, so a near-tie cannot make the streams diverge
          // and hide later logit differences; its own choices are compared separately.
          const fused = plan.step(tsTokens, fusedCache.length);
          fusedCache.advance(1);
          assert.deepEqual([...fused.shape], [batch, vocab]);
          return [ts, fused.toFloat32Array()];
        });
        for (let i = 0; i < tsLogits.length; i++)
          maxDiff = Math.max(maxDiff, Math.abs((tsLogits[i] ?? 0) - (fusedLogits[i] ?? 0)));
        tsTokens = pick(tsLogits);
        fusedTokens = pick(fusedLogits);
        streams.ts.push(tsTokens);
        streams.fused.push(fusedTokens);
      }
    } finally {
      plan.dispose();
      for (const c of caches) c.dispose();
      prompt.dispose();
    }
    return { maxDiff, ...streams };
  });
}

function sessionTokens(model: TransformerModel, prompts: number[][], options: DecodeOptions) {
  const session = new DecodeSession(model, prompts, {
    maxNewTokens: STEPS,
    temperature: 0,
    stopTokenIds: [],
    ...options,
  });
  try {
    while (!session.done) session.step();
    return { tokens: session.results().map((r) => r.tokens), fallback: session.fusedFallback };
  } finally {
    session.dispose();
  }
}

/** Both paths of DecodeSession give the same greedy tokens, and the fused one really ran. */
function assertSessionsAgree(model: TransformerModel, prompts: number[][]): void {
  const fused = sessionTokens(model, prompts, { fused: true });
  const plain = sessionTokens(model, prompts, { fused: false });
  assert.equal(fused.fallback, undefined, `the fused step fell back: ${fused.fallback}`);
  assert.equal(plain.tokens.length, prompts.length);
  for (const row of plain.tokens) assert.equal(row.length, STEPS);
  assert.deepEqual(fused.tokens, plain.tokens);
}

const FIXTURES: { name: string; dtype?: "bfloat16" }[] = [
  { name: "llama" },
  { name: "llama-bf16", dtype: "bfloat16" },
  { name: "qwen2" },
  { name: "gpt2" },
  { name: "gpt2-legacy-keys" },
];

for (const { name, dtype } of FIXTURES) {
  describe(`fused decode: ${name}${dtype ? ` (${dtype})` : ""}`, () => {
    let model: TransformerModel;
    before(() => {
      model = loadModel(fixtureDir(name), dtype ? { dtype } : {});
    });
    after(() => model.dispose());
    const tol = dtype === "bfloat16" ? BF16_TOL : F32_TOL;

    for (const [label, prompts] of [
      ["batch 1", SINGLE],
      ["left-padded batch of 3", PADDED],
    ] as const) {
      test(`${label}: logits within ${tol} and the same greedy tokens over ${STEPS} steps`, (t) => {
        const r = compareSteps(model, prompts as unknown as number[][]);
        t.diagnostic(
          `${name} ${label}: max |fused - TypeScript| logit difference ${r.maxDiff.toExponential(2)}`,
        );
        assert.ok(r.maxDiff <= tol, `max logit difference ${r.maxDiff} > ${tol}`);
        assert.deepEqual(r.fused, r.ts);
      });
      test(`${label}: DecodeSession gives the same tokens fused and unfused`, () => {
        assertSessionsAgree(model, prompts as unknown as number[][]);
      });
    }

    test("a step past the cache's capacity is an error naming it", () => {
      noGrad(() => {
        const cache = model.newCache(1, 4);
        const plan = fusedDecodePlan(model, cache, [0]);
        assert.equal(typeof plan, "object");
        if (typeof plan === "string") return;
        try {
          tidy(() => plan.step([1], 3));
          assert.throws(() => plan.step([1], 4), /KV cache full: 5 positions needed, capacity 4/);
        } finally {
          plan.dispose();
          cache.dispose();
        }
      });
    });
  });
}

/** B of a fresh adapter is zero (the base model); random values make the update matter. */
function randomiseB(adapter: LoraAdapter): void {
  noGrad(() => {
    for (const pair of adapter.modules.values())
      tidy(() => pair.b.copy_(randn(pair.b.shape as number[]).mul(0.5)));
  });
}

describe("fused decode with LoRA adapters", () => {
  test("the fixture adapter on llama: applied inside the step, the same logits and tokens", (t) => {
    const model = loadModel(fixtureDir("llama"));
    try {
      const base = compareSteps(model, PADDED);
      attachAdapter(model, loadAdapter(fixtureDir("lora-adapter"), model));
      const r = compareSteps(model, PADDED);
      t.diagnostic(`llama + lora-adapter: max logit difference ${r.maxDiff.toExponential(2)}`);
      assert.ok(r.maxDiff <= F32_TOL);
      assert.deepEqual(r.fused, r.ts);
      assert.notDeepEqual(
        r.ts,
        base.ts,
        "the adapter changes the greedy tokens (else this test shows nothing)",
      );
      assertSessionsAgree(model, PADDED);
    } finally {
      (model.adapter as LoraAdapter | undefined)?.dispose();
      model.dispose();
    }
  });

  test("a fresh all-linear adapter on GPT-2 (Conv1D layers), then switched off mid-session", (t) => {
    const model = loadModel(fixtureDir("gpt2"));
    try {
      const adapter = createLora(model, { r: 4, alpha: 8, targetModules: "all-linear" });
      randomiseB(adapter);
      attachAdapter(model, adapter);
      const r = compareSteps(model, PADDED);
      t.diagnostic(`gpt2 + all-linear LoRA: max logit difference ${r.maxDiff.toExponential(2)}`);
      assert.ok(r.maxDiff <= F32_TOL);
      assert.deepEqual(r.fused, r.ts);
      assertSessionsAgree(model, PADDED);
      // The plan follows the adapter's state: switched off between steps, the next step decodes the base model.
      const run = (fused: boolean) => {
        adapter.enabled = true;
        const session = new DecodeSession(model, SINGLE, {
          maxNewTokens: 8,
          temperature: 0,
          stopTokenIds: [],
          fused,
        });
        try {
          for (let i = 0; i < 4; i++) session.step();
          adapter.enabled = false;
          while (!session.done) session.step();
          return session.results()[0]?.tokens;
        } finally {
          session.dispose();
          adapter.enabled = true;
        }
      };
      assert.deepEqual(run(true), run(false));
    } finally {
      (model.adapter as LoraAdapter | undefined)?.dispose();
      model.dispose();
    }
  });

  test("an adapter training with dropout falls back to the TypeScript path and says why", () => {
    const model = loadModel(fixtureDir("llama"));
    try {
      const adapter = createLora(model, { r: 2, dropout: 0.1 });
      attachAdapter(model, adapter);
      adapter.training = true;
      const r = sessionTokens(model, SINGLE, { fused: true });
      assert.match(r.fallback ?? "", /dropout/);
      assert.equal(r.tokens[0]?.length, STEPS);
      adapter.training = false;
      assert.equal(sessionTokens(model, SINGLE, { fused: true }).fallback, undefined);
    } finally {
      (model.adapter as LoraAdapter | undefined)?.dispose();
      model.dispose();
    }
  });
});

test("a quantised base (int8) falls back to the TypeScript path with the reason, and decodes as unfused", () => {
  const model = loadModel(fixtureDir("llama"), { quantize: "int8" });
  try {
    const fused = sessionTokens(model, PADDED, { fused: true });
    assert.match(fused.fallback ?? "", /quantised base/);
    assert.deepEqual(fused.tokens, sessionTokens(model, PADDED, { fused: false }).tokens);
  } finally {
    model.dispose();
  }
});

test("fused: false and SAFETUNE_FUSED_DECODE=0 leave the fused step unused", async () => {
  const { fusedDecodeDefault, FUSED_DECODE_ENV } = await import("../src/generate/decodeSession.js");
  const previous = process.env[FUSED_DECODE_ENV];
  try {
    process.env[FUSED_DECODE_ENV] = "0";
    assert.equal(fusedDecodeDefault(), false);
    delete process.env[FUSED_DECODE_ENV];
    assert.equal(fusedDecodeDefault(), true);
  } finally {
    if (previous === undefined) delete process.env[FUSED_DECODE_ENV];
    else process.env[FUSED_DECODE_ENV] = previous;
  }
});
