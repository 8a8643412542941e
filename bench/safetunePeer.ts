// safetune's side of the benchmark (`npm run bench`): the same workloads, protocol and JSON as
// bench/torch_peer.py, through safetune's library API. bench/run.ts runs it once per model in a fresh process
// so that peak RSS is per model.
//
// Per model: a training step and a no-grad forward on batch 8 x 128 (median seconds), greedy KV-cache
// generation at batch 1 and batch 8 from 16-token prompts (prefill yields the first new token, the decode loop the
// other gen_tokens - 1; decode tokens/s counts only the loop, over all rows), and the process-wide peak RSS after
// the model's run. Decoding runs the fused native step (DecodeSession's default); the unfused rows are the same
// decode with `fused: false` (the TypeScript path), for the before/after comparison.
//
// Usage: tsx bench/safetunePeer.ts --json [--threads N] [--steps N] [--warmup N] [--gen-tokens N]
//        [--model gpt|llama|both] [--seed N]
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
// Imported from the modules themselves rather than src/index.ts, so the benchmark does not load the trainers.
import {
  AdamW,
  clipGradNorm,
  getNumThreads,
  manualSeed,
  noGrad,
  randint,
  setNumThreads,
  type Tensor,
  tidy,
  torchVersion,
  weightDecayGroups,
} from "../src/engine/index.js";
import { DecodeSession } from "../src/generate/decodeSession.js";
import { createModel } from "../src/model/createModel.js";
import { type PresetName, presetConfig } from "../src/model/presets.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { modelNextTokenLoss } from "../src/score/modelLogProbs.js";
import { intFlag, median, medianTime } from "./measure.js";

export const VOCAB = 4096;
export const BATCH = 8;
export const SEQ = 128;
export const PROMPT_LEN = 16;
export const GEN_REPEATS = 3;
/** Rows of the batched decode figure. */
export const DECODE_BATCH = 8;
/** The presets' n_positions is 512 and safetune's decoder keeps prompt + new tokens within it. */
export const MAX_GEN_TOKENS = 512 - PROMPT_LEN;

export type ModelName = "gpt" | "llama";
export const PRESETS: Record<ModelName, PresetName> = { gpt: "gpt2-bench", llama: "llama-bench" };

/** One model's figures: the same keys as bench/torch_peer.py prints. */
export interface ModelFigures {
  params: number;
  train_step_s: number;
  train_tokens_per_s: number;
  forward_s: number;
  forward_tokens_per_s: number;
  generate_tokens_per_s: number;
  generate_with_prefill_s: number;
  /** Decode tokens/s of DECODE_BATCH rows together (all rows counted). */
  generate_b8_tokens_per_s: number;
  /** safetune only: the same decodes with the fused step off (the TypeScript path). */
  generate_unfused_tokens_per_s?: number;
  generate_b8_unfused_tokens_per_s?: number;
  peak_rss_mib: number;
}

export interface PeerResult {
  /** The libtorch / PyTorch version. */
  torch: string;
  threads: number;
  models: Partial<Record<ModelName, ModelFigures>>;
}

export interface PeerOptions {
  steps: number;
  warmup: number;
  genTokens: number;
  seed: number;
}

function progress(message: string): void {
  const peak = (process.resourceUsage().maxRSS / 1024).toFixed(0);
  process.stderr.write(`  [safetune] ${message} (peak RSS so far ${peak} MiB)\n`);
}

/**
 * Greedy decode with the KV cache under no-grad, as the peer's @torch.no_grad() generate: the first step()
 * is the prefill (and yields the first token), the others are the decode loop.
 */
export function generate(
  model: TransformerModel,
  prompts: number[][],
  newTokens: number,
  fused = true,
): { decodeS: number; decodeCpuS: number; totalS: number; tokens: number[][] } {
  return noGrad(() => {
    const start = performance.now();
    const session = new DecodeSession(model, prompts, {
      maxNewTokens: newTokens,
      temperature: 0,
      stopTokenIds: [],
      fused,
    });
    try {
      session.step();
      const decodeStart = performance.now();
      const cpuStart = process.cpuUsage();
      while (!session.done) session.step();
      const end = performance.now();
      const cpu = process.cpuUsage(cpuStart);
      if (fused && session.fusedFallback)
        throw new Error(`the fused decode step fell back: ${session.fusedFallback}`);
      const tokens = session.results().map((r) => r.tokens);
      for (const row of tokens)
        if (row.length !== newTokens)
          throw new Error(`generation produced ${row.length} tokens, expected ${newTokens}`);
      const decodeCpuS = (cpu.user + cpu.system) / 1e6;
      return { decodeS: (end - decodeStart) / 1000, decodeCpuS, totalS: (end - start) / 1000, tokens };
    } finally {
      session.dispose();
    }
  });
}

