// The OpenAI-compatible endpoint client against the scriptable fake server on loopback: request and reply
// shapes, authentication, bounded concurrency, retries and backoff, error messages, timeouts, cancellation.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, test } from "node:test";
import {
  EndpointError,
  type EndpointOptions,
  OpenAIEndpoint,
  type SamplingRequest,
} from "../src/endpoint/openaiEndpoint.js";
import {
  type FakeResponse,
  type FakeServer,
  openAIError,
  startFakeOpenAIServer,
} from "./helpers/fakeOpenAIServer.js";

const SAMPLING: SamplingRequest = { maxTokens: 16, temperature: 0 };
const MESSAGES = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Say hi." },
];

let servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(
  respond: Parameters<typeof startFakeOpenAIServer>[0],
  options?: Parameters<typeof startFakeOpenAIServer>[1],
): Promise<FakeServer> {
  const server = await startFakeOpenAIServer(respond, options);
  servers.push(server);
  return server;
}

/** An endpoint with tiny backoffs so retry tests are quick. */
function endpoint(url: string, options: Partial<EndpointOptions> = {}): OpenAIEndpoint {
  return new OpenAIEndpoint({ url, model: "fake-model", backoffMs: 1, maxBackoffMs: 5, ...options });
}

/** The EndpointError a promise rejects with (fails the test when it resolves or throws something else). */
async function endpointError(promise: Promise<unknown>): Promise<EndpointError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof EndpointError, `expected an EndpointError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the call to fail");
}

/** Answer from a script of replies, one per request; the last one repeats. */
function script(...replies: FakeResponse[]): () => FakeResponse {
  let i = 0;
  return () => {
    const reply = replies[Math.min(i, replies.length - 1)];
    i++;
    assert.ok(reply !== undefined, "script is empty");
    return reply;
  };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("OpenAIEndpoint requests and replies", () => {
  test("chat round trip sends the request fields and parses text, finish reason and usage", async () => {
    const server = await serve(() => ({ text: "Hi there.", finishReason: "length" }));
    const api = endpoint(`${server.url}/`);
    const reply = await api.chat(MESSAGES, {
      maxTokens: 32,
      temperature: 0.7,
      topP: 0.9,
      seed: 42,
      stop: ["\n\n"],
    });
    assert.deepEqual(reply, {
      text: "Hi there.",
      finishReason: "length",
      promptTokens: 4,
      completionTokens: 2,
      attempts: 1,
    });
    assert.equal(server.requests.length, 1);
    const req = server.requests[0];
    assert.equal(req?.path, "/v1/chat/completions");
    assert.deepEqual(req?.body, {
      model: "fake-model",
      messages: MESSAGES,
      max_tokens: 32,
      temperature: 0.7,
      top_p: 0.9,
      seed: 42,
      stop: ["\n\n"],
      n: 1,
      stream: false,
    });
    assert.equal(req?.headers["content-type"], "application/json");
    assert.equal(req?.headers.authorization, undefined);
  });

  test("chat sends only role and content, and omits unset sampling fields", async () => {
    const server = await serve(() => "ok");
    await endpoint(server.url).chat([{ role: "user", content: "q", reasoning_content: "hidden" }], SAMPLING);
    assert.deepEqual(server.requests[0]?.body, {
      model: "fake-model",
      messages: [{ role: "user", content: "q" }],
      max_tokens: 16,
      temperature: 0,
      n: 1,
      stream: false,
    });
  });

  test("completions round trip sends the prompt and parses choices[0].text", async () => {
    const server = await serve((req) => `echo: ${String(req.body.prompt)}`);
    const reply = await endpoint(server.url).complete("<|user|>hello<|assistant|>", {
      ...SAMPLING,
      topP: 1,
      seed: 7,
      stop: ["<|end|>"],
    });
    assert.equal(reply.text, "echo: <|user|>hello<|assistant|>");
    assert.equal(reply.finishReason, "stop");
    assert.equal(reply.promptTokens, 1);
    assert.equal(reply.completionTokens, 2);
    assert.equal(reply.attempts, 1);
    const req = server.requests[0];
    assert.equal(req?.path, "/v1/completions");
    assert.deepEqual(req?.body, {
      model: "fake-model",
      prompt: "<|user|>hello<|assistant|>",
      max_tokens: 16,
      temperature: 0,
      top_p: 1,
      seed: 7,
      stop: ["<|end|>"],
      n: 1,
      stream: false,
    });
  });

  test("null content reads as the refusal text or empty; missing usage leaves token counts unset", async () => {
    const chatBody = (message: unknown) => ({
      status: 200,
      body: { choices: [{ index: 0, message, finish_reason: "stop" }] },
    });
    const server = await serve(
      script(
        chatBody({ role: "assistant", content: null, refusal: "I can't help with that." }),
        chatBody({ role: "assistant", content: null }),
      ),
    );
    const api = endpoint(server.url);
    assert.deepEqual(await api.chat(MESSAGES, SAMPLING), {
      text: "I can't help with that.",
      finishReason: "stop",
      attempts: 1,
    });
    assert.equal((await api.chat(MESSAGES, SAMPLING)).text, "");
  });

  test("models() lists the served model ids", async () => {
    const server = await serve(() => "unused", { models: ["llama-3-8b", "qwen3-0.6b"] });
    assert.deepEqual(await endpoint(server.url).models(), ["llama-3-8b", "qwen3-0.6b"]);
    assert.equal(server.requests[0]?.path, "/v1/models");
  });

  test("options are resolved with defaults, the URL without trailing slashes, and no API key", () => {
    const api = new OpenAIEndpoint({ url: "http://localhost:8000/v1//", model: "m", apiKey: "sk-secret-1" });
    assert.deepEqual(api.options, {
      url: "http://localhost:8000/v1",
      model: "m",
      concurrency: 4,
      timeoutMs: 120_000,
      retries: 4,
      backoffMs: 500,
      maxBackoffMs: 30_000,
    });
    assert.ok(!JSON.stringify(api).includes("sk-secret-1"), "the key leaks through JSON.stringify");
    assert.equal(api.inFlight, 0);
  });

  test("bad options are rejected up front", () => {
    assert.throws(() => new OpenAIEndpoint({ url: "not a url", model: "m" }), /not a URL/);
    assert.throws(() => new OpenAIEndpoint({ url: "ftp://host/v1", model: "m" }), /http or https/);
    assert.throws(
      () => new OpenAIEndpoint({ url: "http://h/v1", model: "m", concurrency: 0 }),
      /concurrency/,
    );
    assert.throws(() => new OpenAIEndpoint({ url: "http://h/v1", model: "m", retries: -1 }), /retries/);
    assert.throws(() => new OpenAIEndpoint({ url: "http://h/v1", model: "" }), /model/);
  });
});

describe("OpenAIEndpoint authentication", () => {
  test("the API key is sent as a bearer token", async () => {
    const server = await serve(() => "ok", { apiKey: "sk-test-123" });
    const reply = await endpoint(server.url, { apiKey: "sk-test-123" }).chat(MESSAGES, SAMPLING);
    assert.equal(reply.text, "ok");
    assert.equal(server.requests[0]?.headers.authorization, "Bearer sk-test-123");
    assert.deepEqual(await endpoint(server.url, { apiKey: "sk-test-123" }).models(), ["fake-model"]);
  });

  test("401 is an EndpointError at once, not retried", async () => {
    const server = await serve(() => "ok", { apiKey: "sk-test-123" });
    const err = await endpointError(
      endpoint(server.url, { apiKey: "sk-wrong-456" }).chat(MESSAGES, SAMPLING),
    );
    assert.equal(err.message, `${server.url}/chat/completions: 401 Incorrect API key provided.`);
    assert.equal(err.status, 401);
    assert.equal(err.retryable, false);
    assert.equal(server.requests.length, 1);
    assert.ok(!err.message.includes("sk-wrong-456"), "the key leaks into the message");
  });

  test("the API key never appears in error messages, even when the server echoes it", async () => {
    const key = "sk-very-secret-789";
    const echo = (status: number): FakeResponse => ({
      status,
      body: openAIError(`Invalid key ${key} for this model`, "invalid_request_error", "invalid_api_key"),
    });
    const server = await serve(script(echo(403), echo(503), { raw: `<html>${key}</html>` }));
    const api = endpoint(server.url, { apiKey: key, retries: 0 });
    const errors = [
      await endpointError(api.chat(MESSAGES, SAMPLING)),
      await endpointError(api.chat(MESSAGES, SAMPLING)),
      await endpointError(api.chat(MESSAGES, SAMPLING)),
      await endpointError(
        endpoint(`http://127.0.0.1:${await closedPort()}/v1`, { apiKey: key, retries: 0 }).models(),
      ),
    ];
    for (const err of errors) {
      assert.ok(!err.message.includes(key), `the key leaks: ${err.message}`);
      assert.ok(!String(err.stack).includes(key), `the key leaks into the stack: ${err.stack}`);
    }
    assert.match(errors[0]?.message ?? "", /403 Invalid key \[redacted\] for this model/);
  });
});

