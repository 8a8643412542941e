// `data mix` as a data operation: base and safety files loaded, mixed, and written with their manifest.
import { resolve } from "node:path";
import { droppedRows, loadFiles, manifestSource } from "./loadFiles.js";
import { type MixResult, mixRecords } from "./mix.js";
import { countKinds, manifestPathFor, writeManifest, writeRecordsJsonl } from "./writeRecords.js";

export interface MixFilesOptions {
  base: readonly string[];
  baseMapping?: string;
  safety: readonly string[];
  safetyMapping?: string;
  /** How many safety records to add; give this or `fraction`. */
  count?: number;
  /** Safety records as a fraction of the de-duplicated base. */
  fraction?: number;
  seed: number;
  shuffle: boolean;
  skipInvalid: boolean;
  /** The mixture's JSONL file; the manifest goes beside it. */
  out: string;
}

export interface MixedFiles {
  mix: MixResult;
  manifestPath: string;
  /** Invalid rows skipped and rows the mappings left out, over every input. */
  dropped: { skipped: number; filtered: number };
}

/** Loads the base and safety files, mixes them, and writes the mixture and its manifest. */
export async function mixFiles(o: MixFilesOptions): Promise<MixedFiles> {
  const bases = await loadFiles(o.base, o.baseMapping, o.skipInvalid);
  const safeties = await loadFiles(o.safety, o.safetyMapping, o.skipInvalid);
  const mix = mixRecords(
    bases.flatMap((r) => r.records),
    safeties.flatMap((r) => r.records),
    { count: o.count, fraction: o.fraction, seed: o.seed, shuffle: o.shuffle },
  );
  writeRecordsJsonl(o.out, mix.records);
  const manifestPath = manifestPathFor(o.out);
  writeManifest(manifestPath, {
    command: "data mix",
    createdAt: new Date().toISOString(),
    seed: o.seed,
    options: { count: o.count, fraction: o.fraction, shuffle: o.shuffle, skipInvalid: o.skipInvalid },
    sources: [
      ...o.base.map((p, i) => manifestSource("base", p, bases[i] as (typeof bases)[number])),
      ...o.safety.map((p, i) => manifestSource("safety", p, safeties[i] as (typeof safeties)[number])),
    ],
    outputs: [{ path: resolve(o.out), records: mix.records.length, byKind: countKinds(mix.records) }],
    counts: { base: mix.base, safety: mix.extra },
  });
  return { mix, manifestPath, dropped: droppedRows([...bases, ...safeties]) };
}
