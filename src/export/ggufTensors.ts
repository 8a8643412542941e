// Hugging Face weight names -> llama.cpp tensor names, with the layout changes llama.cpp's own converter
// (convert_hf_to_gguf.py) makes: Llama q/k rows reordered for its rotary kernel, GPT-2's Conv1D transposed.
import { noGrad, type Tensor, tensor, tidy, where } from "../engine/index.js";
import type { LlamaConfig, ModelConfig } from "../model/config.js";
import type { TransformerModel } from "../model/transformer.js";
import type { GgufArchitecture } from "./ggufArchitecture.js";
import type { GgmlType, GgufTensor } from "./ggufWriter.js";

export type GgufWeightType = "f32" | "f16" | "q8_0";

/** One tensor to write: its GGUF name and how to compute it (float32) from the model's weights. */
interface TensorPlan {
  name: string;
  shape: number[];
  compute: () => Tensor;
}

/**
 * llama.cpp's convention: only 2-D `.weight` matrices take the file's dtype; norms, biases and learned
 * positions stay F32 (its kernels expect them so).
 */
function storageType(plan: TensorPlan, weights: GgufWeightType): GgmlType {
  if (weights === "f32") return "F32";
  const matrix = plan.shape.length >= 2 && plan.name.endsWith(".weight");
  const keptF32 = plan.name.endsWith("_norm.weight") || plan.name.startsWith("position_embd.");
  if (!matrix || keptF32) return "F32";
  // Q8_0 blocks run along rows of 32: a row length that is not a multiple keeps F16, as llama.cpp's converter does.
  if (weights === "q8_0" && (plan.shape.at(-1) ?? 0) % 32 === 0) return "Q8_0";
  return "F16";
}

/**
 * HF's Llama applies rotary embeddings rotate-half style (dimension i pairs with i + d/2); llama.cpp's
 * "llama" graph pairs neighbours (2i, 2i+1). Reordering each head's rows as [n, 2, d/2] -> [n, d/2, 2]
 * makes the two agree; this is the permutation convert_hf_to_gguf.py applies to q_proj and k_proj.
 */
function interleaveRotaryRows(t: Tensor, heads: number): Tensor {
  const rows = t.shape[0] as number;
  const rest = t.shape.slice(1);
  return t
    .reshape(heads, 2, rows / heads / 2, ...rest)
    .transpose(1, 2)
    .reshape(rows, ...rest);
}

