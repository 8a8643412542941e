// A pipeline file: named stages in order, each with a kind and its config, variables, and defaults shared by
// the training stages. `${STAGE}` names an earlier stage's output, `${vars.NAME}` a variable.
import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseValue, setPath } from "../util/configValues.js";
import { PipelineError } from "./errors.js";
import { stageReferences } from "./references.js";
import { type ExpandedStage, expandSeeds, type SeedableStage, seedRange, stageSeeds } from "./seeds.js";
import type { StageKinds } from "./stageKind.js";

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const PipelineFileSchema = z
  .object({
    /** The pipeline's name (its default folder is runs/NAME). */
    name: z.string().regex(/^[\w.-]+$/, "letters, digits, '.', '_' and '-' only"),
    description: z.string().optional(),
    /** Where stage folders go (default runs/NAME); relative paths are relative to the directory it runs in. */
    workdir: z.string().min(1).optional(),
    /** Values for `${vars.NAME}`; `--var NAME=VALUE` overrides them. */
    vars: z.record(z.string(), scalar).default({}),
    /** The seeds of every stage with `seeds: true` (default [0]); `--seeds N` makes them 0 .. N-1. */
    seeds: z.array(z.number().int().nonnegative()).min(1).optional(),
    /** Intra-op threads of each stage's process (default: the cores shared among --jobs). */
    threads: z.number().int().positive().optional(),
    /** Settings every training stage (pretrain, sft, reward, raft, dpo) starts from; its own settings win. */
    defaults: z.record(z.string(), z.unknown()).default({}),
    /** The stages, run in this order; each is {kind: ..., ...its settings}. */
    stages: z.record(z.string(), z.record(z.string(), z.unknown())),
  })
  .strict();

/** A stage of the pipeline after seed expansion (what the planner and runner see). */
export type PipelineStage = ExpandedStage;

export interface Pipeline {
  name: string;
  description?: string;
  /** Where the pipeline came from (a file path, or "builtin:demo"). */
  source: string;
  workdir: string;
  vars: Record<string, string | number | boolean>;
  /** What `seeds: true` stands for. */
  seeds: number[];
  /** Intra-op threads per stage, when the file or the command line fixes them. */
  threads?: number;
  /** The stages in file order, seeded ones expanded into one stage per seed. */
  stages: PipelineStage[];
  /** The kinds its stages were checked against, which plan and run them. */
  stageKinds: StageKinds;
}

export interface PipelineOverrides {
  /** --var NAME=VALUE */
  vars?: [string, string][];
  /** --set PATH=VALUE: any field of the file ("stages.dpo.dpo.beta=0.2", "defaults.training.maxSteps=2"). */
  set?: [string, string][];
  workdir?: string;
  /** --seeds N: the pipeline's seeds are 0 .. N-1. */
  seeds?: number;
  /** --threads N */
  threads?: number;
}

/** Reads a pipeline file and checks it against the stage kinds it may use. */
export function loadPipelineWith(
  stageKinds: StageKinds,
  path: string,
  overrides: PipelineOverrides = {},
): Pipeline {
  if (!existsSync(path)) throw new PipelineError(`${path}: pipeline file not found`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8"), { merge: true });
  } catch (err) {
    throw new PipelineError(`${path}: not valid YAML (${(err as Error).message.split("\n")[0]})`);
  }
  return parsePipelineWith(stageKinds, raw, path, overrides);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** `defaults` under `own`: objects merge key by key, anything else in `own` wins. */
function mergeDefaults(
  defaults: Record<string, unknown>,
  own: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(own)) {
    const d = out[k];
    out[k] = isPlainObject(d) && isPlainObject(v) ? mergeDefaults(d, v) : v;
  }
  return out;
}

/** Checks a parsed pipeline document against the stage kinds it may use; `source` names it in errors. */
export function parsePipelineWith(
  stageKinds: StageKinds,
  raw: unknown,
  source: string,
  overrides: PipelineOverrides = {},
): Pipeline {
  if (!isPlainObject(raw)) throw new PipelineError(`${source}: expected a mapping with name and stages`);
  const doc = structuredClone(raw);
  for (const [path, value] of overrides.set ?? []) setPath(doc, path, parseValue(value));
  const result = PipelineFileSchema.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PipelineError(
      `${source}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const file = result.data;
  const vars = { ...file.vars };
  for (const [name, value] of overrides.vars ?? [])
    vars[name] = parseValue(value) as string | number | boolean;
  const names = Object.keys(file.stages);
  if (names.length === 0) throw new PipelineError(`${source}: stages: a pipeline needs at least one stage`);
  const seeds = overrides.seeds === undefined ? (file.seeds ?? [0]) : seedRange(overrides.seeds);
  const stages: SeedableStage[] = [];
  for (const [index, name] of names.entries()) {
    const where = `${source}: stages.${name}`;
    if (!/^[A-Za-z][\w-]*$/.test(name))
      throw new PipelineError(
        `${where}: a stage name starts with a letter and has letters, digits, '_' and '-' only`,
      );
    const { seeds: seedsField, threads: stageThreads, ...own } = file.stages[name] as Record<string, unknown>;
    if (stageThreads !== undefined && !(Number.isInteger(stageThreads) && (stageThreads as number) > 0))
      throw new PipelineError(
        `${where}: threads: expected a positive integer, got ${JSON.stringify(stageThreads)}`,
      );
    const kindName = own.kind;
    const kind = typeof kindName === "string" ? stageKinds.byName[kindName] : undefined;
    if (!kind)
      throw new PipelineError(
        `${where}: kind: expected one of ${Object.keys(stageKinds.byName).join(", ")}, got ${JSON.stringify(kindName ?? null)}`,
      );
    const stageRaw = kind.takesDefaults ? mergeDefaults(file.defaults, own) : own;
    const needs = stageReferences(stageRaw);
    for (const need of needs) {
      const at = names.indexOf(need);
      if (at < 0)
        throw new PipelineError(
          `${where}: refers to \${${need}}, which is not a stage (stages: ${names.join(", ")})`,
        );
      if (at >= index)
        throw new PipelineError(
          `${where}: refers to \${${need}}, which comes later; stages run in file order`,
        );
    }
    stages.push({
      name,
      kind: kind.kind,
      raw: stageRaw,
      needs,
      seeds: stageSeeds(seedsField, seeds, where),
      seedField: kind.seedField,
      ...(stageThreads === undefined ? {} : { threads: stageThreads as number }),
    });
  }
  const threads = overrides.threads ?? file.threads;
  return {
    name: file.name,
    ...(file.description === undefined ? {} : { description: file.description }),
    source,
    workdir: overrides.workdir ?? file.workdir ?? `runs/${file.name}`,
    vars,
    seeds,
    ...(threads === undefined ? {} : { threads }),
    stages: expandSeeds(stages, source),
    stageKinds,
  };
}