/** Median decode tokens/s (all rows) of GEN_REPEATS greedy generations, after one warmup when asked. */
function decodeRate(
  model: TransformerModel,
  prompts: number[][],
  newTokens: number,
  warmup: boolean,
  fused: boolean,
) {
  if (warmup) generate(model, prompts, newTokens, fused);
  const runs = Array.from({ length: GEN_REPEATS }, () => generate(model, prompts, newTokens, fused));
  return {
    tokensPerS: (prompts.length * (newTokens - 1)) / median(runs.map((r) => r.decodeS)),
    totalS: median(runs.map((r) => r.totalS)),
  };
}

export function benchModel(name: ModelName, options: PeerOptions): ModelFigures {
  const { steps, warmup, genTokens, seed } = options;
  manualSeed(seed);
  const model = createModel(presetConfig(PRESETS[name], VOCAB), { seed });
  const params = [...model.params.values()];
  for (const p of params) p.requiresGrad_();
  const ids = randint(0, VOCAB, [BATCH, SEQ]);
  // Decay on matrices (rank >= 2), none on biases and norms: the peer's two groups.
  const opt = new AdamW(weightDecayGroups(model.params, 0.1), { lr: 1e-4 });

  const trainStep = () =>
    tidy(() => {
      // The next-token loss as safetune's SFT computes it (the chunked head: no [B, T, V] logits kept).
      const loss = modelNextTokenLoss(model, { inputIds: ids, labels: ids });
      loss.backward();
      clipGradNorm(params, 1.0);
      opt.step();
      opt.zeroGrad();
    });

  progress(`${name}: training step (${warmup} warmup + ${steps} timed)`);
  const trainS = medianTime(trainStep, steps, warmup);

  progress(`${name}: forward (no grad)`);
  const forwardS = noGrad(() =>
    medianTime(
      () => {
        tidy((): Tensor => model.forward(ids)).dispose();
      },
      steps,
      warmup,
    ),
  );

  progress(
    `${name}: generation (batch 1 and ${DECODE_BATCH}, fused and not, ${genTokens} new tokens, ${GEN_REPEATS} runs)`,
  );
  const prompt = tidy(() => randint(0, VOCAB, [1, PROMPT_LEN]).toArray());
  const batchIds = tidy(() => randint(0, VOCAB, [DECODE_BATCH, PROMPT_LEN]).toArray());
  const batchPrompts = Array.from({ length: DECODE_BATCH }, (_, r) =>
    batchIds.slice(r * PROMPT_LEN, (r + 1) * PROMPT_LEN),
  );
  const single = decodeRate(model, [prompt], genTokens, warmup > 0, true);
  const batched = decodeRate(model, batchPrompts, genTokens, warmup > 0, true);
  const singleUnfused = decodeRate(model, [prompt], genTokens, warmup > 0, false);
  const batchedUnfused = decodeRate(model, batchPrompts, genTokens, warmup > 0, false);
  progress(`${name}: done`);

  const result: ModelFigures = {
    params: model.numParameters,
    train_step_s: trainS,
    train_tokens_per_s: (BATCH * SEQ) / trainS,
    forward_s: forwardS,
    forward_tokens_per_s: (BATCH * SEQ) / forwardS,
    generate_tokens_per_s: single.tokensPerS,
    generate_with_prefill_s: single.totalS,
    generate_b8_tokens_per_s: batched.tokensPerS,
    generate_unfused_tokens_per_s: singleUnfused.tokensPerS,
    generate_b8_unfused_tokens_per_s: batchedUnfused.tokensPerS,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  };
  opt.dispose();
  ids.dispose();
  model.dispose();
  return result;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      threads: { type: "string" },
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      "gen-tokens": { type: "string", default: "64" },
      model: { type: "string", default: "both" },
      seed: { type: "string", default: "0" },
    },
    strict: true,
  });
  const model = values.model;
  if (model !== "gpt" && model !== "llama" && model !== "both")
    throw new RangeError("--model must be gpt, llama or both");
  const options: PeerOptions = {
    steps: intFlag("steps", values.steps, 1),
    warmup: intFlag("warmup", values.warmup, 0),
    genTokens: intFlag("gen-tokens", values["gen-tokens"], 1, MAX_GEN_TOKENS),
    seed: intFlag("seed", values.seed, 0),
  };
  if (values.threads !== undefined) setNumThreads(intFlag("threads", values.threads, 1));
  const names: ModelName[] = model === "both" ? ["gpt", "llama"] : [model];
  const result: PeerResult = { torch: torchVersion(), threads: getNumThreads(), models: {} };
  for (const name of names) result.models[name] = benchModel(name, options);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// Run as a script (bench/run.ts imports the constants above without running anything).
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
