import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  BYTE_TO_UNICODE,
  GPT2_PRETOKENIZE_PATTERN,
  saveTokenizerFolder,
  trainBpeTokenizer,
} from "../src/tokenize/bpeTrainer.js";
import { PLAIN_TEMPLATES } from "../src/tokenize/chatTemplate.js";
import { loadTokenizer, StreamDecoder, type Tokenizer } from "../src/tokenize/tokenizer.js";
import { mulberry32 } from "../src/util/random.js";

const SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<pad>"];

const rng = mulberry32;

const COMMON = [
  "the",
  "model",
  "safety",
  "is",
  "a",
  "of",
  "and",
  "to",
  "refuse",
  "harmful",
  "requests",
  "helpful",
];
const RARE = [
  "café",
  "naïve",
  "Zürich",
  "日本語",
  "данные",
  "🎉",
  "👍🏽",
  "x²",
  "λ-calculus",
  "don't",
  "it's",
];

/** Sentences over a Zipf-like vocabulary: common words, synthetic words, some unicode, digits, specials. */
function corpus(lines: number, seed = 7): string[] {
  const random = rng(seed);
  const letters = "etaoinshrdlcumwfgypbvkjxqz";
  const synthetic: string[] = [];
  for (let i = 0; i < 3000; i++) {
    let word = "";
    const length = 2 + Math.floor(random() * 8);
    for (let j = 0; j < length; j++) word += letters[Math.floor(letters.length * random() ** 2)];
    synthetic.push(word);
  }
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const words: string[] = [];
    const n = 4 + Math.floor(random() * 14);
    for (let j = 0; j < n; j++) {
      const r = random();
      if (r < 0.45) words.push(COMMON[Math.floor(COMMON.length * random())] as string);
      else if (r < 0.5) words.push(RARE[Math.floor(RARE.length * random())] as string);
      else if (r < 0.55) words.push(String(Math.floor(random() * 2000)));
      else words.push(synthetic[Math.floor(synthetic.length * random() ** 3)] as string);
    }
    let line = words.join(" ");
    line = line.charAt(0).toUpperCase() + line.slice(1) + (random() < 0.2 ? "?" : ".");
    if (random() < 0.1) line = `<|im_start|>user\n${line}<|im_end|>\n`;
    if (random() < 0.05) line += "<|endoftext|>";
    out.push(line);
  }
  return out;
}

/** Reference trainer: recounts every pair before each merge (slow, obviously right). */
function naiveMerges(texts: string[], vocabSize: number, specials: string[], minFrequency: number): string[] {
  const split = new RegExp(specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of specials.length > 0 ? text.split(split) : [text]) {
      for (const match of piece.matchAll(new RegExp(GPT2_PRETOKENIZE_PATTERN.source, "gu"))) {
        counts.set(match[0], (counts.get(match[0]) ?? 0) + 1);
      }
    }
  }
  const idOf = new Map<string, number>();
  const tokens: string[] = [];
  for (const t of [...specials, ...BYTE_TO_UNICODE]) {
    if (!idOf.has(t)) {
      idOf.set(t, tokens.length);
      tokens.push(t);
    }
  }
  const words = [...counts].map(([w, c]) => ({
    symbols: Array.from(new TextEncoder().encode(w), (b) => idOf.get(BYTE_TO_UNICODE[b] as string) as number),
    count: c,
  }));
  const merges: string[] = [];
  while (tokens.length < vocabSize) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]},${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [key, count] of pairs) {
      const [a, b] = key.split(",").map(Number) as [number, number];
      if (
        count > bestCount ||
        (count === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))
      ) {
        best = [a, b];
        bestCount = count;
      }
    }
    if (!best || bestCount < minFrequency) break;
    const [a, b] = best;
    const merged = (tokens[a] as string) + (tokens[b] as string);
    let z = idOf.get(merged);
    if (z === undefined) {
      z = tokens.length;
      tokens.push(merged);
      idOf.set(merged, z);
    }
    merges.push(`${tokens[a]} ${tokens[b]}`);
    for (const word of words) {
      const out: number[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === a && word.symbols[i + 1] === b) {
          out.push(z);
          i++;
        } else out.push(word.symbols[i] as number);
      }
      word.symbols = out;
    }
  }
  return merges;
}

