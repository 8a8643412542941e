// Model folders on disk: saving and loading back (single file, sharded, BF16), atomic replacement,
// deterministic creation, and the one-line ModelError every kind of broken folder must produce.
import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { summariseModel } from "../src/cli/commands/inspect.js";
import { liveTensors, tensor, tidy } from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";
import { ModelError } from "../src/model/errors.js";
import { loadedModelInfo, loadModel } from "../src/model/loadModel.js";
import {
  readSafetensorsFile,
  type SafetensorsTensorInput,
  serializeSafetensors,
  writeSafetensorsFile,
} from "../src/model/safetensors.js";
import { saveModel } from "../src/model/saveModel.js";
import type { TransformerModel } from "../src/model/transformer.js";
import { expected, fixtureDir, maxAbsDiff, must, tmpDir } from "./helpers/fixtures.js";

const FIXTURE_MODELS = ["llama", "llama-bf16", "qwen2", "gpt2", "gpt2-legacy-keys", "reward-llama"] as const;

const TINY_LLAMA = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 64,
};

const TINY_GPT2 = {
  architectures: ["GPT2LMHeadModel"],
  model_type: "gpt2",
  n_embd: 32,
  n_layer: 2,
  n_head: 4,
  n_positions: 64,
  vocab_size: 100,
};

// ---- helpers ------------------------------------------------------------------------------------

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

/** Loads `dir`, runs `use`, and disposes the model whatever happens. */
function withModel<T>(dir: string, use: (model: TransformerModel) => T): T {
  const model = loadModel(dir);
  try {
    return use(model);
  } finally {
    model.dispose();
  }
}

/** Asserts the two models hold the same weight names with bit-identical bytes, dtypes and shapes. */
function assertSameWeights(a: TransformerModel, b: TransformerModel, label: string): void {
  assert.deepEqual([...b.params.keys()].sort(), [...a.params.keys()].sort(), `${label}: weight names`);
  for (const [name, t] of a.params) {
    const u = b.param(name);
    assert.equal(u.dtype, t.dtype, `${label}: dtype of '${name}'`);
    assert.deepEqual([...u.shape], [...t.shape], `${label}: shape of '${name}'`);
    assert.ok(sameBytes(t.toBytes(), u.toBytes()), `${label}: bytes of '${name}' differ`);
  }
}

/** Asserts both models give bit-identical outputs for the fixture's input_ids. */
function assertSameLogits(a: TransformerModel, b: TransformerModel, fixture: string): void {
  tidy(() => {
    const ids = must(expected(fixture), "input_ids");
    const diff = maxAbsDiff(b.forward(ids), a.forward(ids));
    assert.equal(diff, 0, `${fixture}: logits after the round trip differ by ${diff}`);
  });
}

/** Files and folders next to `dir` (in its parent) left over by an atomic write. */
function leftovers(parent: string): string[] {
  return readdirSync(parent).filter((f) => f.includes(".tmp-") || f.includes(".old-"));
}

/** The fixture's checkpoint as writer input (data are views into the file buffer). */
function fixtureTensors(fixture: string): SafetensorsTensorInput[] {
  const file = readSafetensorsFile(join(fixtureDir(fixture), "model.safetensors"));
  return [...file.tensors.values()].map(({ name, dtype, shape, data }) => ({ name, dtype, shape, data }));
}

/** A model folder with the fixture's config.json and the given tensors as model.safetensors. */
function writeFolder(dir: string, fixture: string, tensors: SafetensorsTensorInput[]): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(fixtureDir(fixture), "config.json"), join(dir, "config.json"));
  writeSafetensorsFile(join(dir, "model.safetensors"), tensors, { format: "pt" });
  return dir;
}

function fixtureConfig(fixture: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(fixtureDir(fixture), "config.json"), "utf8")) as Record<
    string,
    unknown
  >;
}

/**
 * Runs `fn`, which must throw a ModelError whose one-line message contains every `parts` entry;
 * a failed load must also free whatever weights it had already read.
 */
function assertModelError(fn: () => unknown, ...parts: string[]): ModelError {
  const before = liveTensors();
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(
    caught instanceof ModelError,
    `expected a ModelError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`,
  );
  for (const part of parts) {
    assert.ok(
      caught.message.includes(part),
      `message ${JSON.stringify(caught.message)} does not name ${JSON.stringify(part)}`,
    );
  }
  assert.ok(!/[\r\n]/.test(caught.message), `message is not one line: ${JSON.stringify(caught.message)}`);
  assert.equal(liveTensors(), before, "a failed load leaked native tensors");
  return caught;
}

