// Rows from data files: JSONL (streamed line by line), JSON (a list of records, or an object of columns),
// CSV (header row, RFC 4180 quoting) and Parquet, each optionally gzip-compressed (".gz").
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { brotliDecompressSync, createGunzip, gunzipSync } from "node:zlib";
import { type Options as CsvOptions, type InfoRecord, parse as parseCsv } from "csv-parse";
import {
  type AsyncBuffer,
  asyncBufferFromFile,
  type Compressors,
  parquetMetadataAsync,
  parquetReadObjects,
} from "hyparquet";
import { DataError, errorText } from "./errors.js";

export type Row = Record<string, unknown>;

export interface RowEntry {
  row: Row;
  /** 1-based: the line for JSONL and CSV (where the record starts), the row for JSON and Parquet. */
  line: number;
  /** Where the row is, for messages and record sources: "file.jsonl:17" or "file.json:row 17". */
  where: string;
  /** Set (and `row` empty) for a line that is not a JSON object, when reading with `badRows: "yield"`. */
  problem?: string;
}

export interface ReadRowsOptions {
  /**
   * What to do with a JSONL line (or JSON list element) that is not a JSON object: "throw" (default) a
   * DataError naming it, or "yield" an entry with `problem` set so that the caller can skip and count it.
   */
  badRows?: "throw" | "yield";
}

export type DataFormat = "jsonl" | "json" | "csv" | "parquet";

/** The format and compression a path's extension names, e.g. "train.jsonl.gz" -> jsonl, gzip. */
export function dataFormat(path: string): { format: DataFormat; gzip: boolean } {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith(".gz");
  const base = gzip ? lower.slice(0, -3) : lower;
  for (const format of ["jsonl", "json", "csv", "parquet"] as const) {
    if (base.endsWith(`.${format}`)) return { format, gzip };
  }
  if (base.endsWith(".ndjson")) return { format: "jsonl", gzip };
  throw new DataError(
    `${path}: unknown data format (expected .jsonl, .json, .csv or .parquet, optionally with .gz)`,
  );
}

/**
 * The rows of a data file, in order. JSONL and CSV are streamed (memory stays small for large files);
 * JSON and gzip-compressed Parquet are read whole; Parquet is read one row group at a time.
 * Errors are DataErrors naming the file and line: "data.jsonl:17: not valid JSON (...)".
 */
export async function* readRows(path: string, options: ReadRowsOptions = {}): AsyncGenerator<RowEntry> {
  const { format, gzip } = dataFormat(path);
  const tolerant = options.badRows === "yield";
  await checkReadable(path);
  switch (format) {
    case "jsonl":
      yield* readJsonl(path, openText(path, gzip), tolerant);
      return;
    case "json":
      yield* readJson(path, await readBytes(path, gzip), tolerant);
      return;
    case "csv":
      yield* readCsv(path, openText(path, gzip));
      return;
    case "parquet":
      yield* readParquet(path, gzip);
      return;
  }
}

async function checkReadable(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new DataError(`${path}: is a folder, not a data file`);
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as { code?: string }).code;
    throw new DataError(code === "ENOENT" ? `${path}: file not found` : `${path}: ${errorText(err)}`);
  }
}

function openText(path: string, gzip: boolean): Readable {
  const file = createReadStream(path);
  if (!gzip) return file;
  const gunzip = createGunzip();
  file.on("error", (err) => gunzip.destroy(err));
  return file.pipe(gunzip);
}

async function readBytes(path: string, gzip: boolean): Promise<Buffer> {
  const bytes = await readFile(path);
  if (!gzip) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new DataError(`${path}: not a readable gzip file (${errorText(err)})`);
  }
}

function streamError(path: string, err: unknown): DataError {
  if (err instanceof DataError) return err;
  const code = (err as { code?: string }).code;
  if (typeof code === "string" && code.startsWith("Z_"))
    return new DataError(`${path}: not a readable gzip file (${errorText(err)})`);
  return new DataError(`${path}: ${errorText(err)}`);
}

function isRow(value: unknown): value is Row {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "string" ? "a string" : typeof value;
}

