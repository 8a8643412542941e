// The fused decode step's TypeScript face: a native plan built once per decode session (weights, rotary tables,
// KV cache buffers, padding), then one native call per token that returns the logits of every row.
import type {
  DecodeLayer,
  DecodeLinear,
  DecodeNorm,
  DecodePlanHandle,
  DecodePlanSpec,
  Handle,
} from "./native.js";
import { nt, Tensor } from "./tensor.js";

export type { DecodeLayer, DecodeLinear, DecodeNorm, DecodePlanSpec } from "./native.js";

const linearHandles = (l: DecodeLinear<Tensor>): DecodeLinear<Handle> => ({
  weight: l.weight.handle,
  bias: l.bias?.handle,
  conv1d: l.conv1d,
  loraA: l.loraA?.handle,
  loraB: l.loraB?.handle,
  loraScale: l.loraScale,
});

const normHandles = (n: DecodeNorm<Tensor>): DecodeNorm<Handle> => ({
  weight: n.weight.handle,
  bias: n.bias?.handle,
});

const optionalLinear = (l: DecodeLinear<Tensor> | undefined) => (l ? linearHandles(l) : undefined);

const layerHandles = (l: DecodeLayer<Tensor>): DecodeLayer<Handle> => ({
  norm1: normHandles(l.norm1),
  norm2: normHandles(l.norm2),
  q: optionalLinear(l.q),
  k: optionalLinear(l.k),
  v: optionalLinear(l.v),
  qkv: optionalLinear(l.qkv),
  o: linearHandles(l.o),
  gate: optionalLinear(l.gate),
  up: linearHandles(l.up),
  down: linearHandles(l.down),
});

/** Whether the loaded addon has the fused decode step (an older build may not). */
export function hasFusedDecode(): boolean {
  return typeof (nt() as Partial<ReturnType<typeof nt>>).decodePlan === "function";
}

export class DecodePlan {
  #plan: DecodePlanHandle | undefined;

  /** References every tensor of `spec` (they stay alive until dispose()); nothing is copied. */
  constructor(spec: DecodePlanSpec<Tensor>) {
    this.#plan = nt().decodePlan({
      ...spec,
      embed: spec.embed.handle,
      positions: spec.positions?.handle,
      rotaryCos: spec.rotaryCos?.handle,
      rotarySin: spec.rotarySin?.handle,
      layers: spec.layers.map(layerHandles),
      finalNorm: normHandles(spec.finalNorm),
      head: linearHandles(spec.head),
      keys: spec.keys.map((t) => t.handle),
      values: spec.values.map((t) => t.handle),
    });
  }

  /** One token per row at cache position `past`: writes the cache in place, returns logits [B, V]. */
  step(ids: number[], past: number): Tensor {
    if (!this.#plan) throw new Error("decode plan used after dispose()");
    return new Tensor(nt().decodeStep(this.#plan, ids, past));
  }

  dispose(): void {
    if (this.#plan) nt().decodePlanDispose(this.#plan);
    this.#plan = undefined;
  }
}
