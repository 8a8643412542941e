// The pieces of causal self-attention shared by every architecture: masks, positions, rotary embeddings, attend.
import { arange, type DType, keep, noGrad, type Tensor, tensor } from "../engine/index.js";
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
 * Position ids [B, T] of the new tokens when an attention mask is given: count only real tokens, so a left-padded
 * row starts at 0 like the same prompt alone. Without a mask positions are past..past+T for every row, and models
 * slice their tables instead of gathering (no tensor needed).
 */
export function positionIds(queryLength: number, attentionMask: Tensor): Tensor {
  const counted = attentionMask.long().cumsum(-1).sub(1).clamp(0);
  return counted.narrow(1, counted.size(1) - queryLength, queryLength);
}

/**
 * softmax(q kᵀ / √d + mask) v with grouped-query heads: q [B, H, T, d], k and v [B, kvH, S, d] -> [B, T, H·d].
 * The query heads that share a key/value head are folded into the query length ([B, kvH, g·T, d]) so keys and
 * values are never copied per head. Softmax runs in float32 whatever the compute dtype, as Hugging Face does.
 */
export function attend(q: Tensor, k: Tensor, v: Tensor, blocked: Tensor | undefined): Tensor {
  const [batch, heads, steps, headDim] = q.shape as [number, number, number, number];
  const kvHeads = k.size(1);
  const groups = heads / kvHeads;
  const keyLength = k.size(2);
  const grouped = groups === 1 ? q : q.reshape(batch, kvHeads, groups * steps, headDim);
  let scores = grouped.matmul(k.transpose(2, 3)).mul(1 / Math.sqrt(headDim));
  if (blocked) {
    const fill = maskValue(scores.dtype);
    scores =
      groups === 1
        ? scores.maskedFill(blocked, fill)
        : scores
            .view(batch, kvHeads, groups, steps, keyLength)
            .maskedFill(blocked.unsqueeze(2), fill)
            .view(batch, kvHeads, groups * steps, keyLength);
  }
  const dtype = q.dtype;
  const probs = dtype === "float32" ? scores.softmax(-1) : scores.float().softmax(-1).to(dtype);
  const out = probs.matmul(v); // [B, kvH, g·T, d]
  const perHead = groups === 1 ? out : out.view(batch, heads, steps, headDim);
  return perHead.transpose(1, 2).reshape(batch, steps, heads * headDim);
}

/**
 * Rotary-embedding tables [positions, headDim] in the rotate-half layout (as Hugging Face stores weights).
 * `sin` is stored with its first half negated, so rotate_half(x)·sin = roll(x, d/2)·sin: one op instead of four.
 */
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
        sin[row + i] = -Math.sin(angle);
        sin[row + i + half] = Math.sin(angle);
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

/**
 * Applies rotary embeddings to x [B, H, T, d]: x·cos + rotate_half(x)·sin, with rotate_half(x) = [-x₂, x₁] written
 * as roll(x, d/2) times the half-negated sin table. cos and sin broadcast: [T, d], or [B, 1, T, d] when gathered.
 */
export function applyRotary(x: Tensor, cos: Tensor, signedSin: Tensor): Tensor {
  return x.mul(cos).addcmul(x.roll(x.size(-1) / 2, -1), signedSin);
}
