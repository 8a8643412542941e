import assert from "node:assert/strict";
import { before, test } from "node:test";
import { liveTensors } from "../src/engine/index.js";
import { DecodeSession, type TokenEvent } from "../src/generate/decodeSession.js";
import { generate, generateTokens } from "../src/generate/generate.js";
import { holdBackLength } from "../src/generate/stopStrings.js";
import { loadModel } from "../src/model/loadModel.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { loadTokenizer, type Tokenizer } from "../src/tokenize/tokenizer.js";
import { expected, fixtureDir, must, tmpDirWithCleanup } from "./helpers/fixtures.js";

const CAUSAL = ["llama", "llama-bf16", "qwen2", "gpt2", "gpt2-legacy-keys"];
const models = new Map<string, TransformerModel>();
const baseline = liveTensors();

before(() => {
  for (const name of CAUSAL) models.set(name, loadModel(fixtureDir(name)));
});

function model(name: string): TransformerModel {
  const m = models.get(name);
  if (!m) throw new Error(`no model ${name}`);
  return m;
}

function ids(values: number[] | undefined): number[] {
  return values ?? [];
}

for (const name of CAUSAL) {
  test(`${name}: greedy tokens match the PyTorch reference exactly`, () => {
    const exp = expected(name);
    const prompt = must(exp, "greedy.prompt").toArray();
    const want = must(exp, "greedy.tokens").toArray();
    const [out] = generateTokens(model(name), [prompt], { maxNewTokens: want.length, stopTokenIds: [] });
    assert.deepEqual(out?.tokens, want);
    assert.equal(out?.finishReason, "length");
    assert.equal(out?.promptTokens, prompt.length);
    for (const t of exp.values()) t.dispose();
  });
}

for (const name of ["llama", "qwen2", "gpt2"]) {
  test(`${name}: KV-cache decoding gives the same tokens as full recomputation (greedy and seeded sampling)`, () => {
    const prompt = [5, 17, 42, 99, 7, 3];
    const greedy = { maxNewTokens: 24, stopTokenIds: [] };
    const [cached] = generateTokens(model(name), [prompt], greedy);
    const [full] = generateTokens(model(name), [prompt], { ...greedy, useCache: false });
    assert.deepEqual(cached?.tokens, full?.tokens);
    const sampled = { ...greedy, temperature: 1.3, topP: 0.95, seed: 11 };
    const [a] = generateTokens(model(name), [prompt], sampled);
    const [b] = generateTokens(model(name), [prompt], { ...sampled, useCache: false });
    assert.deepEqual(a?.tokens, b?.tokens);
  });

  test(`${name}: a left-padded batch generates what each prompt generates alone`, () => {
    const prompts = [
      [11, 12, 13, 14, 15, 16, 17, 18],
      [40, 41, 42],
      [250, 3, 77, 120, 9],
    ];
    const options = { maxNewTokens: 12, stopTokenIds: [] };
    const batch = generateTokens(model(name), prompts, options);
    prompts.forEach((p, i) => {
      const [alone] = generateTokens(model(name), [p], options);
      assert.deepEqual(batch[i]?.tokens, alone?.tokens, `row ${i}`);
    });
    // Without the cache the padded batch must agree too.
    const uncached = generateTokens(model(name), prompts, { ...options, useCache: false });
    assert.deepEqual(
      uncached.map((g) => g.tokens),
      batch.map((g) => g.tokens),
    );
  });
}

test("seeded sampling: same seed same tokens, another seed differs, a batch row samples as it would alone", () => {
  const m = model("llama");
  const options = { maxNewTokens: 20, temperature: 2, seed: 3, stopTokenIds: [] };
  const [a] = generateTokens(m, [[1, 2, 3]], options);
  const [b] = generateTokens(m, [[1, 2, 3]], options);
  const [c] = generateTokens(m, [[1, 2, 3]], { ...options, seed: 4 });
  assert.deepEqual(a?.tokens, b?.tokens);
  assert.notDeepEqual(a?.tokens, c?.tokens);
  const batch = generateTokens(
    m,
    [
      [1, 2, 3],
      [9, 8, 7, 6],
    ],
    options,
  );
  assert.deepEqual(batch[0]?.tokens, a?.tokens);
});