describe("OpenAIEndpoint concurrency", () => {
  test("12 parallel calls with concurrency 3 never have more than 3 requests in flight", async () => {
    const server = await serve((req) => ({
      text: `re: ${String(req.body.messages[0].content)}`,
      delayMs: 200,
    }));
    const api = endpoint(server.url, { concurrency: 3 });
    const calls = Array.from({ length: 12 }, (_, i) =>
      api.chat([{ role: "user", content: `q${i}` }], SAMPLING),
    );
    assert.equal(api.inFlight, 12);
    const replies = await Promise.all(calls);
    assert.deepEqual(
      replies.map((r) => r.text),
      Array.from({ length: 12 }, (_, i) => `re: q${i}`),
    );
    assert.equal(server.requests.length, 12);
    assert.equal(server.maxConcurrent, 3);
    assert.equal(api.inFlight, 0);
  });

  test("concurrency is per endpoint instance", async () => {
    const server = await serve(() => ({ text: "ok", delayMs: 200 }));
    const a = endpoint(server.url, { concurrency: 1 });
    const b = endpoint(server.url, { concurrency: 1 });
    await Promise.all([a, b, a, b].map((api) => api.chat(MESSAGES, SAMPLING)));
    assert.equal(server.maxConcurrent, 2);
  });
});