async function* readJsonl(path: string, input: Readable, tolerant: boolean): AsyncGenerator<RowEntry> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const raw of lines) {
      line++;
      const text = line === 1 ? raw.replace(/^\uFEFF/, "") : raw;
      if (text.trim() === "") continue;
      yield jsonLineEntry(path, line, text, tolerant);
    }
  } catch (err) {
    throw streamError(path, err);
  } finally {
    lines.close();
    input.destroy();
  }
}

function jsonLineEntry(path: string, line: number, text: string, tolerant: boolean): RowEntry {
  const where = `${path}:${line}`;
  let value: unknown;
  let problem: string;
  try {
    value = JSON.parse(text);
    if (isRow(value)) return { row: value, line, where };
    problem = `expected a JSON object, got ${describe(value)}`;
  } catch (err) {
    problem = `not valid JSON (${errorText(err)})`;
  }
  return badRow(where, line, problem, tolerant);
}

function badRow(where: string, line: number, problem: string, tolerant: boolean): RowEntry {
  if (!tolerant) throw new DataError(`${where}: ${problem}`, { rowProblem: true });
  return { row: {}, line, where, problem };
}

function* readJson(path: string, bytes: Buffer, tolerant: boolean): Generator<RowEntry> {
  const text = bytes.toString("utf8").replace(/^\uFEFF/, "");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // Many ".json" files on the Hub are JSON lines: read them as such when the first line is an object.
    const first = text.split("\n", 1)[0] ?? "";
    if (looksLikeJsonLines(first)) {
      yield* jsonLinesOf(path, text, tolerant);
      return;
    }
    throw new DataError(`${path}: not valid JSON (${errorText(err)})`);
  }
  yield* rowsOfJson(path, value, tolerant);
}

function looksLikeJsonLines(firstLine: string): boolean {
  try {
    return isRow(JSON.parse(firstLine));
  } catch {
    return false;
  }
}

function* jsonLinesOf(path: string, text: string, tolerant: boolean): Generator<RowEntry> {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? "").replace(/\r$/, "");
    if (raw.trim() === "") continue;
    yield jsonLineEntry(path, i + 1, raw, tolerant);
  }
}

/**
 * The rows of a parsed JSON document: a list of objects, or an object of equal-length lists (columns,
 * as in the Safety-Tuned LLaMAs files: `{"instructions": [...], "inputs": [], "tags": [...]}`, where an
 * empty list means the column is absent). Column names are kept as they are.
 */
export function* rowsOfJson(path: string, value: unknown, tolerant = false): Generator<RowEntry> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const row = value[i];
      const where = `${path}:row ${i + 1}`;
      if (isRow(row)) yield { row, line: i + 1, where };
      else yield badRow(where, i + 1, `expected a JSON object, got ${describe(row)}`, tolerant);
    }
    return;
  }
  if (!isRow(value)) {
    throw new DataError(
      `${path}: expected a list of records or an object of columns, got ${describe(value)}`,
    );
  }
  const columns = columnsOf(path, value);
  const length = columns[0]?.[1].length ?? 0;
  for (let i = 0; i < length; i++) {
    const row: Row = {};
    for (const [name, values] of columns) row[name] = values[i];
    yield { row, line: i + 1, where: `${path}:row ${i + 1}` };
  }
}

function columnsOf(path: string, value: Row): [string, unknown[]][] {
  const entries = Object.entries(value);
  const notList = entries.find(([, v]) => !Array.isArray(v));
  if (notList) {
    throw new DataError(
      `${path}: expected a list of records or an object of columns (lists), but "${notList[0]}" is ${describe(notList[1])}`,
    );
  }
  const columns = (entries as [string, unknown[]][]).filter(([, v]) => v.length > 0);
  const [first] = columns;
  const mismatch = columns.find(([, v]) => v.length !== first?.[1].length);
  if (first && mismatch) {
    throw new DataError(
      `${path}: column "${mismatch[0]}" has ${mismatch[1].length} values but "${first[0]}" has ${first[1].length}`,
    );
  }
  return columns;
}

/** A CSV record and the line it starts on. */
interface CsvRecord {
  record: string[];
  line: number;
}

