// Token log-probs and the next-token loss through an output head without [positions, vocab] logits held whole:
// the native ops (native/src/chunkedLogProbs.cc) compute the logits a chunk of positions at a time and skip
// ignored positions.
import { nt, Tensor } from "./tensor.js";

/** Float32 logit elements per chunk when no chunk size is given (8 MiB of logits at a time). */
export const DEFAULT_LOGITS_CHUNK_ELEMENTS = 2 ** 21;

/**
 * The fewest positions a chunk holds, whatever the vocabulary: each chunk's head matmul packs the whole [V, D]
 * weight again, so a chunk of a few rows spends more time copying the weight than multiplying (a 151,936-word
 * head in 16-row chunks: OpenBLAS's packing took half as long as its kernel in a 0.5B LoRA DPO step).
 */
export const MIN_CHUNK_POSITIONS = 128;

/**
 * Positions per chunk for a head of `vocab` outputs: {@link DEFAULT_LOGITS_CHUNK_ELEMENTS} / vocab, at least
 * {@link MIN_CHUNK_POSITIONS}.
 */
export function defaultChunkPositions(vocab: number): number {
  return Math.max(MIN_CHUNK_POSITIONS, Math.floor(DEFAULT_LOGITS_CHUNK_ELEMENTS / Math.max(1, vocab)));
}

export interface ChunkedLogProbsOptions {
  /** Targets equal to this add nothing (log-prob 0, no gradient). Default -100. */
  ignoreIndex?: number;
  /** Positions whose logits are computed at once; default {@link defaultChunkPositions} of the vocab. */
  chunkSize?: number;
}

/**
 * log p(target) under softmax(hidden · weightᵀ + bias) for each position: hidden [..., D], weight [V, D], bias [V],
 * targets [...] (hidden's shape without D). Returns float32 [...], 0 where the target is the ignore index.
 * Differentiable in hidden, weight and bias; hidden and weight share a floating dtype (bf16/f16 heads multiply in
 * their dtype and take the softmax in float32).
 */
export function chunkedTokenLogProbs(
  hidden: Tensor,
  weight: Tensor,
  bias: Tensor | undefined,
  targets: Tensor,
  options: ChunkedLogProbsOptions = {},
): Tensor {
  const chunk = chunkPositions(weight, options);
  return new Tensor(
    nt().chunkedTokenLogProbs(
      hidden.handle,
      weight.handle,
      bias?.handle,
      targets.handle,
      options.ignoreIndex ?? -100,
      chunk,
    ),
  );
}

/**
 * Σ -log p(target) over the positions whose target is not the ignore index: a float32 scalar, the summed
 * next-token cross-entropy. Its gradients (hidden, weight, bias) are computed in this call, chunk by chunk, when
 * grad mode is on and an input requires grad; backward() then only scales them, so no logits are recomputed.
 */
export function chunkedTokenLoss(
  hidden: Tensor,
  weight: Tensor,
  bias: Tensor | undefined,
  targets: Tensor,
  options: ChunkedLogProbsOptions = {},
): Tensor {
  return new Tensor(
    nt().chunkedTokenLoss(
      hidden.handle,
      weight.handle,
      bias?.handle,
      targets.handle,
      options.ignoreIndex ?? -100,
      chunkPositions(weight, options),
    ),
  );
}

function chunkPositions(weight: Tensor, options: ChunkedLogProbsOptions): number {
  const chunk = options.chunkSize ?? defaultChunkPositions(weight.shape[0] ?? 1);
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`chunked log-probs: chunkSize must be a positive integer, got ${chunk}`);
  }
  return chunk;
}
