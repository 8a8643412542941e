// `data stats` as a data operation: each file's record statistics, and the prompts each pair of files shares.
import { loadFiles } from "./loadFiles.js";
import type { DataRecord } from "./records.js";
import {
  type PromptOverlap,
  promptOverlap,
  type RecordStats,
  recordStats,
  type TextTokenizer,
} from "./stats.js";

export interface FileStats {
  path: string;
  mapping: string;
  rows: number;
  skipped: number;
  filtered: number;
  /** The first few skipped rows, "where: problem". */
  firstProblems: string[];
  stats: RecordStats;
}

export type FileOverlap = { a: string; b: string } & PromptOverlap;

/** Statistics of every file (lengths in tokens with a tokenizer), and the prompt overlap of every pair of files. */
export async function fileStats(
  paths: readonly string[],
  options: { mapping?: string; skipInvalid: boolean; tokenizer?: TextTokenizer },
): Promise<{ files: FileStats[]; overlaps: FileOverlap[] }> {
  const loaded = await loadFiles(paths, options.mapping, options.skipInvalid);
  const files: FileStats[] = loaded.map((r, i) => ({
    path: paths[i] as string,
    mapping: r.mapping,
    rows: r.rows,
    skipped: r.skipped.length,
    filtered: r.filtered,
    firstProblems: r.skipped.slice(0, 3).map((s) => `${s.source}: ${s.problem}`),
    stats: recordStats(r.records, options.tokenizer),
  }));
  // A prompt leaks whatever is wrong with its answers: the overlap counts the prompts of skipped rows too.
  const withSkipped = loaded.map((r) => [
    ...r.records,
    ...r.skipped.flatMap((s) => (s.record ? [s.record] : [])),
  ]);
  const overlaps: FileOverlap[] = [];
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      overlaps.push({
        a: paths[i] as string,
        b: paths[j] as string,
        ...promptOverlap(withSkipped[i] as DataRecord[], withSkipped[j] as DataRecord[]),
      });
    }
  }
  return { files, overlaps };
}