const scratch = mkdtempSync(join(tmpdir(), "safetune-bpe-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("trainBpeTokenizer", () => {
  const texts = corpus(4000);
  const vocabSize = 1000;
  let json: ReturnType<typeof trainBpeTokenizer>;
  let tok: Tokenizer;

  before(async () => {
    json = trainBpeTokenizer(texts, { vocabSize, specialTokens: SPECIALS });
    saveTokenizerFolder(join(scratch, "trained"), json, {
      bosToken: "<|endoftext|>",
      eosToken: "<|endoftext|>",
      padToken: "<pad>",
      chatTemplate: PLAIN_TEMPLATES.chatml,
    });
    tok = await loadTokenizer(join(scratch, "trained"));
  });

  it("has exactly the requested vocabulary, specials first, then the 256 bytes", () => {
    assert.equal(Object.keys(json.model.vocab).length, vocabSize);
    assert.equal(json.model.merges.length, vocabSize - SPECIALS.length - 256);
    assert.equal(tok.vocabSize, vocabSize);
    SPECIALS.forEach((special, id) => {
      assert.equal(json.model.vocab[special], id);
      assert.deepEqual(json.added_tokens[id], {
        id,
        content: special,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      });
    });
    BYTE_TO_UNICODE.forEach((symbol, byte) => {
      assert.equal(json.model.vocab[symbol], SPECIALS.length + byte);
    });
    const ids = Object.values(json.model.vocab).sort((x, y) => x - y);
    assert.deepEqual(
      ids,
      Array.from({ length: vocabSize }, (_, i) => i),
    );
    assert.equal(json.model.type, "BPE");
    assert.equal(json.pre_tokenizer.type, "ByteLevel");
    assert.equal(json.decoder.type, "ByteLevel");
  });

  it("round-trips text, including unseen words and unicode", () => {
    const samples = [
      ...texts.slice(0, 50),
      "hello world",
      "Completely unseen vocabulary: xylophone quizzically juxtaposed",
      "Ünïcödé ñ 中文字符 한국어 ελληνικά עברית 🎉🚀👨‍👩‍👧‍👦 🇯🇵",
      "  multiple   spaces\tand\ttabs\n\n\nnewlines \r\n",
      "symbols: <>[]{}()!@#$%^&*_+=~`|\\/?;:'\",.",
      "\u0000\u0001 control \u007f bytes \uFEFF bom",
      "A".repeat(300),
      "",
    ];
    for (const text of samples) {
      const ids = tok.encode(text);
      assert.equal(tok.decode(ids), text, JSON.stringify(text));
      assert.ok(ids.every((id) => id >= 0 && id < vocabSize));
    }
    const random = rng(99);
    for (let i = 0; i < 200; i++) {
      let text = "";
      const n = 1 + Math.floor(random() * 30);
      for (let j = 0; j < n; j++) {
        const cp = random() < 0.7 ? 32 + Math.floor(random() * 95) : Math.floor(random() * 0x2ffff);
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        text += String.fromCodePoint(cp);
      }
      assert.equal(tok.decode(tok.encode(text)), text, JSON.stringify(text));
    }
  });

  it("encodes special tokens as single ids, even inside text", () => {
    SPECIALS.forEach((special, id) => {
      assert.deepEqual(tok.encode(special), [id]);
    });
    const ids = tok.encode("Hi<|im_end|>\n<|im_start|>assistant");
    assert.ok(ids.includes(2) && ids.includes(1));
    assert.equal(tok.decode(ids), "Hi<|im_end|>\n<|im_start|>assistant");
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "Hi\nassistant");
    assert.equal(tok.bosTokenId, 0);
    assert.equal(tok.eosTokenId, 0);
    assert.equal(tok.padTokenId, 3);
    // <|im_end|> ends the assistant turn in the ChatML template, so it also ends generation.
    assert.deepEqual(tok.eosTokenIds, [0, 2]);
    const prompt = tok.applyChatTemplate([{ role: "user", content: "safety" }], {
      addGenerationPrompt: true,
    });
    assert.equal(prompt, "<|im_start|>user\nsafety<|im_end|>\n<|im_start|>assistant\n");
    assert.equal(tok.encode(prompt, { addSpecialTokens: false })[0], 1);
  });

  it("learns frequent words as single tokens", () => {
    for (const word of ["the", "model", "safety", "refuse", "harmful", "requests"]) {
      assert.equal(
        tok.encode(` ${word}`).length,
        1,
        `" ${word}" is not one token: ${tok.tokenize(` ${word}`)}`,
      );
    }
    assert.deepEqual(tok.tokenize("The model is safety"), ["The", "Ġmodel", "Ġis", "Ġsafety"]);
  });

  it("streams decoded text for the trained tokenizer", () => {
    const text = "the café in Zürich 🎉 refuse 日本語";
    const stream = new StreamDecoder(tok);
    const out =
      tok
        .encode(text)
        .map((id) => stream.push(id))
        .join("") + stream.flush();
    assert.equal(out, text);
  });

  it("is deterministic, whatever the iterable", () => {
    const again = trainBpeTokenizer(
      (function* () {
        yield* texts;
      })(),
      { vocabSize, specialTokens: SPECIALS },
    );
    assert.equal(JSON.stringify(again), JSON.stringify(json));
    assert.equal(
      readFileSync(join(scratch, "trained", "tokenizer.json"), "utf8"),
      `${JSON.stringify(json, null, 2)}\n`,
    );
  });

  it("learns the same merges as a full recount per merge", () => {
    const small = corpus(300, 3);
    const fast = trainBpeTokenizer(small, { vocabSize: 700, specialTokens: SPECIALS, minFrequency: 2 });
    assert.deepEqual(fast.model.merges, naiveMerges(small, 700, SPECIALS, 2));
    const repeats = ["aaaa aaaaaa abab ababab aaa", "aaaaaaa bbbb abababab"];
    const fastRepeats = trainBpeTokenizer(repeats, { vocabSize: 300, minFrequency: 1 });
    assert.ok(fastRepeats.model.merges.length >= 4);
    assert.deepEqual(fastRepeats.model.merges, naiveMerges(repeats, 300, [], 1));
  });

  it("stops early when the corpus runs out of pairs", async () => {
    const tiny = trainBpeTokenizer(["ab ab ab abc"], { vocabSize: 5000, specialTokens: ["<s>"] });
    const size = Object.keys(tiny.model.vocab).length;
    assert.ok(size > 257 && size < 5000, `size ${size}`);
    // minFrequency 2 by default: "abc" (seen once) is not learned.
    assert.ok(!("abc" in tiny.model.vocab));
    saveTokenizerFolder(join(scratch, "tiny"), tiny, { eosToken: "<s>" });
    const tinyTok = await loadTokenizer(join(scratch, "tiny"));
    assert.equal(tinyTok.decode(tinyTok.encode("abc ab 😀")), "abc ab 😀");
  });

  it("rejects a vocabulary too small for the specials and the bytes", () => {
    assert.throws(() => trainBpeTokenizer(["x"], { vocabSize: 259, specialTokens: SPECIALS }), RangeError);
    assert.throws(() => trainBpeTokenizer(["x"], { vocabSize: 1.5 }), RangeError);
    const bytesOnly = trainBpeTokenizer(["hello"], { vocabSize: 256 });
    assert.equal(bytesOnly.model.merges.length, 0);
  });

  it("trains on ~1 MB to 4096 tokens within a few seconds", () => {
    const big = corpus(14000, 11);
    const chars = big.reduce((n, line) => n + line.length, 0);
    assert.ok(chars > 900_000, `corpus has ${chars} chars`);
    const start = performance.now();
    const trained = trainBpeTokenizer(big, { vocabSize: 4096, specialTokens: SPECIALS });
    const ms = performance.now() - start;
    console.log(`# trained ${chars} chars to vocab 4096 in ${ms.toFixed(0)} ms`);
    assert.equal(Object.keys(trained.model.vocab).length, 4096);
    assert.ok(ms < 10_000, `training took ${ms} ms`);
  });
});

