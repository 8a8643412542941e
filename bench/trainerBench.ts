// Trainer benchmark (`npm run bench -- --trainers`): DPO and SFT training steps on the llama-bench model
// (random weights, random tokens), each configuration in its own fresh process so that peak RSS is per
// configuration, and the same DPO step in PyTorch eager (bench/torch_dpo_peer.py) when some python3 imports torch.
//
// Configurations:
//   dpo-precomputed  DPO (sigmoid, β 0.1) on 4 pairs (prompt 64 + chosen 64, prompt 64 + rejected 64 tokens) with
//                    the reference log-probs computed once beforehand and passed in as numbers (safetune's way)
//   dpo-reference    the same step with a reference model kept in memory: a second copy of the weights whose
//                    forward runs under noGrad every step
//   sft-full         SFT on batch 8 x 128, every weight trained
//   sft-lora         SFT on batch 8 x 128, LoRA r 8 (alpha 16) on q/k/v, base weights frozen
// A step is the task's forward and loss (dpoTask / sftTask, inside tidy()), backward, clipping to global norm 1.0,
// an AdamW step (lr 1e-4, weight decay 0.1 on matrices) and zeroing the gradients: what runTrainingLoop does
// per optimizer step, without its logging and checkpoints. Median of --steps timed steps after --warmup.
//
// Usage: tsx bench/trainerBench.ts [--steps N] [--warmup N] [--threads N] [--rounds N] [--no-torch] [--write-docs]
//        tsx bench/trainerBench.ts --config NAME --json [--steps N] [--warmup N] [--threads N] (one configuration)
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  AdamW,
  attachAdapter,
  clipGradNorm,
  computeReferenceLogProbs,
  createLora,
  createModel,
  dpoTask,
  getNumThreads,
  manualSeed,
  presetConfig,
  randint,
  setNumThreads,
  sftTask,
  type Tensor,
  type TrainingTask,
  tidy,
  torchVersion,
  weightDecayGroups,
} from "../src/index.js";
import type { DpoOptions, TokenizedPair, TokenizedSequence } from "../src/train/dpo.js";
import { intFlag, medianTimes, replaceDocsBlock, runJsonProcess } from "./measure.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DOCS = join(root, "docs", "benchmarks.md");
const START = "<!-- bench:trainers:start -->";
const END = "<!-- bench:trainers:end -->";

export const VOCAB = 4096;
export const PRESET = "llama-bench";
export const DPO_PAIRS = 4;
export const PROMPT = 64;
export const ANSWER = 64;
export const SFT_BATCH = 8;
export const SFT_SEQ = 128;
export const BETA = 0.1;
const IGNORE = -100;
const PAD = 0;

export const CONFIGS = ["dpo-precomputed", "dpo-reference", "sft-full", "sft-lora"] as const;
export type ConfigName = (typeof CONFIGS)[number];

/** One configuration's figures (the PyTorch peer prints the same keys for dpo-precomputed). */
export interface TrainerFigures {
  config: ConfigName;
  params: number;
  trainable: number;
  step_s: number;
  /** Median CPU seconds (user + system) of a step: steadier than step_s on a busy machine. */
  cpu_step_s?: number;
  /** DPO pairs per second (0 for SFT). */
  pairs_per_s: number;
  tokens_per_s: number;
  peak_rss_mib: number;
  /** The one-off reference pass over the batch (dpo-precomputed only), seconds. */
  reference_s?: number;
}

