/**
 * Packing SFT examples into fixed-length rows: fewer pad tokens per batch when examples are short.
 *
 * Greedy first-fit in input order: each example goes into the first row that still has room for all of
 * it, else into a new row. Examples are never split. Each row records where its documents start
 * (`sequenceStarts`) so attention can be made block-diagonal; until it is, a document attends to the
 * documents before it in its row. No loss crosses a boundary: the label of each document's first token is
 * set to -100, because with shifted labels (logits at t predict label t + 1) that label is predicted from
 * the previous document's last token.
 */
import { IGNORE_INDEX } from "./trainingExample.js";

export interface PackableExample {
  readonly inputIds: readonly number[];
  readonly labels: readonly number[];
}

export interface PackedRow {
  inputIds: number[];
  labels: number[];
  /** Offset of each document in the row, ascending, starting with 0. */
  sequenceStarts: number[];
  /** Index in the input of each document, in the same order. */
  exampleIndices: number[];
}

/**
 * Packs `examples` into rows of at most `maxLength` tokens (see the module comment). Pure: the inputs are
 * not changed. Throws a RangeError for an empty example, one longer than maxLength (truncate first), or
 * one whose labels and inputIds differ in length.
 */
export function packExamples(examples: readonly PackableExample[], maxLength: number): PackedRow[] {
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new RangeError(`packExamples: maxLength must be a positive integer, got ${maxLength}`);
  }
  const rows: PackedRow[] = [];
  examples.forEach((example, index) => {
    const length = example.inputIds.length;
    if (length === 0) throw new RangeError(`packExamples: example ${index} is empty`);
    if (example.labels.length !== length) {
      throw new RangeError(
        `packExamples: example ${index} has ${length} input ids but ${example.labels.length} labels`,
      );
    }
    if (length > maxLength) {
      throw new RangeError(
        `packExamples: example ${index} has ${length} tokens, more than maxLength ${maxLength} (truncate it first)`,
      );
    }
    let row = rows.find((r) => r.inputIds.length + length <= maxLength);
    if (row === undefined) {
      row = { inputIds: [], labels: [], sequenceStarts: [], exampleIndices: [] };
      rows.push(row);
    }
    row.sequenceStarts.push(row.inputIds.length);
    row.exampleIndices.push(index);
    row.inputIds.push(...example.inputIds);
    row.labels.push(IGNORE_INDEX, ...example.labels.slice(1));
  });
  return rows;
}
