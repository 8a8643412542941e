// Generation spread over replicas of one served model, against scripted servers on loopback: load sharing, a
// replica going down mid-run, every replica down, cool-down and return, `safetune eval --endpoint A --endpoint B`
// end to end, and RAFT sampling its candidates from two endpoints.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as wait } from "node:timers/promises";
import { userPrompt } from "../src/data/records.js";
import {
  AllEndpointsDownError,
  EndpointPool,
  type EndpointPoolOptions,
} from "../src/endpoint/endpointPool.js";
import { EndpointAnswerer } from "../src/eval/answer/endpointAnswerer.js";
import type { GenerationSettings } from "../src/eval/results.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { RaftConfigSchema } from "../src/train/runConfig.js";
import { runRaft } from "../src/train/runRaft.js";
import { evalStage } from "../src/workflows/evalStages.js";
import { cliAsync } from "./helpers/cliAsync.js";
import { type FakeRequest, type FakeServer, startFakeOpenAIServer } from "./helpers/fakeOpenAIServer.js";
import { tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-pool-");
process.on("exit", cleanup);

const SETTINGS: GenerationSettings = {
  maxNewTokens: 16,
  temperature: 0,
  seed: 0,
  template: "server",
  batchSize: 1,
};

const servers: FakeServer[] = [];
before(() => {
  writeFileSync(
    join(ROOT, "asks.jsonl"),
    Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Request number ${i}` })).join("\n"),
  );
  writeFileSync(
    join(ROOT, "suite.yaml"),
    "benchmarks:\n  - name: asks\n    path: asks.jsonl\n    kind: harmful\n",
  );
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(
  respond: Parameters<typeof startFakeOpenAIServer>[0],
  options?: Parameters<typeof startFakeOpenAIServer>[1],
): Promise<FakeServer> {
  const server = await startFakeOpenAIServer(respond, options);
  servers.push(server);
  return server;
}

function pool(urls: string[], options: Partial<EndpointPoolOptions> = {}): EndpointPool {
  return EndpointPool.create({ urls, model: "fake-model", backoffMs: 1, maxBackoffMs: 5, ...options });
}

const completions = (s: FakeServer) => s.requests.filter((r) => r.path !== "/v1/models").length;

/** Answers each of `count` prompts through the pool; returns the texts by prompt. */
async function answerAll(p: EndpointPool, count: number): Promise<string[]> {
  const answerer = new EndpointAnswerer(p, SETTINGS);
  const requests = Array.from({ length: count }, (_, i) => ({ prompt: userPrompt(`prompt ${i}`), seed: i }));
  const texts: string[] = new Array(count);
  await answerer.answerAll(requests, (index, answer) => {
    texts[index] = answer.text;
  });
  return texts;
}

const cli = cliAsync;

test("two replicas share 40 prompts; with concurrency 1 each and a slow server both are busy at once", async () => {
  let busy = 0;
  let mostBusy = 0;
  const slow = (name: string) => async () => {
    busy++;
    mostBusy = Math.max(mostBusy, busy);
    await wait(15);
    busy--;
    return `answer from ${name}`;
  };
  const a = await serve(slow("A"));
  const b = await serve(slow("B"));
  const p = pool([a.url, b.url], { concurrency: 1 });
  const texts = await answerAll(p, 40);
  assert.equal(
    texts.filter((t) => t === "answer from A" || t === "answer from B").length,
    40,
    "all answered",
  );
  for (const [server, name] of [
    [a, "A"],
    [b, "B"],
  ] as const) {
    const share = texts.filter((t) => t === `answer from ${name}`).length;
    assert.ok(share >= 15 && share <= 25, `${name} answered ${share} of 40`);
    assert.equal(completions(server), share, `${name} got exactly the requests it answered`);
    assert.equal(server.maxConcurrent, 1, `${name}: concurrency 1 per endpoint`);
  }
  assert.equal(mostBusy, 2, "both replicas were busy at the same time");
  const counters = p.counters();
  assert.deepEqual(
    counters.map((c) => [c.url, c.sent, c.succeeded, c.failed, c.down]),
    [
      [a.url, completions(a), completions(a), 0, false],
      [b.url, completions(b), completions(b), 0, false],
    ],
  );
  p.dispose();
});

test("a replica that goes down mid-run: every prompt is still answered, by the other; it is marked down", async () => {
  let startedOnA = 0;
  let a: FakeServer | undefined;
  a = await serve(async () => {
    if (++startedOnA === 6) {
      // The sixth request finds the server going away: open connections drop and the port closes.
      setImmediate(() => void a?.close());
      return { text: "never sent", delayMs: 10_000 };
    }
    await wait(5);
    return "answer from A";
  });
  const b = await serve(async () => {
    await wait(5);
    return "answer from B";
  });
  const p = pool([a.url, b.url], { concurrency: 4, cooldownMs: 60_000 });
  const texts = await answerAll(p, 40);
  const byA = texts.filter((t) => t === "answer from A").length;
  assert.ok(byA >= 1 && byA <= 5, `A answered ${byA} before it went down`);
  assert.equal(texts.filter((t) => t === "answer from B").length, 40 - byA, "B answered all the rest");
  const [ca, cb] = p.counters();
  assert.ok(ca && cb, "two counters");
  assert.ok(ca.failed >= 1, `A failed: ${JSON.stringify(ca)}`);
  assert.equal(ca.succeeded, byA);
  assert.equal(ca.down, true, "A is marked down");
  assert.equal(ca.markedDown, 1);
  assert.ok(ca.lastError !== undefined, "A's last error is kept");
  assert.deepEqual([cb.failed, cb.succeeded, cb.down], [0, 40 - byA, false]);
  assert.match(p.summary(), /marked down 1x \(down now\)/);
  p.dispose();
});

test("every replica down: one line naming both URLs and their last errors", async () => {
  const a = await serve(() => "unused");
  const b = await serve(() => ({ status: 503, body: { error: { message: "overloaded" } } }));
  await a.close();
  const p = pool([a.url, b.url], { failuresToMarkDown: 2 });
  const answerer = new EndpointAnswerer(p, SETTINGS);
  const requests = Array.from({ length: 6 }, (_, i) => ({ prompt: userPrompt(`q ${i}`), seed: i }));
  const err = await answerer
    .answerAll(requests, () => {})
    .then(
      () => assert.fail("expected the run to fail"),
      (e: unknown) => e,
    );
  assert.ok(err instanceof AllEndpointsDownError, `expected AllEndpointsDownError, got ${String(err)}`);
  assert.equal(err.message.split("\n").length, 1, err.message);
  assert.match(err.message, /^all 2 endpoints are down/);
  assert.ok(err.message.includes(`${a.url} (cannot connect (ECONNREFUSED)`), err.message);
  assert.ok(err.message.includes(`${b.url} (gave up after 1 attempt (last: 503 overloaded))`), err.message);
  // Later requests fail at once while both cool down, without touching the servers.
  const before = completions(b);
  await assert.rejects(p.chat([{ role: "user", content: "hi" }], { maxTokens: 4, temperature: 0 }), /all 2/);
  assert.equal(completions(b), before, "no request sent to a replica in its cool-down");
  p.dispose();
});

test("a replica marked down comes back after its cool-down", async () => {
  let failing = true;
  const a = await serve(() => (failing ? { status: 500, body: "boom" } : "answer from A"));
  const b = await serve(async () => {
    await wait(2);
    return "answer from B";
  });
  const p = pool([a.url, b.url], { cooldownMs: 150, failuresToMarkDown: 2, concurrency: 2 });
  assert.equal((await answerAll(p, 10)).filter((t) => t === "answer from B").length, 10);
  assert.equal(p.counters()[0]?.down, true, "A is down after failing");
  const sentWhileDown = completions(a);
  await answerAll(p, 4);
  assert.equal(completions(a), sentWhileDown, "skipped during the cool-down");
  failing = false;
  await wait(200);
  const texts = await answerAll(p, 10);
  assert.ok(texts.includes("answer from A"), `A answers again: ${texts.join(", ")}`);
  assert.equal(p.counters()[0]?.down, false);
  p.dispose();
});

test("safetune eval --endpoint A --endpoint B: both replicas answer; results record both URLs", async () => {
  const refuse = async () => {
    await wait(5);
    return "I'm sorry, but I can't help with that.";
  };
  const a = await serve(refuse);
  const b = await serve(refuse);
  const other = await serve(refuse, { models: ["another-model"] });
  const out = join(ROOT, "eval-two");
  const common = [
    "--api-model",
    "fake-model",
    "--benchmarks",
    join(ROOT, "suite.yaml"),
    "--concurrency",
    "2",
  ];
  const [r, wrong] = await Promise.all([
    cli(["eval", "--endpoint", a.url, "--endpoint", b.url, ...common, "--out", out]),
    cli(["eval", "--endpoint", a.url, "--endpoint", other.url, ...common, "--out", join(ROOT, "eval-wrong")]),
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /asks\s+safe_response_rate\s+100\.0% .* n=12/);
  assert.equal(completions(a) + completions(b), 12, "each prompt asked once");
  assert.ok(completions(a) >= 3 && completions(b) >= 3, `shares ${completions(a)} / ${completions(b)}`);
  assert.match(r.stderr, /endpoints: .*\d+ sent, \d+ ok, 0 failed; .*\d+ sent, \d+ ok, 0 failed/);
  const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  assert.deepEqual(results.answerer, {
    kind: "endpoint",
    url: a.url,
    urls: [a.url, b.url],
    apiModel: "fake-model",
  });
  assert.match(readFileSync(join(out, "report.md"), "utf8"), new RegExp(`endpoints ${a.url}, ${b.url}`));
  // The early model check runs on every replica and names the one that fails.
  assert.equal(wrong.status, 1, wrong.stderr);
  assert.equal(wrong.stderr.trim().split("\n").length, 1, wrong.stderr);
  assert.ok(wrong.stderr.includes(`${other.url}: does not serve model "fake-model"`), wrong.stderr);
  assert.equal(completions(other), 0, "no prompt sent after the check failed");
});

test("the pipeline's eval stage takes endpoint as a list of replicas (or one string)", async () => {
  const a = await serve(() => "I'm sorry, but I can't help with that.");
  const b = await serve(() => "I'm sorry, but I can't help with that.");
  const benchmarks = [{ name: "asks", path: join(ROOT, "asks.jsonl"), kind: "harmful" }];
  const ctx = { resume: false, label: "[1/1 eval]", log: () => {}, signal: new AbortController().signal };
  for (const endpoint of [[a.url, b.url], a.url]) {
    const dir = join(ROOT, `stage-${typeof endpoint}`);
    const config = evalStage.schema.parse({ endpoint, apiModel: "fake-model", benchmarks, limit: 6 });
    const outcome = await evalStage.run({ ...ctx, name: "eval-served", config, dir });
    assert.match(outcome.summary, /asks .*100\.0%/);
    const results = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    assert.deepEqual(results.answerer.urls, Array.isArray(endpoint) ? endpoint : undefined);
    assert.equal(results.generation.template, "server");
  }
  assert.ok(completions(a) > 0 && completions(b) > 0, `${completions(a)} / ${completions(b)}`);
  assert.throws(
    () => evalStage.schema.parse({ endpoint: [], apiModel: "m", benchmarks }),
    /at least 1|too_small|>=1/i,
  );
  const both = evalStage.schema.parse({ model: "x", endpoint: a.url, apiModel: "m", benchmarks });
  await assert.rejects(
    evalStage.run({ ...ctx, name: "bad", config: both, dir: join(ROOT, "bad") }),
    /exactly one/,
  );
});

test("RAFT samples its K candidates from two endpoints (seeded per candidate); iterations > 1 is an error", async () => {
  const base = join(ROOT, "base");
  createScratchModel(base, { vocabSize: 500, seed: 0 }).dispose();
  const prompts = ["Tell me a story.", "What is a cat?", "Describe the sea."];
  writeFileSync(join(ROOT, "prompts.jsonl"), prompts.map((p) => JSON.stringify({ prompt: p })).join("\n"));
  const scripted = (name: string) => (req: FakeRequest) =>
    `${name} says candidate with seed ${req.body.seed} and some words`;
  const a = await serve(scripted("alpha"));
  const b = await serve(scripted("beta"));
  const config = RaftConfigSchema.parse({
    model: base,
    out: join(ROOT, "raft-endpoints"),
    data: { train: join(ROOT, "prompts.jsonl") },
    maxLength: 64,
    training: { saveEvery: 0, logEvery: 1000, lr: 1e-3, batchSize: 2, schedule: "constant", seed: 3 },
    raft: {
      iterations: 1,
      promptsPerIteration: 3,
      k: 4,
      maxNewTokens: 8,
      temperature: 0.7,
      minChars: 1,
      stepsPerIteration: 2,
      endpoint: [a.url, b.url],
      apiModel: "fake-model",
      concurrency: 2,
    },
  });
  const lines: string[] = [];
  // The reward prefers higher seeds, so the selection is predictable: the last candidate of each prompt.
  const reward = (answer: string) => Number(/seed (\d+)/.exec(answer)?.[1] ?? -1);
  const result = await runRaft(config, { reward, log: (l) => lines.push(l) });
  result.model.dispose();
  assert.equal(result.summary.steps, 2, "fine-tuned locally");
  const samples = readFileSync(join(config.out, "iterations", "iter-0001.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(samples.length, 12);
  const sent = [...a.requests, ...b.requests].filter((r) => r.path === "/v1/chat/completions");
  assert.equal(sent.length, 12, "one request per candidate");
  const seeds = sent.map((r) => r.body.seed as number).sort((x, y) => x - y);
  const first = seeds[0] as number;
  assert.deepEqual(
    seeds,
    Array.from({ length: 12 }, (_, i) => first + i),
    "candidate r is seeded with seed + r",
  );
  for (const [i, s] of samples.entries()) {
    assert.match(s.answer, /^(alpha|beta) says candidate with seed \d+ and some words$/, "a scripted answer");
    assert.equal(reward(s.answer), first + i, "prompt-major rows, in order");
    assert.equal(s.selected, s.sample === 3, `best of k: ${JSON.stringify(s)}`);
  }
  assert.ok(a.requests.length > 1 && b.requests.length > 1, "both endpoints sampled");
  assert.ok(
    sent.every((r) => r.body.temperature === 0.7 && r.body.max_tokens === 8),
    "sampling settings sent",
  );
  assert.ok(
    lines.some((l) => /sampled: endpoints: .* 0 failed; .* 0 failed/.test(l)),
    lines.join("\n"),
  );

  // From the command line, endpoints with the default 4 iterations: one line that says why and what to do.
  const r = await cli([
    "raft",
    "--model",
    base,
    "--out",
    join(ROOT, "raft-cli"),
    "--data",
    join(ROOT, "prompts.jsonl"),
    "--reward-model",
    base,
    "--endpoint",
    a.url,
    `--endpoint=${b.url}`,
    "--api-model",
    "fake-model",
  ]);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(
    r.stderr,
    /--endpoint samples from the served model, .*needs --iterations 1 \(got 4\).*restart the servers/,
  );
});
