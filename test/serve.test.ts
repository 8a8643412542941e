// `safetune serve` through the official openai client on loopback: chat, completions, streaming, errors, auth,
// plus what the client cannot see: /health during a long generation, 429 from a full queue, cancellation when a
// client disconnects, timeouts, body limits, CORS and the request log.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { createScratchModel } from "../src/model/scratchModel.js";
import { apiKeyChecker } from "../src/serve/apiKeys.js";
import type { ServeOptions } from "../src/serve/serveOptions.js";
import { type RunningServer, startServer } from "../src/serve/server.js";
import { REPO_ROOT } from "./helpers/fixtures.js";

const KEY = "sk-test-0123456789";
let dir: string;
let modelDir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "safetune-serve-"));
  modelDir = join(dir, "tiny-chat");
  createScratchModel(modelDir, { vocabSize: 500, seed: 3 }).dispose();
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A server on a free port whose log records are kept for inspection. */
async function serveTiny(
  options: Partial<ServeOptions> = {},
): Promise<RunningServer & { logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({ model: modelDir, port: 0, log: (r) => logs.push(r), ...options });
  return Object.assign(server, { logs });
}

function client(server: RunningServer, apiKey = KEY): OpenAI {
  return new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });
}

async function health(server: RunningServer): Promise<{ status: string; queue: number; running: number }> {
  return (await (await fetch(`${server.url}/health`)).json()) as {
    status: string;
    queue: number;
    running: number;
  };
}

async function metric(server: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(" ").pop()) : Number.NaN;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the openai client against safetune serve", () => {
  let server: Awaited<ReturnType<typeof serveTiny>>;
  let openai: OpenAI;
  before(async () => {
    server = await serveTiny({ apiKeys: [KEY] });
    openai = client(server);
  });
  after(() => server.close());

  test("lists the served model under the folder's name", async () => {
    const models = await openai.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["tiny-chat"],
    );
  });

  test("chat completion: text, usage, finish_reason, and the seed reproduces a sampled answer", async () => {
    const ask = () =>
      openai.chat.completions.create({
        model: "tiny-chat",
        messages: [{ role: "user", content: "How do I sort a list?" }],
        max_tokens: 12,
        temperature: 0.9,
        top_p: 0.95,
        seed: 7,
      });
    const first = await ask();
    const again = await ask();
    const choice = first.choices[0];
    assert.equal(first.object, "chat.completion");
    assert.equal(choice?.message.role, "assistant");
    assert.equal(typeof choice?.message.content, "string");
    assert.equal(choice?.finish_reason, "length", "12 tokens of a random model end on the limit");
    assert.equal(first.usage?.completion_tokens, 12);
    assert.ok((first.usage?.prompt_tokens ?? 0) > 5, "the chat template adds its own tokens to the prompt");
    assert.equal(first.usage?.total_tokens, (first.usage?.prompt_tokens ?? 0) + 12);
    assert.equal(again.choices[0]?.message.content, choice?.message.content, "same seed, same sample");
  });

  test("a stream assembles exactly the answer the same greedy request gets whole", async () => {
    const request = {
      model: "tiny-chat",
      messages: [
        { role: "system" as const, content: "Be brief." },
        { role: "user" as const, content: "Name a colour." },
      ],
      max_tokens: 20,
      temperature: 0,
    };
    const whole = await openai.chat.completions.create(request);
    const stream = await openai.chat.completions.create({
      ...request,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks > 3, `the answer arrives in pieces (${chunks} chunks)`);
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, whole.choices[0]?.finish_reason);
    assert.deepEqual(usage, whole.usage);
  });

  test("n choices and stop strings", async () => {
    const result = await openai.chat.completions.create({
      model: "tiny-chat",
      messages: [{ role: "user", content: "Say something." }],
      max_tokens: 10,
      n: 3,
      temperature: 1,
      seed: 1,
    });
    assert.deepEqual(
      result.choices.map((c) => c.index),
      [0, 1, 2],
    );
    const first = result.choices[0]?.message.content ?? "";
    const cut = first.slice(3, 5);
    assert.equal(cut.length, 2, `ten tokens give more than five characters: ${JSON.stringify(first)}`);
    const stopped = await openai.chat.completions.create({
      model: "tiny-chat",
      messages: [{ role: "user", content: "Say something." }],
      max_tokens: 10,
      temperature: 1,
      seed: 1,
      stop: [cut],
    });
    assert.equal(stopped.choices[0]?.finish_reason, "stop");
    assert.equal(stopped.choices[0]?.message.content, first.slice(0, first.indexOf(cut)));
  });

  test("text completions, whole and streamed, with several prompts", async () => {
    const result = await openai.completions.create({
      model: "tiny-chat",
      prompt: ["The capital of", "One two three"],
      max_tokens: 6,
      temperature: 0,
    });
    assert.equal(result.object, "text_completion");
    assert.deepEqual(
      result.choices.map((c) => c.index),
      [0, 1],
    );
    const stream = await openai.completions.create({
      model: "tiny-chat",
      prompt: "One two three",
      max_tokens: 6,
      temperature: 0,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, result.choices[1]?.text);
  });

  test("errors: wrong key 401, unknown model 404, bad role and bad limits 400 naming the param", async () => {
    await assert.rejects(client(server, "sk-wrong").models.list(), (err: unknown) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, "a wrong key is an AuthenticationError");
      return true;
    });
    const noKey = await fetch(`${server.url}/v1/models`);
    assert.equal(noKey.status, 401);
    await assert.rejects(
      openai.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.NotFoundError, "an unknown model is a NotFoundError");
        assert.equal((err as InstanceType<typeof OpenAI.NotFoundError>).code, "model_not_found");
        return true;
      },
    );
    const bad = async (body: Record<string, unknown>, param: string) => {
      await assert.rejects(
        openai.chat.completions.create({ model: "tiny-chat", ...body } as never),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError, `${JSON.stringify(body)} is a BadRequestError`);
          assert.equal((err as InstanceType<typeof OpenAI.BadRequestError>).param, param);
          return true;
        },
      );
    };
    const user = [{ role: "user", content: "hi" }];
    await bad({ messages: [{ role: "wizard", content: "hi" }] }, "messages[0].role");
    await bad({ messages: [] }, "messages");
    await bad({ messages: user, max_tokens: -5 }, "max_tokens");
    await bad({ messages: user, max_tokens: 10_000_000 }, "max_tokens");
    await bad({ messages: user, temperature: 3 }, "temperature");
    await bad({ messages: user, n: 1000 }, "n");
    await bad({ messages: user, tools: [{ type: "function", function: { name: "f" } }] }, "tools");
    await bad({ messages: user, temprature: 0.5 }, "temprature");
    // A stream the worker cannot start is refused with its status too, not a 200 stream carrying an error.
    await bad({ messages: user, max_tokens: 10_000, stream: true }, "max_tokens");
    assert.equal((await health(server)).status, "ok", "the server keeps serving");
  });
});

