import type { Tensor } from "../engine/index.js";
import type { ModelConfig } from "./config.js";
import { Gpt2Model, gpt2ParamSpecs } from "./gpt2.js";
import { LlamaModel, llamaParamSpecs } from "./llama.js";
import type { ParamSpec, TransformerModel } from "./transformer.js";

/** The model class for a config, around the given weights. */
export function buildModel(config: ModelConfig, params: Map<string, Tensor>): TransformerModel {
  return config.family === "gpt2" ? new Gpt2Model(config, params) : new LlamaModel(config, params);
}

/** The weight names and shapes a config implies. */
export function paramSpecsOf(config: ModelConfig): ParamSpec[] {
  return config.family === "gpt2" ? gpt2ParamSpecs(config) : llamaParamSpecs(config);
}
