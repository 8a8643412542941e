// Several data files loaded one after the other under one mapping, and what a manifest records about each.
import { resolve } from "node:path";
import { DataError } from "./errors.js";
import { type LoadResult, loadRecords } from "./loadRecords.js";
import { parseMappingSpec } from "./mappings.js";
import type { ManifestSource } from "./writeRecords.js";

/**
 * Loads files one after the other, so that the first bad row reported is the first in argument order. A bad row
 * (without `skipInvalid`) is an error that says --skip-invalid would skip and count it.
 */
export async function loadFiles(
  paths: readonly string[],
  mapping: string | undefined,
  skipInvalid: boolean,
): Promise<LoadResult[]> {
  const out: LoadResult[] = [];
  for (const path of paths) {
    try {
      out.push(
        await loadRecords(path, {
          mapping: mapping === undefined ? undefined : parseMappingSpec(mapping),
          skipInvalid,
        }),
      );
    } catch (err) {
      if (err instanceof DataError && err.rowProblem && !skipInvalid)
        throw new DataError(`${err.message} (--skip-invalid skips and counts such rows)`);
      throw err;
    }
  }
  return out;
}

/** A loaded file as a manifest source: where it came from, its mapping, and what was kept, skipped and filtered. */
export function manifestSource(role: string, path: string, loaded: LoadResult): ManifestSource {
  return {
    role,
    path: resolve(path),
    mapping: loaded.mapping,
    rows: loaded.rows,
    records: loaded.records.length,
    skipped: loaded.skipped.length,
    filtered: loaded.filtered,
  };
}

/** Rows skipped as invalid and rows the mapping left out, over several loaded files. */
export function droppedRows(results: readonly LoadResult[]): { skipped: number; filtered: number } {
  return {
    skipped: results.reduce((a, r) => a + r.skipped.length, 0),
    filtered: results.reduce((a, r) => a + r.filtered, 0),
  };
}