// ---- save and load --------------------------------------------------------------------------------

describe("saving and loading back", () => {
  for (const fixture of FIXTURE_MODELS) {
    test(`${fixture}: bit-identical weights and logits after a save/load round trip`, (t) => {
      const dir = join(tmpDir(t), fixture);
      withModel(fixtureDir(fixture), (original) => {
        saveModel(original, dir);
        assert.ok(existsSync(join(dir, "config.json")));
        assert.ok(existsSync(join(dir, "model.safetensors")));
        withModel(dir, (reloaded) => {
          assertSameWeights(original, reloaded, fixture);
          assertSameLogits(original, reloaded, fixture);
          const info = loadedModelInfo(reloaded);
          assert.equal(info?.sourceDir, dir);
          assert.deepEqual(info?.unusedKeys, []);
          assert.equal(info?.storageDtype, loadedModelInfo(original)?.storageDtype);
        });
        assert.deepEqual(leftovers(join(dir, "..")), []);
      });
    });
  }

  test("gpt2-legacy-keys: the loader ignores the causal-mask buffers and a save writes transformer.* keys", (t) => {
    const dir = join(tmpDir(t), "gpt2");
    withModel(fixtureDir("gpt2-legacy-keys"), (model) => {
      assert.deepEqual(loadedModelInfo(model)?.unusedKeys, []);
      saveModel(model, dir);
    });
    const names = [...readSafetensorsFile(join(dir, "model.safetensors")).tensors.keys()];
    assert.ok(
      names.every((n) => n.startsWith("transformer.")),
      `unprefixed keys: ${names.filter((n) => !n.startsWith("transformer."))}`,
    );
    assert.ok(!names.some((n) => n.endsWith(".attn.bias")), "the causal-mask buffers must not be saved");
    // The saved weights are the ones of the modern-layout fixture's architecture, under the same names.
    const modern = [...readSafetensorsFile(join(fixtureDir("gpt2"), "model.safetensors")).tensors.keys()];
    assert.deepEqual(names, modern);
  });

  test("llama (f32): the saved model.safetensors is byte-identical to the fixture's", (t) => {
    const dir = join(tmpDir(t), "llama");
    withModel(fixtureDir("llama"), (model) => saveModel(model, dir));
    const saved = readFileSync(join(dir, "model.safetensors"));
    const source = readFileSync(join(fixtureDir("llama"), "model.safetensors"));
    assert.equal(saved.byteLength, source.byteLength);
    assert.ok(saved.equals(source), "saved llama model.safetensors differs from the fixture");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(config.architectures, ["LlamaForCausalLM"]);
    assert.equal(config.torch_dtype, "float32");
    assert.equal(config.hidden_size, 64);
  });

  test("llama-bf16: a default save stores BF16 again, byte-identical to the source file", (t) => {
    const dir = join(tmpDir(t), "llama-bf16");
    withModel(fixtureDir("llama-bf16"), (model) => {
      assert.equal(model.dtype, "float32", "weights are upcast to float32 in memory by default");
      assert.equal(loadedModelInfo(model)?.storageDtype, "bfloat16");
      saveModel(model, dir);
    });
    const file = readSafetensorsFile(join(dir, "model.safetensors"));
    for (const entry of file.tensors.values()) assert.equal(entry.dtype, "BF16", entry.name);
    const saved = readFileSync(join(dir, "model.safetensors"));
    const source = readFileSync(join(fixtureDir("llama-bf16"), "model.safetensors"));
    assert.ok(saved.equals(source), "saved llama-bf16 model.safetensors differs from the fixture");
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(config.torch_dtype, "bfloat16");
  });

  test("saving with an explicit dtype overrides the stored one", (t) => {
    const dir = join(tmpDir(t), "llama-f32");
    withModel(fixtureDir("llama-bf16"), (model) => {
      saveModel(model, dir, { dtype: "float32" });
      withModel(dir, (reloaded) => {
        assert.equal(loadedModelInfo(reloaded)?.storageDtype, "float32");
        // bf16 -> f32 is exact, so the f32 copy holds the same values.
        assertSameWeights(model, reloaded, "llama-bf16 as f32");
      });
    });
    for (const entry of readSafetensorsFile(join(dir, "model.safetensors")).tensors.values()) {
      assert.equal(entry.dtype, "F32", entry.name);
    }
  });

  for (const [fixture, dtype] of [
    ["llama", "float32"],
    ["llama-bf16", "bfloat16"],
  ] as const) {
    test(`${fixture}: saving (${dtype} on disk) frees every tensor it converts`, (t) => {
      const dir = join(tmpDir(t), fixture);
      withModel(fixtureDir(fixture), (model) => {
        const before = liveTensors();
        saveModel(model, dir);
        assert.equal(
          liveTensors() - before,
          0,
          `saveModel left ${liveTensors() - before} native tensors alive`,
        );
      });
    });
  }

  test("sharded save: model-0000i-of-0000n.safetensors + index, loading back identically", (t) => {
    const maxShardBytes = 100_000;
    const dir = join(tmpDir(t), "llama-sharded");
    withModel(fixtureDir("llama"), (original) => {
      saveModel(original, dir, { maxShardBytes });
      assert.ok(
        !existsSync(join(dir, "model.safetensors")),
        "a sharded save must not write model.safetensors",
      );
      const index = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8")) as {
        metadata: { total_size: number };
        weight_map: Record<string, string>;
      };
      const shards = readdirSync(dir)
        .filter((f) => f.endsWith(".safetensors"))
        .sort();
      assert.ok(shards.length > 1, `expected several shards, got ${shards}`);
      const n = String(shards.length).padStart(5, "0");
      assert.deepEqual(
        shards,
        shards.map((_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${n}.safetensors`),
      );
      assert.deepEqual(Object.keys(index.weight_map).sort(), [...original.params.keys()].sort());
      assert.deepEqual([...new Set(Object.values(index.weight_map))].sort(), shards);
      let total = 0;
      for (const shard of shards) {
        const file = readSafetensorsFile(join(dir, shard));
        assert.deepEqual(file.metadata, { format: "pt" });
        let bytes = 0;
        for (const entry of file.tensors.values()) {
          assert.equal(index.weight_map[entry.name], shard, `weight_map entry of '${entry.name}'`);
          bytes += entry.data.byteLength;
        }
        assert.ok(bytes <= maxShardBytes || file.tensors.size === 1, `${shard} holds ${bytes} bytes`);
        total += bytes;
      }
      assert.equal(index.metadata.total_size, total);
      withModel(dir, (reloaded) => {
        assertSameWeights(original, reloaded, "sharded llama");
        assertSameLogits(original, reloaded, "llama");
      });
    });
  });

  test("saving over an existing folder replaces it atomically", (t) => {
    const parent = tmpDir(t);
    const dir = join(parent, "model");
    withModel(fixtureDir("llama"), (model) => saveModel(model, dir));
    writeFileSync(join(dir, "stale.txt"), "from the previous save");
    withModel(fixtureDir("gpt2"), (gpt2) => {
      saveModel(gpt2, dir);
      assert.ok(!existsSync(join(dir, "stale.txt")), "the old folder's files must be gone");
      assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
      assert.deepEqual(leftovers(parent), [], "no .tmp-/.old- siblings may remain");
      withModel(dir, (reloaded) => {
        assert.equal(reloaded.config.family, "gpt2");
        assertSameWeights(gpt2, reloaded, "gpt2 over llama");
      });
    });
  });

  test("a save that fails midway leaves the old folder untouched and no temporary siblings", (t) => {
    const parent = tmpDir(t);
    const dir = join(parent, "model");
    withModel(fixtureDir("llama"), (model) => saveModel(model, dir));
    const before = readFileSync(join(dir, "model.safetensors"));
    withModel(fixtureDir("gpt2"), (gpt2) => {
      // JSON.stringify throws on a BigInt, after the weights have been written to the temporary folder.
      assert.throws(() => saveModel(gpt2, dir, { extraJson: { "bad.json": { n: 1n } } }), TypeError);
    });
    assert.deepEqual(leftovers(parent), []);
    assert.ok(readFileSync(join(dir, "model.safetensors")).equals(before));
    withModel(dir, (model) => assert.equal(model.config.family, "llama"));
  });

  test("saving a model over the folder it was loaded from", (t) => {
    const parent = tmpDir(t);
    const dir = writeFolder(join(parent, "model"), "qwen2", fixtureTensors("qwen2"));
    writeFileSync(join(dir, "tokenizer.json"), "{}\n");
    withModel(dir, (model) => {
      saveModel(model, dir);
      assert.ok(existsSync(join(dir, "tokenizer.json")), "tokenizer files of the source folder are kept");
      assert.deepEqual(leftovers(parent), []);
      withModel(dir, (reloaded) => assertSameWeights(model, reloaded, "qwen2 saved in place"));
    });
  });
});

// ---- createModel ----------------------------------------------------------------------------------

describe("createModel", () => {
  for (const [label, config] of [
    ["llama", TINY_LLAMA],
    ["gpt2", TINY_GPT2],
  ] as const) {
    test(`${label}: the same seed gives the same bytes, another seed other weights`, (t) => {
      const before = liveTensors();
      const a = createModel(config, { seed: 1234 });
      const b = createModel(config, { seed: 1234 });
      const c = createModel(config, { seed: 1235 });
      try {
        assertSameWeights(a, b, `${label} seed 1234`);
        let differing = 0;
        for (const spec of a.paramSpecs()) {
          const bytesA = a.param(spec.name).toBytes();
          const same = sameBytes(bytesA, c.param(spec.name).toBytes());
          if (spec.init === "normal") {
            assert.ok(!same, `'${spec.name}' does not depend on the seed`);
            differing++;
          } else {
            // Norm weights start at 1 and biases at 0 whatever the seed.
            const value = spec.init === "ones" ? 1 : 0;
            assert.ok(
              a
                .param(spec.name)
                .toArray()
                .every((v) => v === value),
              `'${spec.name}' is not all ${value}`,
            );
          }
        }
        assert.ok(differing > 0);
        // A created model saves and loads back like a loaded one.
        const dir = join(tmpDir(t), label);
        saveModel(a, dir);
        withModel(dir, (reloaded) => assertSameWeights(a, reloaded, `${label} created then saved`));
        tidy(() => {
          const ids = tensor(
            [
              [1, 5, 9, 13, 17],
              [2, 4, 8, 16, 32],
            ],
            undefined,
            { dtype: "int64" },
          );
          const logits = a.forward(ids);
          assert.deepEqual([...logits.shape], [2, 5, 100]);
          assert.ok(logits.isfinite().all().item(), "a fresh model gives finite logits");
        });
      } finally {
        a.dispose();
        b.dispose();
        c.dispose();
      }
      assert.equal(liveTensors(), before);
    });
  }
});

// ---- bad input ------------------------------------------------------------------------------------

describe("broken model folders raise a one-line ModelError naming the file or field", () => {
  test("a missing folder", (t) => {
    const dir = join(tmpDir(t), "does-not-exist");
    assertModelError(() => loadModel(dir), dir);
  });

  test("a folder without config.json", (t) => {
    const dir = tmpDir(t);
    writeSafetensorsFile(join(dir, "model.safetensors"), fixtureTensors("llama"), { format: "pt" });
    assertModelError(() => loadModel(dir), join(dir, "config.json"));
  });

  test("a config.json that is not JSON", (t) => {
    const dir = tmpDir(t);
    writeFileSync(join(dir, "config.json"), '{"model_type": "llama",\n');
    assertModelError(() => loadModel(dir), join(dir, "config.json"), "JSON");
  });

  test("a config.json without hidden_size", (t) => {
    const dir = tmpDir(t);
    const { hidden_size: _dropped, ...config } = fixtureConfig("llama");
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    assertModelError(() => loadModel(dir), join(dir, "config.json"), "hidden_size");
  });

  test("an unsupported model_type", (t) => {
    const dir = tmpDir(t);
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...fixtureConfig("llama"), model_type: "bert", architectures: ["BertModel"] }),
    );
    assertModelError(() => loadModel(dir), join(dir, "config.json"), "bert");
  });

  test("a checkpoint missing a weight", (t) => {
    const missing = "model.layers.1.mlp.up_proj.weight";
    const dir = writeFolder(
      tmpDir(t),
      "llama",
      fixtureTensors("llama").filter((e) => e.name !== missing),
    );
    assertModelError(() => loadModel(dir), dir, missing);
  });

  test("a weight of the wrong shape", (t) => {
    const name = "model.layers.0.self_attn.k_proj.weight";
    const tensors = fixtureTensors("llama").map((e) =>
      e.name === name ? { ...e, shape: [64, 64], data: new Uint8Array(64 * 64 * 4) } : e,
    );
    const dir = writeFolder(tmpDir(t), "llama", tensors);
    const err = assertModelError(
      () => loadModel(dir),
      join(dir, "model.safetensors"),
      name,
      "[64,64]",
      "[32,64]",
    );
    assert.match(err.message, /shape/);
  });

  test("a truncated model.safetensors", (t) => {
    const dir = tmpDir(t);
    copyFileSync(join(fixtureDir("llama"), "config.json"), join(dir, "config.json"));
    const bytes = readFileSync(join(fixtureDir("llama"), "model.safetensors"));
    writeFileSync(join(dir, "model.safetensors"), bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
    assertModelError(() => loadModel(dir), join(dir, "model.safetensors"));
  });

  test("a model.safetensors cut inside its header", (t) => {
    const dir = tmpDir(t);
    copyFileSync(join(fixtureDir("llama"), "config.json"), join(dir, "config.json"));
    const bytes = serializeSafetensors(fixtureTensors("llama"), { format: "pt" });
    writeFileSync(join(dir, "model.safetensors"), bytes.subarray(0, 100));
    assertModelError(() => loadModel(dir), join(dir, "model.safetensors"), "header");
  });

  test("a sharded index pointing at a missing shard", (t) => {
    const dir = join(tmpDir(t), "sharded");
    withModel(fixtureDir("llama"), (model) => saveModel(model, dir, { maxShardBytes: 100_000 }));
    const shard = readdirSync(dir)
      .filter((f) => f.endsWith(".safetensors"))
      .sort()[1];
    assert.ok(shard, "the save should have written at least two shards");
    rmSync(join(dir, shard));
    assertModelError(() => loadModel(dir), join(dir, "model.safetensors.index.json"), shard);
  });

  test("a folder with only pytorch_model.bin", (t) => {
    const dir = tmpDir(t);
    copyFileSync(join(fixtureDir("llama"), "config.json"), join(dir, "config.json"));
    writeFileSync(join(dir, "pytorch_model.bin"), new Uint8Array(64));
    assertModelError(() => loadModel(dir), dir, "pytorch_model.bin", "safetensors");
  });

  test("a folder with config.json but no weights at all", (t) => {
    const dir = tmpDir(t);
    copyFileSync(join(fixtureDir("llama"), "config.json"), join(dir, "config.json"));
    assertModelError(() => loadModel(dir), dir, "model.safetensors");
  });

  // Issue 21: sizes are checked against limits and against the weights before anything is allocated.
  const OUT_OF_BOUNDS: [string, Record<string, unknown>, string][] = [
    [
      "num_hidden_layers 1e9",
      { num_hidden_layers: 1e9 },
      "'num_hidden_layers' is 1000000000 (expected at most",
    ],
    ["max_position_embeddings 0", { max_position_embeddings: 0 }, "'max_position_embeddings' is 0"],
    ["num_attention_heads 1e6", { num_attention_heads: 1e6 }, "'num_attention_heads' is 1000000"],
    ["intermediate_size 1e12", { intermediate_size: 1e12 }, "'intermediate_size' is 1000000000000"],
    ["num_key_value_heads above the heads", { num_key_value_heads: 8 }, "'num_key_value_heads' is 8"],
    ["an odd head_dim", { head_dim: 15 }, "head_dim is 15"],
    ["head_dim beyond the limit", { head_dim: 4096 }, "'head_dim' is 4096"],
    ["a negative rope_theta", { rope_theta: -1 }, "'rope_theta' is -1"],
    [
      "a rope_scaling factor of 0",
      { rope_scaling: { type: "linear", factor: 0 } },
      "rope_scaling.factor is 0",
    ],
    ["eos_token_id as a string", { eos_token_id: "2" }, "'eos_token_id'"],
  ];
  for (const [label, change, message] of OUT_OF_BOUNDS) {
    test(`config.json with ${label} is refused before loading, by loadModel and inspect`, async (t) => {
      const dir = writeFolder(tmpDir(t), "llama", fixtureTensors("llama"));
      writeFileSync(join(dir, "config.json"), JSON.stringify({ ...fixtureConfig("llama"), ...change }));
      assertModelError(() => loadModel(dir), join(dir, "config.json"), message);
      await assert.rejects(
        summariseModel(dir),
        (e: Error) => e instanceof ModelError && e.message.includes(message),
      );
    });
  }

  test("config.json declaring more layers than the weights hold names both", async (t) => {
    const dir = writeFolder(tmpDir(t), "llama", fixtureTensors("llama"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...fixtureConfig("llama"), num_hidden_layers: 40 }),
    );
    const started = performance.now();
    assertModelError(
      () => loadModel(dir),
      join(dir, "config.json"),
      "'num_hidden_layers' is 40",
      "hold 2 layers",
    );
    await assert.rejects(summariseModel(dir), /hold 2 layers/);
    assert.ok(performance.now() - started < 2000, "refused from the headers, quickly");
  });

  test("config.json whose hidden_size disagrees with the weights is refused by inspect too", async (t) => {
    const dir = writeFolder(tmpDir(t), "llama", fixtureTensors("llama"));
    writeFileSync(
      join(dir, "config.json"),
      JSON.stringify({ ...fixtureConfig("llama"), hidden_size: 128, intermediate_size: 176 }),
    );
    await assert.rejects(
      summariseModel(dir),
      /model\.safetensors: weight '.*' has shape \[300,64\], config\.json implies \[300,128\]/,
    );
  });
});
