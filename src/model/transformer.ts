// What every decoder-only model here shares: parameters by Hugging Face name, the layer loop, heads, caches,
// and the hook through which LoRA adapters join every linear layer.
import {
  type DType,
  embedding,
  isGradEnabled,
  linear,
  type PackedWeight,
  quantizedEmbedding,
  quantizedLinear,
  type Tensor,
  tidy,
} from "../engine/index.js";
import { blockedKeys, positionIds } from "./attention.js";
import { checkpointedLayer, trainablesByLayer } from "./checkpointedLayer.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";
import { KVCache } from "./kvCache.js";

export interface ForwardOptions {
  /** 1 for real tokens, 0 for padding: [B, T] without a cache, [B, past + T] with one. */
  attentionMask?: Tensor;
  /** Positions [B, T]; by default derived from the attention mask, or past..past+T. */
  positionIds?: Tensor;
  /** Incremental decoding: keys and values of earlier positions; the new ones are appended. */
  cache?: KVCache;
  /** Compute the head for the last position only ([B, 1, out]): what generation needs. */
  lastOnly?: boolean;
}

/** Per-forward values every layer needs. */
export interface LayerContext {
  blocked: Tensor | undefined;
  /** Positions [B, T] when they must be gathered (padding, caller-given); undefined means past..past+T. */
  positions: Tensor | undefined;
  /** Positions already in the cache, and new positions in this pass. */
  past: number;
  steps: number;
  cache: KVCache | undefined;
  /** Rotary tables at this pass's positions (Llama family), computed once for all layers. */
  rotary?: { cos: Tensor; sin: Tensor };
}

/** Something that adds a low-rank update to named linear layers (LoRA). */
export interface LinearAdapter {
  /** The update for `module`'s output given its input, or undefined when the module is not adapted. */
  delta(module: string, x: Tensor): Tensor | undefined;
  /** Whether `delta(module, …)` would add anything now (undefined: unknown, treated as yes). */
  adapts?(module: string): boolean;
  /** Its trainable tensors by name (under the adapted modules' names), for gradient checkpointing. */
  namedParameters?(): [string, Tensor][];
}

export interface ParamSpec {
  name: string;
  shape: number[];
  /** How a fresh model initialises it. */
  init: "normal" | "zeros" | "ones";
}

export abstract class TransformerModel {
  adapter: LinearAdapter | undefined;
  /**
   * Recompute each block in the backward pass instead of keeping its activations (training without a KV cache):
   * activation memory no longer grows with depth, for about one more forward pass of compute.
   */
  gradientCheckpointing = false;
  /** 2-D weights stored packed (--quantize), by name; a packed weight is not in `params`. */
  readonly quantized = new Map<string, PackedWeight>();

  constructor(
    readonly config: ModelConfig,
    /** Every weight by its Hugging Face name. */
    readonly params: Map<string, Tensor>,
  ) {}

  /** Names and shapes of every weight the architecture has, in Hugging Face's naming. */
  abstract paramSpecs(): ParamSpec[];
  protected abstract embed(ids: Tensor, ctx: LayerContext): Tensor;
  protected abstract block(layer: number, h: Tensor, ctx: LayerContext): Tensor;
  protected abstract finalNorm(h: Tensor): Tensor;
  protected abstract embeddingWeightName(): string;
  abstract get kvHeads(): number;
  /** The Linear-like modules by name with their sizes: what LoRA can target. */
  abstract linearModules(): Map<string, { inFeatures: number; outFeatures: number }>;

  /** Whether `module` stores its weight [in, out] (GPT-2's Conv1D) rather than [out, in]. */
  isConv1d(_module: string): boolean {
    return false;
  }

  get dtype(): DType {
    return this.#floatWeight().dtype;
  }
  get device(): string {
    return this.#floatWeight().device;
  }
  get numParameters(): number {
    let n = 0;
    for (const t of this.params.values()) n += t.numel;
    for (const w of this.quantized.values()) n += w.out * w.in;
    return n;
  }

