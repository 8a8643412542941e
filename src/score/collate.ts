/**
 * Batching tokenized sequences into padded int64 tensors.
 *
 * Labels are aligned with the inputs, not shifted: label t is the token at position t (or -100). The
 * trainer takes the cross-entropy of logits[:, :-1] against labels[:, 1:] with ignore_index -100 (logits
 * at t predict token t + 1; see {@link shiftedLabels}). Padding carries label -100 and attention mask 0,
 * so pad tokens are never predicted nor attended to, whatever the pad id is (pad == eos is fine).
 */
import { type Tensor, tensor } from "../engine/index.js";
import { IGNORE_INDEX } from "../tokenize/trainingExample.js";

export interface CollatableSequence {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
}

export interface CollateOptions {
  /** The id written into padding positions of inputIds. */
  padTokenId: number;
  /** "right" for training; "left" puts every row's last token in the last column (generation, scoring). */
  padSide: "right" | "left";
  /** Round the padded length up to a multiple of this (e.g. 8 for tensor cores). Default 1. */
  padToMultipleOf?: number;
}

export interface CollatedBatch {
  /** [B, T] int64. */
  inputIds: Tensor;
  /** [B, T] int64, -100 on padding (and wherever the sequence had no loss). */
  labels: Tensor;
  /** [B, T] int64: 1 on tokens, 0 on padding. */
  attentionMask: Tensor;
}

/**
 * Pads `sequences` to the longest (rounded up to padToMultipleOf) on `padSide` and returns int64
 * tensors [B, T]. Throws a RangeError for an empty batch, a sequence whose labels and inputIds differ in
 * length, or a pad id that is not a non-negative integer.
 */
export function collate(sequences: readonly CollatableSequence[], options: CollateOptions): CollatedBatch {
  const { padTokenId, padSide } = options;
  const multiple = options.padToMultipleOf ?? 1;
  if (sequences.length === 0) throw new RangeError("collate: empty batch");
  if (!Number.isInteger(padTokenId) || padTokenId < 0) {
    throw new RangeError(`collate: padTokenId must be a non-negative integer, got ${padTokenId}`);
  }
  if (padSide !== "right" && padSide !== "left") {
    throw new RangeError(`collate: padSide must be "right" or "left", got ${String(padSide)}`);
  }
  if (!Number.isInteger(multiple) || multiple < 1) {
    throw new RangeError(`collate: padToMultipleOf must be a positive integer, got ${multiple}`);
  }
  let longest = 0;
  sequences.forEach((s, i) => {
    if (s.labels.length !== s.inputIds.length) {
      throw new RangeError(
        `collate: sequence ${i} has ${s.inputIds.length} input ids but ${s.labels.length} labels`,
      );
    }
    longest = Math.max(longest, s.inputIds.length);
  });
  const steps = Math.max(1, Math.ceil(longest / multiple) * multiple);
  const rows = sequences.length;
  const ids = new BigInt64Array(rows * steps).fill(BigInt(padTokenId));
  const labels = new BigInt64Array(rows * steps).fill(BigInt(IGNORE_INDEX));
  const mask = new BigInt64Array(rows * steps);
  sequences.forEach((s, row) => {
    const offset = row * steps + (padSide === "left" ? steps - s.inputIds.length : 0);
    for (let t = 0; t < s.inputIds.length; t++) {
      ids[offset + t] = BigInt(s.inputIds[t] as number);
      labels[offset + t] = BigInt(s.labels[t] as number);
      mask[offset + t] = 1n;
    }
  });
  return {
    inputIds: tensor(ids, [rows, steps]),
    labels: tensor(labels, [rows, steps]),
    attentionMask: tensor(mask, [rows, steps]),
  };
}

/**
 * labels[:, 1:] ([B, T - 1]): the target of each position's logits, to pair with logits[:, :-1]
 * (`logits.narrow(1, 0, T - 1)`) in a cross-entropy with ignore_index -100. A view of `labels`.
 */
export function shiftedLabels(labels: Tensor): Tensor {
  const steps = labels.size(1);
  return labels.narrow(1, 1, Math.max(steps - 1, 0));
}
