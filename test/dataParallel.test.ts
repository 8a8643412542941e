// Data-parallel training over c10d: two ranks on loopback must end with the weights one process reaches on the
// same global batches (SFT and DPO); a rank killed mid-run fails the whole job with a message naming it, the last
// checkpoint stays usable, and the run resumes from it with a different number of processes.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { c10dAvailable } from "../src/distributed/processGroup.js";
import { readSafetensorsFile } from "../src/model/safetensors.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { gradientBuckets, shardIndices } from "../src/train/dataParallel.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");
const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-ddp-");
process.on("exit", cleanup);
const BASE = join(ROOT, "base");
const SFT_DATA = join(ROOT, "sft.jsonl");
const DPO_DATA = join(ROOT, "dpo.jsonl");
const skip = c10dAvailable()
  ? false
  : "this safetune build has no c10d (install libgloo-dev, npm run build:native)";

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The Euclidean distance between two safetensors files' weights (all tensors as one vector), and the largest gap. */
function distance(a: string, b: string): { norm: number; max: number } {
  const left = readSafetensorsFile(a);
  const right = readSafetensorsFile(b);
  const floats = (data: Uint8Array) =>
    new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  let squares = 0;
  let max = 0;
  for (const [name, entry] of left.tensors) {
    const other = right.tensors.get(name);
    assert.ok(other, `${name} in both models`);
    const x = floats(entry.data);
    const y = floats(other.data);
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs((x[i] as number) - (y[i] as number));
      squares += d * d;
      max = Math.max(max, d);
    }
  }
  return { norm: Math.sqrt(squares), max };
}

const weights = (run: string) => join(ROOT, run, "model", "model.safetensors");

before(() => {
  createScratchModel(BASE, { vocabSize: 400, seed: 1 }).dispose();
  const sft = Array.from({ length: 40 }, (_, i) => ({
    instruction: `Add ${i} and ${i + 3}.${" Show the steps.".repeat(i % 3)}`,
    output: `${i} plus ${i + 3} is ${2 * i + 3}.`,
  }));
  writeFileSync(SFT_DATA, sft.map((r) => JSON.stringify(r)).join("\n"));
  const dpo = Array.from({ length: 40 }, (_, i) => ({
    prompt: `How do I do task ${i}?`,
    chosen: `Here is how to do task ${i}: step one, step two.`,
    rejected: `No.${" Never.".repeat(i % 4)}`,
  }));
  writeFileSync(DPO_DATA, dpo.map((r) => JSON.stringify(r)).join("\n"));
});

test("shards and gradient buckets", () => {
  assert.deepEqual(shardIndices([7, 3, 9, 1, 5], 0, 2), [7, 9, 5]);
  assert.deepEqual(shardIndices([7, 3, 9, 1, 5], 1, 2), [3, 1]);
  assert.deepEqual(gradientBuckets([10, 10, 30, 5], 200), [[0, 1, 2], [3]], "float32: 4 bytes an element");
  assert.deepEqual(gradientBuckets([100, 1], 40), [[0], [1]], "a parameter larger than a bucket goes alone");
});

