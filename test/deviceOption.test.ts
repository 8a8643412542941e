import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { compiledWithCuda, cudaProblem, DeviceError, parseDevice } from "../src/engine/index.js";
import { cliSync } from "./helpers/cliSync.js";
import { fixtureDir, tmpDir } from "./helpers/fixtures.js";

test("parseDevice: cpu, cuda and cuda:N in canonical form; anything else is one DeviceError line", () => {
  assert.equal(parseDevice("cpu"), "cpu");
  assert.equal(parseDevice("CUDA"), "cuda");
  assert.equal(parseDevice("cuda:01"), "cuda:1");
  for (const bad of ["gpu", "cuda:", "cuda:-1", "cpu:0", "mps", ""]) {
    assert.throws(
      () => parseDevice(bad),
      (e: unknown) => {
        assert.ok(e instanceof DeviceError);
        assert.equal(e.message, `device: expected cpu, cuda or cuda:N, got '${bad}'`);
        return true;
      },
    );
  }
});

test("cudaProblem: what a CUDA device needs of the build and the machine", () => {
  const gpus = (count: number) => ({ compiledWithCuda: true, available: count > 0, count });
  assert.equal(cudaProblem("cpu", { compiledWithCuda: false, available: false, count: 0 }), undefined);
  assert.match(
    cudaProblem("cuda", { compiledWithCuda: false, available: false, count: 0 }) ?? "",
    /built without CUDA/,
  );
  assert.match(cudaProblem("cuda:0", gpus(0)) ?? "", /sees no GPU/);
  assert.equal(cudaProblem("cuda:1", gpus(2)), undefined);
  assert.equal(cudaProblem("cuda:2", gpus(2)), "device cuda:2: there are 2 GPUs (cuda:0..cuda:1)");
  assert.equal(cudaProblem("cuda:1", gpus(1)), "device cuda:1: there is 1 GPU (cuda:0)");
});

const LLAMA = fixtureDir("llama");

test("--device is checked before any model loads: generate, eval, serve, export and the trainers answer in one line", (t) => {
  const dir = tmpDir(t);
  const data = join(dir, "pairs.jsonl");
  writeFileSync(data, `${JSON.stringify({ prompt: "p", chosen: "a", rejected: "b" })}\n`);
  const bad: [string, string[], RegExp][] = [
    [
      "generate",
      ["generate", "--model", LLAMA, "--prompt-ids", "1,2", "--device", "tpu"],
      /^safetune: --device: expected cpu, cuda or cuda:N, got 'tpu'$/,
    ],
    ["serve", ["serve", "--model", LLAMA, "--device", "cuda:x"], /--device: expected cpu, cuda or cuda:N/],
    [
      "eval",
      ["eval", "--model", LLAMA, "--out", join(dir, "e"), "--device", "npu"],
      /--device: expected cpu, cuda or cuda:N/,
    ],
    [
      "export",
      ["export", "gguf", "--model", LLAMA, "--out", join(dir, "m.gguf"), "--device", "gpu"],
      /--device: expected/,
    ],
    [
      "dpo",
      ["dpo", "--model", LLAMA, "--data", data, "--out", join(dir, "d"), "--lora", "--device", "gpu"],
      /device.*expected cpu, cuda or cuda:N/,
    ],
    [
      "sft full fine-tuning in bf16",
      ["sft", "--model", LLAMA, "--data", data, "--out", join(dir, "s"), "--dtype", "bf16"],
      /dtype: bfloat16 needs lora/,
    ],
  ];
  if (!compiledWithCuda()) {
    bad.push(
      [
        "generate on cuda without a CUDA build",
        ["generate", "--model", LLAMA, "--prompt-ids", "1,2", "--device", "cuda"],
        /--device cuda: this safetune addon was built without CUDA/,
      ],
      [
        "reward on cuda without a CUDA build",
        ["reward", "--model", LLAMA, "--data", data, "--out", join(dir, "r"), "--device", "cuda:0"],
        /device cuda:0: this safetune addon was built without CUDA/,
      ],
    );
  }
  for (const [what, args, message] of bad) {
    const r = cliSync(args);
    assert.equal(r.code, 1, `${what}: exit code (stderr ${r.stderr})`);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 1, `${what}: one line, got ${r.stderr}`);
    assert.match(lines[0] ?? "", message, what);
  }
});