interface ConfigResult {
  torch: string;
  threads: number;
  figures: TrainerFigures;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

const randomIds = (n: number): number[] => tidy(() => randint(0, VOCAB, [n]).toArray());

/** Random pairs: the same 64-token prompt before a 64-token chosen and a 64-token rejected answer. */
function randomPairs(n: number): TokenizedPair[] {
  return Array.from({ length: n }, () => {
    const prompt = randomIds(PROMPT);
    const answer = (): TokenizedSequence => {
      const tokens = randomIds(ANSWER);
      return {
        inputIds: [...prompt, ...tokens],
        labels: [...prompt.map(() => IGNORE), ...tokens],
      };
    };
    return { chosen: answer(), rejected: answer() };
  });
}

const DPO_OPTIONS: DpoOptions = {
  loss: "sigmoid",
  beta: BETA,
  labelSmoothing: 0,
  simpoGamma: 0.5,
  sftWeight: 0,
  padTokenId: PAD,
};

/** One optimizer step of `task` over `indices`, as runTrainingLoop does it (without logging). */
function trainStep(task: TrainingTask, indices: number[], params: Tensor[], opt: AdamW): void {
  tidy(() => {
    const r = task.step(indices);
    const loss = r.loss.item();
    if (!Number.isFinite(loss)) throw new Error(`the loss is ${loss}`);
    r.loss.backward();
  });
  clipGradNorm(params, 1.0);
  opt.step();
  opt.zeroGrad();
}

function runConfig(config: ConfigName, steps: number, warmup: number, seed: number): TrainerFigures {
  manualSeed(seed);
  const model = createModel(presetConfig(PRESET, VOCAB), { seed });
  const indices = Array.from({ length: config.startsWith("dpo") ? DPO_PAIRS : SFT_BATCH }, (_, i) => i);
  let trainable: [string, Tensor][];
  if (config === "sft-lora") {
    const adapter = createLora(model, {
      r: 8,
      alpha: 16,
      targetModules: ["q_proj", "k_proj", "v_proj"],
      dropout: 0,
    });
    adapter.training = true;
    attachAdapter(model, adapter);
    trainable = adapter.namedParameters();
  } else {
    trainable = [...model.params];
    for (const [, p] of trainable) p.requiresGrad_();
  }
  const params = trainable.map(([, t]) => t);
  const opt = new AdamW(weightDecayGroups(trainable, 0.1), { lr: 1e-4 });
  const trainableCount = params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);

  let times: { wallS: number; cpuS: number };
  let referenceS: number | undefined;
  let disposeExtra = () => {};
  if (config === "dpo-precomputed") {
    const pairs = randomPairs(DPO_PAIRS);
    const start = performance.now();
    const reference = computeReferenceLogProbs(model, pairs, { padTokenId: PAD, batchSize: DPO_PAIRS });
    referenceS = (performance.now() - start) / 1000;
    const task = dpoTask(model, pairs, reference, DPO_OPTIONS);
    times = medianTimes(() => trainStep(task, indices, params, opt), steps, warmup);
  } else if (config === "dpo-reference") {
    const pairs = randomPairs(DPO_PAIRS);
    // The reference: a second copy of the same initial weights, frozen, kept in memory for the whole run.
    const referenceModel = createModel(presetConfig(PRESET, VOCAB), { seed });
    disposeExtra = () => referenceModel.dispose();
    times = medianTimes(
      () => {
        // computeReferenceLogProbs runs the reference's forward under noGrad.
        const reference = computeReferenceLogProbs(referenceModel, pairs, {
          padTokenId: PAD,
          batchSize: DPO_PAIRS,
        });
        trainStep(dpoTask(model, pairs, reference, DPO_OPTIONS), indices, params, opt);
      },
      steps,
      warmup,
    );
  } else {
    const examples: TokenizedSequence[] = Array.from({ length: SFT_BATCH }, () => {
      const ids = randomIds(SFT_SEQ);
      return { inputIds: ids, labels: [...ids] };
    });
    const task = sftTask(model, examples, { padTokenId: PAD });
    times = medianTimes(() => trainStep(task, indices, params, opt), steps, warmup);
  }
  const stepS = times.wallS;

  const dpo = config.startsWith("dpo");
  const figures: TrainerFigures = {
    config,
    params: model.numParameters,
    trainable: trainableCount,
    step_s: stepS,
    cpu_step_s: times.cpuS,
    pairs_per_s: dpo ? DPO_PAIRS / stepS : 0,
    tokens_per_s: (dpo ? DPO_PAIRS * 2 * (PROMPT + ANSWER) : SFT_BATCH * SFT_SEQ) / stepS,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
    ...(referenceS === undefined ? {} : { reference_s: referenceS }),
  };
  opt.dispose();
  disposeExtra();
  model.dispose();
  return figures;
}

// ---------------------------------------------------------------- the driver

interface Options {
  steps: number;
  warmup: number;
  threads: number | undefined;
  rounds: number;
  noTorch: boolean;
  writeDocs: boolean;
}