describe("serving under pressure", () => {
  test("/health answers while a long generation runs in the worker", async () => {
    const server = await serveTiny();
    try {
      let finished = false;
      const long = client(server)
        .completions.create({ model: "tiny-chat", prompt: "Once", max_tokens: 400, temperature: 0 })
        .then(() => {
          finished = true;
        });
      await until("the generation is running", async () => (await health(server)).running === 1);
      const checks = [];
      for (let i = 0; i < 5; i++) checks.push((await health(server)).status);
      assert.equal(finished, false, "five health checks came back before the 400-token generation ended");
      assert.deepEqual(checks, ["ok", "ok", "ok", "ok", "ok"]);
      await long;
    } finally {
      await server.close();
    }
  });

  test("a full queue answers 429; a client that disconnects cancels its generation", async () => {
    const server = await serveTiny({ maxQueue: 1, maxBatchRows: 1 });
    const openai = client(server);
    try {
      const controller = new AbortController();
      const response = await fetch(`${server.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny-chat", prompt: "Once", max_tokens: 490, stream: true }),
        signal: controller.signal,
      });
      const reader = response.body?.getReader();
      await reader?.read(); // the stream has begun: this request is decoding
      const queued = openai.completions.create({ model: "tiny-chat", prompt: "Twice", max_tokens: 2 });
      await until("the second request waits in the queue", async () => (await health(server)).queue === 1);
      await assert.rejects(
        openai.completions.create({ model: "tiny-chat", prompt: "Thrice", max_tokens: 2 }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.RateLimitError, "the third request is rate-limited (429)");
          return true;
        },
      );
      controller.abort();
      await queued; // it runs once the cancelled generation has left the worker
      await until(
        "the worker reported the cancellation",
        async () => (await metric(server, "safetune_generations_cancelled")) === 1,
      );
      const tokens = await metric(server, "safetune_cancelled_completion_tokens");
      assert.ok(tokens < 490, `the disconnected stream stopped after ${tokens} of 490 tokens`);
    } finally {
      await server.close();
    }
  });

  test("a request past the timeout gets 504 and its generation stops", async () => {
    const request = { model: "tiny-chat", prompt: "Once", max_tokens: 490, temperature: 0 } as const;
    // The timeout is a quarter of what the whole generation takes on this machine (a fixed 300 ms was longer than
    // all 490 tokens once decoding got fast).
    const probe = await serveTiny();
    let wholeMs: number;
    try {
      const started = performance.now();
      const whole = await client(probe).completions.create(request);
      wholeMs = performance.now() - started;
      assert.equal(whole.usage?.completion_tokens, 490, "the probe generated every token (no early stop)");
    } finally {
      await probe.close();
    }
    const server = await serveTiny({ requestTimeoutMs: Math.max(10, Math.floor(wholeMs / 4)) });
    try {
      await assert.rejects(client(server).completions.create(request), (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError, "a timeout is an APIError");
        assert.equal((err as InstanceType<typeof OpenAI.APIError>).status, 504);
        return true;
      });
      await until(
        "the worker reported the cancellation",
        async () => (await metric(server, "safetune_generations_cancelled")) === 1,
      );
    } finally {
      await server.close();
    }
  });

  test("body limit 413, malformed JSON 400, CORS off by default and on when asked, prompts kept out of the log", async () => {
    const server = await serveTiny({ bodyLimitBytes: 2000 });
    const withCors = await serveTiny({ corsOrigins: ["http://dashboard.example"], logPrompts: true });
    try {
      const post = (s: RunningServer, body: string, headers: Record<string, string> = {}) =>
        fetch(`${s.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body,
        });
      const huge = JSON.stringify({
        model: "tiny-chat",
        messages: [{ role: "user", content: "x".repeat(5000) }],
      });
      const tooBig = await post(server, huge);
      assert.equal(tooBig.status, 413);
      assert.equal(
        ((await tooBig.json()) as { error: { type: string } }).error.type,
        "invalid_request_error",
      );
      const malformed = await post(server, '{"model": "tiny-chat", "messages": [');
      assert.equal(malformed.status, 400);
      const body = JSON.stringify({
        model: "tiny-chat",
        messages: [{ role: "user", content: "secret plan" }],
        max_tokens: 2,
      });
      const plain = await post(server, body, { origin: "http://evil.example" });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers.get("access-control-allow-origin"), null, "no CORS unless enabled");
      const allowed = await post(withCors, body, { origin: "http://dashboard.example" });
      assert.equal(allowed.headers.get("access-control-allow-origin"), "http://dashboard.example");
      const completion = (s: typeof server) => s.logs.filter((r) => r.event === "completion");
      assert.equal(completion(server).length, 1);
      assert.equal(
        JSON.stringify(completion(server)).includes("secret plan"),
        false,
        "prompts are not logged by default",
      );
      assert.equal(
        JSON.stringify(completion(withCors)).includes("secret plan"),
        true,
        "--log-prompts logs them",
      );
    } finally {
      await server.close();
      await withCors.close();
    }
  });
});

