// LoRA (Hu et al. 2021): y = W x + (α / r) · B A x on chosen linear layers, in PEFT's conventions, so adapters
// trained here load in PEFT and PEFT's load here. Switching the adapter off gives back the base model (DPO's reference).
import {
  type DType,
  isHalfDtype,
  keep,
  linear,
  noGrad,
  randn,
  type Tensor,
  tidy,
  zeros,
} from "../engine/index.js";
import { ModelError } from "./errors.js";
import type { LinearAdapter, TransformerModel } from "./transformer.js";

export interface LoraConfig {
  /** Rank of the update. */
  r: number;
  /** Scale numerator: the update is multiplied by alpha / r (alpha / √r with rsLoRA). */
  alpha: number;
  /** Module names or suffixes (["q_proj", "v_proj"]), one regular expression matched against full names, or "all-linear". */
  targetModules: string[] | string;
  /** Dropout on the adapter's input while training. */
  dropout: number;
  /** Rank-stabilised scaling alpha / √r (Kalajdzievski 2023). */
  useRslora: boolean;
  /** PEFT's rank_pattern: module name or pattern -> its own rank (see {@link moduleRankAlpha}). */
  rankPattern?: Readonly<Record<string, number>>;
  /** PEFT's alpha_pattern: module name or pattern -> its own alpha. */
  alphaPattern?: Readonly<Record<string, number>>;
}

export const DEFAULT_LORA: LoraConfig = {
  r: 8,
  alpha: 16,
  targetModules: ["q_proj", "v_proj"],
  dropout: 0,
  useRslora: false,
};

export interface LoraPair {
  /** [r, in] */
  a: Tensor;
  /** [out, r] */
  b: Tensor;
}

/**
 * The rank and alpha of one module, as PEFT picks them: the first key of rank_pattern, then alpha_pattern, that
 * is the module's full name or matches its end after a dot as a regular expression ("q_proj",
 * "layers\\.0\\.self_attn\\.q_proj") chooses both; modules no key matches take r and alpha.
 */
export function moduleRankAlpha(config: LoraConfig, module: string): { r: number; alpha: number } {
  const ranks = config.rankPattern ?? {};
  const alphas = config.alphaPattern ?? {};
  const key = [...Object.keys(ranks), ...Object.keys(alphas)].find(
    (k) => k === module || new RegExp(`^(?:.*\\.)?(?:${k})$`).test(module),
  );
  if (key === undefined) return { r: config.r, alpha: config.alpha };
  return { r: ranks[key] ?? config.r, alpha: alphas[key] ?? config.alpha };
}