describe("OpenAIEndpoint retries", () => {
  test("two 503s then success: succeeds after 3 attempts", async () => {
    const overloaded: FakeResponse = { status: 503, body: openAIError("overloaded", "server_error", null) };
    const server = await serve(script(overloaded, overloaded, "finally"));
    const reply = await endpoint(server.url).chat(MESSAGES, SAMPLING);
    assert.equal(reply.text, "finally");
    assert.equal(reply.attempts, 3);
    assert.equal(server.requests.length, 3);
  });

  test("429 with Retry-After: 0 is retried at once, whatever the backoff", async () => {
    const server = await serve(
      script(
        { status: 429, headers: { "retry-after": "0" }, body: openAIError("slow down", "rate_limit", null) },
        "ok",
      ),
    );
    const started = Date.now();
    // A backoff of 60 s would time the test out: Retry-After wins.
    const reply = await endpoint(server.url, { backoffMs: 60_000, maxBackoffMs: 60_000 }).chat(
      MESSAGES,
      SAMPLING,
    );
    assert.equal(reply.attempts, 2);
    assert.ok(Date.now() - started < 20_000, "Retry-After: 0 was not honoured");
  });

  test("Retry-After is capped at maxBackoffMs", async () => {
    const server = await serve(script({ status: 429, headers: { "retry-after": "3600" }, body: {} }, "ok"));
    const started = Date.now();
    const reply = await endpoint(server.url, { maxBackoffMs: 10 }).chat(MESSAGES, SAMPLING);
    assert.equal(reply.attempts, 2);
    assert.ok(Date.now() - started < 20_000, "Retry-After was not capped");
  });

  test("408 and a dropped connection are retried too", async () => {
    const server = await serve(script({ status: 408, body: {} }, { drop: true }, "ok"));
    const reply = await endpoint(server.url).complete("p", SAMPLING);
    assert.equal(reply.text, "ok");
    assert.equal(reply.attempts, 3);
  });

  test("400 with an OpenAI error body fails at once with the server's message", async () => {
    const server = await serve(() => ({
      status: 400,
      body: openAIError("This model's maximum context length is 2048 tokens", "invalid_request_error", null),
    }));
    const err = await endpointError(endpoint(server.url).chat(MESSAGES, SAMPLING));
    assert.equal(
      err.message,
      `${server.url}/chat/completions: 400 This model's maximum context length is 2048 tokens`,
    );
    assert.equal(err.status, 400);
    assert.equal(err.retryable, false);
    assert.equal(err.url, `${server.url}/chat/completions`);
    assert.equal(server.requests.length, 1);
  });

  test("other error bodies: TGI's string error, and a non-JSON body cut to 200 characters", async () => {
    const server = await serve(
      script(
        {
          status: 422,
          body: { error: "Input validation error: `inputs` must be non-empty", error_type: "validation" },
        },
        { raw: `<html>${"x".repeat(500)}</html>`, status: 404 },
      ),
    );
    const api = endpoint(server.url);
    const tgi = await endpointError(api.chat(MESSAGES, SAMPLING));
    assert.equal(
      tgi.message,
      `${server.url}/chat/completions: 422 Input validation error: \`inputs\` must be non-empty`,
    );
    const html = await endpointError(api.chat(MESSAGES, SAMPLING));
    assert.equal(html.message, `${server.url}/chat/completions: 404 <html>${"x".repeat(194)}...`);
    assert.equal(server.requests.length, 2);
  });

  test("exhausted retries name the attempts and the last failure", async () => {
    const server = await serve(() => ({
      status: 503,
      body: openAIError("overloaded", "server_error", null),
    }));
    const err = await endpointError(endpoint(server.url, { retries: 2 }).chat(MESSAGES, SAMPLING));
    assert.equal(
      err.message,
      `${server.url}/chat/completions: gave up after 3 attempts (last: 503 overloaded)`,
    );
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.equal(err.attempts, 3);
    assert.equal(server.requests.length, 3);
  });

  test("an unreachable host: cannot connect after all attempts", async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const err = await endpointError(endpoint(url, { retries: 2 }).chat(MESSAGES, SAMPLING));
    assert.equal(err.message, `${url}/chat/completions: cannot connect (ECONNREFUSED) after 3 attempts`);
    assert.equal(err.status, undefined);
    assert.equal(err.retryable, true);
  });
});

