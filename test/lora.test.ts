import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AdamW, crossEntropy, liveTensors, tensor, tidy } from "../src/engine/index.js";
import { ModelError } from "../src/model/errors.js";
import { loadModel } from "../src/model/loadModel.js";
import {
  attachAdapter,
  createLora,
  matchesTarget,
  mergeAdapter,
  withAdapterDisabled,
} from "../src/model/lora.js";
import { loadAdapter, saveAdapter } from "../src/model/loraFiles.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../src/model/safetensors.js";
import { expected, fixtureDir, maxAbsDiff, must, tmpDir } from "./helpers/fixtures.js";

const ADAPTER = fixtureDir("lora-adapter");

test("PEFT adapter from the fixture: logits with the adapter match the reference; off gives the base model; merged matches", () => {
  const start = liveTensors();
  const model = loadModel(fixtureDir("llama"));
  const exp = expected("lora-adapter");
  const baseLogits = tidy(() => model.forward(must(exp, "input_ids")));
  const adapter = loadAdapter(ADAPTER, model);
  assert.equal(adapter.modules.size, 4, "q_proj and v_proj in 2 layers");
  assert.deepEqual([...new Set(adapter.scales.values())], [2], "alpha / r of every module");
  attachAdapter(model, adapter);
  tidy(() => {
    const ids = must(exp, "input_ids");
    assert.ok(maxAbsDiff(model.forward(ids), must(exp, "logits")) < 1e-4);
    const off = withAdapterDisabled(model, () => model.forward(ids));
    assert.equal(maxAbsDiff(off, baseLogits), 0, "adapter off = base model");
    assert.equal(adapter.enabled, true, "re-enabled afterwards");
    mergeAdapter(model, adapter);
    assert.equal(model.adapter, undefined);
    assert.ok(maxAbsDiff(model.forward(ids), must(exp, "logits")) < 1e-4, "merged weights");
  });
  for (const t of [...exp.values(), baseLogits]) t.dispose();
  adapter.dispose();
  model.dispose();
  assert.equal(liveTensors(), start);
});

test("saveAdapter writes PEFT's layout, which loads back identically", (t) => {
  const model = loadModel(fixtureDir("llama"));
  const adapter = loadAdapter(ADAPTER, model);
  const dir = tmpDir(t);
  saveAdapter(adapter, dir, { baseModel: "../llama" });
  const config = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
  assert.equal(config.peft_type, "LORA");
  assert.equal(config.r, 4);
  assert.equal(config.lora_alpha, 8);
  assert.deepEqual(config.target_modules, ["q_proj", "v_proj"]);
  const again = loadAdapter(dir, model);
  for (const [name, pair] of adapter.modules) {
    const other = again.modules.get(name);
    assert.ok(other, name);
    assert.deepEqual(other.a.toBytes(), pair.a.toBytes());
    assert.deepEqual(other.b.toBytes(), pair.b.toBytes());
  }
  // The tensors are byte-identical to the fixture's file (PEFT key names, sorted).
  assert.deepEqual(
    readFileSync(join(dir, "adapter_model.safetensors")),
    readFileSync(join(ADAPTER, "adapter_model.safetensors")),
  );
  again.dispose();
  adapter.dispose();
  model.dispose();
});

