// Fuzzing the request parser: hundreds of mutated, truncated and nonsensical bodies. Every answer must be a 200 or
// an OpenAI-shaped 4xx (never a 5xx, never a dropped connection), and the server must keep serving afterwards.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createScratchModel } from "../src/model/scratchModel.js";
import { type RunningServer, startServer } from "../src/serve/server.js";
import { seededRandom } from "../src/util/random.js";

const CASES = 400;
const VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  2,
  3.7,
  1e9,
  -1e9,
  "",
  "x",
  "user",
  "assistant",
  "tiny",
  [],
  [1, 2],
  ["a", "b"],
  {},
  { a: 1 },
  { role: "user", content: "hi" },
  { type: "text", text: "hi" },
  "\u0000",
  "🙂".repeat(50),
];
const KEYS = [
  "model",
  "messages",
  "prompt",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "n",
  "stream",
  "stream_options",
  "stop",
  "seed",
  "frequency_penalty",
  "presence_penalty",
  "user",
  "logprobs",
  "tools",
  "response_format",
  "echo",
  "best_of",
  "__proto__",
  "constructor",
  "unknown_field",
];

let dir: string;
let server: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "safetune-fuzz-"));
  createScratchModel(join(dir, "tiny"), { vocabSize: 400, seed: 5 }).dispose();
  server = await startServer({ model: join(dir, "tiny"), port: 0, defaultMaxTokens: 3, log: () => {} });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function mutate(random: () => number, endpoint: "chat" | "text"): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const body: Record<string, unknown> =
    endpoint === "chat"
      ? { model: "tiny", messages: [{ role: "user", content: "Hello there" }], max_tokens: 2 }
      : { model: "tiny", prompt: "Hello there", max_tokens: 2 };
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const roll = random();
    if (roll < 0.3) delete body[pick(Object.keys(body))];
    else if (roll < 0.7) body[pick(KEYS)] = pick(VALUES);
    else if (roll < 0.85 && endpoint === "chat")
      body.messages = [
        { role: pick(["user", "system", "tool", "bot", 3]), content: pick(VALUES) },
        pick(VALUES),
      ];
    else body[pick(KEYS)] = { nested: pick(VALUES), deeper: [pick(VALUES), { x: pick(VALUES) }] };
  }
  // Keep accepted requests short: a fuzzer that asks for 1e9 tokens gets its 400, but 490 would be slow.
  if (typeof body.max_tokens === "number" && body.max_tokens > 8 && body.max_tokens < 1e6)
    body.max_tokens = 2;
  const text = JSON.stringify(body);
  const shape = random();
  if (shape < 0.1) return text.slice(0, Math.floor(random() * text.length)); // truncated
  if (shape < 0.15) return JSON.stringify(pick(VALUES)); // not an object
  if (shape < 0.18)
    return Buffer.from(Array.from({ length: 40 }, () => Math.floor(random() * 256))).toString("latin1");
  return text;
}

test(`${CASES} fuzzed requests get a 200 or an OpenAI-shaped 4xx, and the server keeps serving`, async () => {
  const random = seededRandom(2024);
  const statuses = new Map<number, number>();
  for (let i = 0; i < CASES; i++) {
    const endpoint = random() < 0.6 ? "chat" : "text";
    const body = mutate(random, endpoint);
    const response = await fetch(
      `${server.url}/v1/${endpoint === "chat" ? "chat/completions" : "completions"}`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      },
    );
    const text = await response.text();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const where = `case ${i}: ${body.slice(0, 200)} -> ${response.status} ${text.slice(0, 200)}`;
    assert.ok(response.status === 200 || (response.status >= 400 && response.status < 500), where);
    if (response.status !== 200) {
      const error = (JSON.parse(text) as { error?: { message?: unknown; type?: unknown } }).error;
      assert.equal(typeof error?.message, "string", where);
      assert.equal(typeof error?.type, "string", where);
    } else if (!text.startsWith("data: ")) {
      assert.ok(Array.isArray((JSON.parse(text) as { choices?: unknown }).choices), where);
    } else {
      assert.ok(text.trimEnd().endsWith("data: [DONE]"), where);
    }
  }
  const accepted = statuses.get(200) ?? 0;
  assert.ok(
    accepted > 20 && accepted < CASES - 100,
    `a mix of accepted and rejected: ${JSON.stringify([...statuses])}`,
  );
  const healthy = (await (await fetch(`${server.url}/health`)).json()) as { status: string };
  assert.equal(healthy.status, "ok");
});
