// Issue 21's server failures, one regression test each, over real HTTP on loopback with the openai client: a bad
// request fails alone (and the next chat completion succeeds), a dead worker is replaced while /health says so,
// start-up failures exit with one line, and the browser-facing rules (JSON content type, Host check, /metrics key,
// validation messages that name the type).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createScratchModel } from "../src/model/scratchModel.js";
import { hostChecker, splitHost } from "../src/serve/hostCheck.js";
import { parseChatRequest } from "../src/serve/requestSchemas.js";
import type { ServeOptions } from "../src/serve/serveOptions.js";
import { type RunningServer, startServer } from "../src/serve/server.js";
import { cliAsync } from "./helpers/cliAsync.js";
import { REPO_ROOT } from "./helpers/fixtures.js";
import { rawRequest } from "./helpers/rawHttp.js";

const KEY = "sk-faults-0123456789";
let dir: string;
let modelDir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "safetune-serve-faults-"));
  modelDir = join(dir, "tiny");
  createScratchModel(modelDir, { vocabSize: 400, seed: 11 }).dispose();
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Logged = RunningServer & { logs: Record<string, unknown>[] };

async function serve(options: Partial<ServeOptions> = {}): Promise<Logged> {
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({ model: modelDir, port: 0, log: (r) => logs.push(r), ...options });
  return Object.assign(server, { logs });
}

function client(server: RunningServer, apiKey = KEY): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 30_000 });
}

/** A short normal chat completion: what must keep working after every fault. */
async function chatWorks(server: RunningServer, apiKey = KEY): Promise<void> {
  const reply = await client(server, apiKey).chat.completions.create({
    model: server.model,
    messages: [{ role: "user", content: "Hello there" }],
    max_tokens: 3,
  });
  assert.equal(reply.choices[0]?.message.role, "assistant");
  assert.equal(reply.usage?.completion_tokens, 3);
}

async function health(
  server: RunningServer,
): Promise<{ code: number; status: string; restarts: number; error?: string }> {
  const response = await fetch(`${server.url}/health`);
  const body = (await response.json()) as { status: string; restarts: number; error?: string };
  return { code: response.status, ...body };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function errorOf(text: string): { message: string; type: string; param: string | null; code: string | null } {
  return (
    JSON.parse(text) as {
      error: { message: string; type: string; param: string | null; code: string | null };
    }
  ).error;
}

describe("one bad request fails alone", () => {
  let server: Logged;
  before(async () => {
    // A template that renders only the messages' text (an empty chat renders to nothing) and raises on "boom".
    server = await serve({
      template:
        "{% for m in messages %}{% if m.content == 'boom' %}{{ raise_exception('boom was sent') }}{% endif %}{{ m.content }}{% endfor %}",
    });
  });
  after(() => server.close());

  test("an empty text prompt is a 400 naming prompt, and the next chat completion succeeds", async () => {
    const openai = client(server);
    await assert.rejects(
      openai.completions.create({ model: server.model, prompt: "", max_tokens: 3 }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `a 400, got ${String(err)}`);
        assert.equal(err.param, "prompt");
        assert.match(err.message, /empty/);
        return true;
      },
    );
    await chatWorks(server);
    // One empty prompt among several fails that request, and the server still answers the next one.
    await assert.rejects(
      openai.completions.create({ model: server.model, prompt: ["Hello", ""], max_tokens: 2 }),
      OpenAI.BadRequestError,
    );
    await chatWorks(server);
    assert.equal((await health(server)).status, "ok");
  });

  test("a chat that renders to no tokens is a 400 naming messages, streamed or not", async () => {
    const openai = client(server);
    for (const stream of [false, true]) {
      await assert.rejects(
        openai.chat.completions.create({
          model: server.model,
          messages: [{ role: "user", content: "" }],
          max_tokens: 2,
          stream,
        }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError, `stream ${stream}: a 400, got ${String(err)}`);
          assert.equal(err.param, "messages");
          return true;
        },
      );
    }
    await chatWorks(server);
  });

  test("a template that raises fails that request with a 400; the worker keeps serving", async () => {
    await assert.rejects(
      client(server).chat.completions.create({
        model: server.model,
        messages: [{ role: "user", content: "boom" }],
        max_tokens: 2,
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `a 400, got ${String(err)}`);
        assert.match(err.message, /boom was sent/);
        return true;
      },
    );
    await chatWorks(server);
  });

  test("each failure is logged with the request id the client was given", async () => {
    const response = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: server.model, prompt: "", max_tokens: 2 }),
    });
    assert.equal(response.status, 400);
    const id = response.headers.get("x-request-id");
    assert.match(id ?? "", /^cmpl-[0-9a-f]{32}$/);
    const record = server.logs.find((r) => r.request_id === id);
    assert.equal(record?.event, "rejected");
    assert.equal(record?.status, 400);
  });
});

