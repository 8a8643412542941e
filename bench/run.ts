// `npm run bench`: safetune against PyTorch eager in the same run, on a GPT-2-style and a Llama-style model
// (vocab 4096, d 256, 4 layers, 4 heads; batch 8 x 128): training step, forward, batch-1 and batch-8 KV-cache
// decoding and peak RSS, and llama.cpp as the inference peer (batch-1 greedy decode of safetune's own f32 GGUF).
// Each side runs each model in its own fresh process, one after the other (never concurrently):
// bench/safetunePeer.ts for safetune, bench/torch_peer.py for PyTorch (when some python3 can import torch),
// bench/llamaCppPeer.ts for llama.cpp (node-llama-cpp, a devDependency). With --threads N every peer gets N
// intra-op threads and OPENBLAS_NUM_THREADS=N (OpenBLAS keeps its own pool otherwise).
//
// Usage: npm run bench -- [--steps N] [--warmup N] [--gen-tokens N] [--model gpt|llama|both] [--threads N]
//                         [--rounds N] [--no-torch] [--no-llama-cpp] [--write-docs] [--trainers] [--eval] [--serve]
//                         [--distributed]
// --rounds N runs both sides N times per model (alternating which goes first) and keeps each figure's best
// round: on a shared machine, other processes only ever make a run slower.
// --trainers also runs bench/trainerBench.ts (DPO pairs/s and SFT tokens/s on llama-bench) in its own process with
// the same --steps, --warmup, --threads, --rounds, --no-torch and --write-docs, and prints its table.
// --eval also runs bench/evalBench.ts (evaluation prompts/s: local engine, endpoint back end) with --write-docs.
// --distributed also runs bench/allreduceBench.ts and bench/dataParallelBench.ts (c10d: allreduce bandwidth,
// 1 vs 2 training processes and the estimate for N machines).
// --scale runs bench/scaleBench.ts instead (0.5B and 1.1B shapes against llama.cpp and PyTorch; see that file).
// --serve also runs bench/serveBench.ts (`safetune serve` under 16 concurrent clients: requests/s, tokens/s, latency).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EngineUnavailableError, getNumThreads, torchVersion } from "../src/engine/index.js";
import type { LlamaCppResult } from "./llamaCppPeer.js";
import { intFlag, runJsonProcess } from "./measure.js";
import {
  BATCH,
  DECODE_BATCH,
  MAX_GEN_TOKENS,
  type ModelFigures,
  type ModelName,
  type PeerResult,
  PRESETS,
  PROMPT_LEN,
  SEQ,
} from "./safetunePeer.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DOCS = join(root, "docs", "benchmarks.md");
const START = "<!-- bench:figures:start -->";
const END = "<!-- bench:figures:end -->";
/** safetune / peer ratios to reach, as issue 16 sets them (training and decoding against PyTorch eager; decoding against llama.cpp). */
const TARGETS = { training: 1.3, generation: 1.5, generationBatch8: 2.0, llamaCpp: 0.8 };
const TITLES: Record<ModelName, string> = { gpt: "GPT-2 style", llama: "Llama style" };

interface Options {
  steps: number;
  warmup: number;
  genTokens: number;
  models: ModelName[];
  threads: number | undefined;
  /** Runs of each side per model; the report keeps each figure's best round. */
  rounds: number;
  noTorch: boolean;
  noLlamaCpp: boolean;
  writeDocs: boolean;
  trainers: boolean;
  eval: boolean;
  serve: boolean;
  distributed: boolean;
}

interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  libtorch: string;
  blas: string;
  node: string;
}

/** One model's outcome on both sides (torch undefined when PyTorch did not run). */
interface ModelRun {
  name: ModelName;
  safetune: ModelFigures;
  torch: ModelFigures | undefined;
  /** llama.cpp's batch-1 decode beside safetune's in the same process (undefined when it did not run). */
  llamaCpp: LlamaCppResult | undefined;
}

