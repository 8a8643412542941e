// Where a llama-bench training step spends its time, by block, and what the chunked head ops save (issue 16):
// CPU time (user + system of this process, single intra-op thread) of forward + backward of each block alone at
// the step's shapes (batch 8 x 128, d 256, 4 heads / 2 KV heads, MLP 688, vocab 4096), with the count the step
// runs of it, and of the whole step with the unfused and the chunked head. CPU time, not wall time, because the
// machine is shared: another process's load moves a single-threaded run's CPU time far less than its wall time.
//
// Usage: tsx bench/trainingProfile.ts [--steps N] [--warmup N]
import { parseArgs } from "node:util";
import {
  chunkedTokenLogProbs,
  chunkedTokenLoss,
  crossEntropy,
  linear,
  manualSeed,
  randint,
  randn,
  setNumThreads,
  type Tensor,
  tidy,
  where,
} from "../src/engine/index.js";
import { applyRotary, attend, blockedKeys, RotaryTables } from "../src/model/attention.js";
import { createModel } from "../src/model/createModel.js";
import { nextTokenLossSum } from "../src/model/nextTokenLogProbs.js";
import { presetConfig } from "../src/model/presets.js";
import { intFlag, median } from "./measure.js";

const [B, T, D, HEADS, KV_HEADS, HEAD_DIM, MLP, V] = [8, 128, 256, 4, 2, 64, 688, 4096];
const LAYERS = 4;

function cpuMs(fn: () => void, steps: number, warmup: number): number {
  for (let i = 0; i < warmup; i++) tidy(fn);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = process.cpuUsage();
    tidy(fn);
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
  }
  return median(times);
}

function clearGrads(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.grad = undefined;
}

function main(): void {
  const { values } = parseArgs({
    options: { steps: { type: "string", default: "10" }, warmup: { type: "string", default: "3" } },
  });
  const steps = intFlag("steps", values.steps, 1);
  const warmup = intFlag("warmup", values.warmup, 0);
  setNumThreads(1);
  manualSeed(0);
  const time = (fn: () => void) => cpuMs(fn, steps, warmup);
  const rows: [string, number, number][] = [];

  const model = createModel(presetConfig("llama-bench", V), { seed: 0 });
  for (const p of model.params.values()) p.requiresGrad_();
  const ids = randint(0, V, [B, T]);
  const stepUnfused = time(() => {
    const logits = model.forward(ids);
    crossEntropy(logits.narrow(1, 0, T - 1).reshape(-1, V), ids.narrow(1, 1, T - 1).reshape(-1)).backward();
    clearGrads(model.params.values());
  });
  const stepChunked = time(() => {
    nextTokenLossSum(model, ids, ids, { ignoreIndex: -100 })
      .div(B * (T - 1))
      .backward();
    clearGrads(model.params.values());
  });

  const x = randn([B, T, D]).requiresGrad_();
  const w = randn([D]).requiresGrad_();
  rows.push([
    "RMSNorm (fp32, 6 ops)",
    2 * LAYERS + 1,
    time(() => {
      x.mul(x.square().mean(-1, true).add(1e-6).rsqrt()).mul(w).sum().backward();
      clearGrads([x, w]);
    }),
  ]);
  const gate = randn([B, T, MLP]).requiresGrad_();
  const up = randn([B, T, MLP]).requiresGrad_();
  rows.push([
    "SwiGLU (silu(gate) * up)",
    LAYERS,
    time(() => {
      gate.silu().mul(up).sum().backward();
      clearGrads([gate, up]);
    }),
  ]);
  const rotary = new RotaryTables(HEAD_DIM, 10000, undefined, 512, "float32");
  rotary.ensure(T);
  const q = randn([B, HEADS, T, HEAD_DIM]).requiresGrad_();
  const k = randn([B, KV_HEADS, T, HEAD_DIM]).requiresGrad_();
  const v = randn([B, KV_HEADS, T, HEAD_DIM]).requiresGrad_();
  const cos = rotary.cos.narrow(0, 0, T);
  const sin = rotary.sin.narrow(0, 0, T);
  rows.push([
    "rotary (q and k)",
    LAYERS,
    time(() => {
      applyRotary(q, cos, sin)
        .sum()
        .add(applyRotary(k, cos, sin).sum())
        .backward();
      clearGrads([q, k]);
    }),
  ]);
  const blocked = blockedKeys(T, 0, undefined);
  rows.push([
    "attention (scores, mask, softmax, values)",
    LAYERS,
    time(() => {
      attend(q, k, v, blocked).sum().backward();
      clearGrads([q, k, v]);
    }),
  ]);

  const hidden = randn([B, T - 1, D]).requiresGrad_();
  const head = randn([V, D]).mul(0.05).requiresGrad_();
  const all = randint(0, V, [B, T - 1]);
  const half = where(randn([B, T - 1]).lt(0), -100, all); // DPO-like: about half the positions are prompt
  const unfusedLogProbs = (targets: Tensor) => {
    const keep = targets.ne(-100);
    return linear(hidden, head)
      .logSoftmax(-1)
      .gather(-1, targets.maskedFill(keep.logicalNot(), 0).unsqueeze(-1))
      .squeeze(-1)
      .mul(keep.float());
  };
  const headRun = (fn: () => Tensor) =>
    time(() => {
      fn().backward();
      clearGrads([hidden, head]);
    });
  const headRows: [string, number][] = [
    ["head + loss, unfused (linear, log_softmax, gather)", headRun(() => unfusedLogProbs(all).sum().neg())],
    ["head + loss, chunkedTokenLoss", headRun(() => chunkedTokenLoss(hidden, head, undefined, all))],
    ["head log-probs, half ignored, unfused", headRun(() => unfusedLogProbs(half).sum())],
    [
      "head log-probs, half ignored, chunkedTokenLogProbs",
      headRun(() => chunkedTokenLogProbs(hidden, head, undefined, half).sum()),
    ],
  ];

  const out = [
    `llama-bench training step, CPU ms (1 thread, median of ${steps} after ${warmup} warmup):`,
    `  whole step (forward + backward), unfused head: ${stepUnfused.toFixed(1)}`,
    `  whole step (forward + backward), chunked loss: ${stepChunked.toFixed(1)}`,
    "  block (forward + backward at the step's shapes): ms per call x calls per step = ms per step (share)",
    ...rows.map(
      ([name, calls, ms]) =>
        `    ${name}: ${ms.toFixed(2)} x ${calls} = ${(ms * calls).toFixed(1)} (${((100 * ms * calls) / stepUnfused).toFixed(1)}%)`,
    ),
    "  LM head [8 x 127 positions, vocab 4096], forward + backward:",
    ...headRows.map(([name, ms]) => `    ${name}: ${ms.toFixed(1)}`),
  ];
  process.stdout.write(`${out.join("\n")}\n`);
  model.dispose();
  rotary.dispose();
}

main();