test("a completion's id is its x-request-id, whole or streamed", async () => {
  const server = await serve();
  try {
    for (const stream of [false, true]) {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: server.model,
          messages: [{ role: "user", content: "Hi" }],
          max_tokens: 2,
          stream,
        }),
      });
      const text = await response.text();
      const body = JSON.parse(stream ? (text.split("\n")[0] ?? "").replace(/^data: /, "") : text) as {
        id: string;
      };
      assert.match(body.id, /^chatcmpl-/);
      assert.equal(response.headers.get("x-request-id"), body.id, `stream ${stream}`);
    }
  } finally {
    await server.close();
  }
});

test("a request that throws inside the worker gets a 500 with its request id; the others are served", async () => {
  // A broken model folder: its tokenizer knows more ids than the model's embedding has rows.
  const small = join(dir, "small-vocab");
  const big = join(dir, "big-vocab");
  createScratchModel(small, { vocabSize: 300, seed: 1 }).dispose();
  createScratchModel(big, { vocabSize: 500, seed: 1 }).dispose();
  copyFileSync(join(big, "tokenizer.json"), join(small, "tokenizer.json"));
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({ model: small, port: 0, log: (r) => logs.push(r), verbose: true });
  try {
    // Plain letters encode to low ids; a long run of merged text reaches ids beyond 300.
    const failing = "the quick brown fox jumps over the lazy dog ".repeat(8);
    const response = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: server.model, prompt: failing, max_tokens: 2 }),
    });
    const text = await response.text();
    assert.equal(response.status, 500, text);
    const error = errorOf(text);
    const id = response.headers.get("x-request-id") ?? "";
    assert.equal(error.type, "server_error");
    assert.match(error.message, /outside the model's vocabulary/);
    assert.ok(error.message.includes(id), `the message quotes the request id ${id}: ${error.message}`);
    const record = logs.find((r) => r.request_id === id);
    assert.equal(record?.event, "error");
    assert.match(String(record?.stack), /batchDecoder/, "--verbose logs the worker's stack");
    const ok = await client(server).completions.create({ model: server.model, prompt: "a", max_tokens: 2 });
    assert.equal(ok.choices.length, 1, "the next request is served");
    assert.equal((await health(server)).status, "ok");
  } finally {
    await server.close();
  }
});

