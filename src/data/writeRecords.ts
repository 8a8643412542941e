// Writing records as JSONL (safetune's own format: each line a DataRecord with its `kind`, which
// loadRecords detects) through a temporary file and a rename, plus a JSON manifest of how it was made.
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomically } from "../util/atomicFolder.js";
import type { DataRecord } from "./records.js";

/** One source file of an output: where it came from and what became of its rows. */
export interface ManifestSource {
  /** What the file was for: "base", "safety", "input", ... */
  role: string;
  path: string;
  mapping: string;
  rows: number;
  records: number;
  skipped: number;
  filtered: number;
}

export interface ManifestOutput {
  path: string;
  records: number;
  byKind: Record<string, number>;
  uniquePrompts?: number;
}

export interface DataManifest {
  /** The command that made the outputs, e.g. "data mix". */
  command: string;
  createdAt: string;
  seed?: number;
  options: Record<string, unknown>;
  sources: ManifestSource[];
  outputs: ManifestOutput[];
  /** Command-specific counts (e.g. mix: base and safety records given, duplicates, used). */
  counts?: Record<string, unknown>;
}

/** The manifest path beside a JSONL output: "mix.jsonl" -> "mix.manifest.json". */
export function manifestPathFor(outPath: string): string {
  return `${outPath.replace(/\.jsonl(\.gz)?$/i, "")}.manifest.json`;
}

/** Writes records as JSONL, one record per line, through a temporary file and a rename. */
export function writeRecordsJsonl(path: string, records: readonly DataRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const fd = openSync(tmp, "w");
  let written = false;
  try {
    let chunk = "";
    for (const record of records) {
      chunk += `${JSON.stringify(record)}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = "";
      }
    }
    if (chunk) writeSync(fd, chunk);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(tmp, { force: true });
  }
  renameSync(tmp, path);
}

/** Writes a manifest as indented JSON, atomically. */
export function writeManifest(path: string, manifest: DataManifest): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomically(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Record counts by kind. */
export function countKinds(records: readonly DataRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[r.kind] = (out[r.kind] ?? 0) + 1;
  return out;
}
