// Loading a data file as validated records: read rows, map them (named or detected mapping), convert to the
// kind the caller needs, validate; the first bad row is an error naming file and line unless skipInvalid.
import { basename } from "node:path";
import { convertRecord } from "./convert.js";
import { DataError, RowProblem } from "./errors.js";
import { detectMapping, type Mapping, type MappingSpec, resolveMapping } from "./mappings.js";
import { readRows } from "./readRows.js";
import type { DataRecord, RecordKind } from "./records.js";
import { validateRecord } from "./schemas.js";

export interface LoadOptions {
  /** How rows become records; detected from the first row's fields when absent. */
  mapping?: MappingSpec;
  /**
   * The kind the caller needs (or the kinds it takes, the first being the one others become): other kinds are
   * converted where that loses nothing (see convertRecord).
   */
  kind?: RecordKind | readonly RecordKind[];
  /** Skip bad rows (and count them in `skipped`) instead of failing on the first one. */
  skipInvalid?: boolean;
  /** Stop after this many records. */
  limit?: number;
}

export interface SkippedRow {
  /** Where the row is: "file.jsonl:17" or "file.json:row 17". */
  source: string;
  problem: string;
  /** The mapped record when mapping worked and validation failed (its prompt may still matter). */
  record?: DataRecord;
}

export interface LoadResult {
  records: DataRecord[];
  skipped: SkippedRow[];
  /** Rows the mapping leaves out by design (pku-raw:safe-vs-unsafe rows with two safe or two unsafe answers). */
  filtered: number;
  /** Rows read (records + skipped + filtered, unless stopped by `limit`). */
  rows: number;
  /** The mapping used, e.g. "pku-sft" or "preference:prompt=question,chosen=good,rejected=bad". */
  mapping: string;
}

/**
 * Reads `path` (.jsonl/.json/.csv/.parquet, optionally .gz) as records. Ids default to
 * `${basename}:${line}` and sources to `${path}:${line}` ("path:row N" for JSON and Parquet).
 * Throws a DataError ("file:line: problem") on the first bad row unless `skipInvalid`.
 */
export async function loadRecords(path: string, options: LoadOptions = {}): Promise<LoadResult> {
  const { kind, skipInvalid = false, limit } = options;
  const records: DataRecord[] = [];
  const skipped: SkippedRow[] = [];
  let filtered = 0;
  let rows = 0;
  let mapping: Mapping | undefined =
    options.mapping === undefined ? undefined : resolveMapping(options.mapping);
  const name = basename(path);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
    throw new RangeError(`loadRecords: limit must be a non-negative integer, got ${limit}`);
  if (limit === 0) return { records, skipped, filtered, rows, mapping: mapping?.name ?? "none" };

  for await (const entry of readRows(path, { badRows: skipInvalid ? "yield" : "throw" })) {
    const { row, line, where } = entry;
    rows++;
    if (entry.problem !== undefined) {
      skipped.push({ source: where, problem: entry.problem });
      continue;
    }
    mapping ??= detectMapping(row, path);
    let record: DataRecord | null | undefined;
    let problem: string | undefined;
    try {
      record = mapping.map(row);
      if (record === null) {
        filtered++;
        continue;
      }
      record.id ??= `${name}:${line}`;
      record.source ??= where;
      const kinds = kind === undefined ? [] : typeof kind === "string" ? [kind] : kind;
      if (kinds[0] !== undefined && !kinds.includes(record.kind)) {
        const converted = convertRecord(record, kinds[0]);
        if (typeof converted === "string") problem = converted;
        else record = converted;
      }
      problem ??= validateRecord(record);
    } catch (err) {
      if (!(err instanceof RowProblem)) throw err;
      problem = err.message;
    }
    if (problem !== undefined) {
      if (!skipInvalid) throw new DataError(`${where}: ${problem}`, { rowProblem: true });
      skipped.push(record ? { source: where, problem, record } : { source: where, problem });
      continue;
    }
    records.push(record as DataRecord);
    if (limit !== undefined && records.length >= limit) break;
  }
  return { records, skipped, filtered, rows, mapping: mapping?.name ?? "none (no rows)" };
}
