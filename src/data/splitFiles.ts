// `data split` as a data operation: files loaded, split by unique prompt, written as train/eval/test with a manifest.
import { join, resolve } from "node:path";
import { droppedRows, loadFiles, manifestSource } from "./loadFiles.js";
import type { DataRecord } from "./records.js";
import { type SplitResult, splitByPrompt } from "./split.js";
import { promptKey } from "./text.js";
import { countKinds, writeManifest, writeRecordsJsonl } from "./writeRecords.js";

export const SPLIT_NAMES = ["train", "eval", "test"] as const;

export interface SplitFilesOptions {
  paths: readonly string[];
  mapping?: string;
  /** Fractions of the unique prompts for eval and test. */
  eval: number;
  test: number;
  seed: number;
  skipInvalid: boolean;
  /** The folder for train.jsonl, eval.jsonl, test.jsonl and manifest.json. */
  out: string;
}

export interface SplitFiles {
  split: SplitResult;
  /** Prompts found in more than one split (0 by construction; recorded in the manifest as a check). */
  crossing: number;
  dropped: { skipped: number; filtered: number };
}

/** Loads the files, splits their records by prompt, and writes the three splits and the manifest. */
export async function splitFiles(o: SplitFilesOptions): Promise<SplitFiles> {
  const loaded = await loadFiles(o.paths, o.mapping, o.skipInvalid);
  const split = splitByPrompt(
    loaded.flatMap((r) => r.records),
    { eval: o.eval, test: o.test, seed: o.seed },
  );
  const outputs = SPLIT_NAMES.map((name) => {
    const path = join(o.out, `${name}.jsonl`);
    writeRecordsJsonl(path, split[name]);
    return {
      path: resolve(path),
      records: split[name].length,
      byKind: countKinds(split[name]),
      uniquePrompts: split.prompts[name],
    };
  });
  const crossing = promptsCrossingSplits(split);
  writeManifest(join(o.out, "manifest.json"), {
    command: "data split",
    createdAt: new Date().toISOString(),
    seed: o.seed,
    options: { eval: o.eval, test: o.test, skipInvalid: o.skipInvalid },
    sources: o.paths.map((p, i) => manifestSource("input", p, loaded[i] as (typeof loaded)[number])),
    outputs,
    counts: { promptsCrossingSplits: crossing },
  });
  return { split, crossing, dropped: droppedRows(loaded) };
}

/** How many normalised prompts appear in more than one of the splits. */
export function promptsCrossingSplits(
  split: Record<(typeof SPLIT_NAMES)[number], readonly DataRecord[]>,
): number {
  const where = new Map<string, Set<string>>();
  for (const name of SPLIT_NAMES) {
    for (const r of split[name]) {
      const key = promptKey(r);
      const set = where.get(key) ?? new Set<string>();
      set.add(name);
      where.set(key, set);
    }
  }
  return [...where.values()].filter((s) => s.size > 1).length;
}
