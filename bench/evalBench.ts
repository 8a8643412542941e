// Evaluation benchmark (`npm run bench -- --eval`): evaluation throughput in prompts/s
// - the local engine on llama-bench (random weights, a BPE tokenizer trained by createScratchModel), greedy,
//   --gen-tokens new tokens per prompt, at batch 1 and batch 8, on the first --prompts AdvBench prompts;
// - the endpoint back end at concurrency 1 and 8 against a loopback OpenAI-compatible server that answers each
//   request after --latency ms (the scripted server of the tests: the client's overhead and its concurrency, not a
//   model's speed);
// - the refusal judge and the bootstrap intervals over the same answers.
// Every configuration starts from an empty cache (a fresh run folder).
//
// Usage: tsx bench/evalBench.ts [--prompts N] [--gen-tokens N] [--latency MS] [--write-docs]
import { rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { OpenAIEndpoint } from "../src/endpoint/openaiEndpoint.js";
import type { Answerer } from "../src/eval/answer/answerer.js";
import { EndpointAnswerer } from "../src/eval/answer/endpointAnswerer.js";
import { LocalAnswerer } from "../src/eval/answer/localAnswerer.js";
import { loadBenchmark, resolveBenchmarkSpec } from "../src/eval/benchmarks/loadBenchmark.js";
import { createJudges } from "../src/eval/judges/createJudge.js";
import { classifyRefusal } from "../src/eval/judges/refusalRules.js";
import { bootstrapRate } from "../src/eval/metrics/bootstrap.js";
import type { GenerationSettings } from "../src/eval/results.js";
import { runEval } from "../src/eval/runEval.js";
import { getNumThreads, torchVersion } from "../src/index.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { startFakeOpenAIServer } from "../test/helpers/fakeOpenAIServer.js";
import { intFlag, median, replaceDocsBlock } from "./measure.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DOCS = join(root, "docs", "benchmarks.md");
const START = "<!-- bench:eval:start -->";
const END = "<!-- bench:eval:end -->";
const DATA = process.env.SAFETUNE_DATA ?? join(root, "..", "shared", "data");

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  config: string;
  prompts: number;
  seconds: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      prompts: { type: "string", default: "32" },
      "gen-tokens": { type: "string", default: "32" },
      latency: { type: "string", default: "50" },
      "write-docs": { type: "boolean", default: false },
    },
  });
  const prompts = intFlag("prompts", values.prompts, 1, 520);
  const genTokens = intFlag("gen-tokens", values["gen-tokens"], 1, 1024);
  const latency = intFlag("latency", values.latency, 0, 10_000);
  const scratch = join(os.tmpdir(), `safetune-evalbench-${process.pid}`);
  const cleanup = () => rmSync(scratch, { recursive: true, force: true });
  process.on("exit", cleanup);
  const modelDir = join(scratch, "model");
  createScratchModel(modelDir, { preset: "llama-bench", vocabSize: 4096, seed: 0 }).dispose();
  const benchmark = await loadBenchmark(
    resolveBenchmarkSpec({ builtin: "AdvBench", limit: prompts }, { dataDir: DATA, baseDir: root }),
  );
  const [refusal] = await createJudges([{ kind: "refusal", rules: "safetune" }]);
  if (!refusal) throw new Error("no judge");
  const rows: Row[] = [];
  let run = 0;
  const timed = async (config: string, answerer: Answerer, settings: GenerationSettings) => {
    const started = performance.now();
    const result = await runEval({
      out: join(scratch, `run-${run++}`),
      answerer,
      judges: [refusal],
      benchmarks: [benchmark],
      settings,
      perplexity: false,
    });
    const seconds = (performance.now() - started) / 1000;
    rows.push({ config, prompts: result.results.benchmarks[0]?.n ?? 0, seconds });
    log(`${config}: ${(prompts / seconds).toFixed(2)} prompts/s`);
  };

  // Warm-up, untimed: module loading and the first report rendering are paid once, not by the first configuration.
  {
    const settings: GenerationSettings = {
      maxNewTokens: 2,
      temperature: 0,
      seed: 0,
      template: "model",
      batchSize: 2,
    };
    const answerer = await LocalAnswerer.load({ model: modelDir, settings });
    await runEval({
      out: join(scratch, "warmup"),
      answerer,
      judges: [refusal],
      benchmarks: [{ ...benchmark, items: benchmark.items.slice(0, 2) }],
      settings,
      perplexity: false,
    });
    answerer.dispose();
  }
  for (const batchSize of [1, 8]) {
    const settings: GenerationSettings = {
      maxNewTokens: genTokens,
      temperature: 0,
      seed: 0,
      template: "model",
      batchSize,
    };
    const answerer = await LocalAnswerer.load({ model: modelDir, settings });
    await timed(`local engine, batch ${batchSize}`, answerer, settings);
    answerer.dispose();
  }
  const server = await startFakeOpenAIServer(() => ({
    text: "I'm sorry, but I can't help with that.",
    delayMs: latency,
  }));
  for (const concurrency of [1, 8]) {
    const settings: GenerationSettings = {
      maxNewTokens: genTokens,
      temperature: 0,
      seed: 0,
      template: "server",
      batchSize: 1,
    };
    const endpoint = new OpenAIEndpoint({ url: server.url, model: "fake-model", concurrency });
    await timed(`endpoint, concurrency ${concurrency}`, new EndpointAnswerer(endpoint, settings), settings);
  }
  await server.close();

  // Judge and interval costs on their own.
  const texts = Array.from({ length: 10_000 }, (_, i) =>
    i % 3 === 0
      ? "I'm sorry, but I can't help with that."
      : `Sure, here is a detailed answer number ${i}: first, ...`,
  );
  const judgeTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (const text of texts) classifyRefusal(text);
    judgeTimes.push((performance.now() - t) / 1000);
  }
  const outcomes = texts.map((_, i) => i % 3 === 0);
  const bootTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    bootstrapRate(outcomes.slice(0, 1000), { resamples: 2000 });
    bootTimes.push((performance.now() - t) / 1000);
  }
  const judgePerSecond = texts.length / median(judgeTimes);
  const bootstrapMs = 1000 * median(bootTimes);

  const load = os.loadavg()[0] ?? 0;
  const table = [
    "| configuration | prompts | wall (s) | prompts/s |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.config} | ${r.prompts} | ${r.seconds.toFixed(2)} | ${(r.prompts / r.seconds).toFixed(2)} |`,
    ),
  ];
  const local1 = rows[0] as Row;
  const local8 = rows[1] as Row;
  const ep1 = rows[2] as Row;
  const ep8 = rows[3] as Row;
  const block = [
    START,
    "<!-- written by `npm run bench -- --eval --write-docs`; edit bench/evalBench.ts, not this block -->",
    "",
    `Measured on ${new Date().toISOString().slice(0, 10)} with \`tsx bench/evalBench.ts --prompts ${prompts} --gen-tokens ${genTokens} --latency ${latency}\`.`,
    "",
    `- CPU: ${os.cpus()[0]?.model.trim() ?? "?"}, ${os.cpus().length} cores; libtorch ${torchVersion()}, ${getNumThreads()} intra-op thread(s); 1-minute load average ${load.toFixed(2)} after the run`,
    `- protocol: the first ${prompts} AdvBench prompts, greedy, ${genTokens} new tokens at most, refusal judge, 2,000 bootstrap resamples, every configuration from an empty cache (wall time includes judging and writing the reports)`,
    `- local engine: llama-bench (vocab 4096, d 256, 4 layers; random weights) through its chat template`,
    `- endpoint: the loopback scripted server answering every request after ${latency} ms (client overhead and concurrency, not a model)`,
    "",
    ...table,
    "",
    `- batching the local engine: ${(local1.seconds / local8.seconds).toFixed(2)}x the prompts/s of batch 1`,
    `- endpoint concurrency 8 against 1: ${(ep1.seconds / ep8.seconds).toFixed(2)}x (the ideal with a ${latency} ms server is 8x)`,
    `- the refusal judge alone: ${Math.round(judgePerSecond).toLocaleString("en-US")} answers/s; a 95% bootstrap interval of a 1,000-answer rate: ${bootstrapMs.toFixed(1)} ms`,
    "",
    END,
  ].join("\n");
  process.stdout.write(`${block}\n`);
  if (values["write-docs"]) {
    replaceDocsBlock(DOCS, START, END, block, "Evaluation");
    log(`wrote the evaluation figures to ${DOCS}`);
  }
  refusal.dispose();
}

await main();
