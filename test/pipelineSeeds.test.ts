// Seeds as a pipeline axis: a seeded stage expands into one stage per seed, references resolve seed to seed, an
// unseeded report receives every seed's output; the plan gives each seed its own folder and hash.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { PipelineError } from "../src/pipeline/errors.js";
import { compareOrderings } from "../src/pipeline/orderingCheck.js";
import { planPipeline } from "../src/pipeline/plan.js";
import { expandSeeds, type SeedableStage, stageSeeds } from "../src/pipeline/seeds.js";
import { parsePipeline } from "../src/workflows/pipelines.js";
import { tmpDir } from "./helpers/fixtures.js";

function stage(
  name: string,
  raw: Record<string, unknown>,
  seeds?: number[],
  seedField: string | undefined = "training.seed",
): SeedableStage {
  const needs = [...JSON.stringify(raw).matchAll(/\$\{([\w-]+)\}/g)].map((m) => m[1] as string);
  return { name, kind: "k", raw, needs: [...new Set(needs)], seeds, seedField };
}

function expectError(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof PipelineError, `expected a PipelineError, got ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    assert.equal(err.message.includes("\n"), false, "one line");
    return true;
  });
}

test("expandSeeds: one stage per seed, the seed in its config, references resolved seed to seed", () => {
  const stages = [
    stage("base", { data: "x" }),
    stage("sft", { model: "${base}", data: { train: "${mix}/data.jsonl" }, training: { lr: 1 } }, [3, 5]),
    stage("mix", { n: 1 }, [3, 5], "seed"),
    stage("eval", { model: "${sft}", tokenizer: "${base}/tok" }, [3, 5], "seed"),
    stage("report", { runs: ["${base}", "${eval}", "x"], focus: "${base}" }),
  ];
  // mix after sft is not checked here (parsePipeline checks order); expansion only renames.
  const out = expandSeeds(stages, "p.yaml");
  assert.deepEqual(
    out.map((s) => [s.name, s.group, s.seed]),
    [
      ["base", "base", undefined],
      ["sft@3", "sft", 3],
      ["sft@5", "sft", 5],
      ["mix@3", "mix", 3],
      ["mix@5", "mix", 5],
      ["eval@3", "eval", 3],
      ["eval@5", "eval", 5],
      ["report", "report", undefined],
    ],
  );
  const sft5 = out.find((s) => s.name === "sft@5");
  assert.deepEqual(sft5?.raw, {
    model: "${base}",
    data: { train: "${mix@5}/data.jsonl" },
    training: { lr: 1, seed: 5 },
  });
  assert.deepEqual(sft5?.needs, ["base", "mix@5"]);
  assert.deepEqual(out.find((s) => s.name === "mix@3")?.raw, { n: 1, seed: 3 });
  assert.deepEqual(out.find((s) => s.name === "eval@3")?.raw, {
    model: "${sft@3}",
    tokenizer: "${base}/tok",
    seed: 3,
  });
  const report = out.find((s) => s.name === "report");
  assert.deepEqual(report?.raw, { runs: ["${base}", "${eval@3}", "${eval@5}", "x"], focus: "${base}" });
  assert.deepEqual(report?.needs, ["base", "eval@3", "eval@5"]);
  // The written stages are not changed (defaults objects are shared between stages).
  assert.deepEqual(stages[1]?.raw, {
    model: "${base}",
    data: { train: "${mix}/data.jsonl" },
    training: { lr: 1 },
  });
});

test("expandSeeds: what cannot be resolved is a one-line error naming the stage", () => {
  expectError(
    () => expandSeeds([stage("dpo", {}, [0, 1]), stage("eval", { model: "${dpo}" })], "p.yaml"),
    /^p\.yaml: stages\.eval: model: \$\{dpo\} is seeded \(seeds 0, 1\): name it in a list/,
  );
  expectError(
    () =>
      expandSeeds([stage("dpo", {}, [0, 1]), stage("eval", { model: "${dpo}" }, [0, 2], "seed")], "p.yaml"),
    /^p\.yaml: stages\.eval: seed 2 reads \$\{dpo\}, which has no seed 2 \(its seeds: 0, 1\)$/,
  );
  expectError(
    () => expandSeeds([{ ...stage("report", { runs: [] }, [0, 1]), seedField: undefined }], "p.yaml"),
    /stages\.report: seeds: a k stage has nothing to seed/,
  );
  expectError(
    () =>
      expandSeeds(
        [stage("a", {}, [0, 1]), stage("b", {}, [0, 2]), stage("r", { runs: ["${a}:${b}"] })],
        "p.yaml",
      ),
    /stages\.r: runs\.0: \$\{a\} and \$\{b\} have different seeds/,
  );
  expectError(() => stageSeeds([1, 1], [0], "p.yaml: stages.x"), /seeds: each seed once/);
  expectError(() => stageSeeds("3", [0], "p.yaml: stages.x"), /seeds: expected a non-empty list/);
  assert.deepEqual(stageSeeds(true, [4, 7], "w"), [4, 7]);
  assert.equal(stageSeeds(undefined, [4, 7], "w"), undefined);
});

const WORLD = {
  base: 100,
  helpful: 50,
  safety: 20,
  preferences: 20,
  evalHarmful: 8,
  evalBenign: 6,
  evalTasks: 6,
};

function seededDoc(workdir: string) {
  return {
    name: "seeded",
    workdir,
    seeds: [0, 1],
    stages: {
      world: { kind: "world", sizes: WORLD },
      mix: {
        kind: "mix",
        seeds: true,
        base: { path: "${world}/helpful.jsonl" },
        extra: { path: "${world}/safety.jsonl" },
        count: 5,
      },
      sft: { kind: "sft", seeds: true, threads: 1, model: "${world}", data: { train: "${mix}" } },
      report: { kind: "report", runs: ["${sft}"] },
    },
  };
}

test("a seeded pipeline file: seeds: true takes the pipeline's seeds or --seeds N; each seed has its folder and hash", (t) => {
  const dir = tmpDir(t);
  const pipeline = parsePipeline(seededDoc(dir), "seeded.yaml");
  assert.deepEqual(
    pipeline.stages.map((s) => s.name),
    ["world", "mix@0", "mix@1", "sft@0", "sft@1", "report"],
  );
  assert.equal(pipeline.stages.find((s) => s.name === "sft@1")?.threads, 1);
  const plan = planPipeline(pipeline);
  const byName = new Map(plan.map((p) => [p.stage.name, p]));
  const config = (name: string) => byName.get(name)?.config as Record<string, Record<string, unknown>>;
  assert.equal(byName.get("mix@1")?.dir, join(dir, "mix@1"));
  assert.notEqual(byName.get("mix@0")?.hash, byName.get("mix@1")?.hash);
  assert.equal(config("sft@1").training?.seed, 1);
  assert.equal(config("sft@1").data?.train, join(dir, "mix@1", "data.jsonl"));
  assert.deepEqual(config("report").runs, [join(dir, "sft@0", "model"), join(dir, "sft@1", "model")]);
  // --seeds 3 widens every `seeds: true` stage; the unseeded world keeps its hash.
  const three = parsePipeline(seededDoc(dir), "seeded.yaml", { seeds: 3 });
  assert.deepEqual(
    three.stages.filter((s) => s.group === "sft").map((s) => s.name),
    ["sft@0", "sft@1", "sft@2"],
  );
  const plan3 = planPipeline(three);
  assert.equal(plan3.find((p) => p.stage.name === "world")?.hash, byName.get("world")?.hash);
  assert.equal(plan3.find((p) => p.stage.name === "mix@1")?.hash, byName.get("mix@1")?.hash);
  // --only names a stage or every seed of it.
  const only = planPipeline(pipeline, { only: "world" });
  assert.deepEqual(
    only.filter((p) => p.action !== "skip").map((p) => p.stage.name),
    ["world"],
  );
  expectError(
    () => planPipeline(pipeline, { from: "nope" }),
    /^--from nope: no such stage \(stages: world, mix, sft, report\)$/,
  );
  const from = planPipeline(pipeline, { from: "sft" });
  assert.deepEqual(
    from.filter((p) => p.reason === "--from sft").map((p) => p.stage.name),
    ["sft@0", "sft@1", "report"],
  );
});

test("compareOrderings: significant in opposite directions disagrees; n.s. agrees unless its estimate points the other way", () => {
  const c = (a: string, value: number, significant: boolean) => ({
    a,
    b: "B",
    benchmark: "harmful",
    metric: "safe_response_rate",
    significant,
    difference: { value, low: value - 0.05, high: value + 0.05 },
  });
  const first = [c("x", 0.2, true), c("y", 0.2, true), c("z", 0.01, false), c("w", -0.3, true)];
  const second = [c("x", 0.1, true), c("y", -0.2, true), c("z", -0.02, false), c("w", 0.01, false)];
  assert.deepEqual(
    compareOrderings(first, second).map((v) => [v.first, v.second, v.agree]),
    [
      ["a>b", "a>b", true],
      ["a>b", "a<b", false],
      ["n.s.", "n.s.", true],
      ["a<b", "n.s.", false],
    ],
  );
  assert.equal(compareOrderings(first, second.slice(0, 1))[1]?.second, "missing");
});
