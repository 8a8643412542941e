// The addon's CPU allocator (native/src/cpuAllocator.cc) gives tensors of 256 KiB or more their own mappings and
// reuses a freed one for the next tensor of its size. It must change where memory lives, never what is computed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { full, manualSeed, randn, tidy } from "../src/engine/index.js";

const child = fileURLToPath(new URL("./helpers/allocatorTrainingSteps.ts", import.meta.url));

function trainingSteps(allocator: "reusing" | "default"): { losses: number[]; sums: number[] } {
  const env = { ...process.env };
  if (allocator === "default") env.SAFETUNE_CPU_ALLOCATOR = "default";
  else delete env.SAFETUNE_CPU_ALLOCATOR;
  const r = spawnSync(process.execPath, ["--import", "tsx", child], {
    env,
    encoding: "utf8",
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `child failed (${allocator}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "");
}

test("training steps give bit-identical losses and weights with the reusing allocator and libtorch's own", () => {
  const reusing = trainingSteps("reusing");
  const standard = trainingSteps("default");
  assert.equal(reusing.losses.length, 3);
  assert.ok(reusing.losses.every(Number.isFinite), `losses ${reusing.losses}`);
  assert.deepEqual(reusing, standard);
});

test("a reused large block holds the new tensor's values, not the freed one's", () => {
  manualSeed(1);
  const shape = [512, 512]; // 1 MiB of float32: above the 256 KiB threshold
  for (let round = 0; round < 5; round++) {
    const noise = tidy(() => randn(shape).sum().item());
    assert.ok(Number.isFinite(noise));
    const value = round + 0.5;
    // The block the random tensor freed is the one this tensor of the same size gets back.
    const filled = full(shape, value);
    const values = filled.toArray();
    assert.equal(values.length, 512 * 512);
    assert.ok(
      values.every((v) => v === value),
      `round ${round}: a value other than ${value}`,
    );
    filled.dispose();
  }
});

test("a tensor a few rows smaller, served by the same size class's block, holds its own values", () => {
  // 512 x 512 and 504 x 512 float32 (1 MiB and 1008 KiB) round up to the same block size class.
  for (const rows of [512, 504, 510, 512, 500]) {
    const noise = tidy(() => randn([512, 512]).sum().item());
    assert.ok(Number.isFinite(noise));
    const filled = full([rows, 512], rows);
    const values = filled.toArray();
    assert.equal(values.length, rows * 512);
    assert.ok(
      values.every((v) => v === rows),
      `${rows} rows: a value other than ${rows}`,
    );
    filled.dispose();
  }
});