interface Report {
  options: Options;
  machine: Machine;
  safetuneThreads: number | undefined;
  torchThreads: number | undefined;
  torchVersion: string | undefined;
  /** Why PyTorch figures are missing, when they are. */
  torchMissing: string | undefined;
  torchFailed?: boolean;
  /** Why llama.cpp figures are missing, when they are. */
  llamaCppMissing: string | undefined;
  /** 1-minute load average before and after the run (other processes skew the timings). */
  loadBefore: number;
  loadAfter: number;
  runs: ModelRun[];
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      "gen-tokens": { type: "string", default: "64" },
      model: { type: "string", default: "both" },
      threads: { type: "string" },
      rounds: { type: "string", default: "1" },
      "no-torch": { type: "boolean", default: false },
      "no-llama-cpp": { type: "boolean", default: false },
      "write-docs": { type: "boolean", default: false },
      trainers: { type: "boolean", default: false },
      eval: { type: "boolean", default: false },
      serve: { type: "boolean", default: false },
      distributed: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run bench -- [--steps N] [--warmup N] [--gen-tokens N] [--model gpt|llama|both]\n" +
        "                        [--threads N] [--rounds N] [--no-torch] [--no-llama-cpp] [--write-docs] [--trainers] [--eval]\n" +
        "                        [--serve] [--distributed]\n",
    );
    process.exit(0);
  }
  const model = values.model;
  if (model !== "gpt" && model !== "llama" && model !== "both") {
    throw new RangeError(`--model must be gpt, llama or both, got ${model}`);
  }
  return {
    steps: intFlag("steps", values.steps, 1),
    warmup: intFlag("warmup", values.warmup, 0),
    genTokens: intFlag("gen-tokens", values["gen-tokens"], 1, MAX_GEN_TOKENS),
    models: model === "both" ? ["gpt", "llama"] : [model],
    threads: values.threads === undefined ? undefined : intFlag("threads", values.threads, 1),
    rounds: intFlag("rounds", values.rounds, 1),
    noTorch: values["no-torch"],
    noLlamaCpp: values["no-llama-cpp"],
    writeDocs: values["write-docs"],
    trainers: values.trainers,
    eval: values.eval,
    serve: values.serve,
    distributed: values.distributed,
  };
}

// ---------------------------------------------------------------- the machine

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line) return line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? "unknown CPU";
}

/** The BLAS library libtorch loaded into this process (read from /proc/self/maps after the engine loaded). */
function blasNote(): string {
  let lib: string | undefined;
  try {
    const maps = readFileSync("/proc/self/maps", "utf8").split("\n");
    const paths = new Set(
      maps.map((l) => l.split(/\s+/)[5] ?? "").filter((p) => /(openblas|mkl_|blis|libblas)/i.test(p)),
    );
    lib = [...paths].find((p) => /openblas|mkl|blis/i.test(p)) ?? [...paths][0];
  } catch {
    // not Linux
  }
  if (!lib) return "BLAS library not identified";
  const name = /openblas/i.test(lib)
    ? "OpenBLAS"
    : /mkl/i.test(lib)
      ? "MKL"
      : /blis/i.test(lib)
        ? "BLIS"
        : "BLAS";
  const envThreads = process.env.OPENBLAS_NUM_THREADS ?? process.env.OMP_NUM_THREADS;
  const threads = name === "OpenBLAS" ? `, OPENBLAS_NUM_THREADS=${envThreads ?? "unset"}` : "";
  return `${name} (${lib}${threads}), as loaded by safetune's libtorch`;
}

function describeMachine(): Machine {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    ramGiB: os.totalmem() / 2 ** 30,
    libtorch: torchVersion(),
    blas: blasNote(),
    node: process.version,
  };
}

// ---------------------------------------------------------------- the peers

