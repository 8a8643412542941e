// Pipelines: parsing and its one-line errors, references, the plan, and caching by hash across reruns
// (cheap data stages only; the trained stages run in pipelineRun.test.ts and demo.test.ts).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PipelineError } from "../src/pipeline/errors.js";
import { planPipeline } from "../src/pipeline/plan.js";
import { runPipeline } from "../src/pipeline/runPipeline.js";
import { readStageState, writeStageState } from "../src/pipeline/stageState.js";
import { loadPipeline, parsePipeline } from "../src/workflows/pipelines.js";
import { STAGE_KINDS } from "../src/workflows/stageKinds.js";
import { REPO_ROOT, SHARED, tmpDir } from "./helpers/fixtures.js";

const SMALL_WORLD = {
  base: 200,
  baseHarmful: 40,
  baseLookAlikes: 20,
  helpful: 100,
  safety: 40,
  preferences: 40,
  raftPrompts: 20,
  labelled: 40,
  evalHarmful: 16,
  evalBenign: 10,
  evalTasks: 12,
};

function dataPipeline(workdir: string, extra: Record<string, unknown> = {}) {
  return {
    name: "data-only",
    workdir,
    vars: { safety: 8 },
    stages: {
      world: { kind: "world", seed: 3, sizes: SMALL_WORLD },
      tokenizer: { kind: "tokenizer", corpus: ["${world}/base.jsonl"], vocabSize: 300 },
      mix: {
        kind: "mix",
        base: { path: "${world}/helpful.jsonl" },
        extra: { path: "${world}/safety.jsonl" },
        count: "${vars.safety}",
      },
      ...extra,
    },
  };
}

const quiet = { log: () => {} };

function expectError(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    assert.equal(err.message.includes("\n"), false, "one line");
    return true;
  });
}

test("pipeline files: errors name the stage and the field in one line", (t) => {
  const dir = tmpDir(t);
  const base = dataPipeline(dir);
  expectError(
    () => parsePipeline({ ...base, stages: {} }, "p.yaml"),
    /p\.yaml: stages: a pipeline needs at least one stage/,
  );
  expectError(
    () => parsePipeline({ ...base, stages: { a: { kind: "bake" } } }, "p.yaml"),
    /p\.yaml: stages\.a: kind: expected one of world, tokenizer, mix, pretrain, sft, reward, raft, dpo, eval, report, got "bake"/,
  );
  expectError(
    () =>
      parsePipeline(
        { ...base, stages: { a: { kind: "report", runs: ["${b}"] }, b: { kind: "world" } } },
        "p.yaml",
      ),
    /stages\.a: refers to \$\{b\}, which comes later/,
  );
  expectError(
    () => parsePipeline({ ...base, stages: { a: { kind: "report", runs: ["${nope}/x"] } } }, "p.yaml"),
    /stages\.a: refers to \$\{nope\}, which is not a stage/,
  );
  expectError(
    () => parsePipeline({ ...base, extra: 1 }, "p.yaml"),
    /p\.yaml: \(top level\): Unrecognized key/,
  );
  // Config errors surface in the plan, before anything runs.
  const badVar = parsePipeline({ ...base, vars: {} }, "p.yaml");
  expectError(
    () => planPipeline(badVar),
    /stages\.mix: count: unknown variable \$\{vars\.safety\}.*--var safety=VALUE/,
  );
  const badField = parsePipeline(
    dataPipeline(dir, { sft: { kind: "sft", model: "${tokenizer}", data: { train: "x" }, lr: 1 } }),
    "p.yaml",
  );
  expectError(() => planPipeline(badField), /p\.yaml: stages\.sft: \(stage\): Unrecognized key: "lr"/);
  const badType = parsePipeline(dataPipeline(dir), "p.yaml", {
    set: [["stages.tokenizer.vocabSize", "many"]],
  });
  expectError(() => planPipeline(badType), /stages\.tokenizer: vocabSize: /);
  expectError(
    () => planPipeline(parsePipeline(base, "p.yaml"), { only: "nope" }),
    /--only nope: no such stage \(stages: world, tokenizer, mix\)/,
  );
});