/** The update's multiplier for a rank and alpha: alpha / r, or alpha / √r with rsLoRA. */
export function loraScale(r: number, alpha: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

export class LoraAdapter implements LinearAdapter {
  /** Off: the model computes exactly its base weights. */
  enabled = true;
  /** Dropout is active only while training. */
  training = false;
  /** Each adapted module's multiplier (alpha / r of its own rank and alpha). */
  readonly scales: ReadonlyMap<string, number>;

  constructor(
    readonly config: LoraConfig,
    /** Adapted modules by full name (e.g. "model.layers.0.self_attn.q_proj"). */
    readonly modules: Map<string, LoraPair>,
  ) {
    this.scales = new Map(
      [...modules.keys()].map((m) => {
        const { r, alpha } = moduleRankAlpha(config, m);
        return [m, loraScale(r, alpha, config.useRslora)];
      }),
    );
  }

  /** The multiplier of `module`'s update. */
  scaleOf(module: string): number {
    return this.scales.get(module) ?? loraScale(this.config.r, this.config.alpha, this.config.useRslora);
  }

  adapts(module: string): boolean {
    return this.enabled && this.modules.has(module);
  }

  delta(module: string, x: Tensor): Tensor | undefined {
    if (!this.enabled) return undefined;
    const pair = this.modules.get(module);
    if (!pair) return undefined;
    // Mixed precision: over a bf16/f16 base the adapter stays fp32; its input is raised to fp32 and the update
    // lowered to the base's dtype (the casts pass gradients through).
    const raised = x.dtype === pair.a.dtype ? x : x.to(pair.a.dtype);
    const input =
      this.training && this.config.dropout > 0 ? raised.dropout(this.config.dropout, true) : raised;
    const update = linear(linear(input, pair.a), pair.b).mul(this.scaleOf(module));
    return update.dtype === x.dtype ? update : update.to(x.dtype);
  }

  /** Trainable tensors with PEFT's names (without the "base_model.model." prefix). */
  namedParameters(): [string, Tensor][] {
    return [...this.modules].flatMap(([m, p]): [string, Tensor][] => [
      [`${m}.lora_A.weight`, p.a],
      [`${m}.lora_B.weight`, p.b],
    ]);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}

/** Output layers PEFT's "all-linear" leaves out: the LM head and a classifier's score head. */
const OUTPUT_LAYERS = ["lm_head", "score"];

/**
 * Whether PEFT would adapt `module` under `targets`: "all-linear" takes every linear layer but the output layer;
 * another string is a regular expression matched against the full name; a list matches by name or suffix.
 */
export function matchesTarget(module: string, targets: string[] | string): boolean {
  if (targets === "all-linear") return !OUTPUT_LAYERS.includes(module.split(".").at(-1) ?? "");
  if (typeof targets === "string") return new RegExp(`^(?:${targets})$`).test(module);
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

/**
 * A fresh adapter for `model`: A ~ kaiming-uniform(√5) as PEFT (U(-1/√in, 1/√in)), B = 0, so training starts at the
 * base model. Its tensors require gradients; the model's own weights are left as they are.
 */
export function createLora(model: TransformerModel, config: Partial<LoraConfig> = {}): LoraAdapter {
  const full: LoraConfig = { ...DEFAULT_LORA, ...config };
  for (const r of [full.r, ...Object.values(full.rankPattern ?? {})])
    if (!Number.isInteger(r) || r <= 0) throw new ModelError(`lora: r must be a positive integer, got ${r}`);
  // Over a half-precision base the adapter (and so its gradients and optimizer state) stays fp32, as PEFT does.
  const dtype: DType = isHalfDtype(model.dtype) ? "float32" : model.dtype;
  const device = model.device;
  const modules = new Map<string, LoraPair>();
  for (const [name, size] of model.linearModules()) {
    if (!matchesTarget(name, full.targetModules)) continue;
    const { r } = moduleRankAlpha(full, name);
    const bound = 1 / Math.sqrt(size.inFeatures);
    const a = tidy(() =>
      noGrad(() => randn([r, size.inFeatures]).uniform_(-bound, bound).to(dtype).to(device)),
    );
    const b = noGrad(() => zeros([size.outFeatures, r], { dtype, device }));
    modules.set(name, { a: keep(a.requiresGrad_()), b: keep(b.requiresGrad_()) });
  }
  if (modules.size === 0) {
    throw new ModelError(
      `lora: target modules ${JSON.stringify(full.targetModules)} match no linear layer of this ${model.config.modelType} model`,
    );
  }
  return new LoraAdapter(full, modules);
}

/** Routes the model's linear layers through `adapter` (replacing any adapter it had). */
export function attachAdapter(model: TransformerModel, adapter: LoraAdapter): void {
  model.adapter = adapter;
}

/** Runs `fn` with the model's adapter switched off: the base model, with no second copy in memory. */
export function withAdapterDisabled<T>(model: TransformerModel, fn: () => T): T {
  const adapter = model.adapter instanceof LoraAdapter ? model.adapter : undefined;
  if (!adapter) return fn();
  const previous = adapter.enabled;
  adapter.enabled = false;
  try {
    return fn();
  } finally {
    adapter.enabled = previous;
  }
}

/** Folds the adapter into the base weights (W += scale · B A) and detaches it; the model then needs no adapter. */
export function mergeAdapter(model: TransformerModel, adapter: LoraAdapter): void {
  noGrad(() => {
    for (const [module, pair] of adapter.modules) {
      tidy(() => {
        const weight = model.param(`${module}.weight`);
        const update = pair.b.matmul(pair.a).mul(adapter.scaleOf(module)).to(weight.dtype);
        weight.add_(model.isConv1d(module) ? update.transpose(0, 1) : update);
      });
    }
  });
  if (model.adapter === adapter) model.adapter = undefined;
}
