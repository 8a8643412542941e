// Stages in parallel: `jobs: 2` runs ready stages at once, each in its own process with a fixed number of
// intra-op threads, and gives the same stage hashes and the same bytes as one stage at a time in this process.
// Stopping it keeps what finished; the rerun resumes the rest.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { runPipeline } from "../src/pipeline/runPipeline.js";
import { criticalPathPriorities } from "../src/pipeline/schedule.js";
import { readStageState } from "../src/pipeline/stageState.js";
import { parsePipeline } from "../src/workflows/pipelines.js";
import { tmpDir } from "./helpers/fixtures.js";

const WORLD = {
  base: 120,
  baseHarmful: 20,
  baseLookAlikes: 10,
  helpful: 60,
  safety: 20,
  preferences: 20,
  raftPrompts: 10,
  labelled: 10,
  evalHarmful: 6,
  evalBenign: 4,
  evalTasks: 4,
};

function doc(workdir: string) {
  return {
    name: "jobs",
    workdir,
    seeds: [0, 1],
    threads: 1,
    defaults: { maxLength: 64, training: { batchSize: 4, maxSteps: 3, saveEvery: 0, lr: 1e-3 } },
    stages: {
      world: { kind: "world", sizes: WORLD },
      tokenizer: { kind: "tokenizer", corpus: ["${world}/base.jsonl"], vocabSize: 300 },
      base: { kind: "pretrain", tokenizer: "${tokenizer}", data: { train: "${world}/base.jsonl" } },
      mix: {
        kind: "mix",
        seeds: true,
        base: { path: "${world}/helpful.jsonl" },
        extra: { path: "${world}/safety.jsonl" },
        count: 6,
      },
      sit: { kind: "sft", seeds: true, model: "${base}", data: { train: "${mix}" } },
    },
  };
}

/** Every output file's digest, by path inside the workdir (logs, timings and run ids aside). */
function digests(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(safetensors|jsonl|json)$/.test(name) && !/^(stage|metrics|trainer_state|run)\b/.test(name))
        out[relative(root, path)] = createHash("sha256")
          .update(readFileSync(path))
          .digest("hex")
          .slice(0, 16);
    }
  };
  walk(root);
  return out;
}

test("--jobs 2 (a process per stage) gives the same hashes and outputs as --jobs 1; a stopped run resumes", async (t) => {
  const dir = tmpDir(t);
  const one = parsePipeline(doc(join(dir, "one")), "jobs.yaml");
  const lines1: string[] = [];
  const r1 = await runPipeline(one, { jobs: 1, log: (l) => lines1.push(l) });
  assert.equal(r1.jobs, 1);

  const hashes = new Map(one.stages.map((s) => [s.name, readStageState(join(dir, "one", s.name))?.hash]));
  const d1 = digests(join(dir, "one"));
  assert.ok(
    Object.keys(d1).some((p) => p.startsWith("sit@1/model/model.safetensors")),
    Object.keys(d1).join(" "),
  );
  // The two seeds trained differently.
  assert.notEqual(d1["sit@0/model/model.safetensors"], d1["sit@1/model/model.safetensors"]);

  // Everything again, two stages at a time in their own processes: the same bytes.
  const lines2: string[] = [];
  const r2 = await runPipeline(one, { jobs: 2, from: "world", log: (l) => lines2.push(l) });
  assert.equal(r2.jobs, 2);
  assert.match(lines2[0] ?? "", /7 of 7 stages to run in .*, 2 at a time \(1 thread each\)$/);
  // Stage output arrives labelled with its stage.
  assert.ok(
    lines2.some((l) => /^\[\d\/7 sit@1\] /.test(l)),
    `labelled lines from sit@1: ${lines2.join("\n")}`,
  );
  for (const s of one.stages) {
    const state = readStageState(join(dir, "one", s.name));
    assert.equal(state?.state, "done", s.name);
    assert.equal(state?.hash, hashes.get(s.name), `${s.name}: same hash`);
    assert.equal(state?.threads, 1);
  }
  assert.deepEqual(digests(join(dir, "one")), d1);

  // Stopped once the base has started: nothing after it finished, the rerun does the rest.
  const three = parsePipeline(doc(join(dir, "three")), "jobs.yaml");
  const controller = new AbortController();
  await assert.rejects(
    runPipeline(three, {
      jobs: 2,
      signal: controller.signal,
      log: (l) => {
        if (l.includes("] base (pretrain)")) setTimeout(() => controller.abort(), 200);
      },
    }),
    (err: Error) => err.name === "AbortError",
  );
  assert.equal(readStageState(join(dir, "three", "world"))?.state, "done");
  assert.notEqual(readStageState(join(dir, "three", "sit@0"))?.state, "done");
  const resumed = await runPipeline(three, { jobs: 2, log: () => {} });
  assert.equal(resumed.stages.find((s) => s.name === "world")?.action, "cached");
  // Mixtures name their source files (another folder here); the weights must match.
  const weights = (d: Record<string, string>) =>
    Object.fromEntries(Object.entries(d).filter(([p]) => p.endsWith(".safetensors")));
  assert.deepEqual(weights(digests(join(dir, "three"))), weights(d1));
});

test("a stage that fails in its process fails the pipeline with one line naming it; the others' work is kept", async (t) => {
  const dir = tmpDir(t);
  const pipeline = parsePipeline(
    {
      name: "fails",
      workdir: dir,
      stages: {
        world: { kind: "world", sizes: WORLD },
        broken: {
          kind: "mix",
          seeds: [0, 1],
          base: { path: join(dir, "no-such-file.jsonl") },
          extra: { path: "${world}/safety.jsonl" },
          count: 2,
        },
      },
    },
    "fails.yaml",
  );
  await assert.rejects(runPipeline(pipeline, { jobs: 2, log: () => {} }), (err: Error) => {
    assert.equal(err.name, "PipelineError");
    assert.match(err.message, /^broken@[01]: .*no-such-file\.jsonl/);
    assert.equal(err.message.includes("\n"), false, err.message);
    return true;
  });
  assert.equal(readStageState(join(dir, "world"))?.state, "done");
  assert.equal(readStageState(join(dir, "broken@0"))?.state, "running");
});

test("parallel stages start critical-path first: the stage with the heaviest chain behind it", () => {
  const p = criticalPathPriorities([
    { name: "world", kind: "world", needs: [] },
    { name: "base", kind: "pretrain", needs: ["world"] },
    { name: "mix", kind: "mix", needs: ["world"] },
    { name: "sit", kind: "sft", needs: ["base", "mix"] },
    { name: "reward", kind: "reward", needs: ["base"] },
    { name: "dpo", kind: "dpo", needs: ["base"] },
    { name: "eval-sit", kind: "eval", needs: ["sit", "reward"] },
    { name: "eval-dpo", kind: "eval", needs: ["dpo", "reward"] },
  ]);
  const at = (n: string) => p.get(n) ?? Number.NaN;
  assert.ok(at("dpo") > at("reward") && at("reward") > at("sit"), JSON.stringify([...p]));
  // A stage outranks everything that waits for it.
  assert.ok(at("base") > at("dpo") && at("world") > at("base") && at("mix") > at("sit"));
  assert.equal(at("eval-dpo"), at("eval-sit"));
});
