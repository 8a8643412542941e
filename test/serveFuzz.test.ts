// Fuzzing the request handling: hundreds of mutated, truncated and nonsensical bodies sent with mutated content
// types, Host and Authorization headers, methods and paths (seeded: the same requests every run; loopback only).
// Every answer must be a 200 or an OpenAI-shaped 4xx (never a dropped connection, and no 5xx but an intended 500
// with its error body), and after every few requests a normal chat completion must still succeed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { createScratchModel } from "../src/model/scratchModel.js";
import { type RunningServer, startServer } from "../src/serve/server.js";
import { seededRandom } from "../src/util/random.js";
import { rawRequest } from "./helpers/rawHttp.js";

const CASES = 400;
/** A normal chat completion is checked after every this many fuzzed requests. */
const CHECK_EVERY = 8;
const KEY = "sk-fuzz-0123456789";
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
  " ",
  "\n\n",
  ["", ""],
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
  server = await startServer({
    model: join(dir, "tiny"),
    port: 0,
    defaultMaxTokens: 3,
    apiKeys: [KEY],
    log: () => {},
  });
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

const CONTENT_TYPES: (string | undefined)[] = [
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "json",
  "",
  undefined,
  "APPLICATION/JSON",
  "application/json; charset=utf-8",
];
const HOSTS = [
  "evil.example",
  "localhost.evil.example:80",
  "",
  "[::1]",
  "localhost",
  "127.0.0.1:1",
  "x".repeat(300),
];
const AUTHORIZATIONS: (string | undefined)[] = [
  undefined,
  "",
  "Bearer",
  "Bearer sk-wrong",
  `bearer ${KEY}`,
  KEY,
  `Basic ${KEY}`,
];
const PATHS = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/models",
  "/v1/models/tiny",
  "/v1/nope",
  "/health",
  "/metrics",
];
const METHODS = ["POST", "GET", "PUT", "DELETE", "PATCH"];

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** What the server must answer when it is a normal request but for the mutated headers. */
  expect?: number;
  /** A body the schema accepts: only a 200 or a 400 will do. */
  edge?: boolean;
}

/** Texts a valid request may carry that a tokenizer or template may not expect. */
const EDGE_TEXTS = [
  "",
  " ",
  "\n\n\t",
  "\u0000",
  "🙂",
  "\ud800",
  "<|endoftext|>",
  "<|im_start|>assistant\n<|im_end|>",
  "{{ raise_exception('x') }}",
  "{% for x in range(999999999) %}{% endfor %}",
  "Ω≈ç√".repeat(200),
  "word ".repeat(400),
];

/** A body the schema accepts, with edge values: it must get a 200 or a 400 (a prompt too long, one with no tokens). */
function edgeBody(random: () => number, endpoint: "chat" | "text"): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const maybe = (value: unknown) => (random() < 0.5 ? value : undefined);
  const body: Record<string, unknown> = {
    model: "tiny",
    max_tokens: pick([1, 2, 3, undefined]),
    n: maybe(pick([1, 2, 4])),
    temperature: maybe(pick([0, 0.5, 2])),
    top_p: maybe(pick([0, 1e-9, 0.5, 1])),
    seed: maybe(pick([-1, 0, 2 ** 53 - 1, -(2 ** 53) + 1])),
    stop: maybe(pick(["", "e", ["\n", " "], []])),
    frequency_penalty: maybe(pick([-2, 0, 2])),
    presence_penalty: maybe(pick([-2, 2])),
    stream: maybe(pick([true, false])),
    user: maybe(pick(EDGE_TEXTS)),
  };
  if (body.stream === true && random() < 0.5) body.stream_options = { include_usage: true };
  if (endpoint === "text")
    body.prompt = random() < 0.7 ? pick(EDGE_TEXTS) : [pick(EDGE_TEXTS), pick(EDGE_TEXTS)];
  else
    body.messages = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
      role: pick(["system", "developer", "user", "assistant"]),
      content: random() < 0.8 ? pick(EDGE_TEXTS) : [{ type: "text", text: pick(EDGE_TEXTS) }],
    }));
  if (body.max_tokens === undefined) body.max_tokens = 2; // the server's default of 3 would do too; keep it short
  return JSON.stringify(body);
}

