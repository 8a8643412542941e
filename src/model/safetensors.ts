/**
 * Hardened safetensors reader/writer (https://github.com/huggingface/safetensors), no dependencies.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON header, then the data buffer.
 * Every check upstream performs is repeated here, because headers come from untrusted downloads:
 * a hostile header must produce a SafetensorsError, never a crash, a hang or a huge allocation.
 */
import { constants as bufferConstants } from "node:buffer";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fstatSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { SafetuneError } from "../util/safetuneError.js";

export type SafetensorsDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
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
};

/** Same cap as upstream's MAX_HEADER_SIZE: never JSON-parse an attacker-sized header. */
export const MAX_HEADER_BYTES = 100_000_000;

/** The u64 header length that starts every file; the data buffer starts at this plus the header length. */
export const SAFETENSORS_PREFIX_BYTES = 8;
const PREFIX_BYTES = SAFETENSORS_PREFIX_BYTES;
const METADATA_KEY = "__metadata__";

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** View into the file buffer (no copy). */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** A validated header entry, without its data (see readSafetensorsHeader). */
export interface SafetensorsHeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) relative to the start of the data buffer. */
  dataOffsets: [number, number];
  byteLength: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, SafetensorsHeaderEntry>;
  metadata: Record<string, string>;
  /** N, the JSON header length in bytes (padding included). */
  headerLength: number;
  /** Size of the data buffer that follows the header. */
  dataLength: number;
}

export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

export class SafetensorsError extends SafetuneError {
  override readonly name = "SafetensorsError";
  /** File path or buffer label the error refers to. */
  readonly label: string;

  constructor(label: string, problem: string, options?: ErrorOptions) {
    super(`${oneLine(label)}: ${oneLine(problem)}`, options);
    this.label = label;
  }
}

export function isSafetensorsDtype(value: unknown): value is SafetensorsDtype {
  // hasOwn, not `in`: "toString" must not count as a dtype.
  return typeof value === "string" && Object.hasOwn(DTYPE_BYTES, value);
}

// ---------------------------------------------------------------------------------------------
// Parsing

export function parseSafetensors(bytes: Uint8Array, label = "<buffer>"): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) throw new SafetensorsError(label, "input is not a Uint8Array");
  const headerLength = readHeaderLength(bytes, bytes.byteLength, label);
  const dataStart = PREFIX_BYTES + headerLength;
  const header = parseHeader(bytes.subarray(PREFIX_BYTES, dataStart), bytes.byteLength - dataStart, label);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const entry of header.tensors.values()) {
    const [begin, end] = entry.dataOffsets;
    const data = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(entry.name, { name: entry.name, dtype: entry.dtype, shape: entry.shape, data });
  }
  return { tensors, metadata: header.metadata };
}