describe("OpenAIEndpoint malformed replies", () => {
  test("a garbage body is an EndpointError naming the URL, not retried", async () => {
    const server = await serve(() => ({ raw: "{not json at all" }));
    const err = await endpointError(endpoint(server.url).chat(MESSAGES, SAMPLING));
    assert.equal(
      err.message,
      `${server.url}/chat/completions: reply is not an OpenAI chat completion (not JSON: {not json at all)`,
    );
    assert.equal(err.retryable, false);
    assert.equal(server.requests.length, 1);
  });

  test("JSON of the wrong shape is an EndpointError", async () => {
    const server = await serve(
      script(
        { status: 200, body: { choices: [] } },
        { status: 200, body: { choices: [{ message: { role: "assistant" } }] } },
        { status: 200, body: { choices: [{ text: 42 }] } },
      ),
    );
    const api = endpoint(server.url);
    const noChoice = await endpointError(api.chat(MESSAGES, SAMPLING));
    assert.match(noChoice.message, /: reply is not an OpenAI chat completion \(no choices\[0\]\)$/);
    const noContent = await endpointError(api.chat(MESSAGES, SAMPLING));
    assert.match(noContent.message, /\(choices\[0\]\.message\.content is not a string\)$/);
    const badText = await endpointError(api.complete("p", SAMPLING));
    assert.equal(
      badText.message,
      `${server.url}/completions: reply is not an OpenAI completion (choices[0].text is not a string)`,
    );
    assert.equal(server.requests.length, 3);
  });
});