describe("a worker that dies is replaced", () => {
  test("/health says degraded (503) until the new worker has loaded; then chat completions succeed again", async () => {
    const server = await serve();
    try {
      await chatWorks(server);
      const states: string[] = [];
      await server.pool.killWorker();
      const during = await health(server);
      assert.equal(during.status, "degraded");
      assert.equal(during.code, 503);
      assert.match(during.error ?? "", /generation worker stopped/);
      const refused = await fetch(`${server.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: server.model, prompt: "Hi", max_tokens: 2 }),
      });
      assert.equal(refused.status, 503, "new requests are refused while no worker can take them");
      await until("the replacement worker is ready", async () => {
        const h = await health(server);
        states.push(h.status);
        return h.status === "ok";
      });
      assert.equal((await health(server)).restarts, 1);
      await chatWorks(server);
      const events = server.logs.map((r) => r.event);
      assert.ok(events.includes("worker_failed") && events.includes("worker_restarted"), events.join(","));
    } finally {
      await server.close();
    }
  });

  test("requests inside a worker that dies fail with an error, not a hang", async () => {
    const server = await serve({ maxBatchRows: 1 });
    try {
      const long = client(server).completions.create({
        model: server.model,
        prompt: "Once",
        max_tokens: 400,
      });
      const queued = client(server).completions.create({
        model: server.model,
        prompt: "Twice",
        max_tokens: 2,
      });
      await until("the long request decodes", async () => server.pool.running === 1);
      await server.pool.killWorker();
      await assert.rejects(long, (err: unknown) => {
        assert.ok(err instanceof OpenAI.InternalServerError, `500 for the decoding request: ${String(err)}`);
        return true;
      });
      await assert.rejects(queued, (err: unknown) => {
        assert.ok(
          err instanceof OpenAI.APIError && err.status === 503,
          `503 for the queued one: ${String(err)}`,
        );
        return true;
      });
      await until("the replacement worker is ready", async () => (await health(server)).status === "ok");
      await chatWorks(server);
    } finally {
      await server.close();
    }
  });

  test("when replacements cannot load the model, /health says failed", async () => {
    const copy = join(dir, "vanishing");
    cpSync(modelDir, copy, { recursive: true });
    const logs: Record<string, unknown>[] = [];
    const server = await startServer({ model: copy, port: 0, log: (r) => logs.push(r) });
    try {
      rmSync(copy, { recursive: true, force: true });
      await server.pool.killWorker();
      await until("the pool gives up", async () => (await health(server)).status === "failed");
      const failed = await health(server);
      assert.equal(failed.code, 503);
      assert.match(failed.error ?? "", /could not be restarted \(3 tries\).*model folder not found/);
      assert.equal(logs.filter((r) => r.event === "worker_start_failed").length, 3);
    } finally {
      await server.close();
    }
  });
});

describe("start-up failures exit with one line and code 1", () => {
  const oneLine = (stderr: string) => stderr.trim().split("\n");

  test("a port in use", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const started = Date.now();
      const run = await cliAsync(["serve", "--model", modelDir, "--port", String(port)]);
      assert.equal(run.status, 1);
      const lines = oneLine(run.stderr);
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0] ?? "", new RegExp(`127\\.0\\.0\\.1:${port}.*already in use`));
      assert.ok(Date.now() - started < 30_000, "and it exits promptly");
    } finally {
      taken.close();
    }
  });

  test("a folder that is not a model", async () => {
    const run = await cliAsync(["serve", "--model", join(dir, "no-such-model"), "--port", "0"]);
    assert.equal(run.status, 1);
    assert.deepEqual(oneLine(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /no-such-model/);
  });

  test("a guard file that is not valid", async () => {
    const guard = join(dir, "guard.yaml");
    writeFileSync(guard, "input: {judge: [unclosed\n");
    const run = await cliAsync(["serve", "--model", modelDir, "--port", "0", "--guard", guard]);
    assert.equal(run.status, 1);
    assert.equal(oneLine(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /guard\.yaml/);
  });
});

describe("browser-facing rules", () => {
  let server: Logged;
  before(async () => {
    server = await serve({ apiKeys: [KEY], allowedHosts: ["api.example.com", "pinned.example:9999"] });
  });
  after(() => server.close());

  const chatBody = () =>
    JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 });

  test("JSON endpoints need Content-Type application/json: text/plain and forms get 415", async () => {
    for (const type of [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      undefined,
    ]) {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, ...(type ? { "content-type": type } : {}) },
        body: type === undefined ? new Blob([chatBody()]) : chatBody(),
      });
      const text = await response.text();
      assert.equal(response.status, 415, `${type}: ${text}`);
      assert.match(errorOf(text).message, /application\/json/);
      assert.equal(text.split("\n").length, 1);
    }
    const json = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json; charset=utf-8" },
      body: chatBody(),
    });
    assert.equal(json.status, 200);
  });

  test("a Host the server was not bound to or told about gets 403", async () => {
    const ask = (host: string) =>
      rawRequest(server.url, {
        method: "POST",
        path: "/v1/chat/completions",
        headers: { host, authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: chatBody(),
      });
    const port = server.port;
    for (const host of [
      "evil.example",
      `evil.example:${port}`,
      "localhost.evil.example",
      "pinned.example:1",
    ]) {
      const response = await ask(host);
      assert.equal(response.status, 403, `${host}: ${response.body}`);
      assert.equal(errorOf(response.body).code, "host_not_allowed");
    }
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      "localhost",
      "api.example.com",
      "API.example.com:443",
      "pinned.example:9999",
    ]) {
      const response = await ask(host);
      assert.equal(response.status, 200, `${host}: ${response.body}`);
    }
    const healthCheck = await rawRequest(server.url, { path: "/health", headers: { host: "evil.example" } });
    assert.equal(healthCheck.status, 403, "every route checks the Host");
  });

  test("/metrics needs the API key when one is set", async () => {
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
    const withKey = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(withKey.status, 200);
    assert.match(await withKey.text(), /safetune_requests_total/);
    assert.equal((await fetch(`${server.url}/health`)).status, 200, "/health stays open for load balancers");
  });

  test("a wrong-type max_tokens names the field and the types expected and sent", async () => {
    await assert.rejects(
      client(server).chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: "5" as unknown as number,
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.equal(err.param, "max_tokens");
        assert.doesNotMatch(err.message, /required/);
        assert.match(err.message, /'max_tokens'.*expected a number.*got a string/);
        return true;
      },
    );
    await chatWorks(server);
  });
});

test("the Host rule: loopback names and IP literals on any port, the bound name, --allowed-host forms", () => {
  const local = hostChecker("127.0.0.1", ["api.example.com", "pinned.example:8443", ".corp.example"]);
  for (const host of [
    "localhost:8080",
    "LOCALHOST",
    "127.0.0.1:1",
    "[::1]:8080",
    "10.0.0.7:80",
    "localhost.",
  ])
    assert.equal(local(host), true, host);
  for (const host of [
    "api.example.com",
    "API.EXAMPLE.COM:9",
    "pinned.example:8443",
    "corp.example",
    "a.b.corp.example",
  ])
    assert.equal(local(host), true, host);
  for (const host of [
    "evil.example",
    "localhost.evil.example",
    "pinned.example",
    "pinned.example:80",
    "evilcorp.example",
  ])
    assert.equal(local(host), false, host);
  assert.equal(hostChecker("my-box.lan")("my-box.lan:8080"), true, "the --host name itself");
  assert.equal(hostChecker("::1")("[::1]:8080"), true);
  assert.equal(hostChecker("127.0.0.1", ["*"])("anything.example"), true, "* turns the check off");
  assert.deepEqual(splitHost("[::1]:8080"), { host: "[::1]", port: "8080" });
  assert.deepEqual(splitHost("Example.COM."), { host: "example.com" });
});

test("validation messages name the field, the type expected and the value sent", () => {
  const message = (body: Record<string, unknown>) => {
    try {
      parseChatRequest({ model: "tiny", messages: [{ role: "user", content: "hi" }], ...body });
    } catch (err) {
      return `${(err as { param: string }).param}: ${(err as Error).message}`;
    }
    return "accepted";
  };
  assert.match(message({ max_tokens: "5" }), /^max_tokens: .*expected a number, but got a string \("5"\)/);
  assert.match(message({ max_tokens: 2.5 }), /^max_tokens: .*expected an integer, but got the number 2.5/);
  assert.match(message({ max_tokens: 0 }), /^max_tokens: .*expected a value >= 1, but got the integer 0/);
  assert.match(message({ stop: 5 }), /^stop: .*expected a string or an array, but got the integer 5/);
  assert.match(message({ messages: undefined }), /^messages: Missing required parameter: 'messages'/);
  assert.match(
    message({ messages: [{ role: "user", content: [{ type: "image" }] }] }),
    /^messages\[0\]\.content\[0\]\.type: .*expected 'text'/,
  );
  assert.match(message({ temprature: 1 }), /^temprature: Unrecognized request argument/);
});

test("safetune serve --allowed-host and --api-key reach the server's rules", async () => {
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "bin/safetune.js"),
      "serve",
      "--model",
      modelDir,
      "--port",
      "0",
      "--allowed-host",
      "api.example.com",
      "--api-key",
      KEY,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += String(d);
  });
  try {
    await until("the server prints its address", async () => /at http:\/\/127\.0\.0\.1:\d+\/v1/.test(out));
    const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)?.[1] as string;
    const auth = { authorization: `Bearer ${KEY}` };
    assert.equal(
      (await rawRequest(url, { path: "/v1/models", headers: { host: "api.example.com", ...auth } })).status,
      200,
    );
    assert.equal(
      (await rawRequest(url, { path: "/v1/models", headers: { host: "evil.example", ...auth } })).status,
      403,
    );
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
  } finally {
    await new Promise((resolve) => {
      child.on("exit", resolve);
      child.kill("SIGTERM");
    });
  }
});
