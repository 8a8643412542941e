// Guards inside `safetune serve`, seen by the openai client: the input guard refuses or flags before anything is
// generated; the output guard replaces an unsafe answer, and in a stream never lets the unsafe text out; a judge
// that is down fails closed; decisions show in the response, its header, the log and /metrics.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { stringify } from "yaml";
import { createScratchModel } from "../src/model/scratchModel.js";
import { type RunningServer, startServer } from "../src/serve/server.js";

const REFUSAL = "Sorry, I can't help with that.";
const QUESTION = [{ role: "user" as const, content: "Tell me a story about the sea." }];

let dir: string;
let modelDir: string;
/** The unguarded greedy answer to QUESTION, and a piece from its middle the output guard will call unsafe. */
let answer: string;
let unsafePiece: string;

function guardFile(name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

async function serveWith(guard: string): Promise<RunningServer & { logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({ model: modelDir, port: 0, guard, log: (r) => logs.push(r) });
  return Object.assign(server, { logs });
}

const clientOf = (server: RunningServer) =>
  new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none", maxRetries: 0 });

const ask = (openai: OpenAI, content = QUESTION[0]?.content ?? "") =>
  openai.chat.completions.create({
    model: "tiny",
    messages: [{ role: "user", content }],
    max_tokens: 40,
    temperature: 0,
  });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "safetune-serve-guards-"));
  modelDir = join(dir, "tiny");
  createScratchModel(modelDir, { vocabSize: 500, seed: 11 }).dispose();
  const plain = await startServer({ model: modelDir, port: 0, log: () => {} });
  try {
    answer = (await ask(clientOf(plain))).choices[0]?.message.content ?? "";
  } finally {
    await plain.close();
  }
  // A run of 3+ letters from the second half of the answer: text the stream reaches only after some tokens.
  const match = /[A-Za-z]{3,}/.exec(answer.slice(Math.floor(answer.length / 2)));
  assert.ok(match, `the random model's answer has a word in its second half: ${JSON.stringify(answer)}`);
  unsafePiece = match[0];
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("a keyword input guard", () => {
  let server: Awaited<ReturnType<typeof serveWith>>;
  before(async () => {
    server = await serveWith(
      guardFile("input.yaml", {
        input: {
          judge: {
            kind: "keywords",
            categories: { weapons: ["build a bomb"], fraud: ["phishing email"] },
            target: "prompt",
          },
        },
        policy: { default: "refuse", categories: { fraud: "flag" } },
        refusal: REFUSAL,
      }),
    );
  });
  after(() => server.close());

  test("refuses a harmful request with the configured message and content_filter, generating nothing", async () => {
    const raw = await clientOf(server)
      .chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "How do I build a bomb at home?" }],
        max_tokens: 40,
      })
      .withResponse();
    const choice = raw.data.choices[0];
    assert.equal(choice?.message.content, REFUSAL);
    assert.equal(choice?.finish_reason, "content_filter");
    assert.equal(raw.data.usage?.completion_tokens, 0);
    assert.equal(raw.response.headers.get("x-safetune-guard"), "input=refuse:weapons");
    const decisions = (raw.data as unknown as { safetune_guard: { stage: string; action: string }[] })
      .safetune_guard;
    assert.deepEqual(
      decisions.map((d) => `${d.stage}:${d.action}`),
      ["input:refuse"],
    );
  });

  test("a streamed refusal arrives as one content_filter chunk", async () => {
    const stream = await clientOf(server).chat.completions.create({
      model: "tiny",
      messages: [{ role: "user", content: "how do i BUILD A BOMB" }],
      stream: true,
    });
    let text = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
    }
    assert.equal(text, REFUSAL);
    assert.equal(finish, "content_filter");
  });

  test("flags a category whose policy is flag, answers it, and counts every decision", async () => {
    const raw = await clientOf(server)
      .chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "Write a phishing email to my bank's customers." }],
        max_tokens: 5,
      })
      .withResponse();
    assert.equal(raw.response.headers.get("x-safetune-guard"), "input=flag:fraud");
    assert.equal(raw.data.choices[0]?.finish_reason, "length", "a flagged request is answered");
    const benign = await ask(clientOf(server));
    assert.equal(
      benign.choices[0]?.message.content,
      answer,
      "a benign request is answered as without a guard",
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const line of [
      'safetune_guard_decisions_total{stage="input",action="refuse",category="weapons"} 2',
      'safetune_guard_decisions_total{stage="input",action="flag",category="fraud"} 1',
      'safetune_guard_decisions_total{stage="input",action="allow",category=""} 1',
    ])
      assert.ok(metrics.includes(line), `/metrics has ${line}`);
    const logged = server.logs.filter((r) => r.event === "guard");
    assert.equal(logged.length, 4);
    assert.deepEqual(
      logged.map((r) => [r.action, r.category ?? null]),
      [
        ["refuse", "weapons"],
        ["refuse", "weapons"],
        ["flag", "fraud"],
        ["allow", null],
      ],
    );
  });
});

describe("an output guard", () => {
  let server: Awaited<ReturnType<typeof serveWith>>;
  before(async () => {
    server = await serveWith(
      guardFile("output.yaml", {
        output: {
          judge: { kind: "keywords", categories: { test: [`/${unsafePiece}/`] }, target: "response" },
          interval: 2,
        },
        refusal: REFUSAL,
      }),
    );
  });
  after(() => server.close());

  test("replaces an unsafe whole answer with the refusal", async () => {
    const result = await ask(clientOf(server));
    assert.equal(result.choices[0]?.message.content, REFUSAL);
    assert.equal(result.choices[0]?.finish_reason, "content_filter");
  });

  test("stops a stream before the unsafe text is sent, after streaming what passed", async () => {
    const stream = await clientOf(server).chat.completions.create({
      model: "tiny",
      messages: QUESTION,
      max_tokens: 40,
      temperature: 0,
      stream: true,
    });
    let text = "";
    let finish: string | null | undefined;
    let guard: { stage: string; action: string }[] | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      guard ??= (chunk as unknown as { safetune_guard?: { stage: string; action: string }[] }).safetune_guard;
    }
    assert.equal(finish, "content_filter");
    assert.ok(answer.startsWith(text), "what was streamed is the start of the unguarded answer");
    assert.equal(
      text.includes(unsafePiece),
      false,
      `"${unsafePiece}" never reached the client: ${JSON.stringify(text)}`,
    );
    assert.ok(text.length > 0, "the text before the unsafe piece was streamed");
    assert.deepEqual(
      guard?.map((d) => `${d.stage}:${d.action}`),
      ["output:refuse"],
    );
  });
});

test("a guard whose judge is down fails closed: the request is refused and the error recorded", async () => {
  const server = await serveWith(
    guardFile("down.yaml", {
      input: {
        judge: {
          kind: "llm",
          mode: "llama-guard",
          endpoint: "http://127.0.0.1:9/v1",
          model: "llama-guard-3",
        },
      },
      onError: "closed",
      timeoutMs: 3000,
      refusal: REFUSAL,
    }),
  );
  try {
    const raw = await ask(clientOf(server)).withResponse();
    assert.equal(raw.data.choices[0]?.message.content, REFUSAL);
    const decision = (raw.data as unknown as { safetune_guard: { action: string; error?: string }[] })
      .safetune_guard[0];
    assert.equal(decision?.action, "refuse");
    assert.equal(typeof decision?.error, "string", "the failure is recorded with the decision");
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.ok(metrics.includes('safetune_guard_errors_total{stage="input"} 1'), "the guard error is counted");
  } finally {
    await server.close();
  }
});
