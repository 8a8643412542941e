// The training step of `npm run bench` alone (bench/safetunePeer.ts: forward, SFT's chunked next-token loss,
// backward, clipping, AdamW, gradients dropped), for profiling its time (`perf record`) and its memory: prints each
// step's CPU time, the process's peak RSS and the live tensor handles after it. --collect runs V8's garbage
// collector after every step (needs node's --expose-gc: NODE_OPTIONS=--expose-gc).
//
// Usage: tsx bench/trainingStep.ts [--model gpt|llama] [--steps N] [--threads N] [--collect]
import { parseArgs } from "node:util";
import {
  AdamW,
  clipGradNorm,
  liveTensors,
  manualSeed,
  randint,
  setNumThreads,
  tidy,
  weightDecayGroups,
} from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";
import { presetConfig } from "../src/model/presets.js";
import { modelNextTokenLoss } from "../src/score/modelLogProbs.js";
import { intFlag, median } from "./measure.js";
import { BATCH, PRESETS, SEQ, VOCAB } from "./safetunePeer.js";

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("--collect needs NODE_OPTIONS=--expose-gc");
  gc();
}

function main(): void {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "llama" },
      steps: { type: "string", default: "10" },
      threads: { type: "string", default: "1" },
      collect: { type: "boolean", default: false },
    },
    strict: true,
  });
  const name = values.model;
  if (name !== "gpt" && name !== "llama") throw new RangeError("--model must be gpt or llama");
  const steps = intFlag("steps", values.steps, 1);
  setNumThreads(intFlag("threads", values.threads, 1));
  const peak = () => Math.round(process.resourceUsage().maxRSS / 1024);
  manualSeed(0);
  const model = createModel(presetConfig(PRESETS[name], VOCAB), { seed: 0 });
  const params = [...model.params.values()];
  for (const p of params) p.requiresGrad_();
  const ids = randint(0, VOCAB, [BATCH, SEQ]);
  const opt = new AdamW(weightDecayGroups(model.params, 0.1), { lr: 1e-4 });
  const lines = [`${name}: model created, peak RSS ${peak()} MiB`];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = process.cpuUsage();
    tidy(() => {
      const loss = modelNextTokenLoss(model, { inputIds: ids, labels: ids });
      loss.backward();
      clipGradNorm(params, 1.0);
      opt.step();
      opt.zeroGrad();
    });
    if (values.collect) collect();
    const used = process.cpuUsage(start);
    cpu.push((used.user + used.system) / 1000);
    lines.push(
      `  step ${i + 1}: CPU ${cpu[i]?.toFixed(1)} ms, peak RSS ${peak()} MiB, live tensors ${liveTensors()}`,
    );
  }
  lines.push(`${name}: median CPU ${median(cpu).toFixed(1)} ms per step, peak RSS ${peak()} MiB`);
  process.stdout.write(`${lines.join("\n")}\n`);
  opt.dispose();
  ids.dispose();
  model.dispose();
}

main();