describe("saveTokenizerFolder", () => {
  it("writes tokenizer.json and tokenizer_config.json atomically, without leftovers", () => {
    const json = trainBpeTokenizer(corpus(200), { vocabSize: 400, specialTokens: ["<eos>"] });
    const dir = join(scratch, "saved", "nested");
    saveTokenizerFolder(dir, json, { eosToken: "<eos>", modelMaxLength: 512, extra: { custom: 1 } });
    saveTokenizerFolder(dir, json, { eosToken: "<eos>", modelMaxLength: 512, extra: { custom: 1 } });
    assert.deepEqual(readdirSync(dir).sort(), ["tokenizer.json", "tokenizer_config.json"]);
    const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
    assert.equal(config.eos_token, "<eos>");
    assert.equal(config.bos_token, null);
    assert.equal(config.model_max_length, 512);
    assert.equal(config.custom, 1);
    assert.equal(config.tokenizer_class, "PreTrainedTokenizerFast");
    assert.deepEqual(config.added_tokens_decoder["0"].content, "<eos>");
  });

  it("refuses special tokens missing from the vocabulary", () => {
    const json = trainBpeTokenizer(["hello hello"], { vocabSize: 300 });
    assert.throws(
      () => saveTokenizerFolder(join(scratch, "bad"), json, { eosToken: "</s>" }),
      /eos_token "<\/s>" is not in the tokenizer's vocabulary/,
    );
  });

  it("keeps an existing chat_template.jinja in step with the saved template", async () => {
    const json = trainBpeTokenizer(corpus(100), {
      vocabSize: 300,
      specialTokens: ["<|im_start|>", "<|im_end|>"],
    });
    const dir = join(scratch, "with-jinja");
    saveTokenizerFolder(dir, json);
    writeFileSync(join(dir, "chat_template.jinja"), "stale");
    saveTokenizerFolder(dir, json, { chatTemplate: PLAIN_TEMPLATES.chatml });
    const tok = await loadTokenizer(dir);
    assert.equal(tok.chatTemplate, PLAIN_TEMPLATES.chatml);
  });
});
