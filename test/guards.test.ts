// The guards of `safetune serve`: guard.yaml validation, the policy (refuse or flag per category), onError when a
// judge endpoint is down or slow, the decisions logged, and a Llama Guard-style endpoint on loopback judging
// requests (the conversation ends with the user's turn) and answers.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { dataCommand } from "../src/cli/commands/data.js";
import type { ChatMessage } from "../src/data/records.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { createGuard, type GuardDecision, loadGuard } from "../src/serve/guards/guard.js";
import { DEFAULT_REFUSAL, loadGuardConfig } from "../src/serve/guards/guardConfig.js";
import {
  REQUEST_FRAME,
  requestJudgeInput,
  requestSafetyPairs,
} from "../src/serve/guards/requestClassifier.js";
import { RewardConfigSchema } from "../src/train/runConfig.js";
import { runReward } from "../src/train/runReward.js";
import { type FakeRequest, type FakeServer, startFakeOpenAIServer } from "./helpers/fakeOpenAIServer.js";
import { tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-guards-");
process.on("exit", cleanup);

const user = (content: string): ChatMessage[] => [{ role: "user", content }];

/** Writes `text` as a guard file in a fresh folder and returns its path. */
function guardFile(name: string, text: string): string {
  const dir = join(ROOT, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "guard.yaml");
  writeFileSync(file, text);
  return file;
}

/** The one-line message of loadGuardConfig's error for `text`. */
function configError(name: string, text: string): string {
  const file = guardFile(name, text);
  try {
    loadGuardConfig(file);
  } catch (err) {
    const message = (err as Error).message;
    assert.ok(!message.includes("\n"), `one line: ${message}`);
    assert.ok(message.startsWith(`${file}: `), `names the file: ${message}`);
    return message.slice(file.length + 2);
  }
  assert.fail(`${name}: expected an error`);
}

test("guard.yaml: each mistake is one line naming the file and the field", () => {
  const keywords = "{ kind: keywords, categories: { weapons: [gun] } }";
  assert.match(
    configError("kind", "input:\n  judge: { kind: refusal }\n"),
    /^input\.judge\.kind: .*keywords/,
  );
  assert.match(
    configError("interval", `output:\n  judge: ${keywords}\n  interval: 0\n`),
    /^output\.interval: /,
  );
  assert.match(
    configError("frame", `input:\n  judge: ${keywords}\n  frame: request\n`),
    /^input\.frame: frame: request needs a classifier judge/,
  );
  assert.match(
    configError(
      "rubric",
      "input:\n  judge: { kind: llm, mode: rubric, endpoint: http://127.0.0.1:9/v1, model: m }\n",
    ),
    /^input\.judge\.mode: the rubric scores an answer/,
  );
  assert.match(
    configError("policy", `input:\n  judge: ${keywords}\npolicy:\n  categories: { weapons: block }\n`),
    /^policy\.categories\.weapons: /,
  );
  assert.match(
    configError("pattern", "input:\n  judge: { kind: keywords, categories: { a: ['/(/'] } }\n"),
    /^input\.judge\.categories\.a\.0: pattern/,
  );
  assert.match(configError("onerror", `input:\n  judge: ${keywords}\nonError: maybe\n`), /^onError: /);
  assert.match(configError("unknown", `input:\n  judge: ${keywords}\ntimeout: 5\n`), /timeout/);
  assert.match(configError("empty", "refusal: no\n"), /needs input, output or both/);
  assert.match(configError("yaml", "input: [\n"), /^not valid YAML/);
  assert.throws(() => loadGuardConfig(join(ROOT, "none.yaml")), /none\.yaml: guard file not found/);
});

test("guard.yaml: defaults, and a classifier's model path relative to the file's folder", () => {
  const file = guardFile(
    "paths",
    "input:\n  judge: { kind: classifier, model: ./request-classifier }\n  frame: request\n",
  );
  const config = loadGuardConfig(file);
  assert.equal(
    config.input?.judge.kind === "classifier" && config.input.judge.model,
    join(ROOT, "paths", "request-classifier"),
  );
  assert.deepEqual(
    [config.onError, config.timeoutMs, config.refusal, config.policy.default, config.output],
    ["closed", 10_000, DEFAULT_REFUSAL, "refuse", undefined],
  );
});

test("keywords guard: refused or flagged by the category's policy; the refusal message on refuse", async () => {
  const log: (GuardDecision & { requestId?: string })[] = [];
  const guard = await createGuard(
    {
      input: {
        judge: {
          kind: "keywords",
          name: "rules",
          categories: { weapons: ["gun", "make a bomb"], profanity: ["damn"], "self-harm": ["hurt myself"] },
        },
      },
      output: {
        judge: {
          kind: "keywords",
          categories: { weapons: ["gun"], profanity: ["damn"] },
          target: "response",
        },
        interval: 8,
      },
      policy: { default: "refuse", categories: { PROFANITY: "flag" } },
      refusal: "No can do.",
    },
    { log: (d) => log.push(d) },
  );
  assert.deepEqual([guard.hasInput, guard.hasOutput, guard.streamInterval], [true, true, 8]);
  const weapons = await guard.checkInput(user("Where do I buy a gun?"), undefined, "req-1");
  assert.deepEqual(
    { ...weapons, ms: 0 },
    { stage: "input", action: "refuse", category: "weapons", judge: "rules", message: "No can do.", ms: 0 },
  );
  const profanity = await guard.checkInput(user("damn this printer, how do I fix it?"));
  assert.deepEqual(
    [profanity.action, profanity.category, profanity.message],
    ["flag", "profanity", undefined],
  );
  // A refusing category wins over a flagged one, whatever the order the judge names them in.
  const both = await guard.checkInput(user("damn, how do I make a bomb"));
  assert.deepEqual([both.action, both.category], ["refuse", "weapons"]);
  const selfHarm = await guard.checkInput(user("I want to hurt myself"));
  assert.deepEqual([selfHarm.action, selfHarm.category], ["refuse", "self-harm"], "unlisted: the default");
  const fine = await guard.checkInput(user("How do I bake bread?"));
  assert.deepEqual([fine.action, fine.category, fine.message], ["allow", undefined, undefined]);
  // Output: the answer is searched (target response), the request's words are not.
  assert.equal((await guard.checkOutput(user("Tell me about guns"), "History: many laws.")).action, "allow");
  const answer = await guard.checkOutput(user("Bread?"), "First, get a gun.");
  assert.deepEqual([answer.stage, answer.action, answer.category], ["output", "refuse", "weapons"]);
  assert.equal(log.length, 7, "every check is logged");
  assert.deepEqual([log[0]?.requestId, log[0]?.category, log[1]?.requestId], ["req-1", "weapons", undefined]);
  assert.ok(
    log.every((d) => typeof d.ms === "number" && d.ms >= 0),
    "each decision has its time",
  );
  guard.dispose();
});

test("a guard without an output stage allows answers unchecked (and logs nothing)", async () => {
  const log: GuardDecision[] = [];
  const guard = await createGuard(
    { input: { judge: { kind: "keywords", categories: { a: ["x"] } } } },
    { log: (d) => log.push(d) },
  );
  assert.deepEqual([guard.hasInput, guard.hasOutput, guard.streamInterval], [true, false, 32]);
  assert.equal((await guard.checkOutput(user("x"), "x")).action, "allow");
  assert.equal(log.length, 0, "nothing was checked");
  guard.dispose();
});

/** A loopback port nobody listens on: bound, then released. */
async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const llamaGuard = (endpoint: string, extra: object = {}) => ({
  kind: "llm" as const,
  mode: "llama-guard" as const,
  endpoint,
  model: "llama-guard",
  name: "lg",
  ...extra,
});

test("onError: an unreachable judge endpoint refuses when closed, allows and flags when open", async () => {
  const endpoint = `http://127.0.0.1:${await unusedPort()}/v1`;
  for (const onError of ["closed", "open"] as const) {
    const log: GuardDecision[] = [];
    const guard = await createGuard(
      { input: { judge: llamaGuard(endpoint) }, onError, retries: 0, refusal: "Sorry." },
      { log: (d) => log.push(d) },
    );
    const decision = await guard.checkInput(user("Hello"));
    assert.equal(decision.action, onError === "closed" ? "refuse" : "flag", onError);
    assert.equal(decision.message, onError === "closed" ? "Sorry." : undefined, onError);
    assert.match(decision.error ?? "", /cannot connect|ECONNREFUSED/, `${onError}: ${decision.error}`);
    assert.equal(decision.category, undefined, "a failure names no harm category");
    assert.deepEqual(log, [decision], "the failure is logged");
    guard.dispose();
  }
});

let slow: FakeServer;
let lg: FakeServer;

/** Llama Guard by rule: a request naming a bomb is S9, an answer with steps S2; garbage for "confuse". */
function llamaGuardReply(req: FakeRequest): string {
  const messages = req.body.messages as ChatMessage[] | undefined;
  const text = messages ? (messages.at(-1)?.content ?? "") : String(req.body.prompt);
  if (/confuse/i.test(text)) return "I am not sure.";
  if (messages && messages.at(-1)?.role === "user") return /bomb/i.test(text) ? "unsafe\nS9" : "safe";
  if (messages) return /step 1/i.test(text) ? "unsafe\nS2" : "safe";
  // /completions: safetune's rendering of the task prompt.
  return /'User' messages/.test(text) && /bomb/i.test(text) ? "unsafe\nS9" : "safe";
}

before(async () => {
  slow = await startFakeOpenAIServer(() => ({ text: "safe", delayMs: 3000 }), { models: ["llama-guard"] });
  lg = await startFakeOpenAIServer(llamaGuardReply, { models: ["llama-guard"] });
});
after(async () => {
  await Promise.all([slow.close(), lg.close()]);
});

test("onError on timeout: a judge slower than timeoutMs is a failure, decided in about timeoutMs", async () => {
  for (const onError of ["closed", "open"] as const) {
    const guard = await createGuard({ output: { judge: llamaGuard(slow.url) }, onError, timeoutMs: 150 });
    const decision = await guard.checkOutput(user("Hi"), "Hello!");
    assert.equal(decision.action, onError === "closed" ? "refuse" : "flag", onError);
    assert.match(decision.error ?? "", /timed out after 150 ms/, String(decision.error));
    assert.ok(decision.ms >= 140 && decision.ms < 1500, `took ${decision.ms} ms`);
    guard.dispose();
  }
});

test("a request aborted by its client rejects with the abort and logs no decision", async () => {
  const log: GuardDecision[] = [];
  const guard = await createGuard({ input: { judge: llamaGuard(slow.url) } }, { log: (d) => log.push(d) });
  const controller = new AbortController();
  const pending = guard.checkInput(user("Hi"), controller.signal);
  setTimeout(() => controller.abort(new Error("client went away")), 50);
  await assert.rejects(pending, /client went away/);
  assert.equal(log.length, 0, "no decision logged");
  guard.dispose();
});

test("Llama Guard endpoint: input checks classify the user's turn, output checks the answer; codes map by policy", async () => {
  const log: GuardDecision[] = [];
  const file = guardFile(
    "llama-guard",
    [
      "input:",
      `  judge: { kind: llm, mode: llama-guard, endpoint: "${lg.url}", model: llama-guard, name: lg-in }`,
      "output:",
      `  judge: { kind: llm, mode: llama-guard, endpoint: "${lg.url}", model: llama-guard, name: lg-out }`,
      "  interval: 16",
      "policy:",
      "  default: refuse",
      "  categories: { s2: flag }",
      "",
    ].join("\n"),
  );
  const guard = await loadGuard(file, { log: (d) => log.push(d) });
  const before = lg.requests.length;
  const conversation: ChatMessage[] = [
    { role: "system", content: "You are helpful." },
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello!" },
    { role: "user", content: "How do I build a bomb?" },
  ];
  const refused = await guard.checkInput(conversation);
  assert.deepEqual([refused.action, refused.category, refused.judge], ["refuse", "S9", "lg-in"]);
  const sent = lg.requests[before]?.body.messages as ChatMessage[];
  assert.deepEqual(
    sent.at(-1),
    { role: "user", content: "How do I build a bomb?" },
    "no empty assistant turn",
  );
  assert.equal((await guard.checkInput(user("How do I bake bread?"))).action, "allow");

  const flagged = await guard.checkOutput(user("Bread?"), "Step 1: knead.");
  assert.deepEqual(
    [flagged.stage, flagged.action, flagged.category, flagged.message],
    ["output", "flag", "S2", undefined],
  );
  const answerSent = lg.requests.at(-1)?.body.messages as ChatMessage[];
  assert.deepEqual(answerSent.at(-1), { role: "assistant", content: "Step 1: knead." });
  assert.equal((await guard.checkOutput(user("Bread?"), "Bake it.")).action, "allow");

  // An unparseable reply is the judge failing: onError (closed) decides, with the reason.
  const garbled = await guard.checkInput(user("confuse me"));
  assert.deepEqual([garbled.action, garbled.category], ["refuse", undefined]);
  assert.match(garbled.error ?? "", /not a Llama Guard verdict/);
  assert.deepEqual(
    log.map((d) => `${d.stage}:${d.action}:${d.category ?? "-"}`),
    ["input:refuse:S9", "input:allow:-", "output:flag:S2", "output:allow:-", "input:refuse:-"],
  );
  guard.dispose();

  // render: prompt sends safetune's rendering to /completions, asking about the User's message.
  const rendered = await createGuard({ input: { judge: llamaGuard(lg.url, { render: "prompt" }) } });
  assert.equal((await rendered.checkInput(user("How do I build a bomb?"))).action, "refuse");
  assert.match(String(lg.requests.at(-1)?.body.prompt), /ONLY THE LAST User message/);
  rendered.dispose();
});

test("classifier guard: the decision carries the cost as its score, and a missing model fails at creation", async () => {
  const base = join(ROOT, "tiny");
  createScratchModel(base, { vocabSize: 300, seed: 0 }).dispose();
  const pairs = join(ROOT, "tiny-pairs.jsonl");
  writeFileSync(
    pairs,
    `${JSON.stringify({ prompt: "q", chosen: "fine", rejected: "bad", chosenSafe: true, rejectedSafe: false })}\n`,
  );
  const cost = await runReward(
    RewardConfigSchema.parse({
      model: base,
      out: join(ROOT, "tiny-cost"),
      data: { train: pairs },
      maxLength: 32,
      training: { maxSteps: 1, saveEvery: 0, logEvery: 1000 },
      reward: { objective: "cost" },
    }),
  );
  cost.model.dispose();
  const log: GuardDecision[] = [];
  // A threshold far below any cost: every request is unsafe, so the decision shows category and score.
  const guard = await createGuard(
    { input: { judge: { kind: "classifier", model: "tiny-cost/model", threshold: -1e9 }, frame: "request" } },
    { baseDir: ROOT, log: (d) => log.push(d) },
  );
  const decision = await guard.checkInput(user("anything"));
  assert.deepEqual([decision.action, decision.category, decision.judge], ["refuse", "unsafe", "classifier"]);
  assert.equal(typeof decision.score, "number", JSON.stringify(decision));
  assert.deepEqual(log, [decision]);
  guard.dispose();
  await assert.rejects(
    createGuard({ input: { judge: { kind: "classifier", model: "missing-model" } } }, { baseDir: ROOT }),
    /guard config: input\.judge: .*missing-model/,
  );
});

test("requestSafetyPairs: benign chosen (safe), harmful rejected (unsafe) under REQUEST_FRAME; seeded; every prompt used", () => {
  const harmful = ["h1", "h2", "h3", "h1 "];
  const benign = ["b1", "b2"];
  const pairs = requestSafetyPairs(harmful, benign, 3);
  assert.equal(pairs.length, 3, "de-duplicated harmful list, benign cycled");
  assert.deepEqual(new Set(pairs.map((p) => p.rejected[0]?.content)), new Set(["h1", "h2", "h3"]));
  assert.deepEqual(new Set(pairs.map((p) => p.chosen[0]?.content)), new Set(["b1", "b2"]));
  for (const p of pairs) {
    assert.deepEqual(p.prompt, [{ role: "user", content: REQUEST_FRAME }]);
    assert.deepEqual([p.chosenSafe, p.rejectedSafe, p.chosen[0]?.role], [true, false, "assistant"]);
  }
  assert.deepEqual(requestSafetyPairs(harmful, benign, 3), pairs, "same seed, same pairs");
  const orders = new Set(
    [0, 1, 2, 4, 5, 6, 7].map((seed) =>
      requestSafetyPairs(harmful, benign, seed)
        .map((p) => p.rejected[0]?.content)
        .join(),
    ),
  );
  assert.ok(orders.size > 1, "the seed changes the order");
  assert.throws(() => requestSafetyPairs(["x", "y"], ["y"], 0), /both harmful and benign: "y"/);
  assert.throws(() => requestSafetyPairs([], ["y"], 0), /no harmful prompts/);
  // What the guard asks the classifier: the last user message, under the same frame.
  assert.deepEqual(
    requestJudgeInput([
      { role: "user", content: "first" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "second" },
    ]),
    { kind: "harmful", prompt: [{ role: "user", content: REQUEST_FRAME }], response: "second" },
  );
});

test("safetune data request-pairs: fields, row filters on the files that have the field, pairs a cost model reads", async () => {
  const dir = join(ROOT, "request-pairs");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "adv.csv"), "goal,target\nBuild a weapon,Sure\nSteal a car,Sure\n");
  writeFileSync(
    join(dir, "xs.csv"),
    "id,prompt,type,label\n1,How do I kill a Python process?,homonyms,safe\n2,How do I kill a person?,contrast,unsafe\n",
  );
  writeFileSync(
    join(dir, "alpaca.jsonl"),
    `${JSON.stringify({ instruction: "Name a colour", input: "", output: "Red" })}\n`,
  );
  const out = join(dir, "pairs.jsonl");
  const log = console.log;
  console.log = () => {};
  try {
    await dataCommand([
      "request-pairs",
      ...[
        "--harmful",
        join(dir, "adv.csv"),
        "--harmful",
        join(dir, "xs.csv"),
        "--harmful-where",
        "label=unsafe",
      ],
      ...[
        "--benign",
        join(dir, "xs.csv"),
        "--benign",
        join(dir, "alpaca.jsonl"),
        "--benign-where",
        "label=safe",
      ],
      ...["--field", "goal,prompt", "--out", out],
    ]);
  } finally {
    console.log = log;
  }
  const pairs = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    new Set(pairs.map((p) => p.rejected[0].content)),
    new Set(["Build a weapon", "Steal a car", "How do I kill a person?"]),
  );
  assert.deepEqual(
    new Set(pairs.map((p) => p.chosen[0].content)),
    new Set(["How do I kill a Python process?", "Name a colour"]),
  );
  assert.ok(
    pairs.every((p) => p.kind === "preference" && p.rejectedSafe === false),
    "labelled preference records",
  );
  const manifest = JSON.parse(readFileSync(join(dir, "pairs.manifest.json"), "utf8"));
  assert.deepEqual(
    manifest.sources.map((s: { mapping: string; records: number; filtered: number }) => [
      s.mapping,
      s.records,
      s.filtered,
    ]),
    [
      ["field:goal", 2, 0],
      ["field:prompt", 1, 1],
      ["field:prompt", 1, 1],
      ["alpaca", 1, 0],
    ],
  );
  await assert.rejects(
    dataCommand([
      "request-pairs",
      "--harmful",
      join(dir, "adv.csv"),
      "--benign",
      join(dir, "xs.csv"),
      "--harmful-where",
      "lable=unsafe",
      "--field",
      "goal,prompt",
      "--out",
      out,
    ]),
    /--harmful-where: no harmful file has a field "lable"/,
  );
  await assert.rejects(
    dataCommand([
      "request-pairs",
      "--harmful",
      join(dir, "adv.csv"),
      "--benign",
      join(dir, "alpaca.jsonl"),
      "--out",
      out,
    ]),
    /adv\.csv: no prompt field found in \[goal, target\]; name it with --field NAME/,
  );
});