test("training a fresh LoRA changes only the adapter, lowers the loss, and merges into GPT-2's Conv1D weights", () => {
  for (const name of ["llama", "gpt2"]) {
    const model = loadModel(fixtureDir(name));
    const targets = name === "gpt2" ? ["c_attn", "c_fc"] : ["q_proj", "k_proj", "v_proj"];
    const adapter = createLora(model, { r: 4, alpha: 8, targetModules: targets });
    attachAdapter(model, adapter);
    adapter.training = true;
    const before = new Map([...model.params].map(([k, v]) => [k, v.toBytes()]));
    const ids = tensor([[5, 9, 33, 2, 71, 8, 120, 4, 19, 250]], undefined, { dtype: "int64" });
    const loss = () =>
      tidy(() => {
        const logits = model.forward(ids.narrow(1, 0, 9));
        return crossEntropy(logits.reshape(9, -1), ids.narrow(1, 1, 9).reshape(9));
      });
    const initial = tidy(() => loss().item());
    const optimizer = new AdamW(adapter.parameters(), { lr: 1e-2, weightDecay: 0 });
    for (let step = 0; step < 20; step++) {
      tidy(() => {
        loss().backward();
        optimizer.step();
        optimizer.zeroGrad();
      });
    }
    adapter.training = false;
    const trained = tidy(() => loss().item());
    assert.ok(trained < initial - 0.5, `${name}: loss ${initial} -> ${trained}`);
    for (const [k, v] of model.params)
      assert.deepEqual(v.toBytes(), before.get(k), `${name}: base weight ${k} unchanged`);
    const withAdapter = tidy(() => model.forward(ids).toFloat32Array());
    mergeAdapter(model, adapter);
    const merged = tidy(() => model.forward(ids).toFloat32Array());
    const diff = Math.max(...withAdapter.map((v, i) => Math.abs(v - (merged[i] as number))));
    assert.ok(diff < 1e-4, `${name}: merged logits differ by ${diff}`);
    optimizer.dispose();
    adapter.dispose();
    ids.dispose();
    model.dispose();
  }
});

test("target matching follows PEFT: names, suffixes, or one regular expression", () => {
  assert.ok(matchesTarget("model.layers.0.self_attn.q_proj", ["q_proj"]));
  assert.ok(!matchesTarget("model.layers.0.self_attn.q_proj", ["proj"]));
  assert.ok(matchesTarget("model.layers.1.mlp.up_proj", ".*\\.mlp\\..*_proj"));
  assert.ok(!matchesTarget("model.layers.1.self_attn.q_proj", ".*\\.mlp\\..*_proj"));
  assert.ok(matchesTarget("model.layers.1.mlp.down_proj", "all-linear"));
  assert.ok(matchesTarget("transformer.h.0.attn.c_attn", "all-linear"));
  assert.ok(!matchesTarget("lm_head", "all-linear") && !matchesTarget("score", "all-linear"));
  const model = loadModel(fixtureDir("llama"));
  assert.throws(() => createLora(model, { targetModules: ["nothing"] }), /match no linear layer/);
  assert.equal(createLora(model, { targetModules: ".*\\.mlp\\..*_proj" }).modules.size, 6);
  model.dispose();
});

test("bad adapters: one-line errors naming the file and the problem", (t) => {
  const model = loadModel(fixtureDir("llama"));
  const broken = (mutate: (config: Record<string, unknown>) => void) => {
    const dir = join(tmpDir(t), "adapter");
    mkdirSync(dir);
    copyFileSync(join(ADAPTER, "adapter_model.safetensors"), join(dir, "adapter_model.safetensors"));
    const config = JSON.parse(readFileSync(join(ADAPTER, "adapter_config.json"), "utf8"));
    mutate(config);
    writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(config));
    return dir;
  };
  assert.throws(
    () => loadAdapter(tmpDir(t), model),
    (e: Error) => e instanceof ModelError && /adapter_config\.json: missing/.test(e.message),
  );
  assert.throws(
    () =>
      loadAdapter(
        broken((c) => (c.r = 8)),
        model,
      ),
    /has shape \[4,64\], expected \[8,64\]/,
  );
  assert.throws(
    () =>
      loadAdapter(
        broken((c) => (c.peft_type = "IA3")),
        model,
      ),
    /peft_type 'IA3' is not supported/,
  );
  assert.throws(
    () =>
      loadAdapter(
        broken((c) => delete c.target_modules),
        model,
      ),
    /target_modules/,
  );
  const gpt2 = loadModel(fixtureDir("gpt2"));
  assert.throws(
    () => loadAdapter(ADAPTER, gpt2),
    /module 'model\.layers\.0\.self_attn\.q_proj' does not exist/,
  );
  gpt2.dispose();
  model.dispose();
});