test("defaults reach the training stages under their own settings; vars keep their type", (t) => {
  const dir = tmpDir(t);
  const doc = dataPipeline(dir, {
    sft: { kind: "sft", model: "${tokenizer}", data: { train: "${mix}" }, training: { lr: 0.01 } },
  });
  const pipeline = parsePipeline(
    { ...doc, defaults: { maxLength: 64, training: { lr: 0.5, epochs: 3 } } },
    "p.yaml",
  );
  const plan = planPipeline(pipeline);
  const sft = plan.find((p) => p.stage.name === "sft");
  const config = sft?.config as {
    maxLength: number;
    training: { lr: number; epochs: number };
    data: { train: string };
  };
  assert.equal(config.maxLength, 64);
  assert.equal(config.training.lr, 0.01, "the stage's own setting wins");
  assert.equal(config.training.epochs, 3, "defaults fill in the rest");
  assert.equal(config.data.train, join(dir, "mix", "data.jsonl"), "${mix} is the mix stage's output file");
  assert.deepEqual(sft?.stage.needs, ["tokenizer", "mix"]);
  const mix = plan.find((p) => p.stage.name === "mix")?.config as { count: number };
  assert.equal(mix.count, 8, "a whole-string ${vars.X} keeps the variable's number type");
});

test("stages are cached by hash: a rerun skips them, an edit reruns only what depends on it", async (t) => {
  const dir = tmpDir(t);
  const first = await runPipeline(parsePipeline(dataPipeline(dir), "p.yaml"), quiet);
  assert.deepEqual(
    first.stages.map((s) => s.action),
    ["run", "run", "run"],
  );
  assert.ok(existsSync(join(dir, "world", "eval", "harmful.jsonl")), "the world's files");
  assert.ok(existsSync(join(dir, "tokenizer", "tokenizer.json")), "the tokenizer");
  const mixed = readFileSync(join(dir, "mix", "data.jsonl"), "utf8")
    .trim()
    .split("\n");
  const figures = first.stages[2]?.figures ?? {};
  assert.equal(figures.extra, 8);
  assert.equal(mixed.length, (figures.base ?? 0) + 8);
  const tokenizerTime = statSync(join(dir, "tokenizer", "tokenizer.json")).mtimeMs;

  const again = await runPipeline(parsePipeline(dataPipeline(dir), "p.yaml"), quiet);
  assert.deepEqual(
    again.stages.map((s) => s.action),
    ["cached", "cached", "cached"],
  );
  assert.equal(
    again.stages[2]?.summary,
    first.stages[2]?.summary,
    "a cached stage reports its recorded summary",
  );

  // A new value for the mix's variable reruns the mix only.
  const edited = parsePipeline(dataPipeline(dir), "p.yaml", { vars: [["safety", "12"]] });
  const plan = planPipeline(edited);
  assert.deepEqual(
    plan.map((p) => [p.action, p.reason]),
    [
      ["cached", plan[0]?.reason],
      ["cached", plan[1]?.reason],
      ["rerun", "config or inputs changed"],
    ],
  );
  await runPipeline(edited, quiet);
  assert.equal(
    readFileSync(join(dir, "mix", "data.jsonl"), "utf8")
      .trim()
      .split("\n").length,
    (figures.base ?? 0) + 12,
  );
  assert.equal(
    statSync(join(dir, "tokenizer", "tokenizer.json")).mtimeMs,
    tokenizerTime,
    "the tokenizer was not retrained",
  );

  // A change upstream (the world's seed) reruns everything that reads from it.
  const reseeded = parsePipeline(dataPipeline(dir), "p.yaml", {
    vars: [["safety", "12"]],
    set: [["stages.world.seed", "4"]],
  });
  assert.deepEqual(
    planPipeline(reseeded).map((p) => p.action),
    ["rerun", "rerun", "rerun"],
  );

  // So does a new revision of the world generator: the same config, different content.
  const worldKind = STAGE_KINDS.byName.world;
  assert.ok(worldKind?.revision !== undefined, "the world stage has a revision");
  const revision = worldKind.revision;
  worldKind.revision = revision + 1;
  try {
    assert.deepEqual(
      planPipeline(edited).map((p) => p.action),
      ["rerun", "rerun", "rerun"],
    );
  } finally {
    worldKind.revision = revision;
  }
  assert.deepEqual(
    planPipeline(edited).map((p) => p.action),
    ["cached", "cached", "cached"],
  );
});

