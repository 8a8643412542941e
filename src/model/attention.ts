// The pieces of causal self-attention shared by every architecture: masks, positions, rotary embeddings, attend.
import { arange, cat, type DType, keep, noGrad, type Tensor, tensor } from "../engine/index.js";
import type { RopeScaling } from "./config.js";

/** The most negative finite value of a dtype: masked scores become this, never -inf, so no row turns NaN. */
export function maskValue(dtype: DType): number {
  if (dtype === "float16") return -65504;
  if (dtype === "bfloat16") return -3.3895313892515355e38;
  return -3.4028234663852886e38;
}

/**
 * Which scores to block, as bool [B|1, 1, T, past+T]: future keys, and keys whose attention mask is 0.
 * Returns undefined when nothing needs blocking (a single new token and no padding).
 */
export function blockedKeys(
  queryLength: number,
  pastLength: number,
  attentionMask?: Tensor,
): Tensor | undefined {
  const keyLength = pastLength + queryLength;
  if (queryLength === 1 && !attentionMask) return undefined;
  const queryPos = arange(pastLength, keyLength).view(queryLength, 1);
  const keyPos = arange(0, keyLength).view(1, keyLength);
  const future = keyPos.gt(queryPos).view(1, 1, queryLength, keyLength);
  if (!attentionMask) return future;
  const padding = attentionMask.eq(0).view(attentionMask.size(0), 1, 1, keyLength);
  return future.logicalOr(padding);
}

/**
 * Position ids [B, T] for the new tokens: with an attention mask, count only real tokens (so a left-padded row
 * starts at 0 like the same prompt alone); otherwise past..past+T.
 */
export function positionIds(
  batch: number,
  queryLength: number,
  pastLength: number,
  attentionMask?: Tensor,
): Tensor {
  if (!attentionMask)
    return arange(pastLength, pastLength + queryLength)
      .view(1, queryLength)
      .expand(batch, queryLength);
  const counted = attentionMask.long().cumsum(-1).sub(1).clamp(0);
  return counted.narrow(1, counted.size(1) - queryLength, queryLength);
}

/**
 * softmax(q kᵀ / √d + mask) v, with grouped-query heads: q [B, H, T, d], k and v [B, kvH, S, d] -> [B, T, H·d].
 * Softmax runs in float32 whatever the compute dtype, as Hugging Face does.
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, blocked: Tensor | undefined): Tensor {
  const [batch, heads, steps, headDim] = q.shape as [number, number, number, number];
  const kvHeads = k.size(1);
  const groups = heads / kvHeads;
  let keys = k;
  let values = v;
  if (groups > 1) {
    const s = k.size(2);
    keys = k.unsqueeze(2).expand(batch, kvHeads, groups, s, headDim).reshape(batch, heads, s, headDim);
    values = v.unsqueeze(2).expand(batch, kvHeads, groups, s, headDim).reshape(batch, heads, s, headDim);
  }
  let scores = q.matmul(keys.transpose(2, 3)).mul(1 / Math.sqrt(headDim));
  if (blocked) scores = scores.maskedFill(blocked, maskValue(scores.dtype));
  const dtype = q.dtype;
  const probs = dtype === "float32" ? scores.softmax(-1) : scores.float().softmax(-1).to(dtype);
  return probs
    .matmul(values)
    .transpose(1, 2)
    .reshape(batch, steps, heads * headDim);
}

/** Rotary-embedding tables cos/sin [positions, headDim], rotate-half layout (as Hugging Face stores weights). */
export class RotaryTables {
  cos!: Tensor;
  sin!: Tensor;
  #positions = 0;
  readonly #invFreq: number[];

  constructor(
    readonly headDim: number,
    theta: number,
    scaling: RopeScaling | undefined,
    positions: number,
    readonly dtype: DType,
  ) {
    this.#invFreq = rotaryInverseFrequencies(headDim, theta, scaling);
    this.#build(positions);
  }

  #build(positions: number): void {
    const half = this.headDim / 2;
    const cos = new Float32Array(positions * this.headDim);
    const sin = new Float32Array(positions * this.headDim);
    for (let p = 0; p < positions; p++) {
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(p * (this.#invFreq[i] ?? 0));
        const row = p * this.headDim;
        cos[row + i] = cos[row + i + half] = Math.cos(angle);
        sin[row + i] = sin[row + i + half] = Math.sin(angle);
      }
    }
    this.cos?.dispose();
    this.sin?.dispose();
    noGrad(() => {
      this.cos = keep(tensor(cos, [positions, this.headDim], { dtype: this.dtype }));
      this.sin = keep(tensor(sin, [positions, this.headDim], { dtype: this.dtype }));
    });
    this.#positions = positions;
  }

  /** Grows the tables when a sequence runs past them (rotary embeddings extrapolate to any position). */
  ensure(positions: number): void {
    if (positions > this.#positions) this.#build(Math.max(positions, this.#positions * 2));
  }

  dispose(): void {
    this.cos.dispose();
    this.sin.dispose();
  }
}

/** θ^(-2i/d), with Llama 3's or linear frequency scaling applied. */
export function rotaryInverseFrequencies(headDim: number, theta: number, scaling?: RopeScaling): number[] {
  const base = Array.from({ length: headDim / 2 }, (_, i) => Math.fround(1 / theta ** ((2 * i) / headDim)));
  if (!scaling) return base;
  if (scaling.type === "linear") return base.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositions } = scaling;
  const lowWavelen = originalMaxPositions / lowFreqFactor;
  const highWavelen = originalMaxPositions / highFreqFactor;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** Applies rotary embeddings to x [B, H, T, d]; cos and sin are [B, 1, T, d] (the tables at each position). */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const [x1, x2] = x.split(x.size(-1) / 2, -1) as [Tensor, Tensor];
  return x.mul(cos).add(cat([x2.neg(), x1], -1).mul(sin));
}
