// Parquet reading. hyparquet only reads and no .parquet file ships with the dependencies, so this file
// writes small Parquet files itself: PLAIN-encoded data pages (v1), Thrift compact metadata, optionally
// GZIP-compressed pages and several row groups -- enough of the format to exercise the reader for real.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { DataError } from "../src/data/errors.js";
import { loadRecords } from "../src/data/loadRecords.js";
import { readRows } from "../src/data/readRows.js";
import { tmpDir } from "./helpers/fixtures.js";

// ---------------------------------------------------------------------------------------------------------
// A minimal Parquet writer.

type Thrift =
  | [id: number, type: "i32" | "i64", value: number]
  | [id: number, type: "bin", value: string | Uint8Array]
  | [id: number, type: "struct", value: Thrift[]]
  | [
      id: number,
      type: "list",
      value: { elem: "i32" | "bin" | "struct"; items: (number | string | Thrift[])[] },
    ];

const TYPE_CODE = { i32: 5, i64: 6, bin: 8, list: 9, struct: 12 } as const;

function varint(out: number[], value: bigint): void {
  let v = value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function zigzag(out: number[], value: number): void {
  const v = BigInt(value);
  varint(out, v >= 0n ? v << 1n : (-v << 1n) - 1n);
}

function writeValue(out: number[], type: keyof typeof TYPE_CODE, value: unknown): void {
  if (type === "i32" || type === "i64") zigzag(out, value as number);
  else if (type === "bin") {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : (value as Uint8Array);
    varint(out, BigInt(bytes.length));
    out.push(...bytes);
  } else if (type === "struct") writeStruct(out, value as Thrift[]);
  else {
    const { elem, items } = value as { elem: "i32" | "bin" | "struct"; items: unknown[] };
    const code = TYPE_CODE[elem];
    if (items.length < 15) out.push((items.length << 4) | code);
    else {
      out.push(0xf0 | code);
      varint(out, BigInt(items.length));
    }
    for (const item of items) writeValue(out, elem, item);
  }
}

function writeStruct(out: number[], fields: Thrift[]): void {
  let last = 0;
  for (const [id, type, value] of fields) {
    const delta = id - last;
    if (delta > 0 && delta <= 15) out.push((delta << 4) | TYPE_CODE[type]);
    else {
      out.push(TYPE_CODE[type]);
      zigzag(out, id);
    }
    writeValue(out, type, value);
    last = id;
  }
  out.push(0);
}

function thrift(fields: Thrift[]): Buffer {
  const out: number[] = [];
  writeStruct(out, fields);
  return Buffer.from(out);
}

type Column =
  | { name: string; type: "string"; values: (string | null)[] }
  | { name: string; type: "boolean"; values: (boolean | null)[] }
  | { name: string; type: "int64"; values: (number | null)[] };

const PHYSICAL = { boolean: 0, int64: 2, string: 6 } as const;

/** Definition levels (bit width 1) as one bit-packed run of the RLE/bit-packing hybrid, length-prefixed. */
function definitionLevels(present: boolean[]): Buffer {
  const groups = Math.ceil(present.length / 8);
  const run: number[] = [];
  varint(run, BigInt((groups << 1) | 1));
  for (let g = 0; g < groups; g++) {
    let byte = 0;
    for (let b = 0; b < 8; b++) if (present[g * 8 + b]) byte |= 1 << b;
    run.push(byte);
  }
  const length = Buffer.alloc(4);
  length.writeUInt32LE(run.length);
  return Buffer.concat([length, Buffer.from(run)]);
}

function plainValues(column: Column, values: unknown[]): Buffer {
  if (column.type === "string") {
    return Buffer.concat(
      values.map((v) => {
        const bytes = Buffer.from(v as string, "utf8");
        const length = Buffer.alloc(4);
        length.writeUInt32LE(bytes.length);
        return Buffer.concat([length, bytes]);
      }),
    );
  }
  if (column.type === "int64") {
    const out = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => {
      out.writeBigInt64LE(BigInt(v as number), 8 * i);
    });
    return out;
  }
  const out = Buffer.alloc(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
  });
  return out;
}

