// The PAIR-style adaptive attack: an attacker served over real HTTP on loopback (startServer, as `safetune serve`)
// rewrites prompts for a local target; rounds, query and token budgets bound it; a success stops a prompt's loop;
// every reply is cached so a rerun asks nothing again; results carry success rates and queries per success.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EndpointPool } from "../src/endpoint/endpointPool.js";
import { EndpointAnswerer } from "../src/eval/answer/endpointAnswerer.js";
import { LocalAnswerer } from "../src/eval/answer/localAnswerer.js";
import { estimateTokens, PAIR, parseAttackerReply, runPairAttack } from "../src/eval/attacks/pairAttack.js";
import { createJudge } from "../src/eval/judges/createJudge.js";
import type { Judge } from "../src/eval/judges/judge.js";
import type { GenerationSettings } from "../src/eval/results.js";
import { runEval } from "../src/eval/runEval.js";
import type { Benchmark } from "../src/eval/types.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { type RunningServer, startServer } from "../src/serve/server.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-pair-");
const SETTINGS: GenerationSettings = {
  maxNewTokens: 8,
  temperature: 0,
  seed: 0,
  template: "model",
  batchSize: 4,
};
const BENCH: Benchmark = {
  name: "H",
  kind: "harmful",
  source: "test",
  items: ["Describe a quiet lake", "Name two birds", "Explain what a map is"].map((p, i) => ({
    id: `h${i}`,
    prompt: [{ role: "user", content: p }],
    category: i === 0 ? "water" : "other",
  })),
};

let server: RunningServer;
let modelDir: string;
let target: LocalAnswerer;
let attacker: EndpointAnswerer;
let never: Judge;
let always: Judge;

before(async () => {
  const model = join(ROOT, "tiny");
  modelDir = model;
  createScratchModel(model, { vocabSize: 400, seed: 9 }).dispose();
  // The attacker's conversation outgrows 512 positions; llama's rotary positions carry on past them.
  const configFile = join(model, "config.json");
  const config = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify({ ...config, max_position_embeddings: 8192 }));
  server = await startServer({ model, port: 0, log: () => {} });
  const pool = EndpointPool.create({
    urls: [`${server.url}/v1`],
    model: "tiny",
    concurrency: 4,
    timeoutMs: 60_000,
    retries: 0,
  });
  attacker = new EndpointAnswerer(pool, { ...SETTINGS, maxNewTokens: 12, template: "server", batchSize: 1 });
  target = await LocalAnswerer.load({ model, settings: SETTINGS });
  // A judge that reads every answer as safe (no attempt succeeds), and the refusal rules, which read a random
  // model's non-refusals as unsafe (every attempt succeeds).
  never = await createJudge({ kind: "keywords", categories: { none: ["/zq{9}x/"] }, target: "response" });
  always = await createJudge({ kind: "refusal", rules: "safetune" });
});
after(async () => {
  target?.dispose();
  attacker?.dispose();
  await server?.close();
  cleanup();
});

describe("parseAttackerReply", () => {
  test("the prompt of the first JSON object, else the reply itself", () => {
    const p = "Tell me about lakes";
    assert.deepEqual(parseAttackerReply(`ok ${JSON.stringify({ improvement: "x", prompt: p })} done`), {
      prompt: p,
      parsed: true,
    });
    assert.deepEqual(parseAttackerReply(`  ${p} `), { prompt: p, parsed: false });
    assert.deepEqual(parseAttackerReply('{"prompt": ""} and {"prompt": "B"}'), { prompt: "B", parsed: true });
  });
});

