// Which weights a quantised frozen base (--quantize) packs, and packing them one weight at a time: every 2-D weight
// of a Llama-family model (attention and MLP projections, token embeddings, LM head); norms and biases stay in the
// load dtype, and a classifier's score head stays float (reward training trains it in full).
import {
  packedBytes as bytesOf,
  dequantizeWeight,
  keep,
  noGrad,
  type PackedWeight,
  type QuantizeKind,
  quantizeWeight,
  type Tensor,
  tidy,
} from "../engine/index.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";
import type { TransformerModel } from "./transformer.js";

/** One-line refusal for models --quantize does not cover. */
export function checkQuantizable(config: ModelConfig, kind: QuantizeKind): void {
  if (config.family !== "llama")
    throw new ModelError(
      `--quantize ${kind}: only Llama-family models (llama, mistral, qwen2) can be quantised; this is a ${config.modelType} model`,
    );
}

/** Whether the weight `name` of shape `shape` is packed under --quantize. */
export function isQuantizedWeight(config: ModelConfig, name: string, shape: readonly number[]): boolean {
  return config.family === "llama" && shape.length === 2 && name !== "score.weight";
}

/** Packs `weight` (kept out of any tidy scope) and frees the float tensor. */
export function packWeight(weight: Tensor, kind: QuantizeKind): PackedWeight {
  try {
    const packed = quantizeWeight(weight, kind);
    keep(packed.data);
    keep(packed.scales);
    return packed;
  } finally {
    weight.dispose();
  }
}

/** Packs every quantisable float weight of `model` in place, one at a time (peak: one float weight more). */
export function quantizeModel(model: TransformerModel, kind: QuantizeKind): void {
  checkQuantizable(model.config, kind);
  for (const [name, t] of [...model.params]) {
    if (!isQuantizedWeight(model.config, name, t.shape)) continue;
    model.params.delete(name);
    model.quantized.set(name, packWeight(t, kind));
  }
}

/** Bytes of the packed buffers and of the float weights left, and the parameters of each. */
export function quantizedFootprint(model: TransformerModel): {
  packedBytes: number;
  packedParameters: number;
  floatBytes: number;
  floatParameters: number;
} {
  let packedBytes = 0;
  let packedParameters = 0;
  for (const w of model.quantized.values()) {
    packedBytes += bytesOf(w);
    packedParameters += w.out * w.in;
  }
  let floatBytes = 0;
  let floatParameters = 0;
  for (const t of model.params.values()) {
    floatParameters += t.numel;
    floatBytes += t.numel * (t.dtype === "float32" ? 4 : 2);
  }
  return { packedBytes, packedParameters, floatBytes, floatParameters };
}

/**
 * Replaces every packed weight by its dequantised float weight (in the model's dtype), one at a time: what merging
 * an adapter into a quantised base and saving it as a plain folder need (as QLoRA merges: into the dequantised base).
 */
export function dequantizeModel(model: TransformerModel): void {
  const dtype = model.dtype;
  for (const [name, w] of [...model.quantized]) {
    const float = noGrad(() => tidy(() => dequantizeWeight(w).to(dtype)));
    model.params.set(name, keep(float));
    model.quantized.delete(name);
    for (const t of [w.data, w.scales]) t.dispose();
  }
}