/** llama3 rope scaling as per-frequency divisors (llama.cpp's rope_freqs tensor), one per rotary pair. */
function llama3RopeFactors(config: LlamaConfig): number[] {
  const s = config.ropeScaling;
  if (s?.type !== "llama3") return [];
  const lowWavelength = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelength = s.originalMaxPositions / s.highFreqFactor;
  const factors: number[] = [];
  for (let i = 0; i < config.headDim; i += 2) {
    const wavelength = (2 * Math.PI) / (1 / config.ropeTheta ** (i / config.headDim));
    if (wavelength < highWavelength) factors.push(1);
    else if (wavelength > lowWavelength) factors.push(s.factor);
    else {
      const smooth =
        (s.originalMaxPositions / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      factors.push(1 / ((1 - smooth) / s.factor + smooth));
    }
  }
  return factors;
}

function llamaPlans(model: TransformerModel, config: LlamaConfig, arch: GgufArchitecture): TensorPlan[] {
  const plans: TensorPlan[] = [];
  const copy = (name: string, hfName: string, transform: (t: Tensor) => Tensor = (t) => t) => {
    const weight = model.params.get(hfName);
    if (!weight) return; // optional weights (biases) the config does not have
    plans.push({ name, shape: [...weight.shape], compute: () => transform(weight) });
  };
  // Qwen2 runs llama.cpp's NEOX rotary (rotate-half, as HF), so only "llama" needs its rows reordered.
  const rotary = (heads: number) => (t: Tensor) => (arch === "llama" ? interleaveRotaryRows(t, heads) : t);

  copy("token_embd.weight", "model.embed_tokens.weight");
  const ropeFactors = llama3RopeFactors(config);
  if (ropeFactors.length > 0)
    plans.push({
      name: "rope_freqs.weight",
      shape: [ropeFactors.length],
      compute: () => tensor(ropeFactors),
    });
  for (let i = 0; i < config.numLayers; i++) {
    const hf = `model.layers.${i}`;
    const blk = `blk.${i}`;
    copy(`${blk}.attn_norm.weight`, `${hf}.input_layernorm.weight`);
    for (const part of ["weight", "bias"]) {
      copy(`${blk}.attn_q.${part}`, `${hf}.self_attn.q_proj.${part}`, rotary(config.numHeads));
      copy(`${blk}.attn_k.${part}`, `${hf}.self_attn.k_proj.${part}`, rotary(config.numKvHeads));
      copy(`${blk}.attn_v.${part}`, `${hf}.self_attn.v_proj.${part}`);
      copy(`${blk}.attn_output.${part}`, `${hf}.self_attn.o_proj.${part}`);
    }
    copy(`${blk}.ffn_norm.weight`, `${hf}.post_attention_layernorm.weight`);
    for (const part of ["weight", "bias"]) {
      copy(`${blk}.ffn_gate.${part}`, `${hf}.mlp.gate_proj.${part}`);
      copy(`${blk}.ffn_up.${part}`, `${hf}.mlp.up_proj.${part}`);
      copy(`${blk}.ffn_down.${part}`, `${hf}.mlp.down_proj.${part}`);
    }
  }
  copy("output_norm.weight", "model.norm.weight");
  // Tied models have no lm_head: llama.cpp then reuses token_embd for the output.
  copy("output.weight", "lm_head.weight");
  return plans;
}

function gpt2Plans(model: TransformerModel, config: ModelConfig): TensorPlan[] {
  const plans: TensorPlan[] = [];
  const copy = (name: string, hfName: string, transposed = false) => {
    const weight = model.params.get(hfName);
    if (!weight) return;
    // Conv1D stores [in, out]; llama.cpp (like nn.Linear) wants [out, in].
    const shape = transposed ? [...weight.shape].reverse() : [...weight.shape];
    plans.push({ name, shape, compute: () => (transposed ? weight.transpose(0, 1) : weight) });
  };
  const norm = (name: string, hfName: string) => {
    copy(`${name}.weight`, `${hfName}.weight`);
    copy(`${name}.bias`, `${hfName}.bias`);
  };
  const conv1d = (name: string, hfName: string) => {
    copy(`${name}.weight`, `${hfName}.weight`, true);
    copy(`${name}.bias`, `${hfName}.bias`);
  };
  copy("token_embd.weight", "transformer.wte.weight");
  copy("position_embd.weight", "transformer.wpe.weight");
  for (let i = 0; i < config.numLayers; i++) {
    const hf = `transformer.h.${i}`;
    const blk = `blk.${i}`;
    norm(`${blk}.attn_norm`, `${hf}.ln_1`);
    conv1d(`${blk}.attn_qkv`, `${hf}.attn.c_attn`);
    conv1d(`${blk}.attn_output`, `${hf}.attn.c_proj`);
    norm(`${blk}.ffn_norm`, `${hf}.ln_2`);
    conv1d(`${blk}.ffn_up`, `${hf}.mlp.c_fc`);
    conv1d(`${blk}.ffn_down`, `${hf}.mlp.c_proj`);
  }
  norm("output_norm", "transformer.ln_f");
  copy("output.weight", "lm_head.weight");
  return plans;
}

/**
 * ggml's Q8_0 bytes of a float tensor whose rows are multiples of 32: per block of 32, d = absmax / 127 as f16,
 * then the 32 codes round(w / d) as int8 (a zero block has d = 0 and zero codes).
 */
export function encodeQ8_0(values: Tensor): Uint8Array {
  const blocks = values.float().contiguous().view(-1, 32);
  const scale = blocks.abs().amax(1, true).div(127);
  const inverse = where(scale.gt(0), scale.reciprocal(), 0);
  const scaled = blocks.mul(inverse);
  // Half away from zero, as llama.cpp's roundf.
  const codes = scaled.abs().add(0.5).floor().mul(scaled.sign()).clamp(-127, 127).to("int8").toBytes();
  const halves = scale.to("float16").toBytes();
  const count = blocks.size(0);
  const out = new Uint8Array(count * 34);
  for (let b = 0; b < count; b++) {
    out.set(halves.subarray(b * 2, b * 2 + 2), b * 34);
    out.set(codes.subarray(b * 32, b * 32 + 32), b * 34 + 2);
  }
  return out;
}

/** Every tensor of `model` under llama.cpp's names, computed lazily (one at a time) when written. */
export function ggufTensorsOf(
  model: TransformerModel,
  arch: GgufArchitecture,
  weights: GgufWeightType,
): GgufTensor[] {
  const config = model.config;
  const plans = config.family === "gpt2" ? gpt2Plans(model, config) : llamaPlans(model, config, arch);
  return plans.map((plan) => {
    const type = storageType(plan, weights);
    return {
      name: plan.name,
      shape: plan.shape,
      type,
      data: () =>
        noGrad(() =>
          tidy(() => {
            const values = plan.compute();
            if (type === "Q8_0") return encodeQ8_0(values);
            return values
              .to(type === "F16" ? "float16" : "float32")
              .contiguous()
              .toBytes();
          }),
        ),
    };
  });
}
