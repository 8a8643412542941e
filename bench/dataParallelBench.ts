// Data-parallel training benchmark (`npm run bench -- --distributed`): `safetune sft` on llama-bench (vocab 4096,
// d 256, 4 layers) with 1 process and with --nproc 2, one libtorch thread per process, on the same synthetic
// instruction data (every example 128 tokens), batch --batch-size examples per process per step, --steps steps.
// Reported: tokens/s of each (from rank 0's metrics.jsonl, which sums every rank's tokens), the scaling
// efficiency, the time one allreduce of the model's gradients takes (measured by a 2-rank allreduce in this run),
// and from the measured compute/communication ratio an estimate for N such workers on N machines with a ring
// allreduce over a network of --network-gbps (each step: compute per process + 2(N-1)/N x gradient bytes / bandwidth).
//
// Usage: tsx bench/dataParallelBench.ts [--steps N] [--batch-size N] [--network-gbps G] [--write-docs]
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { torchVersion } from "../src/engine/index.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { intFlag, replaceDocsBlock } from "./measure.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DOCS = join(root, "docs", "benchmarks.md");
const START = "<!-- bench:dataparallel:start -->";
const END = "<!-- bench:dataparallel:end -->";
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Steady-state tokens/s: the last metrics line's running average skips nothing, so time the second half. */
function tokensPerSecond(out: string): number {
  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { step?: number; tokens_per_s?: number });
  const last = lines.filter((l) => l.tokens_per_s !== undefined).at(-1);
  if (!last?.tokens_per_s) throw new Error(`${out}/metrics.jsonl has no tokens_per_s`);
  return last.tokens_per_s;
}

function train(
  model: string,
  data: string,
  out: string,
  o: { steps: number; batch: number; nproc: number },
): number {
  rmSync(out, { recursive: true, force: true });
  const args = [
    join(root, "bin", "safetune.js"),
    "sft",
    "--model",
    model,
    "--data",
    data,
    "--out",
    out,
    "--batch-size",
    String(o.batch * o.nproc),
    "--max-steps",
    String(o.steps),
    "--max-length",
    "128",
    "--lr",
    "0.0003",
    ...(o.nproc > 1 ? ["--nproc", String(o.nproc)] : []),
  ];
  const started = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  if (r.status !== 0) throw new Error(`sft --nproc ${o.nproc} failed: ${r.stderr.trim().split("\n").at(-1)}`);
  log(`  ${o.nproc} process(es): ${((performance.now() - started) / 1000).toFixed(1)} s wall`);
  return tokensPerSecond(out);
}

/** Ms of one sum-allreduce of `bytes` between 2 ranks: the largest size bench/allreduceBench.ts times, scaled. */
function allreduceMs(bytes: number): number {
  const mib = Math.max(1, Math.ceil(bytes / (1 << 20)));
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(here, "allreduceBench.ts"), "--max-mib", String(mib), "--json"],
    { cwd: root, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`allreduceBench failed: ${r.stderr.trim().split("\n").at(-1)}`);
  const rows = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "[]") as {
    bytes: number;
    medianMs: number;
  }[];
  const row = rows.at(-1);
  if (!row) throw new Error("allreduceBench printed no rows");
  return row.medianMs * (bytes / row.bytes);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: "string", default: "30" },
      "batch-size": { type: "string", default: "4" },
      "network-gbps": { type: "string", default: "10" },
      "write-docs": { type: "boolean", default: false },
    },
  });
  const steps = intFlag("steps", values.steps, 2, 10_000);
  const batch = intFlag("batch-size", values["batch-size"], 1, 256);
  const gbps = Number(values["network-gbps"]);
  const scratch = join(os.tmpdir(), `safetune-ddpbench-${process.pid}`);
  process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
  mkdirSync(scratch, { recursive: true });
  const model = join(scratch, "llama-bench");
  const handle = createScratchModel(model, { preset: "llama-bench", vocabSize: 4096, seed: 0 });
  const params = [...handle.params].reduce((n, [, t]) => n + t.numel, 0);
  handle.dispose();
  const data = join(scratch, "data.jsonl");
  const words = "the model learns to answer every question with care and a short clear reason".split(" ");
  const rows = Array.from({ length: 512 }, (_, i) => ({
    instruction: Array.from({ length: 60 }, (_, j) => words[(i + j) % words.length]).join(" "),
    output: Array.from({ length: 60 }, (_, j) => words[(i * 7 + j) % words.length]).join(" "),
  }));
  writeFileSync(data, rows.map((r) => JSON.stringify(r)).join("\n"));

  log(`llama-bench: ${params.toLocaleString()} parameters; ${steps} steps of ${batch} examples per process`);
  const one = train(model, data, join(scratch, "one"), { steps, batch, nproc: 1 });
  const two = train(model, data, join(scratch, "two"), { steps, batch, nproc: 2 });
  const gradientMiB = (params * 4) / (1 << 20);
  const commMs = allreduceMs(params * 4);
  const tokensPerStep = batch * 128;
  const computeMs = (tokensPerStep / one) * 1000; // one process, one thread: the step is all compute
  const networkMs = (n: number) => ((2 * (n - 1)) / n) * ((params * 4 * 8) / (gbps * 1e9)) * 1000;
  const estimate = (n: number) => (n * tokensPerStep) / ((computeMs + networkMs(n)) / 1000);
  const block = [
    START,
    "<!-- written by `npm run bench -- --distributed --write-docs`; edit bench/dataParallelBench.ts, not this block -->",
    "",
    `Measured on ${new Date().toISOString().slice(0, 10)} with \`tsx bench/dataParallelBench.ts --steps ${steps} --batch-size ${batch} --network-gbps ${gbps}\`.`,
    "",
    `- CPU: ${os.cpus()[0]?.model.trim() ?? "unknown"}, ${os.cpus().length} cores; libtorch ${torchVersion()}; one libtorch thread per process; 1-minute load average ${os.loadavg()[0]?.toFixed(2)} after the run`,
    `- protocol: \`safetune sft\` on llama-bench (${params.toLocaleString()} parameters), 128-token examples, ${batch} per process per step, ${steps} steps; tokens/s from rank 0's metrics (all ranks' tokens)`,
    "",
    "| configuration | tokens/s | vs 1 process |",
    "| --- | ---: | ---: |",
    `| 1 process | ${one.toFixed(0)} | 1.00x |`,
    `| 2 processes (--nproc 2, Gloo on loopback) | ${two.toFixed(0)} | ${(two / one).toFixed(2)}x |`,
    "",
    `- scaling efficiency on 2 cores: ${((two / one / 2) * 100).toFixed(0)}% of linear`,
    `- one allreduce of the ${gradientMiB.toFixed(1)} MiB of gradients between 2 ranks on loopback: ${commMs.toFixed(1)} ms, against ${computeMs.toFixed(0)} ms of compute per step (communication/compute ${(commMs / computeMs).toFixed(2)})`,
    `- estimate for N workers like the 1-process row, one per machine, on a ${gbps} Gbit/s network (ring allreduce, no overlap of compute and communication): ${[2, 4, 8, 16].map((n) => `${n}: ${estimate(n).toFixed(0)} tokens/s (${((estimate(n) / one / n) * 100).toFixed(0)}% of linear)`).join("; ")}`,
    "",
    END,
  ].join("\n");
  console.log(block);
  if (values["write-docs"]) replaceDocsBlock(DOCS, START, END, block, "Data-parallel training");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
