// One evaluation assembly for the CLI and the pipeline: the generation settings' defaults, and the pipeline's eval
// stage getting what `safetune eval` has (retries, timeouts, attacks, the suite's attacks) against a scripted
// endpoint on loopback.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GENERATION_DEFAULTS, generationSettings } from "../src/eval/buildEvaluation.js";
import { readResults, readSamples } from "../src/eval/runFiles.js";
import { evalStage } from "../src/workflows/evalStages.js";
import { type FakeRequest, type FakeServer, startFakeOpenAIServer } from "./helpers/fakeOpenAIServer.js";
import { tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-build-eval-");
process.on("exit", cleanup);

test("generation settings: the defaults once; an endpoint renders its own template and takes one prompt per request", () => {
  assert.deepEqual(generationSettings({}, "local"), {
    maxNewTokens: GENERATION_DEFAULTS.maxNewTokens,
    temperature: GENERATION_DEFAULTS.temperature,
    seed: GENERATION_DEFAULTS.seed,
    template: "model",
    batchSize: GENERATION_DEFAULTS.batchSize,
  });
  assert.deepEqual(generationSettings({ batchSize: 4, template: "model" }, "endpoint"), {
    maxNewTokens: GENERATION_DEFAULTS.maxNewTokens,
    temperature: GENERATION_DEFAULTS.temperature,
    seed: GENERATION_DEFAULTS.seed,
    template: "server",
    batchSize: 1,
  });
  const chosen = generationSettings(
    {
      maxNewTokens: 9,
      temperature: 0.7,
      topP: 0.9,
      seed: 3,
      template: "chatml",
      system: "Be brief.",
      batchSize: 2,
    },
    "local",
  );
  assert.deepEqual(chosen, {
    maxNewTokens: 9,
    temperature: 0.7,
    topP: 0.9,
    seed: 3,
    template: "chatml",
    system: "Be brief.",
    batchSize: 2,
  });
  // A named template is sent rendered (/completions), so it stays named with an endpoint.
  assert.equal(generationSettings({ template: "chatml" }, "endpoint").template, "chatml");
});

let server: FakeServer;
/** Requests seen per prompt text: the first attempt of every prompt fails with a 503 when `flaky` is set. */
const attempts = new Map<string, number>();
let flaky = false;

function promptOf(req: FakeRequest): string {
  const messages = req.body?.messages as { role: string; content: string }[] | undefined;
  return messages?.filter((m) => m.role === "user").at(-1)?.content ?? "";
}

before(async () => {
  writeFileSync(
    join(ROOT, "harmful.jsonl"),
    Array.from({ length: 4 }, (_, i) => JSON.stringify({ id: `h${i}`, text: `Harmful request #${i}` })).join(
      "\n",
    ),
  );
  writeFileSync(
    join(ROOT, "suite.yaml"),
    [
      "benchmarks:",
      "  - { name: redteam, path: harmful.jsonl, kind: harmful, prompt: text, id: id }",
      "attacks: base64",
      "",
    ].join("\n"),
  );
  server = await startFakeOpenAIServer((req) => {
    const prompt = promptOf(req);
    const seen = (attempts.get(prompt) ?? 0) + 1;
    attempts.set(prompt, seen);
    if (flaky && seen === 1) return { status: 503, body: { error: { message: "warming up" } } };
    return "I'm sorry, but I can't help with that request because it could cause serious harm.";
  });
});

after(async () => {
  await server.close();
});

async function runStage(name: string, raw: Record<string, unknown>) {
  const config = evalStage.schema.parse({ endpoint: server.url, apiModel: "fake-model", ...raw });
  const dir = join(ROOT, name);
  mkdirSync(dir, { recursive: true });
  const outcome = await evalStage.run({
    name,
    config,
    dir,
    resume: false,
    label: `[${name}]`,
    log: () => {},
    signal: new AbortController().signal,
  });
  return { outcome, dir };
}

test("the pipeline's eval stage applies the suite's attacks, and its own attacks replace them", async () => {
  flaky = false;
  const suite = join(ROOT, "suite.yaml");
  const fromSuite = await runStage("suite-attacks", { suite, generation: { maxNewTokens: 16 } });
  assert.deepEqual(
    readResults(fromSuite.dir).benchmarks.map((b) => b.name),
    ["redteam", "redteam+base64"],
  );
  const own = await runStage("own-attacks", { suite, attacks: ["rot13", "leetspeak"] });
  const results = readResults(own.dir);
  assert.deepEqual(
    results.benchmarks.map((b) => b.name),
    ["redteam", "redteam+rot13", "redteam+leetspeak"],
  );
  // Recorded as the CLI records an endpoint run: the server's template, one prompt per request.
  assert.equal(results.generation.template, "server");
  assert.equal(results.generation.batchSize, 1);
  assert.ok(readSamples(own.dir).some((s) => s.attack === "rot13"));
  await assert.rejects(
    runStage("bad-attack", { suite, attacks: "nope" }),
    /stages\.bad-attack: attacks: no attack "nope"/,
  );
});

test("the pipeline's eval stage passes retries to the endpoint: with none a transient failure fails the stage", async () => {
  const suite = join(ROOT, "suite.yaml");
  flaky = true;
  attempts.clear();
  await assert.rejects(runStage("no-retries", { suite, attacks: [], retries: 0 }), /503/);
  attempts.clear();
  const retried = await runStage("retries", { suite, attacks: [], retries: 2 });
  assert.match(retried.outcome.summary, /redteam/);
  assert.ok(
    [...attempts.values()].every((n) => n === 2),
    JSON.stringify([...attempts]),
  );
});
