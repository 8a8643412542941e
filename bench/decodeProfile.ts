// A fused decode loop to profile (issue 16): greedy decodes of one bench model at a given batch, timed per token,
// long enough for `perf record` to sample. Prints decode tokens/s (all rows) and the CPU time per step.
//
// Usage: tsx bench/decodeProfile.ts [--model gpt|llama] [--batch N] [--tokens N] [--repeats N] [--threads N]
//   perf record -F 999 -g -o /tmp/decode.perf -- npx tsx bench/decodeProfile.ts --batch 8
import { parseArgs } from "node:util";
import { manualSeed, randint, setNumThreads, tidy } from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";
import { presetConfig } from "../src/model/presets.js";
import { intFlag, median } from "./measure.js";
import { generate, PRESETS, PROMPT_LEN, VOCAB } from "./safetunePeer.js";

function main(): void {
  const { values } = parseArgs({
    options: {
      model: { type: "string", default: "llama" },
      batch: { type: "string", default: "8" },
      tokens: { type: "string", default: "128" },
      repeats: { type: "string", default: "5" },
      threads: { type: "string", default: "1" },
      unfused: { type: "boolean", default: false },
    },
    strict: true,
  });
  const name = values.model;
  if (name !== "gpt" && name !== "llama") throw new RangeError("--model must be gpt or llama");
  const batch = intFlag("batch", values.batch, 1);
  const tokens = intFlag("tokens", values.tokens, 2, 512 - PROMPT_LEN);
  const repeats = intFlag("repeats", values.repeats, 1);
  setNumThreads(intFlag("threads", values.threads, 1));
  manualSeed(0);
  const model = createModel(presetConfig(PRESETS[name], VOCAB), { seed: 0 });
  const ids = tidy(() => randint(0, VOCAB, [batch, PROMPT_LEN]).toArray());
  const prompts = Array.from({ length: batch }, (_, r) => ids.slice(r * PROMPT_LEN, (r + 1) * PROMPT_LEN));
  generate(model, prompts, tokens, !values.unfused);
  const runs = Array.from({ length: repeats }, () => generate(model, prompts, tokens, !values.unfused));
  const wall = median(runs.map((r) => r.decodeS));
  const cpu = median(runs.map((r) => r.decodeCpuS));
  const steps = tokens - 1;
  process.stdout.write(
    `${name} batch ${batch}: ${((batch * steps) / wall).toFixed(1)} tokens/s wall, ` +
      `${((batch * steps) / cpu).toFixed(1)} per CPU second; ${((1000 * cpu) / steps).toFixed(3)} CPU ms per step; ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`,
  );
  model.dispose();
}

main();
