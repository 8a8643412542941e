// Pre-allocated key/value cache for incremental decoding: new keys are copied into place, never concatenated.
import { type DType, keep, type Tensor, zeros } from "../engine/index.js";

export class KVCache {
  readonly keys: Tensor[];
  readonly values: Tensor[];
  /** Positions already filled (the same for every layer between forward calls). */
  length = 0;

  constructor(
    numLayers: number,
    readonly batch: number,
    kvHeads: number,
    readonly capacity: number,
    headDim: number,
    options: { dtype: DType; device?: string },
  ) {
    const shape = [batch, kvHeads, capacity, headDim];
    this.keys = Array.from({ length: numLayers }, () => keep(zeros(shape, options)));
    this.values = Array.from({ length: numLayers }, () => keep(zeros(shape, options)));
  }

  /** Writes this step's keys/values [B, kvH, T, hd] for `layer`; returns views over everything so far. */
  update(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const steps = k.size(2);
    const end = this.length + steps;
    if (end > this.capacity)
      throw new RangeError(`KV cache full: ${end} positions needed, capacity ${this.capacity}`);
    const keys = this.keys[layer];
    const values = this.values[layer];
    if (!keys || !values) throw new RangeError(`KV cache has no layer ${layer}`);
    keys.narrow(2, this.length, steps).copy_(k);
    values.narrow(2, this.length, steps).copy_(v);
    return { k: keys.narrow(2, 0, end), v: values.narrow(2, 0, end) };
  }

  /** Called once per forward pass, after every layer has written its `steps` new positions. */
  advance(steps: number): void {
    this.length += steps;
  }

  /** Keeps only the rows in `indices` (e.g. dropping finished sequences); returns a new cache. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}
