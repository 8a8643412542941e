// The quantisation formats of native/src/quantized.cc written as plain TypeScript over Float32Arrays: the
// specification the native kernels are tested against. Arithmetic is rounded to float32 at each step (Math.fround)
// so the bytes match the native float32 code exactly.

/**
 * QLoRA's NF4 values (Dettmers et al. 2023, appendix E): 16 quantiles of N(0, 1) scaled to [-1, 1], with an exact
 * zero, as bitsandbytes stores them.
 */
export const NF4_VALUES: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
].map(Math.fround);

const f = Math.fround;

/** Rounds half away from zero (C's round). */
export function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

/** int8 per output channel: scale = absmax(row) / 127, q = clamp(round(w / scale), ±127); a zero row has scale 0. */
export function referenceQuantizeInt8(
  weight: Float32Array,
  out: number,
  inFeatures: number,
): { data: Int8Array; scales: Float32Array } {
  const data = new Int8Array(out * inFeatures);
  const scales = new Float32Array(out);
  for (let r = 0; r < out; r++) {
    let absmax = 0;
    for (let j = 0; j < inFeatures; j++) absmax = Math.max(absmax, Math.abs(weight[r * inFeatures + j] ?? 0));
    const scale = f(absmax / 127);
    scales[r] = scale;
    for (let j = 0; j < inFeatures; j++) {
      const q = scale === 0 ? 0 : roundHalfAway(f((weight[r * inFeatures + j] ?? 0) / scale));
      data[r * inFeatures + j] = Math.min(127, Math.max(-127, q));
    }
  }
  return { data, scales };
}

export function referenceDequantizeInt8(
  data: Int8Array,
  scales: Float32Array,
  out: number,
  inFeatures: number,
): Float32Array {
  const w = new Float32Array(out * inFeatures);
  for (let r = 0; r < out; r++)
    for (let j = 0; j < inFeatures; j++)
      w[r * inFeatures + j] = f((data[r * inFeatures + j] ?? 0) * (scales[r] ?? 0));
  return w;
}

/** The NF4 code nearest to v in [-1, 1]; ties go to the lower code. */
export function nearestNf4Code(v: number): number {
  let best = 0;
  let bestDistance = Math.abs(f(v - (NF4_VALUES[0] as number)));
  for (let c = 1; c < 16; c++) {
    const d = Math.abs(f(v - (NF4_VALUES[c] as number)));
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

/**
 * NF4 over the row-major flattened weight in blocks of `block`: absmax per block, each weight's code the nearest NF4
 * value to w / absmax, two codes per byte with the first in the high nibble (as bitsandbytes packs them).
 */
export function referenceQuantizeNf4(
  weight: Float32Array,
  block: number,
): { data: Uint8Array; scales: Float32Array } {
  const n = weight.length;
  const blocks = Math.ceil(n / block);
  const data = new Uint8Array(Math.ceil(n / 2));
  const scales = new Float32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    const start = b * block;
    const end = Math.min(n, start + block);
    let absmax = 0;
    for (let e = start; e < end; e++) absmax = Math.max(absmax, Math.abs(weight[e] ?? 0));
    scales[b] = absmax;
    for (let e = start; e < end; e++) {
      const code = nearestNf4Code(absmax === 0 ? 0 : f((weight[e] ?? 0) / absmax));
      data[e >> 1] = (data[e >> 1] ?? 0) | (e & 1 ? code : code << 4);
    }
  }
  return { data, scales };
}

export function referenceDequantizeNf4(
  data: Uint8Array,
  scales: Float32Array,
  numel: number,
  block: number,
): Float32Array {
  const w = new Float32Array(numel);
  for (let e = 0; e < numel; e++) {
    const byte = data[e >> 1] ?? 0;
    const code = e & 1 ? byte & 0x0f : byte >> 4;
    w[e] = f((NF4_VALUES[code] as number) * (scales[Math.floor(e / block)] ?? 0));
  }
  return w;
}
