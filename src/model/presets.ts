// Named model configs for the models safetune builds from scratch (Hugging Face config.json shapes).

export type PresetName = "llama-tiny" | "gpt2-tiny" | "llama-bench" | "gpt2-bench" | "llama-small";

/** A preset's config.json for a given vocabulary size and special-token ids. */
export function presetConfig(
  name: PresetName,
  vocabSize: number,
  special: { bos?: number; eos?: number; pad?: number } = {},
): Record<string, unknown> {
  const ids = {
    bos_token_id: special.bos ?? 1,
    eos_token_id: special.eos ?? 2,
    ...(special.pad === undefined ? {} : { pad_token_id: special.pad }),
  };
  switch (name) {
    case "llama-tiny":
      return llama(vocabSize, 128, 4, 4, 2, 352, 512, ids);
    case "llama-bench":
      return llama(vocabSize, 256, 4, 4, 2, 688, 512, ids);
    case "llama-small":
      return llama(vocabSize, 512, 8, 8, 4, 1376, 1024, ids);
    case "gpt2-tiny":
      return gpt2(vocabSize, 128, 4, 4, 512, ids);
    case "gpt2-bench":
      return gpt2(vocabSize, 256, 4, 4, 512, ids);
  }
}

export const PRESET_NAMES: PresetName[] = [
  "llama-tiny",
  "gpt2-tiny",
  "llama-bench",
  "gpt2-bench",
  "llama-small",
];

function llama(
  vocab: number,
  hidden: number,
  layers: number,
  heads: number,
  kvHeads: number,
  intermediate: number,
  positions: number,
  ids: object,
) {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: vocab,
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    max_position_embeddings: positions,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    hidden_act: "silu",
    tie_word_embeddings: false,
    attention_bias: false,
    torch_dtype: "float32",
    ...ids,
  };
}

function gpt2(vocab: number, embd: number, layers: number, heads: number, positions: number, ids: object) {
  return {
    architectures: ["GPT2LMHeadModel"],
    model_type: "gpt2",
    vocab_size: vocab,
    n_embd: embd,
    n_layer: layers,
    n_head: heads,
    n_positions: positions,
    n_ctx: positions,
    layer_norm_epsilon: 1e-5,
    activation_function: "gelu_new",
    tie_word_embeddings: true,
    torch_dtype: "float32",
    ...ids,
  };
}
