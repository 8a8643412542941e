// `safetune export gguf` checked against llama.cpp itself (node-llama-cpp's CPU build): the exported files
// must load, tokenize like safetune's tokenizer, and compute the same next-token distributions and greedy
// continuations as safetune's own model (and as the PyTorch reference logits of the fixtures).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import {
  getLlama,
  type Llama,
  LlamaLogLevel,
  type LlamaModel,
  readGgufFileInfo,
  type Token,
} from "node-llama-cpp";
import { noGrad, randn, type Tensor, tensor, tidy } from "../src/engine/index.js";
import { ExportError, exportGguf } from "../src/export/index.js";
import { generateTokens } from "../src/generate/generate.js";
import { createModel } from "../src/model/createModel.js";
import { loadModel } from "../src/model/loadModel.js";
import { mergeAdapter } from "../src/model/lora.js";
import { loadAdapter } from "../src/model/loraFiles.js";
import { saveModel, TOKENIZER_FILES } from "../src/model/saveModel.js";
import { saveScratchTokenizer } from "../src/model/scratchModel.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { starterCorpus } from "../src/tokenize/starterCorpus.js";
import { loadTokenizerSync, type Tokenizer } from "../src/tokenize/tokenizer.js";
import { disposeAll, expected, fixtureDir, must, REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const ARCHITECTURES = ["llama", "qwen2", "gpt2"] as const;
const NEW_TOKENS = 16;
const PROMPT_TEXT = "The cat sat on the mat.";
/** Text that exercises the GPT-2 pre-tokenizer: contractions, digits, runs of spaces, newlines, non-ASCII. */
const SAMPLE_TEXT =
  "Hello world! It's 2024, isn't it?  Two  spaces,\tand a tab.\nNew line\n\n  indented 12345 café — naïve 日本語 ok ";
/**
 * Largest |log p_llama.cpp - log p_safetune| allowed over a next-token distribution (nats). Measured on these
 * models: llama 2.5e-5, qwen2 1.0e-5 (the same function up to summation order); gpt2 5.0e-3, because ggml's
 * CPU GELU rounds its input to f16 for a table lookup (GGML_GELU_FP16 in ggml-cpu/vec.h); f16 files 3.3e-2 to
 * 4.5e-2 (weights rounded to 11 bits, and ggml rounds activations to f16 for f16 matmuls). A wrong layout
 * (no rotary permutation, an untransposed Conv1D) measures about 11.5, far above every bound.
 */
const F32_TOLERANCE: Record<string, number> = { llama: 2e-4, qwen2: 2e-4, gpt2: 1.5e-2 };
const F16_TOLERANCE = 0.1;

/**
 * llama.cpp keeps its KV cache in F16 by default, which alone moved log-probs by 2e-2 here; an F32 cache makes
 * the comparison about the exported weights. One sequence, no flash attention (F16 accumulation on some builds).
 */
const CONTEXT_OPTIONS = {
  contextSize: 256,
  sequences: 1,
  // One thread: ggml's workers spin while waiting, which on a busy 2-core machine costs 100x in wall time.
  threads: 1,
  flashAttention: false,
  experimentalKvCacheKeyType: "F32",
  experimentalKvCacheValueType: "F32",
} as const;

const scratch = tmpDirWithCleanup("safetune-gguf-");
const ROOT = scratch.dir;
let llama: Llama;
const tokenizers = new Map<string, Tokenizer>();

/** A fixture checkpoint (random weights, vocab 300) plus a byte-level BPE tokenizer trained to the same size. */
function modelFolder(name: string, tokenizerDir: string): string {
  const dir = join(ROOT, name);
  mkdirSync(dir, { recursive: true });
  for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(fixtureDir(name), f), join(dir, f));
  for (const f of TOKENIZER_FILES)
    if (existsSync(join(tokenizerDir, f))) copyFileSync(join(tokenizerDir, f), join(dir, f));
  return dir;
}