/** A Parquet file: one PLAIN data page per column chunk, `rowGroupSize` rows per row group. */
function parquetFile(
  columns: Column[],
  options: { rowGroupSize?: number; gzipPages?: boolean } = {},
): Buffer {
  const numRows = columns[0]?.values.length ?? 0;
  const groupSize = options.rowGroupSize ?? numRows;
  const codec = options.gzipPages ? 2 : 0;
  const parts: Buffer[] = [Buffer.from("PAR1")];
  let offset = 4;
  const rowGroups: Thrift[][] = [];
  for (let start = 0; start < numRows; start += groupSize) {
    const end = Math.min(numRows, start + groupSize);
    const chunks: Thrift[][] = [];
    let groupBytes = 0;
    for (const column of columns) {
      const slice = column.values.slice(start, end);
      const optional = column.values.some((v) => v === null);
      const present = slice.map((v) => v !== null);
      const body = Buffer.concat([
        optional ? definitionLevels(present) : Buffer.alloc(0),
        plainValues(
          column,
          slice.filter((v) => v !== null),
        ),
      ]);
      const stored = options.gzipPages ? gzipSync(body) : body;
      const header = thrift([
        [1, "i32", 0],
        [2, "i32", body.length],
        [3, "i32", stored.length],
        [
          5,
          "struct",
          [
            [1, "i32", slice.length],
            [2, "i32", 0],
            [3, "i32", 3],
            [4, "i32", 3],
          ],
        ],
      ]);
      const pageOffset = offset;
      parts.push(header, stored);
      offset += header.length + stored.length;
      groupBytes += header.length + body.length;
      chunks.push([
        [2, "i64", pageOffset],
        [
          3,
          "struct",
          [
            [1, "i32", PHYSICAL[column.type]],
            [2, "list", { elem: "i32", items: [0, 3] }],
            [3, "list", { elem: "bin", items: [column.name] }],
            [4, "i32", codec],
            [5, "i64", slice.length],
            [6, "i64", header.length + body.length],
            [7, "i64", header.length + stored.length],
            [9, "i64", pageOffset],
          ],
        ],
      ]);
    }
    rowGroups.push([
      [1, "list", { elem: "struct", items: chunks }],
      [2, "i64", groupBytes],
      [3, "i64", end - start],
    ]);
  }
  const schema: Thrift[][] = [
    [
      [4, "bin", "schema"],
      [5, "i32", columns.length],
    ],
    ...columns.map((c): Thrift[] => {
      const fields: Thrift[] = [
        [1, "i32", PHYSICAL[c.type]],
        [3, "i32", c.values.some((v) => v === null) ? 1 : 0],
        [4, "bin", c.name],
      ];
      if (c.type === "string") fields.push([6, "i32", 0]); // converted type UTF8
      return fields;
    }),
  ];
  const footer = thrift([
    [1, "i32", 1],
    [2, "list", { elem: "struct", items: schema }],
    [3, "i64", numRows],
    [4, "list", { elem: "struct", items: rowGroups }],
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footer.length);
  parts.push(footer, length, Buffer.from("PAR1"));
  return Buffer.concat(parts);
}

async function collect(path: string) {
  const out = [];
  for await (const entry of readRows(path)) out.push(entry);
  return out;
}

// ---------------------------------------------------------------------------------------------------------

const ALPACA: Column[] = [
  { name: "instruction", type: "string", values: ["Say hi", "Add 2 and 3", "Name a colour", "Spell cat"] },
  { name: "input", type: "string", values: [null, "2, 3", "", null] },
  { name: "output", type: "string", values: ["hi ✓", "5", "blue", "c-a-t"] },
];

test("parquet: rows across row groups, with nulls, row numbers and 'row N' locations", async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, "alpaca.parquet");
  writeFileSync(path, parquetFile(ALPACA, { rowGroupSize: 3 }));
  const rows = await collect(path);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[1]?.row, { instruction: "Add 2 and 3", input: "2, 3", output: "5" });
  assert.equal(rows[0]?.row.input, null, "a null cell is null (the mappings treat it as absent)");
  assert.equal(rows[0]?.row.output, "hi ✓");
  assert.deepEqual(
    rows.map((r) => [r.line, r.where]),
    [1, 2, 3, 4].map((n) => [n, `${path}:row ${n}`]),
  );

  const { records, mapping } = await loadRecords(path);
  assert.equal(mapping, "alpaca");
  assert.deepEqual(records[0], {
    kind: "instruction",
    instruction: "Say hi",
    output: "hi ✓",
    id: "alpaca.parquet:1",
    source: `${path}:row 1`,
  });
  assert.equal(records[1]?.kind === "instruction" && records[1].input, "2, 3");
  assert.equal(records[2]?.kind === "instruction" && records[2].input, undefined, "blank input is no input");
});