describe("two ranks reach one process's weights", { skip }, () => {
  for (const [kind, data, extra] of [
    ["sft", SFT_DATA, []],
    // Both read one reference cache: its sharded computation is checked on its own below.
    ["dpo", DPO_DATA, ["--beta", "0.1", "--set", `dpo.referenceCache=${join(ROOT, "reference")}`]],
  ] as const) {
    test(`${kind}: --nproc 2 equals one process on the same global batches`, () => {
      const common = [
        kind,
        "--model",
        BASE,
        "--data",
        data,
        "--batch-size",
        "4",
        "--max-steps",
        "6",
        "--lr",
        "0.003",
        "--max-length",
        "48",
        ...extra,
      ];
      const single = cli([...common, "--out", join(ROOT, `${kind}-1`)]);
      assert.equal(single.code, 0, single.stderr);
      const double = cli([...common, "--out", join(ROOT, `${kind}-2`), "--nproc", "2"]);
      assert.equal(double.code, 0, double.stderr);
      assert.match(double.stderr, /2 process\(es\) on node 0 of 1: ranks 0 \(pid \d+\), 1 \(pid \d+\)/);
      const gap = distance(weights(`${kind}-1`), weights(`${kind}-2`));
      const moved = distance(weights(`${kind}-1`), join(BASE, "model.safetensors"));
      // Float noise differs between one process and two (batch shapes, threads); Adam's first steps turn the noise
      // on near-zero gradients into steps of up to lr. Ranks training on different data would differ by the
      // order of the whole movement.
      assert.ok(moved.norm > 0.1, `training moved the weights (by ${moved.norm})`);
      assert.ok(
        gap.norm < 1e-3 * moved.norm,
        `one process and two ranks are ${gap.norm} apart (largest gap ${gap.max}); training moved them ${moved.norm}`,
      );
      // Rank 0 alone wrote the logs: one metrics line per step.
      const lines = readFileSync(join(ROOT, `${kind}-2`, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n");
      assert.equal(lines.filter((l) => l.includes('"loss"')).length, 6);
    });
  }
});

test("DPO reference log-probs computed by two ranks and gathered equal one process's", { skip }, () => {
  const run = (name: string, nproc: string[]) => {
    const cache = join(ROOT, `reference-${name}`);
    const r = cli([
      "dpo",
      "--model",
      BASE,
      "--data",
      DPO_DATA,
      "--batch-size",
      "4",
      "--max-steps",
      "1",
      "--max-length",
      "48",
      "--out",
      join(ROOT, `reference-run-${name}`),
      "--set",
      `dpo.referenceCache=${cache}`,
      ...nproc,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const file = readdirSync(cache).find((f) => f.startsWith("reference-logps-"));
    assert.ok(file, `a reference cache in ${cache}`);
    return JSON.parse(readFileSync(join(cache, file), "utf8")) as Record<string, number[]>;
  };
  const one = run("one", []);
  const two = run("two", ["--nproc", "2"]);
  for (const key of ["chosen", "rejected", "chosenLengths", "rejectedLengths"]) {
    const a = one[key] ?? [];
    const b = two[key] ?? [];
    assert.equal(b.length, 40, `${key}: one value per pair`);
    const gap = Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN)) / Math.max(1, Math.abs(v))));
    assert.ok(gap < 1e-5, `${key}: relative gap ${gap}`);
  }
});

describe("a rank that dies", { skip }, () => {
  test("fails the job naming the rank; the last checkpoint resumes with another world size", async () => {
    const out = join(ROOT, "killed");
    const args = [
      BIN,
      "sft",
      "--model",
      BASE,
      "--data",
      SFT_DATA,
      "--batch-size",
      "2",
      "--epochs",
      "6",
      "--save-every",
      "2",
      "--max-length",
      "48",
      "--out",
      out,
    ];
    const child = spawn(process.execPath, [...args, "--nproc", "2"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const deadline = Date.now() + 120_000;
    const metrics = join(out, "metrics.jsonl");
    while (!(existsSync(metrics) && readFileSync(metrics, "utf8").trim().split("\n").length >= 5)) {
      assert.ok(Date.now() < deadline, `training did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = Number(/1 \(pid (\d+)\)/.exec(stderr)?.[1]);
    assert.ok(pid > 0, `the launcher names rank 1's pid: ${stderr}`);
    process.kill(pid, "SIGKILL");
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r("hung"), 90_000)),
    ]);
    assert.equal(code, 1, `the job fails instead of hanging: ${stderr}`);
    assert.match(stderr, /rank 1 was killed by SIGKILL/);
    assert.equal(
      stderr
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("safetune: rank")).length,
      1,
      stderr,
    );
    // The checkpoint rank 0 wrote last is intact: one process (a different world size) resumes from it and finishes.
    const resumed = cli([...args.slice(1), "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const steps = readFileSync(metrics, "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { step: number }).step);
    assert.equal(steps.filter((step) => step === 1).length, 1, "the resumed run did not start over");
    assert.match(resumed.stdout, /sft: 120 steps/);
  });
});
