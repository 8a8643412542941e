import assert from "node:assert/strict";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { liveTensors, readTensorFromFile, tidy } from "../src/engine/index.js";
import { loadModel } from "../src/model/loadModel.js";
import { readSafetensorsFile } from "../src/model/safetensors.js";
import { saveModel } from "../src/model/saveModel.js";
import { readWeightHeaders } from "../src/model/weightsMatchConfig.js";
import { fixtureDir, maxAbsDiff, tmpDir } from "./helpers/fixtures.js";

test("readTensorFromFile reads a tensor's bytes at a position straight into its storage", (t) => {
  const file = join(tmpDir(t), "bytes.bin");
  const values = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
  const prefix = new Uint8Array(5).fill(7); // an unaligned position
  writeFileSync(file, Buffer.concat([prefix, Buffer.from(values.buffer)]));
  const fd = openSync(file, "r");
  try {
    const x = readTensorFromFile(fd, 5, [3, 4], "float32");
    assert.deepEqual([...x.shape], [3, 4]);
    assert.deepEqual([...x.toFloat32Array()], [...values]);
    x.dispose();
    assert.throws(() => readTensorFromFile(fd, 9, [3, 4], "float32"), /file ended after 44 of 48 bytes/);
  } finally {
    closeSync(fd);
  }
});

test("weights on disk are loaded bit for bit, from every shard, with each header's position", (t) => {
  const start = liveTensors();
  const source = loadModel(fixtureDir("llama"));
  const dir = join(tmpDir(t), "sharded");
  saveModel(source, dir, { maxShardBytes: 64 * 1024 }); // several shards
  const headers = readWeightHeaders(dir);
  assert.ok(new Set([...headers.values()].map((h) => h.file)).size > 2, "more than two shard files");
  const loaded = loadModel(dir);
  for (const [name, weight] of source.params) {
    assert.equal(maxAbsDiff(loaded.param(name), weight), 0, name);
  }
  source.dispose();
  loaded.dispose();
  assert.equal(liveTensors(), start);
});

test("bf16 weights loaded as bfloat16 stay 2 bytes a parameter and hold the file's exact bits", () => {
  const dir = fixtureDir("llama-bf16");
  const model = loadModel(dir, { dtype: "bfloat16" });
  const file = readSafetensorsFile(join(dir, "model.safetensors"));
  for (const [name, weight] of model.params) {
    assert.equal(weight.dtype, "bfloat16", name);
    const entry = file.tensors.get(name);
    assert.ok(entry, name);
    assert.equal(entry.dtype, "BF16");
    assert.deepEqual(new Uint8Array(weight.toBytes()), entry.data, `${name}: the bytes of the file`);
  }
  // The same file as float32: the exact widening of those bits.
  const wide = loadModel(dir);
  tidy(() => {
    for (const [name, weight] of model.params)
      assert.equal(maxAbsDiff(wide.param(name), weight.to("float32")), 0);
  });
  model.dispose();
  wide.dispose();
});
