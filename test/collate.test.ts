// Batching: padding on either side with the attention mask and -100 labels, the shifted-label convention,
// and first-fit packing of SFT examples with document boundaries.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { crossEntropy, liveTensors, type Tensor, tensor, tidy } from "../src/engine/index.js";
import { collate, shiftedLabels } from "../src/score/collate.js";
import { packExamples } from "../src/tokenize/packing.js";
import { IGNORE_INDEX } from "../src/tokenize/trainingExample.js";

const X = IGNORE_INDEX;

/** Rows of a [B, T] tensor as number arrays. */
function rows(t: Tensor): number[][] {
  const [b, steps] = t.shape as [number, number];
  const flat = t.toArray();
  return Array.from({ length: b }, (_, i) => flat.slice(i * steps, (i + 1) * steps));
}

describe("collate", () => {
  const baseline = liveTensors();
  afterEach(() => {
    assert.equal(liveTensors(), baseline, "every tensor made by the test was freed");
  });

  const examples = [
    { inputIds: [5, 6, 7, 8], labels: [X, X, 7, 8] },
    { inputIds: [9, 10], labels: [X, 10] },
    { inputIds: [11, 12, 13], labels: [11, 12, 13] },
  ];

  it("pads on the right with the pad id, mask 0 and label -100", () => {
    tidy(() => {
      const batch = collate(examples, { padTokenId: 0, padSide: "right" });
      for (const t of [batch.inputIds, batch.labels, batch.attentionMask]) {
        assert.equal(t.dtype, "int64");
        assert.deepEqual(t.shape, [3, 4]);
      }
      assert.deepEqual(rows(batch.inputIds), [
        [5, 6, 7, 8],
        [9, 10, 0, 0],
        [11, 12, 13, 0],
      ]);
      assert.deepEqual(rows(batch.labels), [
        [X, X, 7, 8],
        [X, 10, X, X],
        [11, 12, 13, X],
      ]);
      assert.deepEqual(rows(batch.attentionMask), [
        [1, 1, 1, 1],
        [1, 1, 0, 0],
        [1, 1, 1, 0],
      ]);
    });
  });

  it("pads on the left so every row ends in the last column", () => {
    tidy(() => {
      const batch = collate(examples, { padTokenId: 2, padSide: "left" });
      assert.deepEqual(rows(batch.inputIds), [
        [5, 6, 7, 8],
        [2, 2, 9, 10],
        [2, 11, 12, 13],
      ]);
      assert.deepEqual(rows(batch.labels), [
        [X, X, 7, 8],
        [X, X, X, 10],
        [X, 11, 12, 13],
      ]);
      assert.deepEqual(rows(batch.attentionMask), [
        [1, 1, 1, 1],
        [0, 0, 1, 1],
        [0, 1, 1, 1],
      ]);
    });
  });

  it("pads with the eos id without losing the real eos (the mask tells them apart)", () => {
    tidy(() => {
      const eos = 3;
      const batch = collate(
        [
          { inputIds: [7, eos], labels: [X, eos] },
          { inputIds: [7, 8, 9, eos], labels: [X, 8, 9, eos] },
        ],
        { padTokenId: eos, padSide: "right" },
      );
      assert.deepEqual(rows(batch.labels)[0], [X, eos, X, X]);
      assert.deepEqual(rows(batch.attentionMask)[0], [1, 1, 0, 0]);
    });
  });

  it("rounds the length up to padToMultipleOf", () => {
    tidy(() => {
      const batch = collate(examples, { padTokenId: 0, padSide: "right", padToMultipleOf: 8 });
      assert.deepEqual(batch.inputIds.shape, [3, 8]);
      assert.deepEqual(rows(batch.attentionMask)[0], [1, 1, 1, 1, 0, 0, 0, 0]);
    });
  });

  it("shiftedLabels pairs labels[:, 1:] with logits[:, :-1]; padding and prompt carry no loss", () => {
    tidy(() => {
      const batch = collate(examples.slice(0, 2), { padTokenId: 0, padSide: "right" });
      const shifted = shiftedLabels(batch.labels);
      assert.deepEqual(shifted.shape, [2, 3]);
      assert.deepEqual(rows(shifted), [
        [X, 7, 8],
        [10, X, X],
      ]);
      // Logits that put all mass on the right next token give zero loss on exactly the labelled positions.
      const vocab = 16;
      const logits = new Array<number>(2 * 4 * vocab).fill(0);
      const next = [
        [6, 7, 8, 0],
        [10, 0, 0, 0],
      ];
      next.forEach((row, b) => {
        row.forEach((id, t) => {
          logits[(b * 4 + t) * vocab + id] = 50;
        });
      });
      const l = tensor(logits, [2, 4, vocab]).narrow(1, 0, 3).reshape(-1, vocab);
      const loss = crossEntropy(l, shifted.reshape(-1), { ignoreIndex: IGNORE_INDEX }).item();
      assert.ok(loss < 1e-6, `loss ${loss} is ~0`);
    });
  });

  it("rejects an empty batch, mismatched labels and a bad pad id", () => {
    assert.throws(() => collate([], { padTokenId: 0, padSide: "right" }), /empty batch/);
    assert.throws(
      () => collate([{ inputIds: [1, 2], labels: [1] }], { padTokenId: 0, padSide: "right" }),
      /sequence 0 has 2 input ids but 1 labels/,
    );
    assert.throws(() => collate(examples, { padTokenId: -1, padSide: "right" }), /padTokenId/);
  });
});