test("--only reruns one stage and marks its dependants stale; --from reruns from a stage on; a stopped stage resumes", async (t) => {
  const dir = tmpDir(t);
  const pipeline = parsePipeline(dataPipeline(dir), "p.yaml");
  await runPipeline(pipeline, quiet);
  const only = await runPipeline(pipeline, { ...quiet, only: "world" });
  assert.deepEqual(
    only.stages.map((s) => s.action),
    ["rerun", "skip", "skip"],
  );
  // The world was regenerated (same files, new run id): the stages built from the old one are stale.
  assert.deepEqual(
    planPipeline(pipeline).map((p) => [p.action, p.reason]),
    [
      ["cached", planPipeline(pipeline)[0]?.reason],
      ["rerun", "world was rerun since"],
      ["rerun", "world was rerun since"],
    ],
  );
  await runPipeline(pipeline, quiet);
  assert.deepEqual(
    planPipeline(pipeline, { from: "tokenizer" }).map((p) => p.action),
    ["cached", "rerun", "rerun"],
  );
  // A stage marked running with the same config (a crash or Ctrl-C) resumes rather than starting over.
  const state = readStageState(join(dir, "mix"));
  assert.ok(state, "mix has a state file");
  writeStageState(join(dir, "mix"), { ...state, state: "running" });
  assert.deepEqual(
    planPipeline(pipeline).map((p) => p.action),
    ["cached", "cached", "resume"],
  );
  await assert.rejects(
    () => runPipeline(parsePipeline(dataPipeline(join(dir, "other")), "p.yaml"), { ...quiet, only: "mix" }),
    /--only mix: it needs world, which has not finished/,
  );
});

test("an edited input file outside the pipeline's folder reruns the stage that reads it", async (t) => {
  const dir = tmpDir(t);
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, "one two three\nfour five six\n");
  const doc = {
    name: "inputs",
    workdir: join(dir, "work"),
    stages: { tok: { kind: "tokenizer", corpus: [corpus], vocabSize: 300 } },
  };
  await runPipeline(parsePipeline(doc, "p.yaml"), quiet);
  assert.equal(planPipeline(parsePipeline(doc, "p.yaml"))[0]?.action, "cached");
  writeFileSync(corpus, "one two three\nfour five six seven\n");
  assert.equal(planPipeline(parsePipeline(doc, "p.yaml"))[0]?.action, "rerun");
});