before(async () => {
  const tokenizerDir = join(ROOT, "tokenizer");
  saveScratchTokenizer(tokenizerDir, starterCorpus(), 300);
  for (const name of ARCHITECTURES) tokenizers.set(name, loadTokenizerSync(modelFolder(name, tokenizerDir)));
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
});

after(async () => {
  await llama?.dispose();
  scratch.cleanup();
});

/** Runs `fn` with the GGUF loaded in llama.cpp, disposing model and context afterwards. */
async function withLlamaCpp<T>(path: string, fn: (model: LlamaModel) => Promise<T>): Promise<T> {
  const model = await llama.loadModel({ modelPath: path });
  try {
    return await fn(model);
  } finally {
    await model.dispose();
  }
}

/** llama.cpp's greedy continuation of `prompt`, fed as token ids (no tokenizer involved). */
async function llamaCppGreedy(model: LlamaModel, prompt: number[], count: number): Promise<number[]> {
  const context = await model.createContext(CONTEXT_OPTIONS);
  try {
    const out: number[] = [];
    for await (const token of context.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
      out.push(token);
      if (out.length >= count) break;
    }
    return out;
  } finally {
    await context.dispose();
  }
}

/**
 * llama.cpp's next-token log-probabilities after each prefix ids[0..i] for i >= from, teacher-forced, with
 * sampling filters off (temperature 1, no top-k/top-p/min-p) so they are softmax(logits).
 */
async function llamaCppLogProbs(
  model: LlamaModel,
  ids: number[],
  from: number,
  vocab = 300,
): Promise<Float64Array[]> {
  const context = await model.createContext(CONTEXT_OPTIONS);
  try {
    const options = { temperature: 1, topK: 0, topP: 1, minP: 0 };
    const results = await context
      .getSequence()
      .controlledEvaluate(
        ids.map((id, i) =>
          i >= from ? [id as Token, { generateNext: { probabilities: true, options } }] : (id as Token),
        ),
      );
    const rows: Float64Array[] = [];
    for (let i = from; i < ids.length; i++) {
      const probabilities = results[i]?.next.probabilities;
      assert.ok(probabilities, `llama.cpp returned no probabilities at position ${i}`);
      assert.equal(probabilities.size, vocab, "every token of the vocabulary has a probability");
      const row = new Float64Array(vocab).fill(Number.NEGATIVE_INFINITY);
      for (const [token, p] of probabilities) row[token] = Math.log(p);
      rows.push(row);
    }
    return rows;
  } finally {
    await context.dispose();
  }
}

/** safetune's next-token log-probabilities after each prefix ids[0..i], i >= from. */
function safetuneLogProbs(model: TransformerModel, ids: number[], from: number): Float64Array[] {
  const flat = noGrad(() =>
    tidy(() => {
      const input: Tensor = tensor([ids], undefined, { dtype: "int64" });
      return model.forward(input).logSoftmax(-1).toFloat32Array();
    }),
  );
  const vocab = model.config.vocabSize;
  const rows: Float64Array[] = [];
  for (let i = from; i < ids.length; i++)
    rows.push(Float64Array.from(flat.subarray(i * vocab, (i + 1) * vocab)));
  return rows;
}

/** Largest log-probability gap over tokens that are not vanishingly unlikely (llama.cpp's float softmax underflows there). */
function maxLogProbGap(a: Float64Array[], b: Float64Array[]): number {
  assert.equal(a.length, b.length, "same number of positions");
  let worst = 0;
  a.forEach((row, i) => {
    const other = b[i] as Float64Array;
    for (let t = 0; t < row.length; t++) {
      if ((other[t] as number) < Math.log(1e-6)) continue;
      worst = Math.max(worst, Math.abs((row[t] as number) - (other[t] as number)));
    }
  });
  return worst;
}

/** Per row: best minus second-best log-probability, i.e. how near a tie greedy decoding was there. */
function topMargins(rows: Float64Array[]): number[] {
  return rows.map((row) => {
    const sorted = [...row].sort((x, y) => y - x);
    return (sorted[0] as number) - (sorted[1] as number);
  });
}