test("parquet: GZIP-compressed pages, and a whole file compressed as .parquet.gz", async (t) => {
  const dir = tmpDir(t);
  const pages = join(dir, "pages.parquet");
  writeFileSync(pages, parquetFile(ALPACA, { gzipPages: true, rowGroupSize: 2 }));
  assert.equal((await loadRecords(pages)).records.length, 4);
  const whole = join(dir, "whole.parquet.gz");
  writeFileSync(whole, gzipSync(parquetFile(ALPACA)));
  const { records } = await loadRecords(whole);
  assert.deepEqual(
    records.map((r) => (r.kind === "instruction" ? r.output : "")),
    ["hi ✓", "5", "blue", "c-a-t"],
  );
});

test("parquet: PKU-SafeRLHF raw rows with boolean labels and int64 ids (bigint) map to pairs", async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, "pku.parquet");
  writeFileSync(
    path,
    parquetFile([
      { name: "prompt", type: "string", values: ["p1", "p2", "p3"] },
      { name: "response_0", type: "string", values: ["a0", "b0", "c0"] },
      { name: "response_1", type: "string", values: ["a1", "b1", "c1"] },
      { name: "is_response_0_safe", type: "boolean", values: [true, false, true] },
      { name: "is_response_1_safe", type: "boolean", values: [false, true, true] },
      { name: "better_response_id", type: "int64", values: [1, 1, 0] },
      { name: "safer_response_id", type: "int64", values: [0, 1, 1] },
    ]),
  );
  const safeVsUnsafe = await loadRecords(path, { mapping: "pku-raw:safe-vs-unsafe" });
  assert.equal(safeVsUnsafe.records.length, 2);
  assert.equal(safeVsUnsafe.filtered, 1);
  const chosen = safeVsUnsafe.records.map((r) => (r.kind === "preference" ? r.chosen[0]?.content : ""));
  assert.deepEqual(chosen, ["a0", "b1"]);
  const helpful = await loadRecords(path, { mapping: { name: "pku-raw", pairs: "helpfulness" } });
  assert.deepEqual(
    helpful.records.map((r) =>
      r.kind === "preference" ? [r.chosen[0]?.content, r.chosenSafe, r.rejectedSafe] : [],
    ),
    [
      ["a1", false, true],
      ["b1", true, false],
      ["c0", true, true],
    ],
  );
});

test("parquet: a file that is not Parquet is a one-line DataError", async (t) => {
  const dir = tmpDir(t);
  const path = join(dir, "bad.parquet");
  writeFileSync(path, "this is not parquet at all, just text");
  await assert.rejects(loadRecords(path), (err: unknown) => {
    assert.ok(err instanceof DataError);
    assert.match(err.message, /bad\.parquet: not a readable Parquet file/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
});
