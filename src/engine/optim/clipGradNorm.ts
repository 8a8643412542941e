import { nt, type Tensor } from "../tensor.js";

/** Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return nt().clipGradNorm(
    params.map((p) => p.handle),
    maxNorm,
  );
}