/** The first interpreter that imports torch: Debian's /usr/bin/python3 first, then whatever python3 is on PATH. */
function findTorchPython(): { python: string } | { reason: string } {
  const tried: string[] = [];
  for (const python of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(python, ["-c", "import torch"], {
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
    });
    if (r.status === 0) return { python };
    const why = r.error
      ? r.error.message
      : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`) || `exit ${r.status}`;
    tried.push(`${python}: ${why}`);
  }
  return { reason: `no python3 can import torch (${tried.join("; ")})` };
}

function peerArgs(options: Options, model: ModelName): string[] {
  const args = [
    "--json",
    "--model",
    model,
    "--steps",
    String(options.steps),
    "--warmup",
    String(options.warmup),
    "--gen-tokens",
    String(options.genTokens),
  ];
  if (options.threads !== undefined) args.push("--threads", String(options.threads));
  return args;
}

function runSafetune(options: Options, model: ModelName): PeerResult {
  const peer = join(here, "safetunePeer.ts");
  return runJsonProcess<PeerResult>(process.execPath, [
    "--import",
    import.meta.resolve("tsx"),
    peer,
    ...peerArgs(options, model),
  ]);
}

function runTorch(python: string, options: Options, model: ModelName): PeerResult {
  return runJsonProcess<PeerResult>(python, [join(here, "torch_peer.py"), ...peerArgs(options, model)]);
}

function runLlamaCpp(options: Options, model: ModelName): LlamaCppResult {
  const args = ["--json", "--model", model, "--gen-tokens", String(options.genTokens)];
  if (options.threads !== undefined) args.push("--threads", String(options.threads));
  return runJsonProcess<LlamaCppResult>(process.execPath, [
    "--import",
    import.meta.resolve("tsx"),
    join(here, "llamaCppPeer.ts"),
    ...args,
  ]);
}

/** Best of the llama.cpp rounds: each side's best decode rate; tokens identical only if every round said so. */
function bestLlamaCpp(rounds: LlamaCppResult[]): LlamaCppResult | undefined {
  const [first, ...rest] = rounds;
  if (!first) return undefined;
  const out = { ...first };
  for (const r of rest) {
    out.llamacpp_decode_tokens_per_s = Math.max(
      out.llamacpp_decode_tokens_per_s,
      r.llamacpp_decode_tokens_per_s,
    );
    out.safetune_decode_tokens_per_s = Math.max(
      out.safetune_decode_tokens_per_s,
      r.safetune_decode_tokens_per_s,
    );
    out.llamacpp_decode_tokens_per_cpu_s = Math.max(
      out.llamacpp_decode_tokens_per_cpu_s,
      r.llamacpp_decode_tokens_per_cpu_s,
    );
    out.safetune_decode_tokens_per_cpu_s = Math.max(
      out.safetune_decode_tokens_per_cpu_s,
      r.safetune_decode_tokens_per_cpu_s,
    );
    if (!r.tokens_identical) {
      out.tokens_identical = false;
      out.first_difference = Math.min(
        out.first_difference ?? Number.POSITIVE_INFINITY,
        r.first_difference ?? 0,
      );
    }
  }
  return out;
}

const maxOptional = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

/** Best figure of each kind over rounds: least time, most tokens/s, largest peak RSS. */
function best(rounds: ModelFigures[]): ModelFigures {
  const [first, ...rest] = rounds;
  if (!first) throw new Error("no rounds to combine");
  const out = { ...first };
  for (const f of rest) {
    out.train_step_s = Math.min(out.train_step_s, f.train_step_s);
    out.train_tokens_per_s = Math.max(out.train_tokens_per_s, f.train_tokens_per_s);
    out.forward_s = Math.min(out.forward_s, f.forward_s);
    out.forward_tokens_per_s = Math.max(out.forward_tokens_per_s, f.forward_tokens_per_s);
    out.generate_tokens_per_s = Math.max(out.generate_tokens_per_s, f.generate_tokens_per_s);
    out.generate_with_prefill_s = Math.min(out.generate_with_prefill_s, f.generate_with_prefill_s);
    out.generate_b8_tokens_per_s = Math.max(out.generate_b8_tokens_per_s, f.generate_b8_tokens_per_s);
    out.generate_unfused_tokens_per_s = maxOptional(
      out.generate_unfused_tokens_per_s,
      f.generate_unfused_tokens_per_s,
    );
    out.generate_b8_unfused_tokens_per_s = maxOptional(
      out.generate_b8_unfused_tokens_per_s,
      f.generate_b8_unfused_tokens_per_s,
    );
    out.peak_rss_mib = Math.max(out.peak_rss_mib, f.peak_rss_mib);
  }
  return out;
}

function summary(side: string, f: ModelFigures): string {
  return (
    `${side}: train ${ms(f.train_step_s)} ms, forward ${ms(f.forward_s)} ms, ` +
    `decode ${f.generate_tokens_per_s.toFixed(1)} tokens/s, peak RSS ${mib(f.peak_rss_mib)} MiB`
  );
}

function benchmark(options: Options, machine: Machine): Report {
  const report: Report = {
    options,
    machine,
    safetuneThreads: undefined,
    torchThreads: undefined,
    torchVersion: undefined,
    torchMissing: undefined,
    llamaCppMissing: options.noLlamaCpp ? "skipped (--no-llama-cpp)" : undefined,
    loadBefore: os.loadavg()[0] ?? 0,
    loadAfter: 0,
    runs: [],
  };
  let python: string | undefined;
  if (options.noTorch) report.torchMissing = "skipped (--no-torch)";
  else {
    const found = findTorchPython();
    if ("python" in found) python = found.python;
    else report.torchMissing = found.reason;
  }
  log(python ? `PyTorch peer: ${python} bench/torch_peer.py` : `PyTorch peer: none — ${report.torchMissing}`);

  for (const name of options.models) {
    const safetuneRounds: ModelFigures[] = [];
    const torchRounds: ModelFigures[] = [];
    const llamaCppRounds: LlamaCppResult[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const tag = options.rounds > 1 ? ` (round ${round}/${options.rounds})` : "";
      const runSafetuneSide = () => {
        log(`${name}: safetune (${PRESETS[name]}) in a fresh process${tag}...`);
        const s = runSafetune(options, name);
        const figures = s.models[name];
        if (!figures) throw new Error(`safetune peer returned no figures for ${name}`);
        report.safetuneThreads = s.threads;
        safetuneRounds.push(figures);
        log(`  ${summary("safetune", figures)}`);
      };
      const runTorchSide = () => {
        if (!python || report.torchFailed) return;
        log(`${name}: PyTorch eager in a fresh process${tag}...`);
        try {
          const t = runTorch(python, options, name);
          const figures = t.models[name];
          if (!figures) throw new Error(`no figures for ${name}`);
          report.torchThreads = t.threads;
          report.torchVersion = t.torch;
          torchRounds.push(figures);
          log(`  ${summary("PyTorch", figures)}`);
        } catch (err) {
          report.torchFailed = true;
          report.torchMissing = `the PyTorch peer failed on ${name}: ${(err as Error).message}`;
          log(report.torchMissing);
        }
      };
      const runLlamaCppSide = () => {
        if (options.noLlamaCpp) return;
        log(`${name}: llama.cpp and safetune decode (f32 GGUF) in a fresh process${tag}...`);
        try {
          const r = runLlamaCpp(options, name);
          llamaCppRounds.push(r);
          log(
            `  llama.cpp ${r.llamacpp_decode_tokens_per_s.toFixed(1)} tokens/s, safetune ` +
              `${r.safetune_decode_tokens_per_s.toFixed(1)} tokens/s, tokens identical: ${r.tokens_identical}`,
          );
        } catch (err) {
          report.llamaCppMissing = `the llama.cpp peer failed on ${name}: ${(err as Error).message}`;
          log(report.llamaCppMissing);
        }
      };
      // Alternate which side goes first, so neither always runs on a warmer (or busier) machine.
      if (round % 2 === 1) {
        runSafetuneSide();
        runTorchSide();
        runLlamaCppSide();
      } else {
        runLlamaCppSide();
        runTorchSide();
        runSafetuneSide();
      }
    }
    report.runs.push({
      name,
      safetune: best(safetuneRounds),
      torch: torchRounds.length > 0 ? best(torchRounds) : undefined,
      llamaCpp: bestLlamaCpp(llamaCppRounds),
    });
  }
  report.loadAfter = os.loadavg()[0] ?? 0;
  return report;
}

// ---------------------------------------------------------------- the report

interface Row {
  label: string;
  /** undefined: the side does not measure it (printed as —). */
  value: (f: ModelFigures) => number | undefined;
  format: (v: number) => string;
  /** true when a larger value is better (tokens/s): ratio = safetune / torch; else torch / safetune. */
  higherIsBetter: boolean;
}

const int = (v: number) => Math.round(v).toLocaleString("en-US");
const ms = (v: number) => (v * 1000).toFixed(1);
const mib = (v: number) => v.toFixed(0);

function rows(genTokens: number): Row[] {
  return [
    { label: "training step (ms)", value: (f) => f.train_step_s, format: ms, higherIsBetter: false },
    { label: "training tokens/s", value: (f) => f.train_tokens_per_s, format: int, higherIsBetter: true },
    { label: "forward, no grad (ms)", value: (f) => f.forward_s, format: ms, higherIsBetter: false },
    { label: "forward tokens/s", value: (f) => f.forward_tokens_per_s, format: int, higherIsBetter: true },
    {
      label: "decode tokens/s, batch 1 (KV cache)",
      value: (f) => f.generate_tokens_per_s,
      format: (v) => v.toFixed(1),
      higherIsBetter: true,
    },
    {
      label: "decode tokens/s, batch 8 (all rows)",
      value: (f) => f.generate_b8_tokens_per_s,
      format: (v) => v.toFixed(1),
      higherIsBetter: true,
    },
    {
      label: "decode tokens/s, batch 1, fused step off",
      value: (f) => f.generate_unfused_tokens_per_s,
      format: (v) => v.toFixed(1),
      higherIsBetter: true,
    },
    {
      label: "decode tokens/s, batch 8, fused step off",
      value: (f) => f.generate_b8_unfused_tokens_per_s,
      format: (v) => v.toFixed(1),
      higherIsBetter: true,
    },
    {
      label: `generation of ${genTokens} tokens incl. prefill (ms)`,
      value: (f) => f.generate_with_prefill_s,
      format: ms,
      higherIsBetter: false,
    },
    { label: "peak RSS (MiB)", value: (f) => f.peak_rss_mib, format: mib, higherIsBetter: false },
  ];
}

function ratio(row: Row, run: ModelRun): number | undefined {
  if (!run.torch) return undefined;
  const s = row.value(run.safetune);
  const t = row.value(run.torch);
  if (s === undefined || t === undefined) return undefined;
  return row.higherIsBetter ? s / t : t / s;
}

const cell = (row: Row, f: ModelFigures | undefined) => {
  const v = f ? row.value(f) : undefined;
  return v === undefined ? "—" : row.format(v);
};

const fmtRatio = (r: number | undefined) => (r === undefined ? "—" : `${r.toFixed(2)}x`);

function trainingRatio(run: ModelRun): number | undefined {
  return run.torch ? run.safetune.train_tokens_per_s / run.torch.train_tokens_per_s : undefined;
}
function generationRatio(run: ModelRun): number | undefined {
  return run.torch ? run.safetune.generate_tokens_per_s / run.torch.generate_tokens_per_s : undefined;
}
function generationBatch8Ratio(run: ModelRun): number | undefined {
  return run.torch ? run.safetune.generate_b8_tokens_per_s / run.torch.generate_b8_tokens_per_s : undefined;
}
/** safetune / llama.cpp batch-1 decode, both measured in the llama.cpp peer's process on the same weights. */
function llamaCppRatio(run: ModelRun): number | undefined {
  const r = run.llamaCpp;
  return r ? r.safetune_decode_tokens_per_s / r.llamacpp_decode_tokens_per_s : undefined;
}

/** One line per model on llama.cpp: both decode rates, the ratio, and whether the greedy tokens agree. */
function llamaCppLines(report: Report): string[] {
  return report.runs.map((run) => {
    const r = run.llamaCpp;
    if (!r) return `${TITLES[run.name]}: llama.cpp not measured (${report.llamaCppMissing ?? "no result"})`;
    const tokens = r.tokens_identical
      ? "greedy tokens identical"
      : `greedy tokens DIFFER from position ${r.first_difference ?? "?"}`;
    return (
      `${TITLES[run.name]}: batch-1 decode llama.cpp ${r.llamacpp_decode_tokens_per_s.toFixed(1)} tokens/s, ` +
      `safetune ${r.safetune_decode_tokens_per_s.toFixed(1)} tokens/s (same process, weights and prompt; ` +
      `${r.threads} thread(s)): ${fmtRatio(llamaCppRatio(run))}; per second of CPU time ` +
      `${r.llamacpp_decode_tokens_per_cpu_s.toFixed(1)} vs ${r.safetune_decode_tokens_per_cpu_s.toFixed(1)}: ` +
      `${fmtRatio(r.safetune_decode_tokens_per_cpu_s / r.llamacpp_decode_tokens_per_cpu_s)}; ${tokens}`
    );
  });
}

function targetLines(report: Report): string[] {
  const lines: string[] = [];
  for (const run of report.runs) {
    const checks: [string, number | undefined, number, string][] = [
      ["training", trainingRatio(run), TARGETS.training, "PyTorch"],
      ["batch-1 decode", generationRatio(run), TARGETS.generation, "PyTorch"],
      ["batch-8 decode", generationBatch8Ratio(run), TARGETS.generationBatch8, "PyTorch"],
      ["batch-1 decode", llamaCppRatio(run), TARGETS.llamaCpp, "llama.cpp f32"],
    ];
    for (const [what, r, target, peer] of checks) {
      const verdict = r === undefined ? "not measured" : r >= target ? "met" : "MISSED";
      lines.push(
        `${TITLES[run.name]}: ${what} ${fmtRatio(r)} of ${peer} (target >= ${target.toFixed(1)}x): ${verdict}`,
      );
    }
  }
  return lines;
}

function threadNote(report: Report): string {
  const s = report.safetuneThreads;
  const t = report.torchThreads;
  const how =
    report.options.threads === undefined ? "libtorch default" : `--threads ${report.options.threads}`;
  const torchPart = t === undefined ? "" : `, PyTorch ${t}`;
  const warn = t !== undefined && s !== t ? " (WARNING: the thread counts differ)" : "";
  return `intra-op threads (${how}): safetune ${s ?? "?"}${torchPart}${warn}`;
}

function machineLines(report: Report): string[] {
  const m = report.machine;
  return [
    `CPU: ${m.cpu}, ${m.cores} cores, ${m.ramGiB.toFixed(1)} GiB RAM`,
    `libtorch ${m.libtorch} (safetune, Node ${m.node})` +
      (report.torchVersion ? `; PyTorch ${report.torchVersion} (eager, fp32, CPU)` : ""),
    threadNote(report),
    `BLAS: ${m.blas}`,
    `1-minute load average: ${report.loadBefore.toFixed(2)} before, ${report.loadAfter.toFixed(2)} after ` +
      `(${m.cores} cores; above ~1 other processes were competing for the CPU)`,
  ];
}

function protocolLine(o: Options): string {
  const rounds = o.rounds > 1 ? `; best of ${o.rounds} rounds (fresh processes) per figure` : "";
  return (
    `batch ${BATCH} x ${SEQ}; ${o.warmup} warmup + ${o.steps} timed steps (median); generation: ` +
    `${PROMPT_LEN}-token prompts, ${o.genTokens} new tokens, greedy, batch 1 and ${DECODE_BATCH} rows, median of 3 ` +
    `runs; decode tokens/s count the tokens after the first (prefill excluded)${rounds}`
  );
}

function printReport(report: Report): void {
  const out: string[] = [];
  out.push("", "safetune vs PyTorch eager", ...machineLines(report).map((l) => `  ${l}`));
  out.push(`  protocol: ${protocolLine(report.options)}`);
  if (report.torchMissing) out.push(`  PyTorch figures missing: ${report.torchMissing}`);
  out.push(
    "  ratio > 1 means safetune is better: PyTorch time / safetune time, safetune tokens/s / PyTorch tokens/s,",
  );
  out.push("  PyTorch RSS / safetune RSS");
  const table = rows(report.options.genTokens);
  const width = Math.max(...table.map((r) => r.label.length)) + 2;
  for (const run of report.runs) {
    const params =
      run.torch && run.torch.params !== run.safetune.params
        ? `${int(run.safetune.params)} params (PyTorch: ${int(run.torch.params)} — MISMATCH)`
        : `${int(run.safetune.params)} params`;
    out.push("", `${TITLES[run.name]} (${PRESETS[run.name]}, ${params})`);
    out.push(
      `  ${"".padEnd(width)}${"safetune".padStart(12)}${"PyTorch".padStart(12)}${"ratio".padStart(9)}`,
    );
    for (const row of table) {
      const s = cell(row, run.safetune);
      const t = cell(row, run.torch);
      out.push(
        `  ${row.label.padEnd(width)}${s.padStart(12)}${t.padStart(12)}${fmtRatio(ratio(row, run)).padStart(9)}`,
      );
    }
  }
  out.push("", "llama.cpp (f32 GGUF written by `safetune export gguf`, f32 KV cache, node-llama-cpp):");
  out.push(...llamaCppLines(report).map((l) => `  ${l}`));
  out.push("", "Targets (safetune / peer, tokens/s):", ...targetLines(report).map((l) => `  ${l}`), "");
  process.stdout.write(`${out.join("\n")}\n`);
}

/** A markdown table laid out as Biome's formatter lays it out (padded cells), so `npm run lint` stays clean. */
function markdownTable(header: string[], align: ("left" | "right")[], body: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(3, h.length, ...body.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells
      .map((cell, c) => {
        const w = widths[c] ?? 3;
        return align[c] === "right" ? cell.padStart(w) : cell.padEnd(w);
      })
      .join(" | ")} |`;
  const rule = widths.map((w, c) => (align[c] === "right" ? `${"-".repeat(w - 1)}:` : "-".repeat(w)));
  return [line(header), `| ${rule.join(" | ")} |`, ...body.map(line)];
}

function markdownSection(report: Report): string {
  const o = report.options;
  const date = new Date().toISOString().slice(0, 10);
  const flags = [`--steps ${o.steps}`, `--warmup ${o.warmup}`, `--gen-tokens ${o.genTokens}`];
  if (o.threads !== undefined) flags.push(`--threads ${o.threads}`);
  if (o.rounds > 1) flags.push(`--rounds ${o.rounds}`);
  if (o.noTorch) flags.push("--no-torch");
  if (o.noLlamaCpp) flags.push("--no-llama-cpp");
  const out: string[] = [
    START,
    `<!-- written by \`npm run bench -- --write-docs\`; edit bench/run.ts, not this block -->`,
    "",
    `Measured on ${date} with \`npm run bench -- ${flags.join(" ")}\`.`,
    "",
    ...machineLines(report).map((l) => `- ${l}`),
    `- protocol: ${protocolLine(o)}`,
  ];
  if (report.torchMissing) out.push(`- PyTorch figures missing: ${report.torchMissing}`);
  out.push(
    "",
    "Ratio > 1 means safetune is better (PyTorch time / safetune time; safetune tokens/s / PyTorch tokens/s;",
  );
  out.push("PyTorch RSS / safetune RSS).");
  const table = rows(o.genTokens);
  for (const run of report.runs) {
    out.push(
      "",
      `**${TITLES[run.name]}** (\`${PRESETS[run.name]}\`, ${int(run.safetune.params)} parameters)`,
      "",
    );
    const cells = table.map((row) => [
      row.label,
      cell(row, run.safetune),
      cell(row, run.torch),
      fmtRatio(ratio(row, run)),
    ]);
    out.push(
      ...markdownTable(["", "safetune", "PyTorch", "ratio"], ["left", "right", "right", "right"], cells),
    );
  }
  out.push(
    "",
    "llama.cpp (f32 GGUF written by `safetune export gguf`, f32 KV cache, node-llama-cpp 3.21.1):",
    "",
    ...llamaCppLines(report).map((l) => `- ${l}`),
  );
  out.push(
    "",
    "Targets: training >= 1.3x PyTorch eager; batch-1 decode >= 1.5x PyTorch eager and >= 0.8x llama.cpp f32;",
    "batch-8 decode >= 2.0x PyTorch eager.",
    "",
  );
  out.push(...targetLines(report).map((l) => `- ${l}`), "", END);
  return out.join("\n");
}

function writeDocs(report: Report): void {
  const section = markdownSection(report);
  let text: string;
  if (!existsSync(DOCS)) {
    text = `# Benchmarks\n\n## Figures\n\n${section}\n`;
  } else {
    const current = readFileSync(DOCS, "utf8");
    const a = current.indexOf(START);
    const b = current.indexOf(END);
    text =
      a >= 0 && b > a
        ? `${current.slice(0, a)}${section}${current.slice(b + END.length)}`
        : `${current.trimEnd()}\n\n## Figures\n\n${section}\n`;
  }
  writeFileSync(DOCS, text);
  log(`wrote the figures to ${DOCS}`);
}

/** The trainer benchmark in its own process (it spawns one process per configuration); its table goes to stdout. */
function runTrainers(options: Options): void {
  const args = ["--steps", String(options.steps), "--warmup", String(options.warmup)];
  args.push("--rounds", String(options.rounds));
  if (options.threads !== undefined) args.push("--threads", String(options.threads));
  if (options.noTorch) args.push("--no-torch");
  if (options.writeDocs) args.push("--write-docs");
  log("trainers: bench/trainerBench.ts...");
  const r = spawnSync(
    process.execPath,
    ["--import", import.meta.resolve("tsx"), join(here, "trainerBench.ts"), ...args],
    { cwd: root, stdio: "inherit" },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench/trainerBench.ts exited with ${r.status ?? r.signal}`);
}

function main(): void {
  // --scale: the real-size benchmark (bench/scaleBench.ts) with the remaining flags.
  if (process.argv.includes("--scale")) {
    const args = process.argv.slice(2).filter((a) => a !== "--scale");
    const r = spawnSync(
      process.execPath,
      ["--import", import.meta.resolve("tsx"), join(here, "scaleBench.ts"), ...args],
      {
        cwd: root,
        stdio: "inherit",
      },
    );
    process.exit(r.status ?? 1);
  }
  let options: Options;
  try {
    options = parseOptions();
  } catch (err) {
    // Bad flags: one line, no stack trace.
    log(`bench: ${(err as Error).message}`);
    process.exit(2);
  }
  // OpenBLAS sizes its own thread pool (libtorch's intra-op setting does not reach it): every peer gets N.
  if (options.threads !== undefined) process.env.OPENBLAS_NUM_THREADS = String(options.threads);
  let machine: Machine;
  try {
    machine = describeMachine();
  } catch (err) {
    if (err instanceof EngineUnavailableError) {
      log(err.message);
      process.exit(1);
    }
    throw err;
  }
  log(`libtorch ${machine.libtorch}, ${getNumThreads()} intra-op thread(s) by default; ${machine.cpu}`);
  const report = benchmark(options, machine);
  printReport(report);
  if (options.writeDocs) writeDocs(report);
  if (options.trainers) runTrainers(options);
  if (options.eval) runSideBench("evalBench.ts", options);
  if (options.serve) runSideBench("serveBench.ts", options);
  if (options.distributed) {
    runSideBench("allreduceBench.ts", options);
    runSideBench("dataParallelBench.ts", options);
  }
}

/** A benchmark in its own process (evalBench.ts, serveBench.ts); its block goes to stdout (and the docs with --write-docs). */
function runSideBench(file: string, options: Options): void {
  log(`bench/${file}...`);
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      import.meta.resolve("tsx"),
      join(here, file),
      ...(options.writeDocs ? ["--write-docs"] : []),
    ],
    { cwd: root, stdio: "inherit" },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench/${file} exited with ${r.status ?? r.signal}`);
}

main();
