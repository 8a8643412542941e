// Real models' shapes (config.json fields that decide them) for the scale benchmark and scripts/make-scale-model.ts.
export interface ScaleShape {
  title: string;
  config: Record<string, unknown>;
  tokenizer: string;
}

export const SCALE_SHAPES: Record<string, ScaleShape> = {
  "qwen0.5b": {
    title: "Qwen2.5-0.5B shape (494M)",
    tokenizer: "tokenizer-qwen3",
    config: {
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      vocab_size: 151936,
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      hidden_act: "silu",
      tie_word_embeddings: true,
      bos_token_id: 151643,
      eos_token_id: 151645,
      torch_dtype: "float32",
    },
  },
  "tinyllama1.1b": {
    title: "TinyLlama-1.1B shape (1.1B)",
    tokenizer: "tokenizer-llama2",
    config: {
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      vocab_size: 32000,
      hidden_size: 2048,
      intermediate_size: 5632,
      num_hidden_layers: 22,
      num_attention_heads: 32,
      num_key_value_heads: 4,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
      bos_token_id: 1,
      eos_token_id: 2,
      torch_dtype: "float32",
    },
  },
};
