// Which llama.cpp architecture a model becomes, and the hyperparameters llama.cpp reads for it
// (keys `<arch>.context_length`, `<arch>.attention.head_count`, ... as gguf-py's constants name them).
import type { ModelConfig } from "../model/config.js";
import { ExportError } from "./errors.js";
import { type GgufValue, gguf } from "./ggufWriter.js";

/** llama.cpp's architecture names for the three families exported here. */
export type GgufArchitecture = "llama" | "qwen2" | "gpt2";

/** The llama.cpp architecture for a config; `source` names config.json in errors. */
export function ggufArchitectureOf(config: ModelConfig, source: string): GgufArchitecture {
  if (config.task !== "causal-lm")
    throw new ExportError(
      `${source}: only causal language models can be exported to GGUF (this one is ${config.task})`,
    );
  if (config.family === "gpt2") {
    // llama.cpp's GPT-2 graph applies the tanh GELU; another activation would compute a different model.
    if (config.activation !== "gelu_new")
      throw new ExportError(
        `${source}: activation_function '${config.activation}' has no llama.cpp equivalent (GPT-2 export needs gelu_new)`,
      );
    return "gpt2";
  }
  if (config.modelType === "qwen2") {
    if (config.oBias || config.mlpBias)
      throw new ExportError(`${source}: qwen2 with o_proj or MLP biases is not a layout llama.cpp loads`);
    if (config.ropeScaling?.type === "llama3")
      throw new ExportError(`${source}: rope_scaling llama3 on a qwen2 model has no llama.cpp equivalent`);
    return "qwen2";
  }
  // Mistral, SmolLM and TinyLlama are Llama graphs; llama.cpp's converter writes them as "llama" too.
  return "llama";
}

/** The `<arch>.*` metadata llama.cpp reads to build the graph. */
export function architectureMetadata(config: ModelConfig, arch: GgufArchitecture): [string, GgufValue][] {
  const common: [string, GgufValue][] = [
    [`${arch}.context_length`, gguf.u32(config.maxPositions)],
    [`${arch}.embedding_length`, gguf.u32(config.hiddenSize)],
    [`${arch}.block_count`, gguf.u32(config.numLayers)],
    [`${arch}.feed_forward_length`, gguf.u32(config.intermediateSize)],
    [`${arch}.attention.head_count`, gguf.u32(config.numHeads)],
  ];
  if (config.family === "gpt2")
    return [...common, [`${arch}.attention.layer_norm_epsilon`, gguf.f32(config.layerNormEps)]];

  const out: [string, GgufValue][] = [
    ...common,
    [`${arch}.attention.head_count_kv`, gguf.u32(config.numKvHeads)],
    [`${arch}.rope.freq_base`, gguf.f32(config.ropeTheta)],
    [`${arch}.rope.dimension_count`, gguf.u32(config.headDim)],
    [`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(config.rmsNormEps)],
    [`${arch}.vocab_size`, gguf.u32(config.vocabSize)],
  ];
  // llama.cpp derives the head size from embedding_length / head_count unless told otherwise.
  if (config.headDim * config.numHeads !== config.hiddenSize) {
    out.push(
      [`${arch}.attention.key_length`, gguf.u32(config.headDim)],
      [`${arch}.attention.value_length`, gguf.u32(config.headDim)],
    );
  }
  const scaling = config.ropeScaling;
  if (scaling?.type === "linear") {
    out.push(
      [`${arch}.rope.scaling.type`, gguf.str("linear")],
      [`${arch}.rope.scaling.factor`, gguf.f32(scaling.factor)],
    );
  }
  // llama3 scaling travels as the rope_freqs tensor (see ggufTensors.ts), as llama.cpp's converter does.
  return out;
}
