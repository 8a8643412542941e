// Packed weights of a quantised frozen base (native/src/quantized.cc): int8 per output channel, or 4-bit NF4 codes in
// blocks with absmax scales as in QLoRA. Matmuls dequantise a tile of rows at a time; no float copy is kept.
import { nt, Tensor } from "./tensor.js";

export type QuantizeKind = "int8" | "nf4";

/** The quantisation kinds, with what each stores. */
export const QUANTIZE_KINDS: Readonly<Record<QuantizeKind, string>> = {
  int8: "int8 per output channel with a float32 scale per row (about 1 byte per weight)",
  nf4: "4-bit NF4 codes in blocks of 64 with a float32 absmax per block (0.5625 bytes per weight)",
};

/** QLoRA's block size: one absmax scale per 64 weights. */
export const NF4_BLOCK = 64;

/** A weight [out, in] in packed form. */
export interface PackedWeight {
  kind: QuantizeKind;
  /** int8 [out, in], or uint8 [ceil(out·in / 2)] with two NF4 codes per byte (first in the high nibble). */
  data: Tensor;
  /** float32: one scale per row (int8) or one absmax per block (nf4). */
  scales: Tensor;
  out: number;
  in: number;
  /** Weights per scale block (nf4); the row length for int8. */
  block: number;
}

/** Packs a float weight [out, in] (any float dtype). */
export function quantizeWeight(weight: Tensor, kind: QuantizeKind): PackedWeight {
  const [out, inFeatures] = weight.shape as [number, number];
  if (weight.rank !== 2)
    throw new Error(`quantizeWeight: expected a 2-D weight, got shape [${weight.shape}]`);
  const block = kind === "nf4" ? NF4_BLOCK : inFeatures;
  const [data, scales] = nt().quantizeWeight(weight.handle, kind, block) as [
    Tensor["handle"],
    Tensor["handle"],
  ];
  return { kind, data: new Tensor(data), scales: new Tensor(scales), out, in: inFeatures, block };
}

/** The float32 weight [out, in] a packed weight stands for (tests, exports). */
export function dequantizeWeight(w: PackedWeight): Tensor {
  return new Tensor(nt().dequantizeWeight(w.data.handle, w.scales.handle, w.kind, w.out, w.in, w.block));
}

/** x [..., in] · Wᵀ -> [..., out] in x's dtype; the gradient flows to x only (the packed base is frozen). */
export function quantizedLinear(x: Tensor, w: PackedWeight): Tensor {
  return new Tensor(
    nt().quantizedLinear(x.handle, w.data.handle, w.scales.handle, w.kind, w.out, w.in, w.block),
  );
}

/** Rows `ids` of a packed table [vocab, dim] as float32 [..., dim] (quantised embeddings). */
export function quantizedEmbedding(w: PackedWeight, ids: Tensor): Tensor {
  return new Tensor(
    nt().quantizedEmbedding(ids.handle, w.data.handle, w.scales.handle, w.kind, w.out, w.in, w.block),
  );
}

/** Bytes the packed buffers hold (codes and scales). */
export function packedBytes(w: PackedWeight): number {
  return w.data.numel + w.scales.numel * 4; // 1-byte codes (int8, or two NF4 codes per uint8), float32 scales
}

/** The NF4 code table compiled into the addon. */
export function nativeNf4Table(): number[] {
  return nt().nf4CodeTable();
}