/** Validates the u64 prefix against the file size before anything is allocated or decoded. */
function readHeaderLength(prefix: Uint8Array, fileSize: number, label: string): number {
  if (fileSize < PREFIX_BYTES) {
    throw new SafetensorsError(label, `file is ${fileSize} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, PREFIX_BYTES);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(fileSize - PREFIX_BYTES)) {
    throw new SafetensorsError(
      label,
      `header length ${length} exceeds file size ${fileSize} (${fileSize - PREFIX_BYTES} bytes follow the length prefix)`,
    );
  }
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      label,
      `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte header limit`,
    );
  }
  return Number(length);
}

function parseHeader(headerBytes: Uint8Array, dataLength: number, label: string): SafetensorsHeader {
  const json = parseHeaderJson(headerBytes, label);
  const tensors = new Map<string, SafetensorsHeaderEntry>();
  let metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(json)) {
    if (key === METADATA_KEY) metadata = parseMetadata(value, label);
    else tensors.set(key, parseEntry(key, value, dataLength, label));
  }
  checkCoverage([...tensors.values()], dataLength, label);
  return { tensors, metadata, headerLength: headerBytes.byteLength, dataLength };
}

function parseHeaderJson(headerBytes: Uint8Array, label: string): Record<string, unknown> {
  let text: string;
  try {
    // ignoreBOM keeps a BOM in the text so JSON.parse rejects it, as upstream's serde_json does.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(label, "header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(label, `header is not valid JSON (${clip(errorText(error))})`);
  }
  if (!isPlainObject(json))
    throw new SafetensorsError(label, `header JSON is not an object (got ${kindOf(json)})`);
  // Upstream rejects leading whitespace; only trailing space padding is allowed.
  if (!text.startsWith("{")) throw new SafetensorsError(label, "header does not start with '{'");
  return json;
}

function parseMetadata(value: unknown, label: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(label, `${METADATA_KEY} is not an object (got ${kindOf(value)})`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") {
      throw new SafetensorsError(
        label,
        `${METADATA_KEY}[${quote(key)}] is not a string (got ${kindOf(item)})`,
      );
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays data instead of changing the prototype.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function parseEntry(name: string, value: unknown, dataLength: number, label: string): SafetensorsHeaderEntry {
  const fail = (problem: string) => new SafetensorsError(label, `tensor ${quote(name)}: ${problem}`);
  if (!isPlainObject(value)) throw fail(`entry is not an object (got ${kindOf(value)})`);
  const dtype = checkDtype(value.dtype, fail);
  const shape = checkShape(value.shape, fail);
  const dataOffsets = checkOffsets(value.data_offsets, fail);
  const [begin, end] = dataOffsets;
  if (end > dataLength) throw fail(`data_offsets end ${end} exceeds the data buffer size ${dataLength}`);
  const byteLength = checkByteSize(dtype, shape, end - begin, fail);
  return { name, dtype, shape, dataOffsets, byteLength };
}

type Fail = (problem: string) => SafetensorsError;

function checkDtype(value: unknown, fail: Fail): SafetensorsDtype {
  if (value === undefined) throw fail('missing "dtype"');
  if (!isSafetensorsDtype(value)) {
    throw fail(`unknown dtype ${describe(value)} (supported: ${Object.keys(DTYPE_BYTES).join(", ")})`);
  }
  return value;
}

function checkShape(value: unknown, fail: Fail): number[] {
  if (value === undefined) throw fail('missing "shape"');
  if (!Array.isArray(value)) throw fail(`shape is not an array (got ${kindOf(value)})`);
  value.forEach((dim: unknown, i) => {
    if (!isNonNegativeSafeInteger(dim)) {
      throw fail(`shape[${i}] = ${describe(dim)} is not a non-negative safe integer`);
    }
  });
  return [...(value as number[])];
}

function checkOffsets(value: unknown, fail: Fail): [number, number] {
  if (value === undefined) throw fail('missing "data_offsets"');
  if (!Array.isArray(value) || value.length !== 2) {
    throw fail(`data_offsets is not a [begin, end] pair (got ${describe(value)})`);
  }
  const [begin, end]: unknown[] = value;
  if (!isNonNegativeSafeInteger(begin) || !isNonNegativeSafeInteger(end)) {
    throw fail(`data_offsets ${describe(value)} are not two non-negative safe integers`);
  }
  if (begin > end) throw fail(`data_offsets begin ${begin} is greater than end ${end}`);
  return [begin, end];
}

function checkByteSize(dtype: SafetensorsDtype, shape: number[], actual: number, fail: Fail): number {
  const expected = byteSize(dtype, shape);
  if (expected === undefined) {
    throw fail(`byte size of ${dtype} shape ${describe(shape)} overflows the safe integer range`);
  }
  if (expected !== actual) {
    throw fail(
      `${dtype} shape ${describe(shape)} needs ${expected} bytes but data_offsets span ${actual} bytes`,
    );
  }
  return expected;
}

/** Product of the shape times the dtype width, or undefined when it leaves the exact-integer range. */
function byteSize(dtype: SafetensorsDtype, shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let size = DTYPE_BYTES[dtype];
  for (const dim of shape) {
    size *= dim;
    // Any true product above 2^53-1 rounds to >= 2^53, so this catches overflow exactly.
    if (!Number.isSafeInteger(size)) return undefined;
  }
  return size;
}

/** Upstream requires the ranges to tile the data buffer exactly: no overlap, no gap, no slack. */
function checkCoverage(entries: SafetensorsHeaderEntry[], dataLength: number, label: string): void {
  const sorted = [...entries].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let previous: SafetensorsHeaderEntry | undefined;
  let covered = 0;
  for (const entry of sorted) {
    const [begin, end] = entry.dataOffsets;
    if (begin < covered && previous) {
      throw new SafetensorsError(
        label,
        `tensor ${quote(entry.name)} bytes [${begin}, ${end}) overlap tensor ${quote(previous.name)} bytes [${previous.dataOffsets[0]}, ${covered})`,
      );
    }
    if (begin > covered) {
      const after = previous ? `after tensor ${quote(previous.name)}` : "at the start of the data buffer";
      throw new SafetensorsError(
        label,
        `gap of ${begin - covered} unused bytes [${covered}, ${begin}) ${after}, before tensor ${quote(entry.name)}`,
      );
    }
    previous = entry;
    covered = end;
  }
  if (covered !== dataLength) {
    const after = previous ? `after tensor ${quote(previous.name)}` : "and the header lists no tensors";
    throw new SafetensorsError(
      label,
      `data buffer has ${dataLength - covered} unused trailing bytes [${covered}, ${dataLength}) ${after}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Reading files

export function readSafetensorsFile(path: string): SafetensorsFile {
  return withFile(path, (fd, fileSize) => {
    readHeaderLength(readAt(fd, Math.min(PREFIX_BYTES, fileSize), 0, path), fileSize, path);
    if (fileSize > bufferConstants.MAX_LENGTH) {
      throw new SafetensorsError(
        path,
        `file is ${fileSize} bytes, over the ${bufferConstants.MAX_LENGTH}-byte buffer limit`,
      );
    }
    return parseSafetensors(readAt(fd, fileSize, 0, path), path);
  });
}

/** Reads and validates only the prefix and header, for inspection of large files. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  return withFile(path, (fd, fileSize) => {
    const headerLength = readHeaderLength(
      readAt(fd, Math.min(PREFIX_BYTES, fileSize), 0, path),
      fileSize,
      path,
    );
    const headerBytes = readAt(fd, headerLength, PREFIX_BYTES, path);
    return parseHeader(headerBytes, fileSize - PREFIX_BYTES - headerLength, path);
  });
}

function withFile<T>(path: string, use: (fd: number, fileSize: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new SafetensorsError(path, "not a regular file");
    return use(fd, stats.size);
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    throw fsError(path, "read failed", error);
  } finally {
    closeQuietly(fd);
  }
}

/** Fresh (unpooled) buffer so byteOffset is 0 and the 8-aligned data buffer stays 8-aligned. */
function readAt(fd: number, length: number, position: number, path: string): Uint8Array {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0)
      throw new SafetensorsError(path, `file shrank while reading (got ${filled} of ${length} bytes)`);
    filled += n;
  }
  return buffer;
}

// ---------------------------------------------------------------------------------------------
// Writing

interface Layout {
  /** Length prefix plus padded JSON header. */
  head: Uint8Array;
  /** Tensors in file order. */
  ordered: SafetensorsTensorInput[];
  totalBytes: number;
}

/**
 * Tensors are laid out sorted by name (code point order, as Python/Rust sort). "__metadata__" goes
 * last and only when non-empty, which is how the project's fixtures are written, so that
 * serialize(parse(x)) reproduces them byte for byte.
 */
export function serializeSafetensors(
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Record<string, string>,
): Uint8Array {
  const layout = planLayout(tensors, metadata, "<buffer>");
  if (layout.totalBytes > bufferConstants.MAX_LENGTH) {
    throw new SafetensorsError("<buffer>", `serialized size ${layout.totalBytes} exceeds the buffer limit`);
  }
  const out = new Uint8Array(layout.totalBytes);
  out.set(layout.head, 0);
  let position = layout.head.byteLength;
  for (const tensor of layout.ordered) {
    out.set(tensor.data, position);
    position += tensor.data.byteLength;
  }
  return out;
}

/** Atomic: writes a temporary file in the same folder, fsyncs it, then renames it over the target. */
export function writeSafetensorsFile(
  path: string,
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Record<string, string>,
): void {
  const layout = planLayout(tensors, metadata, path);
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  let fd: number;
  try {
    fd = openSync(tmp, "wx");
  } catch (error) {
    throw fsError(path, `cannot create temporary file ${tmp}`, error);
  }
  try {
    try {
      writeAll(fd, layout.head);
      for (const tensor of layout.ordered) writeAll(fd, tensor.data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    removeQuietly(tmp);
    throw fsError(path, "write failed", error);
  }
  syncDirectory(dirname(path));
}

function planLayout(
  tensors: readonly SafetensorsTensorInput[],
  metadata: Record<string, string> | undefined,
  label: string,
): Layout {
  if (!Array.isArray(tensors)) throw new SafetensorsError(label, "tensors is not an array");
  const seen = new Set<string>();
  for (const tensor of tensors) checkInput(tensor, seen, label);
  const ordered = [...tensors].sort((a, b) => compareCodePoints(a.name, b.name));
  const parts: string[] = [];
  let offset = 0;
  for (const t of ordered) {
    const entry = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    offset += t.data.byteLength;
  }
  const metadataJson = metadataToJson(metadata, label);
  if (metadataJson) parts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson}`);
  const head = encodeHead(`{${parts.join(",")}}`, label);
  const totalBytes = head.byteLength + offset;
  if (!Number.isSafeInteger(totalBytes)) throw new SafetensorsError(label, "total size overflows");
  return { head, ordered, totalBytes };
}

function checkInput(tensor: SafetensorsTensorInput, seen: Set<string>, label: string): void {
  if (!isPlainObject(tensor) || typeof tensor.name !== "string") {
    throw new SafetensorsError(label, `tensor input ${describe(tensor)} has no string name`);
  }
  const name = tensor.name;
  const fail = (problem: string) => new SafetensorsError(label, `tensor ${quote(name)}: ${problem}`);
  if (name === METADATA_KEY) throw fail(`the name ${METADATA_KEY} is reserved`);
  if (seen.has(name)) throw fail("duplicate tensor name");
  seen.add(name);
  const dtype = checkDtype(tensor.dtype, fail);
  const shape = checkShape(tensor.shape, fail);
  if (!(tensor.data instanceof Uint8Array))
    throw fail(`data is not a Uint8Array (got ${kindOf(tensor.data)})`);
  checkByteSize(dtype, shape, tensor.data.byteLength, fail);
}

function metadataToJson(metadata: Record<string, string> | undefined, label: string): string | undefined {
  if (metadata === undefined) return undefined;
  const entries = isPlainObject(metadata) ? Object.entries(metadata) : undefined;
  if (!entries) throw new SafetensorsError(label, `metadata is not an object (got ${kindOf(metadata)})`);
  if (entries.length === 0) return undefined;
  const items = entries.map(([key, value]) => {
    if (typeof value !== "string") {
      throw new SafetensorsError(label, `metadata[${quote(key)}] is not a string (got ${kindOf(value)})`);
    }
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${items.join(",")}}`;
}

/** Header padded with spaces so the data buffer starts 8-byte aligned, as upstream writes it. */
function encodeHead(json: string, label: string): Uint8Array {
  const encoded = new TextEncoder().encode(json);
  const padded = Math.ceil(encoded.byteLength / 8) * 8;
  if (padded > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      label,
      `header would be ${padded} bytes, over the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  const head = new Uint8Array(PREFIX_BYTES + padded).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(encoded, PREFIX_BYTES);
  return head;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.byteLength) {
    written += writeSync(fd, bytes, written, bytes.byteLength - written);
  }
}

/** Makes the rename durable; not every platform can fsync a directory, so failure is ignored. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort only.
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing useful to do; the original error matters more.
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone or never created.
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** JS `<` compares UTF-16 units; Python/Rust (and so the HF format) sort by code point. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000..U+FFFF so unit order matches code point order. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

function fsError(path: string, action: string, error: unknown): SafetensorsError {
  return new SafetensorsError(path, `${action}: ${errorText(error)}`, { cause: error });
}

/** Plain wording for the common cases of opening a file to read. */
function openError(path: string, error: unknown): SafetensorsError {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return new SafetensorsError(path, "file not found", { cause: error });
  if (code === "EISDIR") return new SafetensorsError(path, "is a directory, not a file", { cause: error });
  if (code === "EACCES") return new SafetensorsError(path, "permission denied", { cause: error });
  return fsError(path, "cannot open", error);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** JSON rendering for messages; clipped because hostile headers can hold megabyte-long values. */
function describe(value: unknown): string {
  try {
    return clip(JSON.stringify(value) ?? String(value));
  } catch {
    return kindOf(value);
  }
}

function quote(name: string): string {
  return name.length > 120
    ? `${JSON.stringify(name.slice(0, 120))}...(${name.length} chars)`
    : JSON.stringify(name);
}

function clip(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** Keeps every message on one line whatever a tensor name or path contains. */
function oneLine(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