interface Report {
  options: Options;
  threads: number | undefined;
  torchThreads: number | undefined;
  torchVersion: string | undefined;
  torchMissing: string | undefined;
  loadBefore: number;
  loadAfter: number;
  safetune: Partial<Record<ConfigName, TrainerFigures>>;
  torch: TrainerFigures | undefined;
}

function childArgs(o: Options): string[] {
  const args = ["--json", "--steps", String(o.steps), "--warmup", String(o.warmup)];
  if (o.threads !== undefined) args.push("--threads", String(o.threads));
  return args;
}

function findTorchPython(): { python: string } | { reason: string } {
  const tried: string[] = [];
  for (const python of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(python, ["-c", "import torch"], {
      encoding: "utf8",
      stdio: ["ignore", "ignore", "pipe"],
    });
    if (r.status === 0) return { python };
    tried.push(
      `${python}: ${r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? `exit ${r.status}`)}`,
    );
  }
  return { reason: `no python3 can import torch (${tried.join("; ")})` };
}

/** Best of the rounds: least step time (and the matching rates), largest peak RSS. */
function best(rounds: TrainerFigures[]): TrainerFigures {
  const [first, ...rest] = rounds;
  if (!first) throw new Error("no rounds");
  let out = { ...first };
  let peak = first.peak_rss_mib;
  for (const f of rest) {
    peak = Math.max(peak, f.peak_rss_mib);
    if (f.step_s < out.step_s) out = { ...f };
  }
  out.peak_rss_mib = peak;
  return out;
}

function benchmark(o: Options): Report {
  const report: Report = {
    options: o,
    threads: undefined,
    torchThreads: undefined,
    torchVersion: undefined,
    torchMissing: undefined,
    loadBefore: os.loadavg()[0] ?? 0,
    loadAfter: 0,
    safetune: {},
    torch: undefined,
  };
  let python: string | undefined;
  if (o.noTorch) report.torchMissing = "skipped (--no-torch)";
  else {
    const found = findTorchPython();
    if ("python" in found) python = found.python;
    else report.torchMissing = found.reason;
  }
  const rounds: Record<string, TrainerFigures[]> = {};
  const add = (key: string, f: TrainerFigures) => {
    rounds[key] = [...(rounds[key] ?? []), f];
  };
  const self = fileURLToPath(import.meta.url);
  for (let round = 1; round <= o.rounds; round++) {
    const tag = o.rounds > 1 ? ` (round ${round}/${o.rounds})` : "";
    for (const config of CONFIGS) {
      log(`trainers: safetune ${config} in a fresh process${tag}...`);
      const r = runJsonProcess<ConfigResult>(process.execPath, [
        "--import",
        import.meta.resolve("tsx"),
        self,
        "--config",
        config,
        ...childArgs(o),
      ]);
      report.threads = r.threads;
      add(config, r.figures);
      log(`  ${config}: ${ms(r.figures.step_s)} ms/step, peak RSS ${mib(r.figures.peak_rss_mib)} MiB`);
    }
    if (python && report.torchMissing === undefined) {
      log(`trainers: PyTorch eager DPO (precomputed reference) in a fresh process${tag}...`);
      try {
        const t = runJsonProcess<ConfigResult>(python, [join(here, "torch_dpo_peer.py"), ...childArgs(o)]);
        report.torchThreads = t.threads;
        report.torchVersion = t.torch;
        add("torch", t.figures);
        log(`  PyTorch: ${ms(t.figures.step_s)} ms/step, peak RSS ${mib(t.figures.peak_rss_mib)} MiB`);
      } catch (err) {
        report.torchMissing = `the PyTorch DPO peer failed: ${(err as Error).message}`;
        log(report.torchMissing);
      }
    }
  }
  for (const config of CONFIGS) {
    const r = rounds[config];
    if (r) report.safetune[config] = best(r);
  }
  if (rounds.torch) report.torch = best(rounds.torch);
  report.loadAfter = os.loadavg()[0] ?? 0;
  return report;
}

// ---------------------------------------------------------------- the report

const ms = (v: number) => (v * 1000).toFixed(1);
const mib = (v: number) => v.toFixed(0);
const num = (v: number, digits = 0) =>
  v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

