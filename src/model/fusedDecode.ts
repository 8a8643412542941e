// The fused decode step's plan for a model: which weights, adapter pairs, tables and cache buffers the native step
// reads, by Hugging Face name, or the reason this model cannot use it (then decoding stays on the TypeScript path).

import type { DecodeLayer, DecodeLinear } from "../engine/decodePlan.js";
import { DecodePlan, type DecodePlanSpec, hasFusedDecode, type Tensor } from "../engine/index.js";
import { maskValue } from "./attention.js";
import { Gpt2Model } from "./gpt2.js";
import type { KVCache } from "./kvCache.js";
import { LlamaModel } from "./llama.js";
import { LoraAdapter } from "./lora.js";
import type { TransformerModel } from "./transformer.js";

const FLOAT_TYPES = new Set(["float32", "bfloat16", "float16"]);

/** Why `model` cannot run the fused step as it is now, or undefined when it can. */
export function fusedDecodeObstacle(model: TransformerModel): string | undefined {
  if (!(model instanceof LlamaModel) && !(model instanceof Gpt2Model))
    return `${model.constructor.name} is neither a Llama-family nor a GPT-2 model`;
  if (model.config.task !== "causal-lm") return `a ${model.config.task} model has no language-model head`;
  const adapter = model.adapter;
  if (adapter && !(adapter instanceof LoraAdapter)) return "the model's adapter is not a LoRA adapter";
  if (adapter instanceof LoraAdapter && adapter.enabled && adapter.training && adapter.config.dropout > 0)
    return "the LoRA adapter is in training mode with dropout";
  if (model.quantized.size > 0) return `a quantised base (${model.quantized.size} packed weights)`;
  const dtype = model.dtype;
  if (!FLOAT_TYPES.has(dtype)) return `weights of dtype ${dtype} (quantised or not floating point)`;
  for (const spec of model.paramSpecs()) {
    if (!model.params.has(spec.name)) return `weight ${spec.name} is not a plain tensor (a quantised base?)`;
  }
  for (const [name, t] of model.params) {
    if (t.dtype !== dtype) return `weight ${name} is ${t.dtype}, the model computes in ${dtype}`;
  }
  if (!hasFusedDecode())
    return "the native addon was built without the fused decode step (npm run build:native)";
  return undefined;
}

/** The adapter state a plan was built with (compared with ===): a plan is valid only while it is unchanged. */
export function adapterState(model: TransformerModel): unknown {
  const a = model.adapter;
  if (!(a instanceof LoraAdapter)) return a;
  if (!a.enabled) return undefined;
  return a.training && a.config.dropout > 0 ? "dropout" : a;
}

/**
 * A native plan decoding into `cache` for rows with the given left padding, or the reason why not. The plan
 * references the model's weights, adapter pairs and the cache's buffers; nothing is copied.
 */
export function fusedDecodePlan(
  model: TransformerModel,
  cache: KVCache,
  padding: number[],
): DecodePlan | string {
  const obstacle = fusedDecodeObstacle(model);
  if (obstacle) return obstacle;
  const adapter = model.adapter instanceof LoraAdapter && model.adapter.enabled ? model.adapter : undefined;
  const linear = (module: string, conv1d = false): DecodeLinear<Tensor> => {
    const pair = adapter?.modules.get(module);
    return {
      weight: model.param(`${module}.weight`),
      bias: model.params.get(`${module}.bias`),
      conv1d,
      ...(pair && adapter ? { loraA: pair.a, loraB: pair.b, loraScale: adapter.scaleOf(module) } : {}),
    };
  };
  const norm = (name: string, withBias: boolean) => ({
    weight: model.param(`${name}.weight`),
    bias: withBias ? model.param(`${name}.bias`) : undefined,
  });
  const c = model.config;
  const head = c.tieWordEmbeddings
    ? {
        weight: model.param(
          model instanceof Gpt2Model ? "transformer.wte.weight" : "model.embed_tokens.weight",
        ),
      }
    : linear("lm_head");
  const common = {
    numHeads: c.numHeads,
    headDim: c.headDim,
    hiddenSize: c.hiddenSize,
    maskValue: maskValue(model.dtype),
    head,
    keys: cache.keys,
    values: cache.values,
    padding,
  };
  let spec: DecodePlanSpec<Tensor>;
  if (model instanceof LlamaModel) {
    const lc = model.config;
    model.rotary.ensure(cache.capacity);
    const layers = Array.from({ length: lc.numLayers }, (_, i): DecodeLayer<Tensor> => {
      const p = `model.layers.${i}`;
      return {
        norm1: norm(`${p}.input_layernorm`, false),
        norm2: norm(`${p}.post_attention_layernorm`, false),
        q: linear(`${p}.self_attn.q_proj`),
        k: linear(`${p}.self_attn.k_proj`),
        v: linear(`${p}.self_attn.v_proj`),
        o: linear(`${p}.self_attn.o_proj`),
        gate: linear(`${p}.mlp.gate_proj`),
        up: linear(`${p}.mlp.up_proj`),
        down: linear(`${p}.mlp.down_proj`),
      };
    });
    spec = {
      ...common,
      family: "llama",
      activation: "silu",
      numKvHeads: lc.numKvHeads,
      eps: lc.rmsNormEps,
      embed: model.param("model.embed_tokens.weight"),
      rotaryCos: model.rotary.cos,
      rotarySin: model.rotary.sin,
      layers,
      finalNorm: norm("model.norm", false),
    };
  } else {
    const gc = (model as Gpt2Model).config;
    const layers = Array.from({ length: gc.numLayers }, (_, i): DecodeLayer<Tensor> => {
      const p = `transformer.h.${i}`;
      return {
        norm1: norm(`${p}.ln_1`, true),
        norm2: norm(`${p}.ln_2`, true),
        qkv: linear(`${p}.attn.c_attn`, true),
        o: linear(`${p}.attn.c_proj`, true),
        up: linear(`${p}.mlp.c_fc`, true),
        down: linear(`${p}.mlp.c_proj`, true),
      };
    });
    spec = {
      ...common,
      family: "gpt2",
      activation: gc.activation === "gelu_new" ? "gelu_tanh" : gc.activation === "gelu" ? "gelu" : "relu",
      numKvHeads: gc.numHeads,
      eps: gc.layerNormEps,
      embed: model.param("transformer.wte.weight"),
      positions: model.param("transformer.wpe.weight"),
      layers,
      finalNorm: norm("transformer.ln_f", true),
    };
  }
  return new DecodePlan(spec);
}