test("PEFT's alpha_pattern and rank_pattern: each module its own rank and scale, kept through save and load", (t) => {
  const model = loadModel(fixtureDir("llama"));
  const exp = expected("lora-adapter");
  const ids = must(exp, "input_ids");
  // alpha_pattern {v_proj: 16} doubles v_proj's scale (16/4 instead of 8/4); so does doubling its B by hand.
  const patterned = join(tmpDir(t), "patterned");
  const doubled = join(tmpDir(t), "doubled");
  for (const dir of [patterned, doubled]) mkdirSync(dir);
  const config = JSON.parse(readFileSync(join(ADAPTER, "adapter_config.json"), "utf8"));
  writeFileSync(
    join(patterned, "adapter_config.json"),
    JSON.stringify({ ...config, alpha_pattern: { v_proj: 16 } }),
  );
  copyFileSync(join(ADAPTER, "adapter_model.safetensors"), join(patterned, "adapter_model.safetensors"));
  writeFileSync(join(doubled, "adapter_config.json"), JSON.stringify(config));
  const { tensors } = readSafetensorsFile(join(ADAPTER, "adapter_model.safetensors"));
  writeSafetensorsFile(
    join(doubled, "adapter_model.safetensors"),
    [...tensors].map(([name, e]) => {
      assert.equal(e.dtype, "F32");
      const values = new Float32Array(e.data.slice().buffer);
      if (/v_proj\.lora_B/.test(name))
        for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * 2;
      return { name, dtype: e.dtype, shape: [...e.shape], data: new Uint8Array(values.buffer) };
    }),
  );
  const logitsWith = (dir: string) => {
    const adapter = loadAdapter(dir, model);
    attachAdapter(model, adapter);
    const logits = tidy(() => model.forward(ids));
    model.adapter = undefined;
    adapter.dispose();
    return logits;
  };
  const [a, b, plain] = [logitsWith(patterned), logitsWith(doubled), logitsWith(ADAPTER)];
  assert.ok(maxAbsDiff(a, b) < 1e-5, "alpha_pattern = B scaled by hand");
  assert.ok(maxAbsDiff(a, plain) > 1e-3, "and it changes the output");
  for (const x of [a, b, plain, ...exp.values()]) x.dispose();

  // rank_pattern: a module's own rank in the tensors it gets, in the saved config, and when loaded back.
  const adapter = createLora(model, {
    r: 4,
    alpha: 8,
    targetModules: ["q_proj", "v_proj"],
    rankPattern: { "layers\\.1\\.self_attn\\.q_proj": 2 },
    alphaPattern: { v_proj: 32 },
  });
  assert.equal(adapter.modules.get("model.layers.1.self_attn.q_proj")?.a.shape[0], 2);
  assert.equal(adapter.modules.get("model.layers.0.self_attn.q_proj")?.a.shape[0], 4);
  assert.equal(adapter.scaleOf("model.layers.1.self_attn.q_proj"), 8 / 2);
  assert.equal(adapter.scaleOf("model.layers.0.self_attn.q_proj"), 8 / 4);
  assert.equal(adapter.scaleOf("model.layers.0.self_attn.v_proj"), 32 / 4);
  const saved = join(tmpDir(t), "ranked");
  saveAdapter(adapter, saved);
  const written = JSON.parse(readFileSync(join(saved, "adapter_config.json"), "utf8"));
  assert.deepEqual(written.rank_pattern, { "layers\\.1\\.self_attn\\.q_proj": 2 });
  assert.deepEqual(written.alpha_pattern, { v_proj: 32 });
  const loaded = loadAdapter(saved, model);
  assert.deepEqual([...loaded.scales], [...adapter.scales]);
  loaded.dispose();
  adapter.dispose();
  model.dispose();
});
