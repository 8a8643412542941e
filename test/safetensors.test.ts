import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  DTYPE_BYTES,
  parseSafetensors,
  readSafetensorsFile,
  readSafetensorsHeader,
  SafetensorsError,
  type SafetensorsFile,
  type SafetensorsTensorInput,
  serializeSafetensors,
  writeSafetensorsFile,
} from "../src/model/safetensors.js";
import { mulberry32 } from "../src/util/random.js";
import { FIXTURES } from "./helpers/fixtures.js";

const FIXTURE_FILES = [
  "gpt2/model.safetensors",
  "gpt2/expected.safetensors",
  "gpt2-legacy-keys/model.safetensors",
  "gpt2-legacy-keys/expected.safetensors",
  "llama/model.safetensors",
  "llama/expected.safetensors",
  "llama-bf16/model.safetensors",
  "llama-bf16/expected.safetensors",
  "lora-adapter/adapter_model.safetensors",
  "lora-adapter/expected.safetensors",
  "qwen2/model.safetensors",
  "qwen2/expected.safetensors",
  "reward-llama/model.safetensors",
  "reward-llama/expected.safetensors",
];

const scratch = mkdtempSync(join(tmpdir(), "safetensors-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

// --- helpers -----------------------------------------------------------------------------------

function bytesOf(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

function sampleTensors(): SafetensorsTensorInput[] {
  return [
    { name: "weight", dtype: "F32", shape: [2, 3], data: bytesOf(24, 1) },
    { name: "bias", dtype: "BF16", shape: [3], data: bytesOf(6, 2) },
    { name: "ids", dtype: "I64", shape: [1, 2], data: bytesOf(16, 3) },
    { name: "mask", dtype: "BOOL", shape: [5], data: Uint8Array.from([1, 0, 1, 1, 0]) },
    { name: "scalar", dtype: "F64", shape: [], data: bytesOf(8, 4) },
    { name: "empty", dtype: "I32", shape: [0, 4], data: new Uint8Array(0) },
  ];
}

/** Builds a file from a raw header string, so malformed headers can be written exactly. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  return rawFileBytes(json, data);
}

function rawFileBytes(
  json: Uint8Array,
  data: Uint8Array,
  length: bigint = BigInt(json.byteLength),
): Uint8Array {
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, length, true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

/** One F32 [2] tensor "a" at [0, 8) plus whatever the case adds. */
function header(entries: Record<string, unknown>): string {
  return JSON.stringify(entries);
}

function assertSafetensorsError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SafetensorsError, `expected SafetensorsError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), "message must be one line");
    return true;
  });
}

function toInputs(file: SafetensorsFile): SafetensorsTensorInput[] {
  return [...file.tensors.values()];
}

// --- round trips -------------------------------------------------------------------------------

test("serialize -> parse round trip keeps names, dtypes, shapes, bytes and metadata", () => {
  const tensors = sampleTensors();
  const metadata = { format: "pt", note: 'héllo \u2028 "quoted"' };
  const file = serializeSafetensors(tensors, metadata);
  const parsed = parseSafetensors(file);
  assert.deepEqual(parsed.metadata, metadata);
  assert.equal(parsed.tensors.size, tensors.length);
  for (const t of tensors) {
    const entry = parsed.tensors.get(t.name);
    assert.ok(entry, t.name);
    assert.equal(entry.dtype, t.dtype);
    assert.deepEqual(entry.shape, t.shape);
    assert.deepEqual(entry.data, t.data);
    // Views into the file, not copies.
    assert.equal(entry.data.buffer, file.buffer);
  }
  assert.deepEqual(serializeSafetensors(toInputs(parsed), parsed.metadata), file);
});

test("parse works on a view with a non-zero byteOffset", () => {
  const file = serializeSafetensors(sampleTensors());
  const host = new Uint8Array(file.byteLength + 7);
  host.set(file, 3);
  const parsed = parseSafetensors(host.subarray(3, 3 + file.byteLength));
  assert.deepEqual(parsed.tensors.get("weight")?.data, sampleTensors()[0]?.data);
  assert.equal(parsed.tensors.get("weight")?.data.buffer, host.buffer);
});

test("serialized layout: sorted keys, metadata last, header padded to 8 bytes", () => {
  const file = serializeSafetensors(sampleTensors(), { format: "pt" });
  const n = Number(new DataView(file.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const headerText = new TextDecoder().decode(file.subarray(8, 8 + n));
  assert.match(headerText, /^\{"bias":\{"dtype":"BF16","shape":\[3\],"data_offsets":\[0,6\]\},/);
  assert.match(headerText, /,"__metadata__":\{"format":"pt"\}\} *$/);
  const keys = Object.keys(JSON.parse(headerText));
  assert.deepEqual(keys, ["bias", "empty", "ids", "mask", "scalar", "weight", "__metadata__"]);
});

test("serializer sorts by code point like Python, not by UTF-16 unit", () => {
  // U+FF21 sorts before U+1F600 by code point, but after it by UTF-16 unit.
  const tensors: SafetensorsTensorInput[] = [
    { name: "\u{1F600}", dtype: "U8", shape: [1], data: Uint8Array.of(1) },
    { name: "\uFF21", dtype: "U8", shape: [1], data: Uint8Array.of(2) },
  ];
  const parsed = parseSafetensors(serializeSafetensors(tensors));
  assert.deepEqual([...parsed.tensors.keys()], ["\uFF21", "\u{1F600}"]);
});

test("serializer rejects duplicates, bad sizes, bad dtypes, reserved names", () => {
  const t = sampleTensors();
  assertSafetensorsError(
    () => serializeSafetensors([...t, t[0] as SafetensorsTensorInput]),
    /"weight": duplicate/,
  );
  assertSafetensorsError(
    () => serializeSafetensors([{ name: "x", dtype: "F32", shape: [3], data: new Uint8Array(8) }]),
    /"x": F32 shape \[3\] needs 12 bytes but data_offsets span 8 bytes/,
  );
  assertSafetensorsError(
    () => serializeSafetensors([{ name: "x", dtype: "Q4" as "F32", shape: [1], data: new Uint8Array(1) }]),
    /"x": unknown dtype "Q4"/,
  );
  assertSafetensorsError(
    () => serializeSafetensors([{ name: "__metadata__", dtype: "U8", shape: [1], data: new Uint8Array(1) }]),
    /reserved/,
  );
  assertSafetensorsError(
    () => serializeSafetensors([], { format: 1 as unknown as string }),
    /metadata\["format"\] is not a string/,
  );
});

test("empty file (no tensors) round trips; empty metadata is omitted", () => {
  const file = serializeSafetensors([], {});
  assert.equal(new TextDecoder().decode(file.subarray(8)), "{}      ");
  const parsed = parseSafetensors(file);
  assert.equal(parsed.tensors.size, 0);
  assert.deepEqual(parsed.metadata, {});
});

// --- fixtures ----------------------------------------------------------------------------------

test("llama fixture: embed_tokens is F32 [300, 64] with metadata format=pt", () => {
  const file = readSafetensorsFile(join(FIXTURES, "llama/model.safetensors"));
  const embed = file.tensors.get("model.embed_tokens.weight");
  assert.ok(embed);
  assert.equal(embed.dtype, "F32");
  assert.deepEqual(embed.shape, [300, 64]);
  assert.equal(embed.data.byteLength, 300 * 64 * 4);
  assert.deepEqual(file.metadata, { format: "pt" });
  // Data buffer starts 8-aligned at byteOffset 8 + N, so F32 views need no copy.
  assert.equal(embed.data.byteOffset % 4, 0);
  const floats = new Float32Array(embed.data.buffer, embed.data.byteOffset, 300 * 64);
  assert.ok(floats.every(Number.isFinite));
});

test("llama-bf16 fixture holds BF16 tensors", () => {
  const file = readSafetensorsFile(join(FIXTURES, "llama-bf16/model.safetensors"));
  const dtypes = new Set([...file.tensors.values()].map((t) => t.dtype));
  assert.deepEqual([...dtypes], ["BF16"]);
  assert.deepEqual(file.tensors.get("model.embed_tokens.weight")?.shape, [300, 64]);
});

test("expected.safetensors fixtures mix I64 and F32 and carry no metadata", () => {
  const file = readSafetensorsFile(join(FIXTURES, "llama/expected.safetensors"));
  assert.deepEqual(file.metadata, {});
  assert.equal(file.tensors.get("input_ids")?.dtype, "I64");
  assert.equal(file.tensors.get("logits")?.dtype, "F32");
});

for (const relative of FIXTURE_FILES) {
  test(`fixture ${relative}: re-serializing reproduces the file byte for byte`, () => {
    const path = join(FIXTURES, relative);
    const original = new Uint8Array(readFileSync(path));
    const file = readSafetensorsFile(path);
    assert.ok(file.tensors.size > 0);
    const again = serializeSafetensors(toInputs(file), file.metadata);
    assert.equal(again.byteLength, original.byteLength);
    assert.ok(Buffer.from(again).equals(original), "bytes differ");

    const head = readSafetensorsHeader(path);
    assert.deepEqual(head.metadata, file.metadata);
    assert.deepEqual([...head.tensors.keys()], [...file.tensors.keys()]);
    for (const entry of head.tensors.values()) {
      const full = file.tensors.get(entry.name);
      assert.equal(entry.dtype, full?.dtype);
      assert.deepEqual(entry.shape, full?.shape);
      assert.equal(entry.byteLength, full?.data.byteLength);
    }
    assert.equal(8 + head.headerLength + head.dataLength, original.byteLength);
  });
}

// --- files -------------------------------------------------------------------------------------

test("writeSafetensorsFile writes atomically and leaves no temporary files", () => {
  const dir = mkdtempSync(join(scratch, "write-"));
  const path = join(dir, "model.safetensors");
  writeFileSync(path, "old contents");
  writeSafetensorsFile(path, sampleTensors(), { format: "pt" });
  assert.deepEqual(
    new Uint8Array(readFileSync(path)),
    serializeSafetensors(sampleTensors(), { format: "pt" }),
  );
  assert.deepEqual(readdirSync(dir), ["model.safetensors"]);

  // A validation failure must leave the existing file alone and create nothing.
  const bad = [{ name: "x", dtype: "F32" as const, shape: [2], data: new Uint8Array(3) }];
  assertSafetensorsError(() => writeSafetensorsFile(path, bad), /model\.safetensors: tensor "x": F32 shape/);
  assert.deepEqual(readdirSync(dir), ["model.safetensors"]);
  assert.equal(readSafetensorsFile(path).tensors.size, sampleTensors().length);
});

test("writeSafetensorsFile into a missing folder fails with SafetensorsError", () => {
  assertSafetensorsError(
    () => writeSafetensorsFile(join(scratch, "no/such/dir/x.safetensors"), []),
    /x\.safetensors: cannot create temporary file .*x\.safetensors\.tmp-\d+-[0-9a-f]+: ENOENT/,
  );
});

test("readSafetensorsFile: missing file and directory give clear errors", () => {
  const missing = join(scratch, "missing.safetensors");
  assertSafetensorsError(() => readSafetensorsFile(missing), /missing\.safetensors: file not found$/);
  assertSafetensorsError(() => readSafetensorsHeader(missing), /file not found/);
  assertSafetensorsError(() => readSafetensorsFile(scratch), /(not a regular file|is a directory)/);
});

test("readSafetensorsFile: a 2^60 length prefix fails fast without allocating", () => {
  const path = join(scratch, "huge-prefix.safetensors");
  writeFileSync(path, rawFileBytes(new TextEncoder().encode("{}"), new Uint8Array(0), 2n ** 60n));
  const start = performance.now();
  assertSafetensorsError(
    () => readSafetensorsFile(path),
    /header length 1152921504606846976 exceeds file size 10/,
  );
  assertSafetensorsError(() => readSafetensorsHeader(path), /exceeds file size/);
  assert.ok(performance.now() - start < 1000);
});

test("readSafetensorsHeader validates offsets against the real file size", () => {
  const path = join(scratch, "truncated.safetensors");
  const file = serializeSafetensors(sampleTensors());
  writeFileSync(path, file.subarray(0, file.byteLength - 3));
  assertSafetensorsError(
    () => readSafetensorsHeader(path),
    /truncated\.safetensors: tensor "[a-z]+": data_offsets end/,
  );
  assertSafetensorsError(
    () => readSafetensorsFile(path),
    /data_offsets end \d+ exceeds the data buffer size/,
  );
});

// --- malformed files: one test per problem -----------------------------------------------------

const A = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
const DATA8 = new Uint8Array(8);

const MALFORMED: Array<{ name: string; bytes: () => Uint8Array; error: RegExp }> = [
  {
    name: "file shorter than 8 bytes",
    bytes: () => new Uint8Array(5),
    error: /^<buffer>: file is 5 bytes, too short/,
  },
  {
    name: "header length beyond the file",
    bytes: () => rawFileBytes(new TextEncoder().encode("{}"), new Uint8Array(0), 9999999n),
    error: /^<buffer>: header length 9999999 exceeds file size 10/,
  },
  {
    name: "header length of 2^64-1",
    bytes: () => rawFileBytes(new TextEncoder().encode("{}"), new Uint8Array(0), 2n ** 64n - 1n),
    error: /header length 18446744073709551615 exceeds file size/,
  },
  {
    name: "header over the 100 MB cap",
    // Zero-filled pages are allocated lazily; only the prefix is ever read before the cap triggers.
    bytes: () => withLength(new Uint8Array(8 + 100_000_001), 100_000_001n),
    error: /header length 100000001 exceeds the 100000000-byte header limit/,
  },
  {
    name: "header not valid UTF-8",
    bytes: () => rawFileBytes(Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), new Uint8Array(0)),
    error: /header is not valid UTF-8/,
  },
  { name: "header not valid JSON", bytes: () => rawFile('{"a":'), error: /header is not valid JSON/ },
  {
    name: "header is a JSON array",
    bytes: () => rawFile("[]"),
    error: /header JSON is not an object \(got array\)/,
  },
  {
    name: "header is JSON null",
    bytes: () => rawFile("null"),
    error: /header JSON is not an object \(got null\)/,
  },
  {
    name: "header with leading whitespace",
    bytes: () => rawFile(" {}"),
    error: /header does not start with '\{'/,
  },
  { name: "header with a byte order mark", bytes: () => rawFile("\uFEFF{}"), error: /not valid JSON/ },
  {
    name: "entry not an object",
    bytes: () => rawFile(header({ a: [1, 2] })),
    error: /tensor "a": entry is not an object \(got array\)/,
  },
  {
    name: "unknown dtype",
    bytes: () => rawFile(header({ a: { ...A, dtype: "F8_E4M3" } }), DATA8),
    error: /tensor "a": unknown dtype "F8_E4M3"/,
  },
  {
    name: "inherited property name as dtype",
    bytes: () => rawFile(header({ a: { ...A, dtype: "toString" } }), DATA8),
    error: /tensor "a": unknown dtype "toString"/,
  },
  {
    name: "missing dtype",
    bytes: () => rawFile(header({ a: { shape: [2], data_offsets: [0, 8] } }), DATA8),
    error: /tensor "a": missing "dtype"/,
  },
  {
    name: "shape not an array",
    bytes: () => rawFile(header({ a: { ...A, shape: 2 } }), DATA8),
    error: /tensor "a": shape is not an array \(got number\)/,
  },
  {
    name: "negative shape dimension",
    bytes: () => rawFile(header({ a: { ...A, shape: [2, -1] } }), DATA8),
    error: /tensor "a": shape\[1\] = -1 is not a non-negative safe integer/,
  },
  {
    name: "fractional shape dimension",
    bytes: () => rawFile(header({ a: { ...A, shape: [1.5] } }), DATA8),
    error: /tensor "a": shape\[0\] = 1.5 is not a non-negative safe integer/,
  },
  {
    name: "unsafe shape dimension",
    bytes: () => rawFile('{"a":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,8]}}', DATA8),
    error: /tensor "a": shape\[0\] = 9007199254740992 is not a non-negative safe integer/,
  },
  {
    name: "data_offsets not a pair",
    bytes: () => rawFile(header({ a: { ...A, data_offsets: [0, 8, 16] } }), DATA8),
    error: /tensor "a": data_offsets is not a \[begin, end\] pair/,
  },
  {
    name: "data_offsets not integers",
    bytes: () => rawFile(header({ a: { ...A, data_offsets: ["0", 8] } }), DATA8),
    error: /tensor "a": data_offsets \["0",8\] are not two non-negative safe integers/,
  },
  {
    name: "data_offsets negative",
    bytes: () => rawFile(header({ a: { ...A, data_offsets: [-8, 0] } }), DATA8),
    error: /tensor "a": data_offsets \[-8,0\] are not two non-negative safe integers/,
  },
  {
    name: "data_offsets begin after end",
    bytes: () => rawFile(header({ a: { ...A, data_offsets: [8, 0] } }), DATA8),
    error: /tensor "a": data_offsets begin 8 is greater than end 0/,
  },
  {
    name: "end beyond the data buffer",
    bytes: () => rawFile(header({ a: { ...A, data_offsets: [0, 8] } }), new Uint8Array(4)),
    error: /tensor "a": data_offsets end 8 exceeds the data buffer size 4/,
  },
  {
    name: "byte size disagrees with offsets",
    bytes: () => rawFile(header({ a: { ...A, shape: [3] } }), DATA8),
    error: /tensor "a": F32 shape \[3\] needs 12 bytes but data_offsets span 8 bytes/,
  },
  {
    name: "byte size overflows",
    bytes: () => rawFile(header({ a: { ...A, shape: [2 ** 30, 2 ** 30, 2 ** 30] } }), DATA8),
    error: /tensor "a": byte size of F32 shape \[1073741824,1073741824,1073741824\] overflows/,
  },
  {
    name: "overlapping ranges",
    bytes: () =>
      rawFile(header({ a: A, b: { dtype: "U8", shape: [8], data_offsets: [4, 12] } }), new Uint8Array(12)),
    error: /tensor "b" bytes \[4, 12\) overlap tensor "a" bytes \[0, 8\)/,
  },
  {
    name: "gap between ranges",
    bytes: () =>
      rawFile(header({ a: A, b: { dtype: "U8", shape: [4], data_offsets: [12, 16] } }), new Uint8Array(16)),
    error: /gap of 4 unused bytes \[8, 12\) after tensor "a", before tensor "b"/,
  },
  {
    name: "unused leading bytes",
    bytes: () => rawFile(header({ a: { ...A, data_offsets: [4, 12] } }), new Uint8Array(12)),
    error: /gap of 4 unused bytes \[0, 4\) at the start of the data buffer, before tensor "a"/,
  },
  {
    name: "unused trailing bytes",
    bytes: () => rawFile(header({ a: A }), new Uint8Array(11)),
    error: /data buffer has 3 unused trailing bytes \[8, 11\) after tensor "a"/,
  },
  {
    name: "data but no tensors",
    bytes: () => rawFile("{}", new Uint8Array(2)),
    error: /data buffer has 2 unused trailing bytes \[0, 2\) and the header lists no tensors/,
  },
  {
    name: "__metadata__ not an object",
    bytes: () => rawFile(header({ __metadata__: ["pt"], a: A }), DATA8),
    error: /__metadata__ is not an object \(got array\)/,
  },
  {
    name: "__metadata__ value not a string",
    bytes: () => rawFile(header({ __metadata__: { format: "pt", step: 3 }, a: A }), DATA8),
    error: /__metadata__\["step"\] is not a string \(got number\)/,
  },
  {
    name: "tensor name with a newline stays on one line",
    bytes: () => rawFile(header({ "evil\nname\u2028": { ...A, dtype: "X" } }), DATA8),
    error: /tensor "evil\\nname\\u2028": unknown dtype "X"/,
  },
];

for (const { name, bytes, error } of MALFORMED) {
  test(`malformed: ${name}`, () => {
    assertSafetensorsError(() => parseSafetensors(bytes()), error);
  });
}

test("errors start with the label", () => {
  assertSafetensorsError(
    () => parseSafetensors(new Uint8Array(3), "model.safetensors"),
    /^model\.safetensors: /,
  );
});

test("accepted edge cases: trailing spaces, zero-size tensors at shared offsets, __proto__ names", () => {
  const padded = rawFile(`${header({ a: A })}        `, DATA8);
  assert.equal(parseSafetensors(padded).tensors.get("a")?.data.byteLength, 8);

  const zeros = rawFile(
    header({
      z1: { dtype: "F32", shape: [0], data_offsets: [0, 0] },
      a: A,
      z2: { dtype: "I8", shape: [3, 0], data_offsets: [8, 8] },
    }),
    DATA8,
  );
  assert.deepEqual([...parseSafetensors(zeros).tensors.keys()], ["z1", "a", "z2"]);

  const proto = parseSafetensors(
    rawFile(
      '{"__proto__":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"__metadata__":{"__proto__":"x"}}',
      DATA8,
    ),
  );
  assert.equal(proto.tensors.get("__proto__")?.dtype, "U8");
  assert.equal(Object.getPrototypeOf(proto.metadata), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(proto.metadata, "__proto__")?.value, "x");
});

test("DTYPE_BYTES covers every dtype with its width", () => {
  assert.deepEqual(DTYPE_BYTES, {
    F64: 8,
    F32: 4,
    F16: 2,
    BF16: 2,
    I64: 8,
    I32: 4,
    I16: 2,
    I8: 1,
    U8: 1,
    BOOL: 1,
  });
});

// --- fuzz --------------------------------------------------------------------------------------

const JSON_BYTES = new TextEncoder().encode('{}[]":,-.0123456789eE ntfx\\');
const WEIRD_VALUES: unknown[] = [
  -1,
  0,
  1,
  1.5,
  2 ** 53,
  1e300,
  "F32",
  "I64",
  "BOOL",
  "x",
  null,
  true,
  [],
  {},
  [0],
  [1, 2],
  [8, 0],
  [0, 2 ** 40],
];

type Mutation = (file: Uint8Array, rand: () => number) => Uint8Array;

function pick<T>(items: ArrayLike<T>, rand: () => number): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function headerLengthOf(file: Uint8Array): number {
  return file.byteLength < 8 ? 0 : Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
}

function withLength(file: Uint8Array, length: bigint): Uint8Array {
  const copy = file.slice();
  if (copy.byteLength >= 8) new DataView(copy.buffer).setBigUint64(0, BigInt.asUintN(64, length), true);
  return copy;
}

const MUTATIONS: Mutation[] = [
  // Bit flip anywhere.
  (f, r) => {
    const copy = f.slice();
    const i = Math.floor(r() * copy.byteLength);
    copy[i] = (copy[i] ?? 0) ^ (1 << Math.floor(r() * 8));
    return copy;
  },
  // Overwrite a header byte with a JSON-significant byte.
  (f, r) => {
    const copy = f.slice();
    const n = Math.min(headerLengthOf(f), copy.byteLength - 8);
    if (n > 0) copy[8 + Math.floor(r() * n)] = pick(JSON_BYTES, r);
    return copy;
  },
  // Overwrite a length-prefix byte.
  (f, r) => {
    const copy = f.slice();
    copy[Math.floor(r() * Math.min(8, copy.byteLength))] = Math.floor(r() * 256);
    return copy;
  },
  // Truncate.
  (f, r) => f.slice(0, Math.floor(r() * f.byteLength)),
  // Extend with random bytes.
  (f, r) => {
    const extra = Uint8Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256));
    const out = new Uint8Array(f.byteLength + extra.byteLength);
    out.set(f);
    out.set(extra, f.byteLength);
    return out;
  },
  // Rewrite the header length to huge or near values.
  (f, r) => {
    const n = BigInt(headerLengthOf(f));
    const choices = [
      2n ** 64n - 1n,
      2n ** 63n,
      2n ** 60n,
      2n ** 53n + 1n,
      100_000_001n,
      0n,
      n - 1n,
      n + 1n,
      n + 8n,
      n - 8n,
    ];
    return withLength(f, pick(choices, r));
  },
  // Semantic: replace a field of a random entry with a weird JSON value, re-encode the header.
  (f, r) => {
    const n = headerLengthOf(f);
    if (f.byteLength < 8 + n) return f;
    let json: Record<string, Record<string, unknown>>;
    try {
      json = JSON.parse(new TextDecoder().decode(f.subarray(8, 8 + n)));
    } catch {
      return f;
    }
    if (typeof json !== "object" || json === null) return f;
    const key = pick(Object.keys(json), r);
    const entry = key === undefined ? undefined : json[key];
    if (typeof entry !== "object" || entry === null) return f;
    const field = pick(["dtype", "shape", "data_offsets", "format"], r);
    entry[field] = pick(WEIRD_VALUES, r);
    return rawFileBytes(new TextEncoder().encode(JSON.stringify(json)), f.subarray(8 + n));
  },
];

function checkParsed(file: Uint8Array, parsed: SafetensorsFile): void {
  const n = headerLengthOf(file);
  let total = 0;
  for (const entry of parsed.tensors.values()) {
    assert.equal(entry.data.buffer, file.buffer);
    assert.ok(entry.data.byteOffset >= file.byteOffset + 8 + n);
    assert.ok(entry.data.byteOffset + entry.data.byteLength <= file.byteOffset + file.byteLength);
    const elements = entry.shape.reduce((x, y) => x * y, 1);
    assert.equal(entry.data.byteLength, elements * DTYPE_BYTES[entry.dtype]);
    total += entry.data.byteLength;
  }
  assert.equal(total, file.byteLength - 8 - n, "tensors tile the data buffer");
  // Anything accepted must survive a round trip.
  const again = parseSafetensors(serializeSafetensors(toInputs(parsed), parsed.metadata));
  assert.deepEqual([...again.tensors.keys()].sort(), [...parsed.tensors.keys()].sort());
}

test("fuzz: 3000 mutations either parse into in-bounds views or throw SafetensorsError", {
  timeout: 60_000,
}, () => {
  const rand = mulberry32(0x5afe7e50);
  const base = serializeSafetensors(sampleTensors(), { format: "pt" });
  const start = performance.now();
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    let file = base;
    const rounds = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < rounds; k++) file = pick(MUTATIONS, rand)(file, rand);
    let parsed: SafetensorsFile;
    try {
      parsed = parseSafetensors(file, `fuzz#${i}`);
    } catch (error) {
      if (!(error instanceof SafetensorsError)) {
        assert.fail(`case ${i}: ${error instanceof Error ? error.stack : String(error)}`);
      }
      assert.ok(error.message.startsWith(`fuzz#${i}: `));
      assert.ok(!error.message.includes("\n"));
      continue;
    }
    accepted++;
    checkParsed(file, parsed);
  }
  // Some mutations (e.g. padding bytes turned into JSON whitespace) leave the file valid.
  assert.ok(accepted > 0 && accepted < 3000, `accepted ${accepted}`);
  assert.ok(performance.now() - start < 30_000, "fuzz run too slow");
});

test("scratch folder holds no leftover temp files", () => {
  assert.ok(existsSync(scratch));
  assert.ok(!readdirSync(scratch).some((name) => name.includes(".tmp-")));
});
