// The Llama family in one implementation: Llama 2/3, Mistral, Qwen2/2.5, SmolLM, TinyLlama.
// RMSNorm, rotary embeddings (rotate-half), grouped-query attention, SwiGLU, optional q/k/v biases.
import { embedding, type Tensor } from "../engine/index.js";
import { applyRotary, attend, RotaryTables } from "./attention.js";
import type { LlamaConfig } from "./config.js";
import { headParamSpecs, type LayerContext, type ParamSpec, TransformerModel } from "./transformer.js";

export class LlamaModel extends TransformerModel {
  declare readonly config: LlamaConfig;
  readonly rotary: RotaryTables;

  constructor(config: LlamaConfig, params: Map<string, Tensor>) {
    super(config, params);
    this.rotary = new RotaryTables(
      config.headDim,
      config.ropeTheta,
      config.ropeScaling,
      Math.min(config.maxPositions, 4096),
      this.dtype,
    );
  }

  get kvHeads(): number {
    return this.config.numKvHeads;
  }

  linearModules(): Map<string, { inFeatures: number; outFeatures: number }> {
    const out = new Map<string, { inFeatures: number; outFeatures: number }>();
    for (const spec of this.paramSpecs()) {
      if (
        spec.shape.length !== 2 ||
        !spec.name.endsWith(".weight") ||
        spec.name === "model.embed_tokens.weight"
      )
        continue;
      const [outFeatures, inFeatures] = spec.shape as [number, number];
      out.set(spec.name.slice(0, -".weight".length), { inFeatures, outFeatures });
    }
    return out;
  }

  protected embeddingWeightName(): string {
    return "model.embed_tokens.weight";
  }

  paramSpecs(): ParamSpec[] {
    return llamaParamSpecs(this.config);
  }

  protected embed(ids: Tensor, _ctx: LayerContext): Tensor {
    return this.tokenEmbeddings(ids);
  }

  /** x / rms(x) · w, computed in float32 as Hugging Face does, then back to the compute dtype. */
  rmsNorm(x: Tensor, weightName: string): Tensor {
    const dtype = x.dtype;
    const x32 = dtype === "float32" ? x : x.float();
    const normed = x32.mul(x32.square().mean(-1, true).add(this.config.rmsNormEps).rsqrt());
    return (dtype === "float32" ? normed : normed.to(dtype)).mul(this.param(weightName));
  }

  protected block(layer: number, h: Tensor, ctx: LayerContext): Tensor {
    const c = this.config;
    const p = `model.layers.${layer}`;
    const [batch, steps] = h.shape as [number, number];
    const x = this.rmsNorm(h, `${p}.input_layernorm.weight`);
    const heads = (t: Tensor, n: number) => t.view(batch, steps, n, c.headDim).transpose(1, 2);
    let q = heads(this.linear(`${p}.self_attn.q_proj`, x), c.numHeads);
    let k = heads(this.linear(`${p}.self_attn.k_proj`, x), c.numKvHeads);
    let v = heads(this.linear(`${p}.self_attn.v_proj`, x), c.numKvHeads);
    const { cos, sin } = ctx.rotary as { cos: Tensor; sin: Tensor };
    q = applyRotary(q, cos, sin);
    k = applyRotary(k, cos, sin);
    if (ctx.cache) ({ k, v } = ctx.cache.update(layer, k, v));
    const attended = attend(q, k, v, ctx.blocked);
    const afterAttention = h.add(this.linear(`${p}.self_attn.o_proj`, attended));
    const y = this.rmsNorm(afterAttention, `${p}.post_attention_layernorm.weight`);
    const gated = this.linear(`${p}.mlp.gate_proj`, y)
      .silu()
      .mul(this.linear(`${p}.mlp.up_proj`, y));
    return afterAttention.add(this.linear(`${p}.mlp.down_proj`, gated));
  }

  /** The rotary tables at this pass's positions: a slice when they are contiguous, else a gather. */
  protected override prepareContext(ctx: LayerContext): void {
    if (!ctx.positions) {
      this.rotary.ensure(ctx.past + ctx.steps);
      ctx.rotary = {
        cos: this.rotary.cos.narrow(0, ctx.past, ctx.steps),
        sin: this.rotary.sin.narrow(0, ctx.past, ctx.steps),
      };
      return;
    }
    this.rotary.ensure(ctx.positions.amax().item() + 1);
    ctx.rotary = {
      cos: embedding(this.rotary.cos, ctx.positions).unsqueeze(1),
      sin: embedding(this.rotary.sin, ctx.positions).unsqueeze(1),
    };
  }

  protected finalNorm(h: Tensor): Tensor {
    return this.rmsNorm(h, "model.norm.weight");
  }

  override dispose(): void {
    super.dispose();
    this.rotary.dispose();
  }
}

/** Every weight of a Llama-family model, by Hugging Face name. */
export function llamaParamSpecs(c: LlamaConfig): ParamSpec[] {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const specs: ParamSpec[] = [
    { name: "model.embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize], init: "normal" },
  ];
  const linear = (name: string, out: number, inp: number, bias: boolean) => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], init: "normal" });
    if (bias) specs.push({ name: `${name}.bias`, shape: [out], init: "zeros" });
  };
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    specs.push({ name: `${p}.input_layernorm.weight`, shape: [c.hiddenSize], init: "ones" });
    linear(`${p}.self_attn.q_proj`, q, c.hiddenSize, c.qkvBias);
    linear(`${p}.self_attn.k_proj`, kv, c.hiddenSize, c.qkvBias);
    linear(`${p}.self_attn.v_proj`, kv, c.hiddenSize, c.qkvBias);
    linear(`${p}.self_attn.o_proj`, c.hiddenSize, q, c.oBias);
    specs.push({ name: `${p}.post_attention_layernorm.weight`, shape: [c.hiddenSize], init: "ones" });
    linear(`${p}.mlp.gate_proj`, c.intermediateSize, c.hiddenSize, c.mlpBias);
    linear(`${p}.mlp.up_proj`, c.intermediateSize, c.hiddenSize, c.mlpBias);
    linear(`${p}.mlp.down_proj`, c.hiddenSize, c.intermediateSize, c.mlpBias);
  }
  specs.push({ name: "model.norm.weight", shape: [c.hiddenSize], init: "ones" });
  return [...specs, ...headParamSpecs(c)];
}
