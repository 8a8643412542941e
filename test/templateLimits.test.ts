// Chat templates from untrusted tokenizer_config.json files render within limits on steps, string and list
// sizes, nesting and time (issue 21): a hostile template is one TemplateLimitError naming the limit, fast.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChatTemplateError,
  PLAIN_TEMPLATES,
  renderChatTemplate,
  TemplateLimitError,
} from "../src/tokenize/chatTemplate.js";
import { DEFAULT_TEMPLATE_LIMITS, type TemplateLimits } from "../src/tokenize/templateLimits.js";

const MESSAGES = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "hi" },
  { role: "assistant", content: "hello" },
];

/** Renders `source` and returns the limit error it must raise, checking it came within `ms`. */
function limitError(source: string, ms: number, limits?: TemplateLimits): TemplateLimitError {
  const started = performance.now();
  let caught: unknown;
  try {
    renderChatTemplate(source, { messages: MESSAGES, add_generation_prompt: true }, limits);
  } catch (error) {
    caught = error;
  }
  const elapsed = performance.now() - started;
  assert.ok(caught instanceof TemplateLimitError, `expected a TemplateLimitError, got ${String(caught)}`);
  assert.ok(caught instanceof ChatTemplateError, "a limit error is a ChatTemplateError too");
  assert.ok(!caught.message.includes("\n"), caught.message);
  assert.ok(elapsed < ms, `took ${elapsed.toFixed(0)} ms`);
  return caught;
}

const HOSTILE: [string, string, keyof TemplateLimits][] = [
  // The crash (V8 "invalid size", exit 133) and its 40 s hang.
  [
    "nested range(999999999)",
    "{% for i in range(999999999) %}{% for j in range(999999999) %}x{% endfor %}{% endfor %}",
    "maxChars",
  ],
  ["range(10000000)", "{% for i in range(10000000) %}{{ i }}{% endfor %}", "maxItems"],
  [
    "nested loops of 3000 x 3000",
    "{% for i in range(3000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}",
    "maxMillis",
  ],
  [
    "a doubling string",
    "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
    "maxChars",
  ],
  [
    "a doubling list",
    "{% set ns = namespace(s=[1]) %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "maxItems",
  ],
  ["a macro calling itself", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "maxDepth"],
  ["indent(500000000)", "{{ 'a\\nb' | indent(500000000) }}", "maxChars"],
  ["tojson(indent=100000000)", "{{ messages | tojson(indent=100000000) }}", "maxChars"],
];

for (const [label, source, limit] of HOSTILE) {
  test(`a template with ${label} stops at the ${limit} limit`, () => {
    const error = limitError(source, DEFAULT_TEMPLATE_LIMITS.maxMillis + 2000);
    assert.equal(error.limit, limit, error.message);
  });
}

test("the step limit stops a loop before the time limit when it is the smaller", () => {
  const limits = { ...DEFAULT_TEMPLATE_LIMITS, maxSteps: 5000, maxMillis: 60_000 };
  const error = limitError("{% for i in range(90000) %}{{ i }}{% endfor %}", 5000, limits);
  assert.equal(error.limit, "maxSteps");
  assert.match(error.message, /5000 evaluation steps/);
});

test("an output over maxChars is refused, and one under it renders", () => {
  const source = "{% for m in messages %}{{ m.content }}{% endfor %}";
  const limits = { ...DEFAULT_TEMPLATE_LIMITS, maxChars: 1000 };
  const long = [{ role: "user", content: "x".repeat(1500) }];
  assert.throws(
    () => renderChatTemplate(source, { messages: long }, limits),
    (e: Error) =>
      e instanceof TemplateLimitError && e.limit === "maxChars" && /1500 characters/.test(e.message),
  );
  assert.equal(
    renderChatTemplate(source, { messages: [{ role: "user", content: "x".repeat(900) }] }, limits).length,
    900,
  );
});

test("real templates render long conversations well inside the limits", () => {
  const turns = Array.from({ length: 400 }, (_, i) => ({
    role: i % 2 === 0 ? "user" : "assistant",
    content: `turn ${i} `.repeat(50),
  }));
  for (const [name, source] of Object.entries(PLAIN_TEMPLATES)) {
    const started = performance.now();
    const text = renderChatTemplate(source, {
      messages: turns,
      add_generation_prompt: true,
      eos_token: "</s>",
    });
    assert.ok(text.includes("turn 399"), name);
    assert.ok(
      performance.now() - started < 1000,
      `${name} took ${(performance.now() - started).toFixed(0)} ms`,
    );
  }
});