/**
 * Greedy tokens must be identical, except that the two may part ways at a step where safetune's top two
 * tokens are closer than the log-prob tolerance (a tie within the documented numerical difference);
 * after that point the continuations are unrelated and are not compared.
 */
function assertSameGreedy(got: number[], want: number[], margins: number[], tolerance: number): number {
  assert.equal(got.length, want.length, "as many tokens from llama.cpp as from safetune");
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue;
    const margin = margins[i] as number;
    assert.ok(
      margin < 2 * tolerance,
      `greedy token ${i}: llama.cpp ${got[i]}, safetune ${want[i]}, although the top-1 margin ${margin} is no tie\n` +
        `llama.cpp ${got.join(",")}\nsafetune  ${want.join(",")}`,
    );
    return i;
  }
  return want.length;
}

function safetuneGreedy(model: TransformerModel, prompt: number[]): number[] {
  const [generation] = generateTokens(model, [prompt], {
    maxNewTokens: NEW_TOKENS,
    temperature: 0,
    stopTokenIds: [], // run the full length, as llama.cpp's evaluate() does
  });
  assert.ok(generation, "safetune generated a row");
  return generation.tokens;
}

/** Checks llama.cpp on `gguf` against safetune's `reference`: teacher-forced distributions, then greedy tokens. */
async function checkAgainstSafetune(
  gguf: string,
  reference: TransformerModel,
  prompt: number[],
  tolerance: number,
): Promise<{ gap: number; margin: number; agreed: number }> {
  const want = safetuneGreedy(reference, prompt);
  const sequence = [...prompt, ...want];
  const ours = safetuneLogProbs(reference, sequence, prompt.length - 1);
  const margins = topMargins(ours);
  return withLlamaCpp(gguf, async (model) => {
    const theirs = await llamaCppLogProbs(model, sequence, prompt.length - 1);
    const gap = maxLogProbGap(theirs, ours);
    assert.ok(gap < tolerance, `log-prob gap ${gap} exceeds ${tolerance}`);
    const got = await llamaCppGreedy(model, prompt, NEW_TOKENS);
    const agreed = assertSameGreedy(got, want, margins, tolerance);
    return { gap, margin: Math.min(...margins.slice(0, NEW_TOKENS)), agreed };
  });
}

/** llama.cpp's log-probs along row 0 of a fixture's input_ids against the fixture's PyTorch logits. */
async function gapToPytorchReference(gguf: string, fixture: string): Promise<number> {
  const exp = expected(fixture);
  try {
    const ids = must(exp, "input_ids").toArray().slice(0, 12);
    const flat = noGrad(() =>
      tidy(() => must(exp, "logits").narrow(0, 0, 1).logSoftmax(-1).toFloat32Array()),
    );
    const vocab = flat.length / ids.length;
    const rows = ids.map((_, i) => Float64Array.from(flat.subarray(i * vocab, (i + 1) * vocab)));
    const theirs = await withLlamaCpp(gguf, (model) => llamaCppLogProbs(model, ids, 0, vocab));
    return maxLogProbGap(theirs, rows);
  } finally {
    disposeAll(exp);
  }
}