describe("OpenAIEndpoint timeouts and cancellation", () => {
  test("an attempt slower than timeoutMs is retried, then the call gives up", async () => {
    const server = await serve(() => ({ text: "too late", delayMs: 10_000 }));
    const err = await endpointError(
      endpoint(server.url, { timeoutMs: 200, retries: 1 }).chat(MESSAGES, SAMPLING),
    );
    assert.equal(
      err.message,
      `${server.url}/chat/completions: gave up after 2 attempts (last: timed out after 200 ms)`,
    );
    assert.equal(server.requests.length, 2);
  });

  test("a timed-out attempt followed by a quick one succeeds", async () => {
    const server = await serve(script({ text: "slow", delayMs: 10_000 }, "fast"));
    const reply = await endpoint(server.url, { timeoutMs: 300 }).chat(MESSAGES, SAMPLING);
    assert.equal(reply.text, "fast");
    assert.equal(reply.attempts, 2);
  });

  test("aborting cancels an in-flight request promptly, without retries", async () => {
    const server = await serve(() => ({ text: "never", delayMs: 30_000 }));
    const api = endpoint(server.url);
    const controller = new AbortController();
    const started = Date.now();
    const call = api.chat(MESSAGES, SAMPLING, controller.signal);
    await waitFor(() => server.requests.length === 1, "the request to arrive");
    controller.abort();
    await assert.rejects(call, { name: "AbortError" });
    assert.ok(Date.now() - started < 20_000, "abort was not prompt");
    assert.equal(server.requests.length, 1);
    assert.equal(api.inFlight, 0);
  });

  test("aborting cancels a call waiting for a slot, and one waiting to retry", async () => {
    const server = await serve((req) =>
      req.body.messages[0].content === "slow" ? { text: "slow", delayMs: 30_000 } : { status: 503, body: {} },
    );
    const api = endpoint(server.url, { concurrency: 1, backoffMs: 60_000, maxBackoffMs: 60_000 });
    const first = new AbortController();
    const queued = new AbortController();
    const running = api.chat([{ role: "user", content: "slow" }], SAMPLING, first.signal);
    const waiting = api.chat([{ role: "user", content: "queued" }], SAMPLING, queued.signal);
    await waitFor(() => server.requests.length === 1, "the first request to arrive");
    assert.equal(api.inFlight, 2);
    queued.abort();
    await assert.rejects(waiting, { name: "AbortError" });
    assert.equal(api.inFlight, 1);
    first.abort();
    await assert.rejects(running, { name: "AbortError" });
    assert.equal(server.requests.length, 1, "the queued call must never reach the server");

    // A 503 puts the call into a 30-60 s backoff; aborting must end it now.
    const backingOff = new AbortController();
    const retrying = api.chat([{ role: "user", content: "fails" }], SAMPLING, backingOff.signal);
    await waitFor(() => server.requests.length === 2, "the failing request to arrive");
    await new Promise((r) => setTimeout(r, 50));
    backingOff.abort();
    await assert.rejects(retrying, { name: "AbortError" });
    assert.equal(server.requests.length, 2);
    assert.equal(api.inFlight, 0);
  });

  test("an already-aborted signal sends nothing", async () => {
    const server = await serve(() => "ok");
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(endpoint(server.url).chat(MESSAGES, SAMPLING, controller.signal), {
      name: "AbortError",
    });
    assert.equal(server.requests.length, 0);
  });
});
