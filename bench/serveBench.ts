// Serving benchmark (`npm run bench -- --serve`): `safetune serve` in its own process on loopback, loaded by
// autocannon with --connections concurrent clients sending --requests chat completions (greedy, --max-tokens new
// tokens each, short prompts) against llama-bench (random weights, a BPE tokenizer trained by createScratchModel).
// The same load runs twice, with batched decoding (--max-batch 16) and without (--max-batch 1): the peer is the
// same server one request at a time. Reported: requests/s, generated tokens/s, p50/p95/p99 latency, errors.
//
// Usage: tsx bench/serveBench.ts [--requests N] [--connections N] [--max-tokens N] [--write-docs]
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { getNumThreads, torchVersion } from "../src/index.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { intFlag, replaceDocsBlock } from "./measure.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DOCS = join(root, "docs", "benchmarks.md");
const START = "<!-- bench:serve:start -->";
const END = "<!-- bench:serve:end -->";
const PROMPTS = [
  "How do I reverse a string in Python?",
  "What is the boiling point of water?",
  "Give me three tips for a job interview.",
  "Convert 5 kilometres to miles.",
];

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  config: string;
  requests: number;
  errors: number;
  seconds: number;
  tokens: number;
  p50: number;
  p95: number;
  p99: number;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Starts `safetune serve` and resolves with its base URL once it prints it. */
function startServe(model: string, maxBatch: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      join(root, "bin", "safetune.js"),
      "serve",
      "--model",
      model,
      "--port",
      "0",
      "--max-batch",
      String(maxBatch),
    ],
    { cwd: root, stdio: ["ignore", "pipe", "ignore"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
      const url = /at (http:\/\/[^\s]+)\/v1/.exec(out)?.[1];
      if (url) resolve({ url, child });
    });
    child.on("exit", (code) => reject(new Error(`safetune serve exited with ${code} before listening`)));
  });
}

async function load(
  config: string,
  model: string,
  maxBatch: number,
  o: { requests: number; connections: number; maxTokens: number },
): Promise<Row> {
  const { url, child } = await startServe(model, maxBatch);
  try {
    const latencies: number[] = [];
    let tokens = 0;
    let next = 0;
    const started = performance.now();
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: `${url}/v1/chat/completions`,
          connections: o.connections,
          amount: o.requests,
          timeout: 120,
          requests: [
            {
              method: "POST",
              headers: { "content-type": "application/json" },
              setupRequest: (request) => ({
                ...request,
                body: JSON.stringify({
                  model: "llama-bench",
                  messages: [{ role: "user", content: PROMPTS[next++ % PROMPTS.length] }],
                  max_tokens: o.maxTokens,
                  temperature: 0,
                }),
              }),
              onResponse: (status, body) => {
                if (status === 200)
                  tokens += (JSON.parse(body) as { usage: { completion_tokens: number } }).usage
                    .completion_tokens;
              },
            },
          ],
        },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
      instance.on("response", (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
    });
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const row: Row = {
      config,
      requests: result["2xx"],
      errors: result.errors + result.non2xx + result.timeouts,
      seconds,
      tokens,
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      p99: percentile(latencies, 0.99),
    };
    log(`${config}: ${row.requests} ok, ${row.errors} errors, ${(row.requests / seconds).toFixed(1)} req/s`);
    return row;
  } finally {
    child.kill("SIGTERM");
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      requests: { type: "string", default: "480" },
      connections: { type: "string", default: "16" },
      "max-tokens": { type: "string", default: "16" },
      "write-docs": { type: "boolean", default: false },
    },
  });
  const o = {
    requests: intFlag("requests", values.requests, 1, 5000),
    connections: intFlag("connections", values.connections, 1, 256),
    maxTokens: intFlag("max-tokens", values["max-tokens"], 1, 256),
  };
  const scratch = join(os.tmpdir(), `safetune-servebench-${process.pid}`);
  process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
  const model = join(scratch, "llama-bench");
  createScratchModel(model, { preset: "llama-bench", vocabSize: 4096, seed: 0 }).dispose();
  const rows = [
    await load("batched decoding (--max-batch 16)", model, 16, o),
    await load("one request at a time (--max-batch 1)", model, 1, o),
  ];
  const [batched, single] = rows as [Row, Row];
  const ms = (v: number) => v.toFixed(0);
  const block = [
    START,
    "<!-- written by `npm run bench -- --serve --write-docs`; edit bench/serveBench.ts, not this block -->",
    "",
    `Measured on ${new Date().toISOString().slice(0, 10)} with \`tsx bench/serveBench.ts --requests ${o.requests} --connections ${o.connections} --max-tokens ${o.maxTokens}\`.`,
    "",
    `- CPU: ${os.cpus()[0]?.model.trim() ?? "unknown"}, ${os.cpus().length} cores; libtorch ${torchVersion()}, ${getNumThreads()} intra-op thread(s); 1-minute load average ${os.loadavg()[0]?.toFixed(2)} after the run`,
    `- protocol: \`safetune serve\` in its own process on loopback; autocannon with ${o.connections} concurrent clients sending ${o.requests} chat completions (4 short prompts in turn, greedy, ${o.maxTokens} new tokens each); llama-bench (vocab 4096, d 256, 4 layers; random weights, so every answer runs to the limit)`,
    "",
    "| configuration | requests ok | errors | wall (s) | requests/s | tokens/s | p50 (ms) | p95 (ms) | p99 (ms) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.config} | ${r.requests} | ${r.errors} | ${r.seconds.toFixed(2)} | ${(r.requests / r.seconds).toFixed(1)} | ${(r.tokens / r.seconds).toFixed(0)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} |`,
    ),
    "",
    `- batched decoding: ${(batched.tokens / batched.seconds / (single.tokens / single.seconds)).toFixed(2)}x the tokens/s of one request at a time; p95 latency ${(single.p95 / batched.p95).toFixed(2)}x lower`,
    "",
    END,
  ].join("\n");
  console.log(block);
  if (values["write-docs"]) replaceDocsBlock(DOCS, START, END, block, "Serving");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