async function* readCsv(path: string, input: Readable): AsyncGenerator<RowEntry> {
  // Line numbers are worked out as csv-parse meets each record (on_record runs in parse order, ahead of the
  // consumer), so an error names the line where the failing record starts even when the records parsed before
  // it were never consumed. A record starts after the previous one and any skipped blank lines, and spans the
  // line breaks inside its quoted fields (counted here: csv-parse's own line counter counts "\r\n" in quotes
  // twice).
  let previousEnd = 0;
  let previousEmpty = 0;
  const startLine = (emptyLines: number) => previousEnd + 1 + Math.max(0, emptyLines - previousEmpty);
  const options: CsvOptions<CsvRecord, string[]> = {
    bom: true,
    skip_empty_lines: true,
    relax_quotes: false,
    columns: false,
    on_record: (record: string[], context: InfoRecord): CsvRecord => {
      const line = startLine(context.empty_lines);
      previousEnd = line + record.reduce((sum, field) => sum + countNewlines(field), 0);
      previousEmpty = context.empty_lines;
      return { record, line };
    },
  };
  // csv-parse's overloads type on_record's result only together with `columns`: the options are sound as written.
  const parser = input.pipe(parseCsv(options as unknown as CsvOptions));
  input.on("error", (err) => parser.destroy(err));
  let header: string[] | undefined;
  try {
    for await (const { record, line } of parser as AsyncIterable<CsvRecord>) {
      if (!header) {
        header = record.map((name) => name.trim());
        const seen = new Set<string>();
        for (const name of header) {
          if (seen.has(name)) throw new DataError(`${path}:${line}: the header names column "${name}" twice`);
          seen.add(name);
        }
        continue;
      }
      const row: Row = {};
      header.forEach((name, i) => {
        row[name] = record[i];
      });
      yield { row, line, where: `${path}:${line}` };
    }
  } catch (err) {
    const csv = err as { code?: string; empty_lines?: unknown };
    if (!(err instanceof DataError) && csv.code?.startsWith("CSV_")) {
      const line = startLine(typeof csv.empty_lines === "number" ? csv.empty_lines : previousEmpty);
      throw new DataError(`${path}:${line}: not valid CSV (${csvProblem(err)})`);
    }
    throw streamError(path, err);
  } finally {
    input.destroy();
  }
}

/** csv-parse's message without its own line number (which counts to where parsing stopped). */
function csvProblem(err: unknown): string {
  if ((err as { code?: string }).code === "CSV_QUOTE_NOT_CLOSED")
    return "a quoted field of the record starting on this line is never closed";
  return errorText(err).replace(/ (?:at|on) line \d+/g, "");
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

/**
 * Decompressors hyparquet lacks built in (it has snappy): gzip and brotli from node:zlib. ZSTD and LZ4
 * pages are reported as unreadable (node 20's zlib has no zstd).
 */
const PARQUET_COMPRESSORS: Compressors = {
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
};

async function* readParquet(path: string, gzip: boolean): AsyncGenerator<RowEntry> {
  let file: AsyncBuffer;
  let groups: { start: number; end: number }[];
  try {
    if (gzip) {
      const bytes = await readBytes(path, true);
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      file = { byteLength: buffer.byteLength, slice: (start, end) => buffer.slice(start, end) };
    } else {
      file = await asyncBufferFromFile(path);
    }
    const metadata = await parquetMetadataAsync(file);
    groups = [];
    let start = 0;
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows);
      groups.push({ start, end });
      start = end;
    }
  } catch (err) {
    throw err instanceof DataError
      ? err
      : new DataError(`${path}: not a readable Parquet file (${errorText(err)})`);
  }
  for (const { start, end } of groups) {
    if (end <= start) continue;
    let rows: Row[];
    try {
      rows = (await parquetReadObjects({
        file,
        rowStart: start,
        rowEnd: end,
        compressors: PARQUET_COMPRESSORS,
      })) as Row[];
    } catch (err) {
      throw new DataError(`${path}: rows ${start + 1}-${end}: not readable (${errorText(err)})`);
    }
    for (let i = 0; i < rows.length; i++) {
      const line = start + i + 1;
      yield { row: rows[i] as Row, line, where: `${path}:row ${line}` };
    }
  }
}
