// Data parallelism for the training loop, over a c10d process group. Every rank walks the same seeded global batch
// order and keeps its shard of each global micro-batch; each rank's loss is weighted by its shard's share of the
// batch (tokens for SFT, examples for pairs), gradients are summed across ranks in buckets, and the update is then
// the single-process update on the same global batch. Rank 0 alone writes logs, progress and checkpoints.

import type { ProcessGroup } from "../distributed/processGroup.js";
import { cat, type Tensor, tensor, tidy, zerosLike } from "../engine/index.js";

export interface DataParallel {
  group: ProcessGroup;
  rank: number;
  worldSize: number;
}

/**
 * Whether a process writes files and progress: the only process (no data-parallel context), or rank 0. The CLI
 * builds the context from RANK/WORLD_SIZE and hands it to the trainer, which passes it down.
 */
export function isMainRank(dp: DataParallel | undefined): boolean {
  return (dp?.rank ?? 0) === 0;
}

/** This rank's share of a global micro-batch: every worldSize-th example, starting at its rank. */
export function shardIndices(indices: readonly number[], rank: number, worldSize: number): number[] {
  return indices.filter((_, i) => i % worldSize === rank);
}

/** Gradient bytes summed per collective: few large messages are much faster than one per parameter. */
export const GRADIENT_BUCKET_BYTES = 25 * 1024 * 1024;

/** Groups parameter indices into buckets of at most `bucketBytes` (a larger parameter gets a bucket alone). */
export function gradientBuckets(
  sizes: readonly number[],
  bucketBytes: number,
  bytesPerElement = 4,
): number[][] {
  const buckets: number[][] = [];
  let bucket: number[] = [];
  let bytes = 0;
  sizes.forEach((size, i) => {
    const b = size * bytesPerElement;
    if (bucket.length > 0 && bytes + b > bucketBytes) {
      buckets.push(bucket);
      bucket = [];
      bytes = 0;
    }
    bucket.push(i);
    bytes += b;
  });
  if (bucket.length > 0) buckets.push(bucket);
  return buckets;
}

/** Rank 0's values for every parameter, so all ranks start from the same weights. */
export function broadcastParameters(group: ProcessGroup, params: readonly Tensor[]): void {
  tidy(() => {
    const detached = params.map((p) => p.detach());
    group.broadcast(detached, 0);
  });
}

/**
 * Sums every parameter's gradient across ranks, in place (a rank with no gradient for a parameter, e.g. an empty
 * shard, contributes zeros). Gradients are flattened into buckets, summed, and copied back.
 */
export function allReduceGradients(
  group: ProcessGroup,
  params: readonly Tensor[],
  bucketBytes = GRADIENT_BUCKET_BYTES,
): void {
  tidy(() => {
    const grads = params.map((p) => {
      const g = p.grad;
      if (g) return g;
      const zero = zerosLike(p);
      p.grad = zero;
      return zero;
    });
    for (const bucket of gradientBuckets(
      grads.map((g) => g.numel),
      bucketBytes,
    )) {
      const parts = bucket.map((i) => grads[i] as Tensor);
      const flat =
        parts.length === 1 ? (parts[0] as Tensor).flatten().contiguous() : cat(parts.map((g) => g.flatten()));
      group.allReduce([flat], "sum");
      let offset = 0;
      for (const g of parts) {
        g.copy_(flat.narrow(0, offset, g.numel).view(...g.shape));
        offset += g.numel;
      }
    }
  });
}

/** Sums a list of numbers across ranks (float64, so step metrics and token counts stay exact). */
export function allReduceNumbers(group: ProcessGroup, values: readonly number[]): number[] {
  return tidy(() => {
    const t = tensor([...values], [values.length], { dtype: "float64" });
    group.allReduce([t], "sum");
    return t.toArray();
  });
}

/**
 * Computes rows of `width` numbers for `count` items with the work split across ranks (rank r takes items r,
 * r + worldSize, ...), then gathers every rank's rows so all ranks hold all of them in item order.
 */
export function computeSharded(
  context: DataParallel,
  count: number,
  width: number,
  compute: (indices: number[]) => number[][],
): number[][] {
  const { group, rank, worldSize } = context;
  const mine = Array.from({ length: count }, (_, i) => i).filter((i) => i % worldSize === rank);
  const rows = compute(mine);
  // allgather needs equal shapes: every rank sends ceil(count / worldSize) rows, padded with zeros.
  const longest = Math.ceil(count / worldSize);
  const flat = new Float64Array(longest * width);
  rows.forEach((row, j) => {
    flat.set(row.slice(0, width), j * width);
  });
  const gathered = tidy(() =>
    group.allGather(tensor(flat, [longest, width], { dtype: "float64" })).map((t) => t.toArray()),
  );
  const out: number[][] = new Array(count);
  gathered.forEach((values, r) => {
    for (let j = 0; j * worldSize + r < count; j++)
      out[j * worldSize + r] = values.slice(j * width, (j + 1) * width);
  });
  return out;
}

/** Every rank's `text`, in rank order (UTF-8 bytes through allgather, padded to the longest). */
export function allGatherText(group: ProcessGroup, text: string): string[] {
  const bytes = new TextEncoder().encode(text);
  return tidy(() => {
    const lengths = group
      .allGather(tensor([bytes.length], [1], { dtype: "int64" }))
      .map((t) => Number(t.toArray()[0]));
    const longest = Math.max(1, ...lengths);
    const padded = new Uint8Array(longest);
    padded.set(bytes);
    const decoder = new TextDecoder();
    return group
      .allGather(tensor(padded, [longest], { dtype: "uint8" }))
      .map((t, rank) => decoder.decode(new Uint8Array(t.toArray()).subarray(0, lengths[rank] ?? 0)));
  });
}