  /** A weight in the load dtype: the token embeddings, or the first float weight when they are packed. */
  #floatWeight(): Tensor {
    const t = this.params.get(this.embeddingWeightName()) ?? this.params.values().next().value;
    if (!t) throw new ModelError("model has no float weights");
    return t;
  }

  param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t && this.quantized.has(name))
      throw new ModelError(
        `weight '${name}' is stored quantised (--quantize ${this.quantized.get(name)?.kind}); this needs a model loaded without --quantize`,
      );
    if (!t) throw new ModelError(`model has no weight '${name}'`);
    return t;
  }

  /** y = x Wᵀ + b for the Linear module `module` (weights stored [out, in]), plus any adapter's update. */
  linear(module: string, x: Tensor): Tensor {
    const packed = this.quantized.get(`${module}.weight`);
    if (packed) return this.#packedLinear(module, packed, x);
    const weight = this.param(`${module}.weight`);
    // A layer kept in fp32 over a half-precision model (a reward head trained in full beside LoRA) reads fp32 input.
    const input = x.dtype === weight.dtype ? x : x.to(weight.dtype);
    const y = linear(input, weight, this.params.get(`${module}.bias`));
    const delta = this.adapter?.delta(module, input);
    return delta ? y.add(delta) : y;
  }

  /** linear() over a packed weight: dequantised tile by tile in native code; the adapter's update in its own dtype. */
  #packedLinear(module: string, packed: PackedWeight, x: Tensor): Tensor {
    const product = quantizedLinear(x, packed);
    const bias = this.params.get(`${module}.bias`);
    const y = bias ? product.add(bias) : product;
    const delta = this.adapter?.delta(module, x);
    return delta ? y.add(delta) : y;
  }

  /** Final hidden states [B, T, D] (after the last norm). */
  hidden(ids: Tensor, options: ForwardOptions = {}): Tensor {
    const [batch, steps] = ids.shape as [number, number];
    const past = options.cache?.length ?? 0;
    if (options.cache && options.cache.batch !== batch) {
      throw new ModelError(`KV cache holds batch ${options.cache.batch}, input has batch ${batch}`);
    }
    const mask = options.attentionMask;
    const ctx: LayerContext = {
      blocked: blockedKeys(steps, past, mask),
      positions: options.positionIds ?? (mask ? positionIds(steps, mask) : undefined),
      past,
      steps,
      cache: options.cache,
    };
    this.prepareContext(ctx);
    let h = this.embed(ids, ctx);
    const recompute = this.gradientCheckpointing && !options.cache && isGradEnabled();
    const trainables = recompute ? this.#trainablesByLayer() : [];
    // One scope per layer: its intermediates are freed as soon as it is done (autograd keeps what it saved).
    for (let layer = 0; layer < this.config.numLayers; layer++) {
      const input = h;
      const block = (x: Tensor, c: LayerContext) => this.block(layer, x, c);
      h = tidy(() =>
        recompute ? checkpointedLayer(block, input, ctx, trainables[layer] ?? []) : block(input, ctx),
      );
    }
    options.cache?.advance(steps);
    return this.finalNorm(h);
  }

  /** Trainable weights (the model's and the adapter's) of each block. */
  #trainablesByLayer(): Tensor[][] {
    const named: [string, Tensor][] = [...this.params, ...(this.adapter?.namedParameters?.() ?? [])];
    return trainablesByLayer(named, this.config.numLayers);
  }

  /** Per-pass values shared by all layers (e.g. rotary tables at the positions). */
  protected prepareContext(_ctx: LayerContext): void {}

  /** Head outputs: next-token logits [B, T, V], or per-position scores [B, T, labels] for classifiers. */
  forward(ids: Tensor, options: ForwardOptions = {}): Tensor {
    let h = this.hidden(ids, options);
    if (options.lastOnly) h = h.narrow(1, h.size(1) - 1, 1);
    return this.head(h);
  }

  /**
   * The LM head as a plain linear map (weight [V, D], optional bias) when nothing else joins it, i.e. no adapter
   * update on lm_head: what the chunked log-prob op can compute in its place. Undefined for classifiers.
   */
  plainLmHead(): { weight: Tensor; bias: Tensor | undefined } | undefined {
    if (this.config.task === "sequence-classification") return undefined;
    if (this.quantized.size > 0) return undefined; // packed heads go through head()
    if (this.config.tieWordEmbeddings)
      return { weight: this.param(this.embeddingWeightName()), bias: undefined };
    if (this.adapter && this.adapter.adapts?.("lm_head") !== false) return undefined;
    return { weight: this.param("lm_head.weight"), bias: this.params.get("lm_head.bias") };
  }

  head(h: Tensor): Tensor {
    if (this.config.task === "sequence-classification") return this.linear("score", h);
    if (this.config.tieWordEmbeddings) {
      const packed = this.quantized.get(this.embeddingWeightName());
      return packed ? quantizedLinear(h, packed) : linear(h, this.param(this.embeddingWeightName()));
    }
    return this.linear("lm_head", h);
  }

  /** Token embeddings of ids (for models that share them with the head). */
  tokenEmbeddings(ids: Tensor): Tensor {
    const packed = this.quantized.get(this.embeddingWeightName());
    if (!packed) return embedding(this.param(this.embeddingWeightName()), ids);
    const rows = quantizedEmbedding(packed, ids);
    return rows.dtype === this.dtype ? rows : rows.to(this.dtype);
  }

  /** A KV cache sized for `capacity` positions of `batch` sequences. */
  newCache(batch: number, capacity: number): KVCache {
    return new KVCache(this.config.numLayers, batch, this.kvHeads, capacity, this.config.headDim, {
      dtype: this.dtype,
      device: this.device,
    });
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    for (const w of this.quantized.values()) {
      w.data.dispose();
      w.scales.dispose();
    }
  }
}

/** The head's weights, shared by both families: lm_head unless tied, or the classifier's score. */
export function headParamSpecs(config: ModelConfig): ParamSpec[] {
  const { task, numLabels, hiddenSize, vocabSize, tieWordEmbeddings } = config;
  if (task === "sequence-classification")
    return [{ name: "score.weight", shape: [numLabels, hiddenSize], init: "normal" }];
  return tieWordEmbeddings
    ? []
    : [{ name: "lm_head.weight", shape: [vocabSize, hiddenSize], init: "normal" }];
}