test("examples/safe-to-serve.yaml: the paper's recipe plans on the public data (safetune pipeline run --dry-run)", (t) => {
  const dir = tmpDir(t);
  const file = join(REPO_ROOT, "examples", "safe-to-serve.yaml");
  const pipeline = loadPipeline(file, {
    vars: [
      ["data", join(SHARED, "data")],
      ["model", "models/x"],
    ],
    workdir: dir,
  });
  const plan = planPipeline(pipeline);
  assert.deepEqual(
    plan.map((p) => p.stage.name),
    [
      "sit-data",
      "sit",
      "dpo",
      "reward",
      "cost",
      "raft",
      "eval-base",
      "eval-sit",
      "eval-raft",
      "eval-dpo",
      "report",
    ],
  );
  const dpo = plan.find((p) => p.stage.name === "dpo")?.config as {
    dpo: { beta: number };
    lora: { r: number; alpha: number; targetModules: string[] };
    training: { lr: number; schedule: string; epochs: number };
  };
  assert.equal(dpo.dpo.beta, 0.1);
  assert.deepEqual(dpo.lora, {
    r: 8,
    alpha: 32,
    targetModules: ["q_proj", "k_proj", "v_proj"],
    dropout: 0,
    rslora: false,
  });
  assert.deepEqual([dpo.training.lr, dpo.training.schedule, dpo.training.epochs], [5e-5, "cosine", 2]);
  const sitData = plan.find((p) => p.stage.name === "sit-data")?.config as { count: number };
  assert.equal(sitData.count, 2483);
  const evalDpo = plan.find((p) => p.stage.name === "eval-dpo");
  assert.deepEqual(evalDpo?.stage.needs, ["cost", "reward", "dpo"]);
  assert.equal((evalDpo?.config as { adapter?: string } | undefined)?.adapter, join(dir, "dpo", "model"));

  const cli = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, "bin", "safetune.js"),
      "pipeline",
      "run",
      file,
      "--dry-run",
      "--workdir",
      dir,
      "--var",
      `data=${join(SHARED, "data")}`,
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /pipeline safe-to-serve/);
  assert.match(cli.stdout, /eval-dpo\s+eval\s+run\s+[0-9a-f]{16}\s+not run yet <- cost, reward, dpo/);
  assert.match(cli.stdout, /11 of 11 stages would run/);
});

test("safetune demo: --print shows its pipeline file, --dry-run its plan, a bad --scale one line", (t) => {
  const dir = tmpDir(t);
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, "bin", "safetune.js"), "demo", ...args], {
      encoding: "utf8",
      timeout: 60_000,
    });
  const printed = cli(["--print"]);
  assert.equal(printed.status, 0, printed.stderr);
  assert.match(printed.stdout, /^name: demo\n/);
  assert.match(printed.stdout, /\n {2}eval-dpo:\n {4}kind: eval\n {4}seeds: true\n {4}model: \$\{dpo\}\n/);
  assert.match(printed.stdout, /\nseeds:\n {2}- 0\n {2}- 1\n {2}- 2\nthreads: 1\n/);
  const plan = cli(["--dry-run", "--workdir", dir]);
  assert.equal(plan.status, 0, plan.stderr);
  assert.match(plan.stdout, /^pipeline demo \(builtin:demo --scale small\) in /);
  assert.match(plan.stdout, /\n {2}sit-100@2 +sft +run +[0-9a-f]{16} +not run yet <- base, sit-mix-100@2\n/);
  // world, tokenizer, base, reward, cost, eval-base and report once; 3 x 5 aligned runs of 2-3 stages each.
  assert.match(
    plan.stdout,
    /\n {2}report +report +run +[0-9a-f]{16} +not run yet <- eval-base, eval-sit-25@0, /,
  );
  assert.match(plan.stdout, /46 of 46 stages would run\n$/);
  const two = cli(["--dry-run", "--seeds", "2", "--workdir", dir]);
  assert.match(two.stdout, /\n {2}dpo@1 +dpo +run/);
  assert.doesNotMatch(two.stdout, /dpo@2/);
  assert.match(two.stdout, /33 of 33 stages would run\n$/);
  // --vary-base: the base, reward and cost models (and the base's evaluation) once per seed too.
  const vary = cli(["--dry-run", "--vary-base", "--workdir", dir]);
  assert.match(vary.stdout, /\n {2}reward@2 +reward +run +[0-9a-f]{16} +not run yet <- base@2, world\n/);
  assert.match(vary.stdout, /\n {2}dpo@1 +dpo +run +[0-9a-f]{16} +not run yet <- base@1, world\n/);
  assert.match(
    vary.stdout,
    /\n {2}report +report +run +[0-9a-f]{16} +not run yet <- eval-base@0, eval-base@1, eval-base@2, /,
  );
  const medium = cli(["--dry-run", "--scale", "medium", "--workdir", dir]);
  assert.match(medium.stdout, /\n {2}sit-800@0 +sft +run/, "medium sweeps more demonstrations");
  const bad = cli(["--scale", "huge"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^safetune: --scale: expected small, medium, large, got 'huge'$/m);
});