for (const name of ARCHITECTURES) {
  test(`${name}: f32 GGUF in llama.cpp matches safetune's greedy tokens, distributions and tokenizer`, async () => {
    const dir = join(ROOT, name);
    const out = join(ROOT, `${name}-f32.gguf`);
    const result = exportGguf(dir, out);
    assert.equal(result.architecture, name);
    assert.deepEqual(result.warnings, [], "the scratch tokenizer maps onto a known pre-tokenizer");
    const tokenizer = tokenizers.get(name) as Tokenizer;
    const prompt = tokenizer.encode(PROMPT_TEXT, { addSpecialTokens: false });
    const tolerance = F32_TOLERANCE[name] as number;
    const model = loadModel(dir);
    try {
      const { gap, margin, agreed } = await checkAgainstSafetune(out, model, prompt, tolerance);
      assert.equal(agreed, NEW_TOKENS, "every greedy token agrees in f32");
      console.log(
        `# ${name} f32: log-prob gap ${gap.toExponential(2)}, smallest top-1 margin ${margin.toFixed(4)}`,
      );
    } finally {
      model.dispose();
    }
    const reference = await gapToPytorchReference(out, name);
    assert.ok(reference < tolerance, `log-prob gap to the fixture's PyTorch logits: ${reference}`);

    await withLlamaCpp(out, async (model) => {
      // llama.cpp's own tokenizer, rebuilt from the metadata, splits text exactly as safetune's does.
      assert.deepEqual(
        [...model.tokenize(SAMPLE_TEXT)],
        tokenizer.encode(SAMPLE_TEXT, { addSpecialTokens: false }),
        "llama.cpp tokenizes the sample text to safetune's ids",
      );
      assert.deepEqual([...model.tokenize(PROMPT_TEXT)], prompt, "and the prompt");
      assert.equal(model.detokenize(model.tokenize(SAMPLE_TEXT)), SAMPLE_TEXT, "detokenize round-trips");
      const imStart = tokenizer.encode("<|im_start|>", { addSpecialTokens: false });
      assert.equal(imStart.length, 1, "safetune: <|im_start|> is one token");
      assert.deepEqual(
        [...model.tokenize("<|im_start|>", true)],
        imStart,
        "llama.cpp: the same special token",
      );
    });

    // What the file says about itself, read back by node-llama-cpp's own GGUF parser.
    const info = await readGgufFileInfo(out);
    assert.equal(info.version, 3);
    const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
    assert.equal(meta.general?.architecture, name);
    assert.equal(meta.general?.file_type, 0, "general.file_type ALL_F32");
    assert.equal(meta.tokenizer?.chat_template, tokenizer.chatTemplate, "chat template carried over");
    assert.match(String(meta.tokenizer?.chat_template), /<\|im_start\|>/, "the ChatML template");
    const ggml = meta.tokenizer?.ggml as Record<string, unknown>;
    assert.equal(ggml.model, "gpt2");
    assert.equal(ggml.pre, "gpt-2");
    assert.equal(ggml.bos_token_id, tokenizer.bosTokenId);
    assert.equal(ggml.eos_token_id, tokenizer.eosTokenId);
    assert.equal(ggml.padding_token_id, tokenizer.padTokenId);
    assert.equal(ggml.add_bos_token, false, "the scratch tokenizer adds no BOS");
    for (const t of info.tensorInfo ?? []) {
      assert.equal(Number(t.offset) % 32, 0, `${t.name} starts on a 32-byte boundary`);
      assert.equal(t.ggmlType, 0, `${t.name} is F32`);
    }
    const names = new Set((info.tensorInfo ?? []).map((t) => t.name));
    assert.equal(names.has("output.weight"), name === "llama", "only the untied llama has an output matrix");
    assert.equal(names.has("position_embd.weight"), name === "gpt2", "only GPT-2 has learned positions");
    assert.deepEqual(
      readdirSync(ROOT).filter((f) => f.endsWith(".tmp")),
      [],
      "no temporary file left behind",
    );
  });
}

test("f16 GGUF: matrices in F16, norms/biases/positions in F32, same greedy tokens within a documented tolerance", async () => {
  for (const name of ARCHITECTURES) {
    const dir = join(ROOT, name);
    const out = join(ROOT, `${name}-f16.gguf`);
    exportGguf(dir, out, { dtype: "f16" });
    const info = await readGgufFileInfo(out);
    const meta = info.metadata as unknown as Record<string, Record<string, unknown>>;
    assert.equal(meta.general?.file_type, 1, "general.file_type MOSTLY_F16");
    for (const t of info.tensorInfo ?? []) {
      const matrix = t.dimensions.length === 2 && !t.name.startsWith("position_embd");
      assert.equal(t.ggmlType, matrix ? 1 : 0, `${t.name}: ${matrix ? "F16" : "F32"}`);
    }
    const prompt = (tokenizers.get(name) as Tokenizer).encode(PROMPT_TEXT, { addSpecialTokens: false });
    const model = loadModel(dir);
    try {
      const { gap, margin, agreed } = await checkAgainstSafetune(out, model, prompt, F16_TOLERANCE);
      console.log(
        `# ${name} f16: log-prob gap ${gap.toExponential(2)}, smallest top-1 margin ${margin.toFixed(4)}, ` +
          `${agreed}/${NEW_TOKENS} greedy tokens identical`,
      );
    } finally {
      model.dispose();
    }
  }
});