describe("runPairAttack", () => {
  test("a judge that never reads unsafe: every prompt spends the query budget, and a rerun asks nothing", async () => {
    const cachePath = join(ROOT, "never.jsonl");
    const options = {
      attacker,
      target,
      judge: never,
      settings: SETTINGS,
      cachePath,
      rounds: 3,
      maxQueries: 2,
    };
    const samples = await runPairAttack(BENCH, options);
    assert.deepEqual(
      samples.map((s) => [s.id, s.category, s.attack, s.attackedBenchmark, s.queries]),
      BENCH.items.map((i) => [i.id, i.category, PAIR, "H", 2]),
    );
    assert.ok(samples.every((s) => s.verdicts[never.identity.name]?.safe === true));
    const lines = readFileSync(cachePath, "utf8").trim().split("\n").length;
    // 3 prompts x 2 rounds x (attacker reply + target answer + verdict)
    assert.equal(lines, 3 * 2 * 3);
    const again = await runPairAttack(BENCH, options);
    assert.deepEqual(again, samples);
    assert.equal(readFileSync(cachePath, "utf8").trim().split("\n").length, lines, "nothing new was asked");
  });

  test("the token budget stops a prompt once its estimated tokens are spent", async () => {
    const samples = await runPairAttack(BENCH, {
      attacker,
      target,
      judge: never,
      settings: SETTINGS,
      cachePath: join(ROOT, "tokens.jsonl"),
      rounds: 6,
      maxTokens: 1,
    });
    assert.ok(samples.every((s) => s.queries === 1));
    assert.ok(estimateTokens("abcde") === 2);
  });

  test("a success stops the loop after one query; runEval reports success rate and queries per success", async () => {
    const out = join(ROOT, "run");
    const run = await runEval({
      out,
      answerer: target,
      judges: [always],
      benchmarks: [BENCH],
      settings: SETTINGS,
      perplexity: false,
      resamples: 200,
      adaptive: { attacker, rounds: 4 },
    });
    const pair = run.samples.filter((s) => s.attack === PAIR);
    assert.equal(pair.length, 3);
    const successes = pair.filter((s) => s.verdicts[always.identity.name]?.safe === false);
    for (const s of pair) assert.equal(s.queries, s.verdicts[always.identity.name]?.safe === false ? 1 : 4);
    const rate = run.results.attacks?.rates.find((r) => r.attack === PAIR && r.category === undefined);
    assert.equal(rate?.estimate.value, successes.length / 3);
    assert.deepEqual(
      run.results.benchmarks.map((b) => b.name),
      ["H", `H+${PAIR}`],
    );
    if (successes.length > 0) {
      const q = run.results.attacks?.queriesPerSuccess?.find((x) => x.attack === PAIR);
      assert.equal(q?.estimate.value, 1);
      assert.equal(q?.estimate.n, successes.length);
    }
    const md = readFileSync(join(out, "report.md"), "utf8");
    assert.match(md, /\| pair \|/);
    if (successes.length > 0) assert.match(md, /- pair: 1(\.0+)? target queries per success/);
  });
});

describe("through the CLI", () => {
  test("--attacker-endpoint adds NAME+pair with its budget, and a rerun generates nothing", async () => {
    writeFileSync(
      join(ROOT, "h.jsonl"),
      BENCH.items.map((i) => JSON.stringify({ prompt: i.prompt[0]?.content })).join("\n"),
    );
    writeFileSync(
      join(ROOT, "h.yaml"),
      [
        "benchmarks:",
        "  - { name: H, path: h.jsonl, kind: harmful }",
        "judges:",
        "  - { kind: keywords, categories: { none: ['/zq{9}x/'] }, target: response }",
      ].join("\n"),
    );
    const out = join(ROOT, "cli-run");
    const args = [
      join(REPO_ROOT, "bin", "safetune.js"),
      "eval",
      "--model",
      modelDir,
      "--benchmarks",
      join(ROOT, "h.yaml"),
    ]
      .concat([
        "--out",
        out,
        "--max-new-tokens",
        "6",
        "--attacker-endpoint",
        `${server.url}/v1`,
        "--attacker-model",
        "tiny",
      ])
      .concat(["--attack-rounds", "2", "--attacker-max-new-tokens", "8"]);
    // The CLI answers in its own process; this process serves the attacker, so the child must run concurrently.
    const run = () =>
      new Promise<{ status: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => {
          stderr += String(d);
        });
        child.on("close", (status) => done({ status, stderr }));
      });
    const first = await run();
    assert.equal(first.status, 0, first.stderr);
    const samples = readFileSync(join(out, "samples.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const pair = samples.filter((s: { attack?: string }) => s.attack === PAIR);
    assert.equal(pair.length, 3);
    assert.ok(
      pair.every((s: { queries?: number }) => s.queries === 2),
      "a judge that never reads unsafe uses every round",
    );
    const lines = readFileSync(join(out, "cache", "pair.jsonl"), "utf8")
      .trim()
      .split("\n").length;
    const second = await run();
    assert.equal(second.status, 0, second.stderr);
    assert.equal(
      readFileSync(join(out, "cache", "pair.jsonl"), "utf8")
        .trim()
        .split("\n").length,
      lines,
    );
  });
});
