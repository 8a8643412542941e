/**
 * The GGUF v3 container (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), written from scratch:
 *
 *   "GGUF" magic, u32 version 3, u64 tensor count, u64 metadata count,
 *   metadata: (string key, u32 value type, value)*,
 *   tensor infos: (string name, u32 n_dims, u64 dims innermost first, u32 ggml type, u64 data offset)*,
 *   zero padding to the alignment, then each tensor's bytes, each starting on an aligned offset.
 *
 * Everything is little-endian; a string is a u64 byte length and UTF-8 bytes without a terminator.
 * The file is written to a temporary name beside the target, synced, then renamed over it, so a reader
 * never sees half a model.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** GGUF's default data alignment (general.alignment is not written, so readers use this). */
export const GGUF_ALIGNMENT = 32;

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const GGUF_VERSION = 3;

/** Metadata value type codes of the format. */
const VALUE_TYPE = {
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
} as const;

export type GgufNumberType = "uint32" | "int32" | "float32";

/** One metadata value; arrays hold a single item type, as the format requires. */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: "uint64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "array"; itemType: "string"; value: readonly string[] }
  | { type: "array"; itemType: GgufNumberType; value: readonly number[] };

/** Constructors for metadata values, so call sites read as `gguf.u32(2048)`. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: "uint32", value }),
  f32: (value: number): GgufValue => ({ type: "float32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "array", itemType: "string", value }),
  i32s: (value: readonly number[]): GgufValue => ({ type: "array", itemType: "int32", value }),
};

/**
 * The element types this writer stores (ggml type codes 0, 1 and 8). Q8_0 is ggml's block format: each run of 32
 * weights along a row as an f16 scale d = absmax / 127 and 32 int8 codes round(w / d), 34 bytes a block.
 */
export type GgmlType = "F32" | "F16" | "Q8_0";
const GGML_TYPE: Record<GgmlType, { code: number; blockSize: number; blockBytes: number }> = {
  F32: { code: 0, blockSize: 1, blockBytes: 4 },
  F16: { code: 1, blockSize: 1, blockBytes: 2 },
  Q8_0: { code: 8, blockSize: 32, blockBytes: 34 },
};

export interface GgufTensor {
  name: string;
  /** Row-major shape as PyTorch writes it (outermost first); the file stores it reversed. */
  shape: readonly number[];
  type: GgmlType;
  /** The tensor's bytes in `type`, produced only when it is written (one tensor in memory at a time). */
  data: () => Uint8Array;
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeUInt32LE(v, this.length);
  }
  i32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeInt32LE(v, this.length);
  }
  f32(v: number): void {
    this.ensure(4);
    this.length = this.buf.writeFloatLE(v, this.length);
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.length = this.buf.writeBigUInt64LE(BigInt(v), this.length);
  }
  bool(v: boolean): void {
    this.ensure(1);
    this.length = this.buf.writeUInt8(v ? 1 : 0, this.length);
  }
  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeNumber(out: ByteWriter, type: GgufNumberType, v: number): void {
  if (type === "float32") out.f32(v);
  else if (type === "int32") out.i32(v);
  else out.u32(v);
}

function writeValue(out: ByteWriter, v: GgufValue): void {
  out.u32(VALUE_TYPE[v.type]);
  switch (v.type) {
    case "uint32":
    case "int32":
    case "float32":
      writeNumber(out, v.type, v.value);
      return;
    case "uint64":
      out.u64(v.value);
      return;
    case "bool":
      out.bool(v.value);
      return;
    case "string":
      out.string(v.value);
      return;
    case "array":
      out.u32(VALUE_TYPE[v.itemType]);
      out.u64(v.value.length);
      if (v.itemType === "string") for (const s of v.value) out.string(s);
      else for (const n of v.value) writeNumber(out, v.itemType, n);
      return;
  }
}

const padding = (offset: number): number => (GGUF_ALIGNMENT - (offset % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;

export function tensorByteSize(t: Pick<GgufTensor, "shape" | "type">): number {
  const { blockSize, blockBytes } = GGML_TYPE[t.type];
  return (t.shape.reduce((a, b) => a * b, 1) / blockSize) * blockBytes;
}

/** The header: magic, counts, metadata, tensor infos with aligned offsets, and the padding before the data. */
function encodeHeader(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): Buffer {
  const out = new ByteWriter();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) out.u64(d);
    out.u32(GGML_TYPE[t.type].code);
    out.u64(offset);
    offset += tensorByteSize(t);
    offset += padding(offset);
  }
  out.zeros(padding(out.length));
  return out.bytes();
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Writes a GGUF file atomically: a temporary file in the same folder, fsync, then rename over `path`. */
export function writeGgufFile(
  path: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensor[],
): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`gguf: tensor '${t.name}' is written twice`);
    names.add(t.name);
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx");
  let closed = false;
  try {
    writeAll(fd, encodeHeader(metadata, tensors));
    const zeros = new Uint8Array(GGUF_ALIGNMENT);
    for (const t of tensors) {
      const bytes = t.data();
      const expected = tensorByteSize(t);
      if (bytes.length !== expected)
        throw new Error(`gguf: tensor '${t.name}' has ${bytes.length} bytes, its shape needs ${expected}`);
      writeAll(fd, bytes);
      writeAll(fd, zeros.subarray(0, padding(bytes.length)));
    }
    fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, path);
  } catch (err) {
    if (!closed) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}