const LABELS: Record<ConfigName, string> = {
  "dpo-precomputed": "DPO, precomputed reference log-probs",
  "dpo-reference": "DPO, reference model in memory",
  "sft-full": "SFT, full fine-tuning",
  "sft-lora": "SFT, LoRA r 8 on q/k/v",
};

function tableRows(report: Report): string[][] {
  const rows: string[][] = [];
  for (const config of CONFIGS) {
    const f = report.safetune[config];
    if (!f) continue;
    const dpo = config.startsWith("dpo");
    rows.push([
      `safetune: ${LABELS[config]}`,
      ms(f.step_s),
      cpuMs(f),
      dpo ? num(f.pairs_per_s, 2) : "—",
      num(f.tokens_per_s),
      num(f.trainable),
      mib(f.peak_rss_mib),
    ]);
  }
  const t = report.torch;
  if (t) {
    rows.push([
      "PyTorch eager: DPO, precomputed reference log-probs",
      ms(t.step_s),
      cpuMs(t),
      num(t.pairs_per_s, 2),
      num(t.tokens_per_s),
      num(t.trainable),
      mib(t.peak_rss_mib),
    ]);
  }
  return rows;
}

const cpuMs = (f: TrainerFigures) => (f.cpu_step_s === undefined ? "—" : ms(f.cpu_step_s));

const HEADER = ["", "step (ms)", "CPU/step (ms)", "pairs/s", "tokens/s", "trained params", "peak RSS (MiB)"];

function summaryLines(report: Report): string[] {
  const lines: string[] = [];
  const pre = report.safetune["dpo-precomputed"];
  const ref = report.safetune["dpo-reference"];
  const full = report.safetune["sft-full"];
  const lora = report.safetune["sft-lora"];
  if (pre && ref) {
    lines.push(
      `DPO with precomputed reference log-probs: ${(pre.pairs_per_s / ref.pairs_per_s).toFixed(2)}x the pairs/s ` +
        `of a reference model in memory; peak RSS ${mib(pre.peak_rss_mib)} against ${mib(ref.peak_rss_mib)} MiB ` +
        `(the reference copy's weights: ${mib((pre.params * 4) / 2 ** 20)} MiB in fp32); the one-off reference ` +
        `pass over the batch took ${ms(pre.reference_s ?? 0)} ms`,
    );
  }
  if (full && lora) {
    lines.push(
      `SFT with LoRA: ${(lora.tokens_per_s / full.tokens_per_s).toFixed(2)}x the tokens/s of full fine-tuning, ` +
        `${num(lora.trainable)} of ${num(lora.params)} parameters trained`,
    );
  }
  if (pre && report.torch) {
    lines.push(
      `DPO step, safetune / PyTorch eager (pairs/s): ${(pre.pairs_per_s / report.torch.pairs_per_s).toFixed(2)}x ` +
        "(> 1: safetune faster)",
    );
    const [mine, theirs] = [pre.cpu_step_s, report.torch.cpu_step_s];
    if (mine !== undefined && theirs !== undefined)
      lines.push(`DPO step, PyTorch CPU time / safetune CPU time: ${(theirs / mine).toFixed(2)}x`);
  } else
    lines.push(`DPO step, safetune / PyTorch eager: not measured (${report.torchMissing ?? "no figures"})`);
  return lines;
}

