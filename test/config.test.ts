import assert from "node:assert/strict";
import { test } from "node:test";
import { rotaryInverseFrequencies } from "../src/model/attention.js";
import { paramSpecsOf } from "../src/model/buildModel.js";
import { architectureName, parseConfig } from "../src/model/config.js";
import { ModelError } from "../src/model/errors.js";

// The shape-relevant fields of real Hugging Face configs, and those models' published parameter counts.
const REAL_CONFIGS: [string, Record<string, unknown>, number][] = [
  [
    "Qwen2.5-0.5B (q/k/v biases, 2 KV heads, tied)",
    {
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      vocab_size: 151936,
      tie_word_embeddings: true,
      rope_theta: 1000000,
      max_position_embeddings: 32768,
      hidden_act: "silu",
    },
    494_032_768,
  ],
  [
    "SmolLM-135M (tied)",
    {
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      vocab_size: 49152,
      tie_word_embeddings: true,
      max_position_embeddings: 2048,
    },
    134_515_008,
  ],
  [
    "TinyLlama-1.1B",
    {
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_size: 2048,
      intermediate_size: 5632,
      num_hidden_layers: 22,
      num_attention_heads: 32,
      num_key_value_heads: 4,
      vocab_size: 32000,
      tie_word_embeddings: false,
    },
    1_100_048_384,
  ],
  [
    "Llama-3.1-8B (llama3 rope scaling)",
    {
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      vocab_size: 128256,
      rope_theta: 500000,
      rope_scaling: {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
        rope_type: "llama3",
      },
      eos_token_id: [128001, 128008, 128009],
    },
    8_030_261_248,
  ],
  [
    "Mistral-7B-v0.1",
    {
      architectures: ["MistralForCausalLM"],
      model_type: "mistral",
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      vocab_size: 32000,
      sliding_window: 4096,
    },
    7_241_732_096,
  ],
  [
    "GPT-2 small",
    {
      architectures: ["GPT2LMHeadModel"],
      model_type: "gpt2",
      n_embd: 768,
      n_head: 12,
      n_layer: 12,
      n_positions: 1024,
      vocab_size: 50257,
    },
    124_439_808,
  ],
];

for (const [name, raw, count] of REAL_CONFIGS) {
  test(`${name}: the weights the config implies add up to the published ${count.toLocaleString("en-US")} parameters`, () => {
    const config = parseConfig(raw);
    const total = paramSpecsOf(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(total, count);
  });
}

test("parsed fields: explicit head_dim, Qwen2 biases, eos lists, classification heads, architecture names", () => {
  const qwen = parseConfig(REAL_CONFIGS[0]?.[1]);
  assert.ok(qwen.family === "llama" && qwen.qkvBias && !qwen.oBias);
  assert.equal(architectureName(qwen), "Qwen2ForCausalLM");
  const llama3 = parseConfig(REAL_CONFIGS[3]?.[1]);
  assert.deepEqual(llama3.eosTokenIds, [128001, 128008, 128009]);
  assert.ok(llama3.family === "llama" && llama3.ropeScaling?.type === "llama3");
  const withHeadDim = parseConfig({
    model_type: "llama",
    hidden_size: 64,
    num_attention_heads: 4,
    head_dim: 32,
    intermediate_size: 8,
    num_hidden_layers: 1,
    vocab_size: 10,
  });
  assert.equal(withHeadDim.headDim, 32);
  const reward = parseConfig({
    architectures: ["LlamaForSequenceClassification"],
    model_type: "llama",
    hidden_size: 8,
    num_attention_heads: 2,
    intermediate_size: 8,
    num_hidden_layers: 1,
    vocab_size: 10,
    num_labels: 1,
  });
  assert.equal(reward.task, "sequence-classification");
  assert.deepEqual(paramSpecsOf(reward).at(-1), { name: "score.weight", shape: [1, 8], init: "normal" });
  assert.equal(architectureName(reward), "LlamaForSequenceClassification");
});

test("Llama 3 rope scaling: high frequencies kept, low frequencies divided by the factor, the middle smoothed", () => {
  const scaling = {
    type: "llama3" as const,
    factor: 8,
    lowFreqFactor: 1,
    highFreqFactor: 4,
    originalMaxPositions: 8192,
  };
  const base = rotaryInverseFrequencies(128, 500000);
  const scaled = rotaryInverseFrequencies(128, 500000, scaling);
  base.forEach((f, i) => {
    const wavelen = (2 * Math.PI) / f;
    const s = scaled[i] as number;
    if (wavelen < 8192 / 4) assert.equal(s, f, `dim ${i} kept`);
    else if (wavelen > 8192) assert.ok(Math.abs(s - f / 8) < 1e-15, `dim ${i} divided`);
    else assert.ok(s < f && s > f / 8, `dim ${i} smoothed`);
  });
  assert.deepEqual(
    rotaryInverseFrequencies(4, 10000, { type: "linear", factor: 2 }),
    rotaryInverseFrequencies(4, 10000).map((f) => f / 2),
  );
});

test("config errors name the file and the field", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [
      { model_type: "llama", vocab_size: 10 },
      /cfg\.json: missing field 'hidden_size' \(expected a positive integer\)/,
    ],
    [{ model_type: "llama", hidden_size: -1 }, /field 'hidden_size' is -1/],
    [{ model_type: "bert" }, /unsupported architecture 'bert'/],
    [{ hidden_size: 8 }, /missing field 'model_type'/],
    [
      {
        model_type: "llama",
        hidden_size: 8,
        num_attention_heads: 3,
        num_key_value_heads: 2,
        intermediate_size: 8,
        num_hidden_layers: 1,
        vocab_size: 10,
      },
      /multiple of num_key_value_heads/,
    ],
    [
      {
        model_type: "llama",
        hidden_size: 8,
        num_attention_heads: 2,
        intermediate_size: 8,
        num_hidden_layers: 1,
        vocab_size: 10,
        hidden_act: "gelu",
      },
      /hidden_act 'gelu' is not supported/,
    ],
    [
      {
        model_type: "llama",
        hidden_size: 8,
        num_attention_heads: 2,
        intermediate_size: 8,
        num_hidden_layers: 1,
        vocab_size: 10,
        rope_scaling: { type: "yarn" },
      },
      /rope_scaling type 'yarn'/,
    ],
  ];
  for (const [raw, pattern] of bad) {
    assert.throws(
      () => parseConfig(raw, "cfg.json"),
      (e: Error) => e instanceof ModelError && pattern.test(e.message) && !e.message.includes("\n"),
    );
  }
  assert.throws(() => parseConfig([1], "cfg.json"), /expected a JSON object/);
});