/** A request, mostly a well-formed POST of a mutated body, sometimes with one header, method or path mutated. */
function fuzzRequest(random: () => number): FuzzRequest {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const endpoint = random() < 0.6 ? "chat" : "text";
  const edge = random() < 0.3;
  const request: FuzzRequest = {
    method: "POST",
    path: endpoint === "chat" ? "/v1/chat/completions" : "/v1/completions",
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
    body: edge ? edgeBody(random, endpoint) : mutate(random, endpoint),
    ...(edge ? { edge: true } : {}),
  };
  const roll = random();
  if (roll < 0.1) {
    const type = pick(CONTENT_TYPES);
    if (type === undefined) delete request.headers["content-type"];
    else request.headers["content-type"] = type;
    const json = type !== undefined && type.split(";")[0]?.trim().toLowerCase() === "application/json";
    if (!json) request.expect = 415;
  } else if (roll < 0.17) {
    request.headers.host = pick(HOSTS);
  } else if (roll < 0.24) {
    const authorization = pick(AUTHORIZATIONS);
    if (authorization === undefined) delete request.headers.authorization;
    else request.headers.authorization = authorization;
    if (authorization?.toLowerCase() !== `bearer ${KEY}`) request.expect = 401;
  } else if (roll < 0.32) {
    request.method = pick(METHODS);
    request.path = pick(PATHS);
    if (request.method === "GET") request.body = undefined;
  } else if (roll < 0.35) {
    request.headers["x-forwarded-host"] = "evil.example";
    request.headers.origin = "http://evil.example";
  }
  return request;
}

/** A normal chat completion through the official client: what every mutation must leave working. */
async function normalChatSucceeds(where: string): Promise<void> {
  const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 30_000 });
  const reply = await openai.chat.completions.create({
    model: "tiny",
    messages: [{ role: "user", content: "Hello there" }],
    max_tokens: 2,
  });
  assert.equal(reply.usage?.completion_tokens, 2, `a normal chat completion after ${where}`);
}

test(`${CASES} fuzzed requests get a 200 or an OpenAI-shaped 4xx, and a normal chat completion succeeds after every ${CHECK_EVERY}`, async () => {
  const random = seededRandom(2024);
  const statuses = new Map<number, number>();
  for (let i = 0; i < CASES; i++) {
    const request = fuzzRequest(random);
    const response = await rawRequest(server.url, request);
    const text = response.body;
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    const where = `case ${i}: ${request.method} ${request.path} ${JSON.stringify(request.headers)} ${request.body?.slice(0, 200)} -> ${response.status} ${text.slice(0, 200)}`;
    if (request.expect !== undefined && response.status !== 403)
      assert.equal(response.status, request.expect, where);
    const json = String(response.headers["content-type"] ?? "").startsWith("application/json");
    if (request.edge && request.expect === undefined && request.method === "POST" && response.status !== 403)
      assert.ok(response.status === 200 || response.status === 400, `a valid body: ${where}`);
    if (response.status >= 500) {
      // Only an intended 500: OpenAI's error body, quoting the request id the header carries.
      assert.equal(response.status, 500, where);
      assert.ok(json, `a JSON error body: ${where}`);
      const error = (JSON.parse(text) as { error?: { message?: string; type?: string } }).error;
      assert.equal(error?.type, "server_error", where);
      assert.ok(error?.message?.includes(String(response.headers["x-request-id"])), where);
    } else if (response.status >= 400) {
      assert.ok(json, `a JSON error body: ${where}`);
      const error = (JSON.parse(text) as { error?: { message?: unknown; type?: unknown } }).error;
      assert.equal(typeof error?.message, "string", where);
      assert.equal(typeof error?.type, "string", where);
      assert.equal(text.includes("\n"), false, `one-line error body: ${where}`);
    } else {
      assert.equal(response.status, 200, where);
      if (text.startsWith("data: ")) assert.ok(text.trimEnd().endsWith("data: [DONE]"), where);
      else if (json && request.path.includes("completions"))
        assert.ok(Array.isArray((JSON.parse(text) as { choices?: unknown }).choices), where);
    }
    if (i % CHECK_EVERY === CHECK_EVERY - 1) await normalChatSucceeds(where);
  }
  const count = (status: number) => statuses.get(status) ?? 0;
  const summary = JSON.stringify([...statuses].sort((a, b) => a[0] - b[0]));
  assert.ok(count(200) > 20 && count(200) < CASES - 100, `a mix of accepted and rejected: ${summary}`);
  for (const status of [400, 401, 403, 415])
    assert.ok(count(status) > 0, `the mutations reach the ${status} rule: ${summary}`);
  console.log(`statuses: ${summary}`);
  const healthy = (await (await fetch(`${server.url}/health`)).json()) as {
    status: string;
    restarts: number;
  };
  assert.deepEqual(healthy, { ...healthy, status: "ok", restarts: 0 });
});