test("API keys are checked against every configured key, and only as Bearer tokens", () => {
  const accepts = apiKeyChecker(["sk-one", "sk-two"]);
  assert.equal(accepts("Bearer sk-one"), true);
  assert.equal(accepts("bearer sk-two"), true);
  assert.equal(accepts("Bearer sk-on"), false, "a prefix of a key is not the key");
  assert.equal(accepts("Bearer sk-one2"), false);
  assert.equal(accepts("sk-one"), false, "a bare key without the Bearer scheme is refused");
  assert.equal(accepts(undefined), false);
  assert.equal(apiKeyChecker([])("Bearer "), false);
});

test("safetune serve binds 127.0.0.1 by default, prints where it serves, and stops on SIGTERM", async () => {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "bin/safetune.js"), "serve", "--model", modelDir, "--port", "0"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += String(d);
  });
  await until(
    "the server prints its address",
    async () => /serving tiny-chat at http:\/\/127\.0\.0\.1:\d+\/v1/.test(out),
    60_000,
  );
  const url = /at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out)?.[1] as string;
  const reply = (await (await fetch(`${url}/health`)).json()) as { status: string };
  assert.equal(reply.status, "ok");
  const code = await new Promise<number | null>((resolve) => {
    child.on("exit", resolve);
    child.kill("SIGTERM");
  });
  assert.equal(code, 0);
});
