// GPT-2: learned positions, LayerNorm with bias, gelu_new, Conv1D weights stored [in, out], tied head.
import { embedding, layerNorm, linear, type Tensor } from "../engine/index.js";
import { attend } from "./attention.js";
import type { Gpt2Config } from "./config.js";
import { headParamSpecs, type LayerContext, type ParamSpec, TransformerModel } from "./transformer.js";

export class Gpt2Model extends TransformerModel {
  declare readonly config: Gpt2Config;

  get kvHeads(): number {
    return this.config.numHeads;
  }

  /** Conv1D weights are stored [in, out]; the head ([out, in]) is a true Linear. */
  linearModules(): Map<string, { inFeatures: number; outFeatures: number }> {
    const out = new Map<string, { inFeatures: number; outFeatures: number }>();
    for (const spec of this.paramSpecs()) {
      if (spec.shape.length !== 2 || !spec.name.endsWith(".weight") || /\.w[tp]e\.weight$/.test(spec.name))
        continue;
      const [a, b] = spec.shape as [number, number];
      const isHead = !spec.name.startsWith("transformer.");
      out.set(
        spec.name.slice(0, -".weight".length),
        isHead ? { inFeatures: b, outFeatures: a } : { inFeatures: a, outFeatures: b },
      );
    }
    return out;
  }

  override isConv1d(module: string): boolean {
    return module.startsWith("transformer.");
  }

  protected embeddingWeightName(): string {
    return "transformer.wte.weight";
  }

  paramSpecs(): ParamSpec[] {
    return gpt2ParamSpecs(this.config);
  }

  /** Conv1D: y = x W + b with W [in, out]; adapters see it as a Linear of the same module name. */
  conv1d(module: string, x: Tensor): Tensor {
    const y = linear(x, this.param(`${module}.weight`).transpose(0, 1), this.params.get(`${module}.bias`));
    const delta = this.adapter?.delta(module, x);
    return delta ? y.add(delta) : y;
  }

  protected embed(ids: Tensor, ctx: LayerContext): Tensor {
    const limit = this.config.maxPositions;
    const last = ctx.positions ? ctx.positions.amax().item() : ctx.past + ctx.steps - 1;
    if (last >= limit) throw new RangeError(`position ${last} is beyond GPT-2's n_positions (${limit})`);
    const wpe = this.param("transformer.wpe.weight");
    const positions = ctx.positions ? embedding(wpe, ctx.positions) : wpe.narrow(0, ctx.past, ctx.steps);
    return embedding(this.param("transformer.wte.weight"), ids).add(positions);
  }

  #norm(x: Tensor, name: string): Tensor {
    return layerNorm(x, this.param(`${name}.weight`), this.param(`${name}.bias`), this.config.layerNormEps);
  }

  #activation(x: Tensor): Tensor {
    const act = this.config.activation;
    return act === "relu" ? x.relu() : x.gelu(act === "gelu_new" ? "tanh" : "none");
  }

  protected block(layer: number, h: Tensor, ctx: LayerContext): Tensor {
    const c = this.config;
    const p = `transformer.h.${layer}`;
    const [batch, steps] = h.shape as [number, number];
    const qkv = this.conv1d(`${p}.attn.c_attn`, this.#norm(h, `${p}.ln_1`));
    const heads = (t: Tensor) => t.view(batch, steps, c.numHeads, c.headDim).transpose(1, 2);
    const [qRaw, kRaw, vRaw] = qkv.split(c.hiddenSize, -1) as [Tensor, Tensor, Tensor];
    let k = heads(kRaw);
    let v = heads(vRaw);
    if (ctx.cache) ({ k, v } = ctx.cache.update(layer, k, v));
    const attended = attend(heads(qRaw), k, v, ctx.blocked);
    const afterAttention = h.add(this.conv1d(`${p}.attn.c_proj`, attended));
    const hiddenMlp = this.#activation(this.conv1d(`${p}.mlp.c_fc`, this.#norm(afterAttention, `${p}.ln_2`)));
    return afterAttention.add(this.conv1d(`${p}.mlp.c_proj`, hiddenMlp));
  }

  protected finalNorm(h: Tensor): Tensor {
    return this.#norm(h, "transformer.ln_f");
  }
}

/** Every weight of a GPT-2 model, by Hugging Face name. */
export function gpt2ParamSpecs(c: Gpt2Config): ParamSpec[] {
  const d = c.hiddenSize;
  const specs: ParamSpec[] = [
    { name: "transformer.wte.weight", shape: [c.vocabSize, d], init: "normal" },
    { name: "transformer.wpe.weight", shape: [c.maxPositions, d], init: "normal" },
  ];
  const norm = (name: string) => {
    specs.push(
      { name: `${name}.weight`, shape: [d], init: "ones" },
      { name: `${name}.bias`, shape: [d], init: "zeros" },
    );
  };
  const conv = (name: string, inp: number, out: number) => {
    specs.push(
      { name: `${name}.weight`, shape: [inp, out], init: "normal" },
      { name: `${name}.bias`, shape: [out], init: "zeros" },
    );
  };
  for (let i = 0; i < c.numLayers; i++) {
    const p = `transformer.h.${i}`;
    norm(`${p}.ln_1`);
    conv(`${p}.attn.c_attn`, d, 3 * d);
    conv(`${p}.attn.c_proj`, d, d);
    norm(`${p}.ln_2`);
    conv(`${p}.mlp.c_fc`, d, c.intermediateSize);
    conv(`${p}.mlp.c_proj`, c.intermediateSize, d);
  }
  norm("transformer.ln_f");
  return [...specs, ...headParamSpecs(c)];
}