function machineLines(report: Report): string[] {
  const cpu =
    (() => {
      try {
        const line = readFileSync("/proc/cpuinfo", "utf8")
          .split("\n")
          .find((l) => l.startsWith("model name"));
        return line?.slice(line.indexOf(":") + 1).trim();
      } catch {
        return undefined;
      }
    })() ?? os.cpus()[0]?.model;
  const cores = os.availableParallelism();
  const how =
    report.options.threads === undefined ? "libtorch default" : `--threads ${report.options.threads}`;
  const torchPart = report.torchThreads === undefined ? "" : `, PyTorch ${report.torchThreads}`;
  return [
    `CPU: ${cpu ?? "unknown CPU"}, ${cores} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `libtorch ${torchVersion()} (safetune, Node ${process.version})` +
      (report.torchVersion ? `; PyTorch ${report.torchVersion} (eager, fp32, CPU)` : ""),
    `intra-op threads (${how}): safetune ${report.threads ?? "?"}${torchPart}`,
    `1-minute load average: ${report.loadBefore.toFixed(2)} before, ${report.loadAfter.toFixed(2)} after ` +
      `(${cores} cores)`,
  ];
}

function protocolLine(o: Options): string {
  const rounds = o.rounds > 1 ? `; best of ${o.rounds} rounds (fresh processes)` : "";
  return (
    `${PRESET}, DPO ${DPO_PAIRS} pairs x (${PROMPT} prompt + ${ANSWER} answer) tokens, sigmoid loss, beta ${BETA}; ` +
    `SFT ${SFT_BATCH} x ${SFT_SEQ}; ${o.warmup} warmup + ${o.steps} timed steps (median); one fresh process per ` +
    `configuration${rounds}`
  );
}

function printReport(report: Report): void {
  const out = ["", "Trainers (llama-bench)", ...machineLines(report).map((l) => `  ${l}`)];
  out.push(`  protocol: ${protocolLine(report.options)}`, "");
  const rows = tableRows(report);
  const widths = HEADER.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    `  ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  ")}`;
  out.push(line(HEADER), ...rows.map(line), "", ...summaryLines(report).map((l) => `  ${l}`), "");
  process.stdout.write(`${out.join("\n")}\n`);
}

/** A markdown table laid out as Biome's formatter lays it out (padded cells). */
function markdownTable(header: string[], body: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(3, h.length, ...body.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 3) : cell.padStart(widths[c] ?? 3))).join(" | ")} |`;
  const rule = widths.map((w, c) => (c === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`));
  return [line(header), `| ${rule.join(" | ")} |`, ...body.map(line)];
}

function markdownBlock(report: Report): string {
  const o = report.options;
  const flags = ["--trainers", `--steps ${o.steps}`, `--warmup ${o.warmup}`];
  if (o.threads !== undefined) flags.push(`--threads ${o.threads}`);
  if (o.rounds > 1) flags.push(`--rounds ${o.rounds}`);
  const date = new Date().toISOString().slice(0, 10);
  return [
    START,
    "<!-- written by `npm run bench -- --trainers --write-docs`; edit bench/trainerBench.ts, not this block -->",
    "",
    `Measured on ${date} with \`npm run bench -- ${flags.join(" ")}\`.`,
    "",
    ...machineLines(report).map((l) => `- ${l}`),
    `- protocol: ${protocolLine(o)}`,
    ...(report.torchMissing ? [`- PyTorch figures missing: ${report.torchMissing}`] : []),
    "",
    ...markdownTable(HEADER, tableRows(report)),
    "",
    ...summaryLines(report).map((l) => `- ${l}`),
    "",
    END,
  ].join("\n");
}

function writeDocs(report: Report): void {
  replaceDocsBlock(DOCS, START, END, markdownBlock(report), "Trainers");
  log(`wrote the trainer figures to ${DOCS}`);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      json: { type: "boolean", default: false },
      steps: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      threads: { type: "string" },
      rounds: { type: "string", default: "1" },
      seed: { type: "string", default: "0" },
      "no-torch": { type: "boolean", default: false },
      "write-docs": { type: "boolean", default: false },
    },
    strict: true,
  });
  let options: Options;
  try {
    options = {
      steps: intFlag("steps", values.steps, 1),
      warmup: intFlag("warmup", values.warmup, 0),
      threads: values.threads === undefined ? undefined : intFlag("threads", values.threads, 1),
      rounds: intFlag("rounds", values.rounds, 1),
      noTorch: values["no-torch"],
      writeDocs: values["write-docs"],
    };
    if (values.config !== undefined && !(CONFIGS as readonly string[]).includes(values.config)) {
      throw new RangeError(`--config must be one of ${CONFIGS.join(", ")}`);
    }
  } catch (err) {
    log(`trainerBench: ${(err as Error).message}`);
    process.exit(2);
  }
  if (options.threads !== undefined) setNumThreads(options.threads);
  if (values.config !== undefined) {
    const figures = runConfig(
      values.config as ConfigName,
      options.steps,
      options.warmup,
      intFlag("seed", values.seed, 0),
    );
    const result: ConfigResult = { torch: torchVersion(), threads: getNumThreads(), figures };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const report = benchmark(options);
  printReport(report);
  if (options.writeDocs) writeDocs(report);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
