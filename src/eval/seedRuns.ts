// Run folders read for seed groups: results.json, and samples.jsonl where the folder has one.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SeedRun } from "./metrics/seedGroups.js";
import { readResults, readSamples } from "./runFiles.js";

/** A run folder (or its results.json) with its samples when present; reports need them only over seeds. */
export function readSeedRun(runOrFile: string): SeedRun {
  const results = readResults(runOrFile);
  const dir = runOrFile.endsWith(".json") ? dirname(runOrFile) : runOrFile;
  const hasSamples = existsSync(join(dir, "samples.jsonl"));
  return { results, source: runOrFile, ...(hasSamples ? { samples: readSamples(dir) } : {}) };
}