test("LoRA: llama + PEFT adapter merged on export matches safetune's merged model and the reference", async () => {
  const dir = join(ROOT, "llama");
  const adapterDir = fixtureDir("lora-adapter");
  const out = join(ROOT, "llama-lora.gguf");
  exportGguf(dir, out, { adapter: adapterDir });
  const prompt = (tokenizers.get("llama") as Tokenizer).encode(PROMPT_TEXT, { addSpecialTokens: false });
  const tolerance = F32_TOLERANCE.llama as number;

  const merged = loadModel(dir);
  const base = loadModel(dir);
  try {
    const adapter = loadAdapter(adapterDir, merged);
    mergeAdapter(merged, adapter);
    adapter.dispose();
    const { agreed } = await checkAgainstSafetune(out, merged, prompt, tolerance);
    assert.equal(agreed, NEW_TOKENS, "every greedy token agrees");
    // The adapter must matter on this prompt, or the comparison above could not tell merged from base.
    const sequence = [...prompt, ...safetuneGreedy(merged, prompt)];
    const shift = maxLogProbGap(
      safetuneLogProbs(merged, sequence, prompt.length - 1),
      safetuneLogProbs(base, sequence, prompt.length - 1),
    );
    assert.ok(shift > 100 * tolerance, `the adapter moves log-probs by ${shift}`);
  } finally {
    merged.dispose();
    base.dispose();
  }
  const reference = await gapToPytorchReference(out, "lora-adapter");
  assert.ok(
    reference < tolerance,
    `log-prob gap to the fixture's PyTorch logits with the adapter: ${reference}`,
  );
});

test("llama variants: llama3 and linear rope scaling, attention biases, head_dim != hidden/heads", async () => {
  const base = {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: 300,
    hidden_size: 64,
    intermediate_size: 96,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 128,
    bos_token_id: 1,
    eos_token_id: 2,
  };
  const variants: Record<string, Record<string, unknown>> = {
    // A short original context, so that llama3 scaling changes most rotary frequencies of a 12-token prompt.
    "llama3-bias-headdim": {
      ...base,
      head_dim: 32,
      attention_bias: true,
      rope_scaling: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 16,
      },
    },
    "linear-rope": { ...base, rope_theta: 500, rope_scaling: { type: "linear", factor: 4 } },
  };
  for (const [variant, config] of Object.entries(variants)) {
    const dir = join(ROOT, variant);
    const model = createModel(config, { seed: 7, initStd: 0.3 });
    try {
      // Zero-initialised biases would hide a bias written in the wrong layout.
      noGrad(() => {
        for (const [name, t] of model.params)
          if (name.endsWith(".bias")) tidy(() => t.add_(randn([...t.shape])));
      });
      saveModel(model, dir);
      for (const f of TOKENIZER_FILES) {
        const from = join(ROOT, "llama", f);
        if (existsSync(from)) copyFileSync(from, join(dir, f));
      }
      const out = join(ROOT, `${variant}.gguf`);
      exportGguf(dir, out);
      const prompt = (tokenizers.get("llama") as Tokenizer).encode(PROMPT_TEXT, { addSpecialTokens: false });
      const { gap, margin, agreed } = await checkAgainstSafetune(
        out,
        model,
        prompt,
        F32_TOLERANCE.llama as number,
      );
      assert.equal(agreed, NEW_TOKENS, "every greedy token agrees");
      console.log(
        `# ${variant}: log-prob gap ${gap.toExponential(2)}, smallest top-1 margin ${margin.toFixed(4)}`,
      );
    } finally {
      model.dispose();
    }
  }
});

