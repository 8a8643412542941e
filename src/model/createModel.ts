// A fresh model with random weights, from a config: how safetune makes the small models it trains from scratch.
import {
  type DType,
  full,
  keep,
  manualSeed,
  noGrad,
  type PackedWeight,
  type QuantizeKind,
  randn,
  type Tensor,
  tidy,
  zeros,
} from "../engine/index.js";
import { buildModel, paramSpecsOf } from "./buildModel.js";
import { parseConfig } from "./config.js";
import { checkQuantizable, isQuantizedWeight, packWeight } from "./quantizeModel.js";
import type { TransformerModel } from "./transformer.js";

export interface CreateModelOptions {
  seed?: number;
  dtype?: DType;
  /** Standard deviation of the normal init (GPT-2 and Llama use 0.02). */
  initStd?: number;
  /** Pack the 2-D weights as each is drawn (a quantised random base without its float copy). */
  quantize?: QuantizeKind;
}

/** Builds a model from a Hugging Face-style config object with N(0, std) weights, zero biases, unit norms. */
export function createModel(
  rawConfig: Record<string, unknown>,
  options: CreateModelOptions = {},
): TransformerModel {
  const config = parseConfig(rawConfig, "config");
  if (options.seed !== undefined) manualSeed(options.seed);
  const std = options.initStd ?? 0.02;
  const dtype = options.dtype ?? "float32";
  const params = new Map<string, Tensor>();
  const packed = new Map<string, PackedWeight>();
  if (options.quantize) checkQuantizable(config, options.quantize);
  noGrad(() => {
    for (const spec of paramSpecsOf(config)) {
      const t = tidy(() => {
        const init =
          spec.init === "normal"
            ? randn(spec.shape).mul(std)
            : spec.init === "ones"
              ? full(spec.shape, 1)
              : zeros(spec.shape);
        return dtype === "float32" ? init : init.to(dtype);
      });
      if (options.quantize && isQuantizedWeight(config, spec.name, spec.shape))
        packed.set(spec.name, packWeight(keep(t), options.quantize));
      else params.set(spec.name, keep(t));
    }
  });
  const model = buildModel(config, params);
  for (const [name, w] of packed) model.quantized.set(name, w);
  return model;
}
