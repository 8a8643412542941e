// What a kind of stage is: its config schema, which config fields name input paths, where its main output
// lies in its folder, and how it runs.
import type { z } from "zod";

export interface StageContext<C> {
  /** The stage's name in the pipeline (`dpo@1` for seed 1 of a seeded stage). */
  name: string;
  /** The name as written, which the seeds of a seeded stage share (default: name). */
  group?: string;
  /** The stage's seed, when it is seeded. */
  seed?: number;
  config: C;
  /** The stage's own folder (created before run). */
  dir: string;
  /** A previous attempt with the same config stopped part-way: continue from its checkpoints or caches. */
  resume: boolean;
  /** Prefix for progress labels: "[3/10 dpo]". */
  label: string;
  log: (line: string) => void;
  signal: AbortSignal;
}

/** What a finished stage reports: a one-line summary and its headline figures (kept in stage.json). */
export interface StageOutcome {
  summary: string;
  figures?: Record<string, number>;
}

export interface StageKind<C = unknown> {
  kind: string;
  /** One line for `--help` and the plan. */
  about: string;
  schema: z.ZodType<C>;
  /** The stage's main output relative to its folder: what `${name}` resolves to ("model", "."). */
  output: string;
  /** Trainer stages take the pipeline's `defaults` under their own settings. */
  takesDefaults: boolean;
  /** The config's input paths (files or folders), fingerprinted when they lie outside the pipeline's folder. */
  inputs: (config: C) => (string | undefined)[];
  /**
   * Bumped when the same config starts producing different output within one safetune version (the world
   * generator's content changed): part of the stage's hash, so cached outputs of the old revision rerun.
   */
  revision?: number;
  /**
   * Where the config keeps the seed a seeded stage (`seeds: [...]`) writes ("training.seed"); a kind without one
   * cannot be seeded.
   */
  seedField?: string;
  run: (ctx: StageContext<C>) => Promise<StageOutcome>;
}

/**
 * The stage kinds a pipeline may use, by name, and the module that runs one of them in a process of its own
 * (`--jobs N`). The pipeline machinery receives them (parsePipelineWith); the concrete kinds live above it
 * (src/workflows/stageKinds.ts), since they run trainers and evaluations.
 */
export interface StageKinds {
  readonly byName: Readonly<Record<string, StageKind>>;
  /** A module that calls runStageWorker (stageWorker.ts) with these same kinds. */
  readonly workerModule: URL;
}

/** Declares a stage kind with its config type inferred from the schema. */
export function stageKind<S extends z.ZodType>(kind: StageKind<z.infer<S>> & { schema: S }): StageKind {
  return kind as unknown as StageKind;
}