test("stop tokens end a row (excluded from the output); other rows continue; max tokens gives 'length'", () => {
  const m = model("llama");
  const [free] = generateTokens(m, [[157, 246, 208, 292, 175]], { maxNewTokens: 16, stopTokenIds: [] });
  const stopAt = ids(free?.tokens)[4] as number;
  const firstIndex = ids(free?.tokens).indexOf(stopAt);
  const [stopped, other] = generateTokens(
    m,
    [
      [157, 246, 208, 292, 175],
      [1, 2],
    ],
    { maxNewTokens: 16, stopTokenIds: [stopAt] },
  );
  assert.equal(stopped?.finishReason, "stop");
  assert.deepEqual(stopped?.tokens, ids(free?.tokens).slice(0, firstIndex));
  // The other row is unaffected by the first row's stop: exactly what it generates alone with the same stop id.
  const [alone] = generateTokens(m, [[1, 2]], { maxNewTokens: 16, stopTokenIds: [stopAt] });
  assert.deepEqual(other?.tokens, alone?.tokens);
  assert.equal(other?.finishReason, alone?.finishReason);
  assert.equal(
    alone?.finishReason,
    ids(alone?.tokens).length === 16 ? "length" : "stop",
    "a row that did not stop ends with 'length' at maxNewTokens",
  );
  const [zero] = generateTokens(m, [[1, 2]], { maxNewTokens: 0 });
  assert.deepEqual(zero?.tokens, []);
  assert.equal(zero?.finishReason, "length");
});

test("GPT-2 stops at its position limit instead of failing", () => {
  const m = model("gpt2");
  const limit = m.config.maxPositions;
  const [out] = generateTokens(m, [Array.from({ length: limit - 3 }, (_, i) => (i * 7) % 300)], {
    maxNewTokens: 50,
    stopTokenIds: [],
  });
  assert.equal(out?.tokens.length, 3);
  assert.equal(out?.finishReason, "length");
});

test("bad prompts and options fail with a clear error before any work", () => {
  const m = model("llama");
  assert.throws(
    () => new DecodeSession(m, [[1, 300]]),
    /prompt id 300 is outside the vocabulary \(0\.\.299\)/,
  );
  assert.throws(() => new DecodeSession(m, [[]]), /no tokens/);
  assert.throws(() => new DecodeSession(m, []), /no prompts/);
  assert.throws(() => new DecodeSession(m, [[1]], { topP: 1.5 }), /topP/);
  assert.throws(() => new DecodeSession(m, [[1]], { stopStrings: ["x"] }), /tokenizer/);
});

test("holdBackLength holds back text that could still become a stop string", () => {
  assert.equal(holdBackLength("hello wor", ["world"]), 3);
  assert.equal(holdBackLength("hello", ["world"]), 0);
  assert.equal(holdBackLength("ab", ["abc", "b"]), 2);
  assert.equal(holdBackLength("", ["x"]), 0);
});

test("text generation with a tokenizer: streaming, stop strings, chat template, abort", async (t) => {
  const { dir, cleanup } = tmpDirWithCleanup();
  t.after(cleanup);
  createScratchModel(dir, { preset: "llama-tiny", vocabSize: 600, seed: 1 }).dispose();
  const m = loadModel(dir);
  const tok: Tokenizer = await loadTokenizer(dir);
  try {
    const events: TokenEvent[] = [];
    const result = await generate(m, tok, "The model explains", {
      maxNewTokens: 30,
      temperature: 1,
      seed: 5,
      stopTokenIds: [],
      onToken: (e) => events.push(e),
    });
    assert.equal(events.map((e) => e.text).join(""), result.text);
    assert.equal(result.text, tok.decode(result.tokens));
    assert.equal(result.tokens.length, 30);

    // Cut the same continuation at a stop string taken from its middle.
    const stop = result.text.slice(8, 12);
    const cutAt = result.text.indexOf(stop);
    const streamed: string[] = [];
    const stopped = await generate(m, tok, "The model explains", {
      maxNewTokens: 30,
      temperature: 1,
      seed: 5,
      stopTokenIds: [],
      stopStrings: [stop],
      onToken: (e) => streamed.push(e.text),
    });
    assert.equal(stopped.finishReason, "stop");
    assert.equal(stopped.text, result.text.slice(0, cutAt));
    assert.equal(streamed.join(""), stopped.text, "the stop string never reaches the stream");

    // Chat mode renders the template and encodes without adding specials twice.
    const chat = await generate(m, tok, "Hello", { chat: true, maxNewTokens: 3, stopTokenIds: [] });
    assert.equal(
      chat.promptTokens,
      tok.encode(tok.applyChatTemplate([{ role: "user", content: "Hello" }], { addGenerationPrompt: true }), {
        addSpecialTokens: false,
      }).length,
    );

    const controller = new AbortController();
    controller.abort();
    const aborted = await generate(m, tok, "Hello", { maxNewTokens: 50, signal: controller.signal });
    assert.equal(aborted.finishReason, "aborted");
    assert.deepEqual(aborted.tokens, []);
  } finally {
    m.dispose();
  }
});

test("generation frees every tensor it made", () => {
  for (const m of models.values()) m.dispose();
  models.clear();
  assert.equal(liveTensors(), baseline);
});