describe("packExamples", () => {
  const docs = [
    { inputIds: [1, 2, 3, 4, 5], labels: [X, X, 3, 4, 5] },
    { inputIds: [6, 7, 8], labels: [6, 7, 8] },
    { inputIds: [9, 10, 11, 12], labels: [X, 10, 11, 12] },
    { inputIds: [13, 14], labels: [13, 14] },
    { inputIds: [15], labels: [15] },
  ];

  it("packs first-fit in order into rows of at most maxLength", () => {
    const packed = packExamples(docs, 8);
    assert.deepEqual(
      packed.map((r) => r.exampleIndices),
      [
        [0, 1],
        [2, 3, 4],
      ],
    );
    assert.deepEqual(packed[0]?.inputIds, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(packed[1]?.inputIds, [9, 10, 11, 12, 13, 14, 15]);
    for (const row of packed) assert.ok(row.inputIds.length <= 8, "fits maxLength");
  });

  it("fills an earlier row that still has room (first fit, not next fit)", () => {
    const packed = packExamples(docs, 6);
    // Row 0: doc 0 (5) + doc 4 (1); row 1: doc 1 (3) + doc 3 (2); row 2: doc 2 (4).
    assert.deepEqual(
      packed.map((r) => r.exampleIndices),
      [[0, 4], [1, 3], [2]],
    );
    assert.deepEqual(
      packed.map((r) => r.sequenceStarts),
      [[0, 5], [0, 3], [0]],
    );
  });

  it("records document boundaries and sets -100 at every document start", () => {
    const [first, second] = packExamples(docs, 8);
    assert.deepEqual(first?.sequenceStarts, [0, 5]);
    assert.deepEqual(first?.labels, [X, X, 3, 4, 5, X, 7, 8]);
    assert.deepEqual(second?.sequenceStarts, [0, 4, 6]);
    assert.deepEqual(second?.labels, [X, 10, 11, 12, X, 14, X]);
    for (const row of [first, second]) {
      assert.equal(row?.labels.length, row?.inputIds.length);
      for (const start of row?.sequenceStarts ?? []) assert.equal(row?.labels[start], X);
    }
  });

  it("is pure and refuses examples it cannot place", () => {
    const copy = structuredClone(docs);
    packExamples(docs, 8);
    assert.deepEqual(docs, copy, "inputs unchanged");
    assert.deepEqual(packExamples([], 8), []);
    assert.throws(() => packExamples(docs, 4), /example 0 has 5 tokens, more than maxLength 4/);
    assert.throws(() => packExamples([{ inputIds: [], labels: [] }], 4), /example 0 is empty/);
    assert.throws(() => packExamples([{ inputIds: [1], labels: [] }], 4), /1 input ids but 0 labels/);
    assert.throws(() => packExamples(docs, 0), RangeError);
  });

  it("packed rows collate like any sequences", () => {
    tidy(() => {
      const batch = collate(packExamples(docs, 8), { padTokenId: 0, padSide: "right" });
      assert.deepEqual(rows(batch.labels)[1], [X, 10, 11, 12, X, 14, X, X]);
      assert.deepEqual(rows(batch.attentionMask)[1], [1, 1, 1, 1, 1, 1, 1, 0]);
    });
  });
});
