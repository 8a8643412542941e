// llama.cpp as the inference peer of `npm run bench` (node-llama-cpp's CPU build): the bench model, freshly
// initialised as bench/safetunePeer.ts initialises it, saved and exported by safetune's own `export gguf` (f32
// weights), decoded greedily by llama.cpp with an f32 KV cache and by safetune's DecodeSession (fused step), from
// the same prompt ids, in this one process, one after the other. Prints decode tokens/s of both and whether the
// greedy tokens are identical (and where they first differ when not).
//
// Usage: tsx bench/llamaCppPeer.ts --json --model gpt|llama [--gen-tokens N] [--threads N] [--seed N]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { getNumThreads, manualSeed, randint, setNumThreads, tidy } from "../src/engine/index.js";
import { exportGguf } from "../src/export/index.js";
import { createModel } from "../src/model/createModel.js";
import { presetConfig } from "../src/model/presets.js";
import { saveModel } from "../src/model/saveModel.js";
import { saveScratchTokenizer } from "../src/model/scratchModel.js";
import { starterCorpus } from "../src/tokenize/starterCorpus.js";
import { intFlag, median } from "./measure.js";
import {
  GEN_REPEATS,
  generate,
  MAX_GEN_TOKENS,
  type ModelName,
  PRESETS,
  PROMPT_LEN,
  VOCAB,
} from "./safetunePeer.js";

export interface LlamaCppResult {
  threads: number;
  /** llama.cpp's greedy decode tokens/s (the tokens after the first; prefill not counted). */
  llamacpp_decode_tokens_per_s: number;
  /** safetune's, measured in this process on the same weights and prompt. */
  safetune_decode_tokens_per_s: number;
  /** The same decodes per second of this process's CPU time (all threads): less sensitive to a busy machine. */
  llamacpp_decode_tokens_per_cpu_s: number;
  safetune_decode_tokens_per_cpu_s: number;
  tokens_identical: boolean;
  /** Index of the first differing token, when they differ. */
  first_difference?: number;
}

function progress(message: string): void {
  process.stderr.write(`  [llama.cpp] ${message}\n`);
}

/** The KV cache in f32 (llama.cpp's default is f16) and no flash attention: the same arithmetic as safetune's. */
const contextOptions = (threads: number) =>
  ({
    contextSize: 512,
    sequences: 1,
    threads,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  }) as const;

export async function benchLlamaCpp(
  name: ModelName,
  options: { genTokens: number; seed: number; threads: number },
): Promise<LlamaCppResult> {
  const { genTokens, seed, threads } = options;
  manualSeed(seed);
  const model = createModel(presetConfig(PRESETS[name], VOCAB), { seed });
  const prompt = tidy(() => randint(0, VOCAB, [1, PROMPT_LEN]).toArray());
  const dir = mkdtempSync(join(tmpdir(), "safetune-bench-gguf-"));
  try {
    progress(`${name}: export gguf (f32)`);
    saveModel(model, dir);
    saveScratchTokenizer(dir, starterCorpus(), 300);
    const gguf = exportGguf(dir, join(dir, "model.gguf")).path;

    progress(`${name}: safetune greedy decode, ${genTokens} tokens`);
    generate(model, [prompt], genTokens);
    const ours = Array.from({ length: GEN_REPEATS }, () => generate(model, [prompt], genTokens));
    const safetuneRate = (genTokens - 1) / median(ours.map((r) => r.decodeS));
    const safetuneCpuRate = (genTokens - 1) / median(ours.map((r) => r.decodeCpuS));
    const ourTokens = ours[0]?.tokens[0] ?? [];

    progress(`${name}: llama.cpp greedy decode (${threads} thread(s), f32 KV cache)`);
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const loaded = await llama.loadModel({ modelPath: gguf });
    const decodeOnce = async () => {
      const context = await loaded.createContext(contextOptions(threads));
      try {
        const tokens: number[] = [];
        let decodeStart = 0;
        let cpuStart = process.cpuUsage();
        for await (const token of context
          .getSequence()
          .evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
          tokens.push(token);
          if (tokens.length === 1) {
            decodeStart = performance.now();
            cpuStart = process.cpuUsage();
          }
          if (tokens.length >= genTokens) break;
        }
        const decodeS = (performance.now() - decodeStart) / 1000;
        const cpu = process.cpuUsage(cpuStart);
        return { tokens, decodeS, decodeCpuS: (cpu.user + cpu.system) / 1e6 };
      } finally {
        await context.dispose();
      }
    };
    try {
      await decodeOnce();
      const theirs: { tokens: number[]; decodeS: number; decodeCpuS: number }[] = [];
      for (let i = 0; i < GEN_REPEATS; i++) theirs.push(await decodeOnce());
      const theirTokens = theirs[0]?.tokens ?? [];
      if (process.env.BENCH_DEBUG)
        progress(`safetune ${ourTokens.slice(0, 12)} / llama.cpp ${theirTokens.slice(0, 12)}`);
      const first = ourTokens.findIndex((t, i) => theirTokens[i] !== t);
      const identical = first < 0 && theirTokens.length === ourTokens.length;
      return {
        threads,
        llamacpp_decode_tokens_per_s: (genTokens - 1) / median(theirs.map((r) => r.decodeS)),
        safetune_decode_tokens_per_s: safetuneRate,
        llamacpp_decode_tokens_per_cpu_s: (genTokens - 1) / median(theirs.map((r) => r.decodeCpuS)),
        safetune_decode_tokens_per_cpu_s: safetuneCpuRate,
        tokens_identical: identical,
        ...(identical
          ? {}
          : { first_difference: first < 0 ? Math.min(ourTokens.length, theirTokens.length) : first }),
      };
    } finally {
      await loaded.dispose();
      await llama.dispose();
    }
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      model: { type: "string", default: "llama" },
      "gen-tokens": { type: "string", default: "64" },
      threads: { type: "string" },
      seed: { type: "string", default: "0" },
    },
    strict: true,
  });
  const name = values.model;
  if (name !== "gpt" && name !== "llama") throw new RangeError("--model must be gpt or llama");
  if (values.threads !== undefined) setNumThreads(intFlag("threads", values.threads, 1));
  const result = await benchLlamaCpp(name, {
    genTokens: intFlag("gen-tokens", values["gen-tokens"], 2, MAX_GEN_TOKENS),
    seed: intFlag("seed", values.seed, 0),
    threads: getNumThreads(),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
