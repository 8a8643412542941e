// safetune merge: an adapter folded into its base generates what the base with the adapter applied generates;
// an adapter folder given where a model folder goes loads its base with the adapter folded in.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { noGrad, tensor, tidy } from "../src/engine/index.js";
import { generateTokens } from "../src/generate/generate.js";
import { loadModel } from "../src/model/loadModel.js";
import { attachAdapter, createLora } from "../src/model/lora.js";
import { loadAdapter, saveAdapter } from "../src/model/loraFiles.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { maxAbsDiff, REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");
const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-merge-");
process.on("exit", cleanup);

const PROMPTS = [
  [5, 17, 42, 99],
  [3, 250, 7],
];

function greedy(model: TransformerModel): number[][] {
  return generateTokens(model, PROMPTS, { maxNewTokens: 12, stopTokenIds: [] }).map((g) => g.tokens);
}

test("merge: the merged folder generates the same tokens as the adapter applied at load time", () => {
  const base = join(ROOT, "base");
  const adapterDir = join(ROOT, "adapter");
  const merged = join(ROOT, "merged");
  const model = createScratchModel(base, { vocabSize: 300, seed: 1 });
  // A trained-looking adapter: B is not zero, and v_proj has its own alpha (PEFT's alpha_pattern).
  const adapter = createLora(model, {
    r: 4,
    alpha: 8,
    targetModules: ["q_proj", "v_proj", "up_proj"],
    alphaPattern: { v_proj: 32 },
  });
  noGrad(() => {
    for (const pair of adapter.modules.values()) pair.b.uniform_(-0.5, 0.5);
  });
  saveAdapter(adapter, adapterDir, { baseModel: base });
  adapter.dispose();
  model.dispose();

  const r = spawnSync(process.execPath, [BIN, "merge", "--adapter", adapterDir, "--out", merged], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /merge: .* model written to .*merged/);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json"])
    assert.ok(existsSync(join(merged, f)), f);
  assert.ok(!existsSync(join(merged, "adapter_config.json")));

  const withAdapter = loadModel(base);
  const plain = greedy(withAdapter);
  const applied = loadAdapter(adapterDir, withAdapter);
  attachAdapter(withAdapter, applied);
  const expected = greedy(withAdapter);
  assert.notDeepEqual(expected, plain, "the adapter changes what is generated");
  const mergedModel = loadModel(merged);
  assert.deepEqual(greedy(mergedModel), expected);
  // the adapter folder itself, given as a model, is its base with the adapter folded in
  const asModel = loadModel(adapterDir);
  assert.deepEqual(greedy(asModel), expected);
  tidy(() => {
    const ids = tensor([PROMPTS[0] as number[]], undefined, { dtype: "int64" });
    const input = withAdapter.forward(ids);
    assert.ok(maxAbsDiff(mergedModel.forward(ids), input) < 1e-4);
    assert.ok(maxAbsDiff(asModel.forward(ids), input) < 1e-4);
  });
  for (const m of [withAdapter, mergedModel, asModel]) m.dispose();
  applied.dispose();
});

test("merge without --model and an adapter that names no base: one line saying what to pass", () => {
  const r = spawnSync(
    process.execPath,
    [BIN, "merge", "--adapter", join(ROOT, "nothing"), "--out", join(ROOT, "x")],
    {
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^safetune: .*adapter_config\.json: missing/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});