test("refused inputs (library): one-line ExportError naming the file or field, nothing written", () => {
  const out = join(ROOT, "refused.gguf");
  const sentencePiece = join(ROOT, "sentencepiece");
  mkdirSync(sentencePiece, { recursive: true });
  for (const f of ["config.json", "model.safetensors"])
    copyFileSync(join(fixtureDir("llama"), f), join(sentencePiece, f));
  const tj = JSON.parse(readFileSync(join(ROOT, "llama", "tokenizer.json"), "utf8"));
  tj.model.byte_fallback = true;
  tj.pre_tokenizer = { type: "Metaspace", replacement: "\u2581", prepend_scheme: "first", split: false };
  writeFileSync(join(sentencePiece, "tokenizer.json"), JSON.stringify(tj));
  const cases: [string, RegExp][] = [
    [sentencePiece, /sentencepiece\/tokenizer\.json: SentencePiece-style BPE .* not supported/],
    [fixtureDir("reward-llama"), /reward-llama\/config\.json: only causal language models/],
  ];
  for (const [dir, pattern] of cases) {
    assert.throws(
      () => exportGguf(dir, out),
      (err: Error) => err instanceof ExportError && pattern.test(err.message) && !err.message.includes("\n"),
      `refused: ${dir}`,
    );
  }
  assert.equal(existsSync(out), false, "nothing written");
});

const run = promisify(execFile);
const BIN = join(REPO_ROOT, "bin", "safetune.js");

/** Runs the CLI; returns the exit code and the stderr lines. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; lines: string[] }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, lines: [] };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    const lines = (e.stderr ?? "").split("\n").filter((l) => l && !l.startsWith("npm warn"));
    return { code: typeof e.code === "number" ? e.code : -1, stdout: "", lines };
  }
}

test("CLI: bad input exits 1 with one line naming the file or field; good input writes the file", async () => {
  const noTokenizer = join(ROOT, "no-tokenizer");
  mkdirSync(noTokenizer, { recursive: true });
  for (const f of ["config.json", "model.safetensors"])
    copyFileSync(join(fixtureDir("llama"), f), join(noTokenizer, f));
  const unsupported = join(ROOT, "unsupported");
  mkdirSync(unsupported, { recursive: true });
  writeFileSync(join(unsupported, "config.json"), JSON.stringify({ model_type: "mamba", vocab_size: 10 }));
  const bad = join(ROOT, "bad.gguf");
  const good = join(ROOT, "cli.gguf");

  const cases: [string[], RegExp][] = [
    [["--model", join(ROOT, "missing"), "--out", bad], /missing: model folder not found/],
    [["--model", unsupported, "--out", bad], /unsupported\/config\.json: unsupported architecture 'mamba'/],
    [["--model", noTokenizer, "--out", bad], /no-tokenizer\/tokenizer\.json: missing/],
    [["--model", join(ROOT, "llama"), "--out", bad, "--dtype", "q4"], /--dtype: expected f32, f16 or q8_0/],
  ];
  // All at once: each is a Node process start, the slow part.
  const [written, ...results] = await Promise.all([
    cli(["export", "gguf", "--model", join(ROOT, "gpt2"), "--out", good, "--dtype", "f16"]),
    ...cases.map(([args]) => cli(["export", "gguf", ...args])),
  ]);
  results.forEach(({ code, lines }, i) => {
    const [args, pattern] = cases[i] as [string[], RegExp];
    assert.equal(code, 1, `exit code for ${args.join(" ")}: ${lines.join(" | ")}`);
    assert.equal(lines.length, 1, `one line for ${args.join(" ")}, got:\n${lines.join("\n")}`);
    assert.match(lines[0] as string, pattern);
  });
  assert.equal(existsSync(bad), false, "nothing written on failure");
  assert.equal(written?.code, 0, `the good export: ${written?.lines.join(" | ")}`);
  assert.match(written?.stdout ?? "", /wrote .*cli\.gguf \(gpt2, 28 tensors, f16/);
  assert.equal(existsSync(good), true, "the CLI wrote the file");
});
