// Seeds as an axis of a pipeline. A stage with `seeds: [0, 1, 2]` (or `seeds: true`: the pipeline's seeds)
// expands into one stage per seed, `dpo@0`, `dpo@1`, ..., each with its own folder and cache entry and the seed
// written into its config (its kind's seed field: the training seed, from which the trainers derive their data
// order and sampling seeds; a mixture's shuffle; an evaluation's sampling seed). References resolve by seed:
// - a seeded stage reading a seeded stage gets the same seed's output (`${dpo}` in `eval-dpo@1` is `${dpo@1}`);
// - any stage reading an unseeded stage gets its one output;
// - an unseeded stage (a report) reading a seeded one gets every seed's output: a list element `${eval-dpo}`
//   becomes one element per seed. Anywhere else that is an error, since one value cannot hold several outputs.
import { setPath } from "../util/configValues.js";
import { PipelineError } from "./errors.js";

const REFERENCE = /\$\{([^}]*)\}/g;

/** A stage as written, before expansion. */
export interface SeedableStage {
  name: string;
  kind: string;
  raw: Record<string, unknown>;
  /** Earlier stages it reads from (names as written). */
  needs: string[];
  /** Its seeds, or undefined when it is not seeded. */
  seeds: number[] | undefined;
  /** Where its kind keeps a seed ("training.seed"), or undefined when the kind has nothing to seed. */
  seedField: string | undefined;
  threads?: number;
}

/** One stage of the expanded pipeline. */
export interface ExpandedStage {
  /** `dpo@1` for seed 1 of a seeded stage, the name as written otherwise. */
  name: string;
  /** The name as written: the seeds of one stage share it. */
  group: string;
  /** The stage's seed, when it is seeded. */
  seed?: number;
  /** Its own intra-op threads (`threads:` on the stage), over the pipeline's. */
  threads?: number;
  kind: string;
  /** The stage's settings as written (defaults merged in), references not yet resolved. */
  raw: Record<string, unknown>;
  /** Earlier stages it reads from. */
  needs: string[];
}

export function seededName(name: string, seed: number): string {
  return `${name}@${seed}`;
}

/** The seeds `seeds: N` stands for on the command line: 0 .. N-1. */
export function seedRange(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/**
 * A stage's `seeds` field as written: a list of distinct non-negative integers, or `true` for the pipeline's
 * seeds; absent, the stage is not seeded.
 */
export function stageSeeds(
  value: unknown,
  pipelineSeeds: readonly number[],
  where: string,
): number[] | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return [...pipelineSeeds];
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((s) => Number.isInteger(s) && (s as number) >= 0)
  )
    throw new PipelineError(
      `${where}: seeds: expected a non-empty list of non-negative integers or true (the pipeline's seeds), got ${JSON.stringify(value)}`,
    );
  if (new Set(value).size !== value.length)
    throw new PipelineError(`${where}: seeds: each seed once, got ${JSON.stringify(value)}`);
  return value as number[];
}

/** Expands every seeded stage into one stage per seed and resolves references seed by seed. */
export function expandSeeds(stages: readonly SeedableStage[], source: string): ExpandedStage[] {
  const seedsOf = new Map(stages.map((s) => [s.name, s.seeds]));
  const out: ExpandedStage[] = [];
  for (const stage of stages) {
    const where = `${source}: stages.${stage.name}`;
    if (stage.seeds === undefined) {
      const raw = expandLists(stage.raw, seedsOf, where, "") as Record<string, unknown>;
      out.push({
        name: stage.name,
        group: stage.name,
        ...(stage.threads === undefined ? {} : { threads: stage.threads }),
        kind: stage.kind,
        raw,
        needs: stage.needs.flatMap((n) => {
          const seeds = seedsOf.get(n);
          return seeds === undefined ? [n] : seeds.map((s) => seededName(n, s));
        }),
      });
      continue;
    }
    if (stage.seedField === undefined)
      throw new PipelineError(
        `${where}: seeds: a ${stage.kind} stage has nothing to seed${stage.kind === "report" ? " (a report reads every seed of the stages it names)" : ""}`,
      );
    for (const seed of stage.seeds) {
      const rename = (name: string): string => {
        const upstream = seedsOf.get(name);
        if (upstream === undefined) return name;
        if (!upstream.includes(seed))
          throw new PipelineError(
            `${where}: seed ${seed} reads \${${name}}, which has no seed ${seed} (its seeds: ${upstream.join(", ")})`,
          );
        return seededName(name, seed);
      };
      const raw = structuredClone(mapStrings(stage.raw, (text) => renameReferences(text, rename))) as Record<
        string,
        unknown
      >;
      setPath(raw, stage.seedField, seed);
      out.push({
        name: seededName(stage.name, seed),
        group: stage.name,
        seed,
        ...(stage.threads === undefined ? {} : { threads: stage.threads }),
        kind: stage.kind,
        raw,
        needs: stage.needs.map(rename),
      });
    }
  }
  return out;
}

function renameReferences(text: string, rename: (name: string) => string): string {
  return text.replace(REFERENCE, (whole, inner: string) => {
    const name = inner.trim();
    return name.startsWith("vars.") || name === "" ? whole : `\${${rename(name)}}`;
  });
}

/** The seeded stages a text refers to. */
function seededReferences(text: string, seedsOf: ReadonlyMap<string, number[] | undefined>): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    const name = (match[1] ?? "").trim();
    if (seedsOf.get(name) !== undefined && !out.includes(name)) out.push(name);
  }
  return out;
}

/** An unseeded stage's config: list elements naming seeded stages become one element per seed. */
function expandLists(
  value: unknown,
  seedsOf: ReadonlyMap<string, number[] | undefined>,
  where: string,
  path: string,
): unknown {
  if (typeof value === "string") {
    const seeded = seededReferences(value, seedsOf);
    if (seeded.length > 0)
      throw new PipelineError(
        `${where}: ${path || "(stage)"}: \${${seeded[0]}} is seeded (seeds ${seedsOf.get(seeded[0] as string)?.join(", ")}): name it in a list (one entry per seed) or give this stage seeds too`,
      );
    return value;
  }
  if (Array.isArray(value)) {
    return value.flatMap((element, i) => {
      if (typeof element !== "string") return [expandLists(element, seedsOf, where, `${path}.${i}`)];
      const seeded = seededReferences(element, seedsOf);
      if (seeded.length === 0) return [element];
      const seeds = seedsOf.get(seeded[0] as string) as number[];
      for (const other of seeded.slice(1)) {
        const theirs = seedsOf.get(other) as number[];
        if (theirs.join(",") !== seeds.join(","))
          throw new PipelineError(
            `${where}: ${path}.${i}: \${${seeded[0]}} and \${${other}} have different seeds (${seeds.join(", ")} vs ${theirs.join(", ")})`,
          );
      }
      return seeds.map((seed) =>
        renameReferences(element, (name) => (seeded.includes(name) ? seededName(name, seed) : name)),
      );
    });
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      out[k] = expandLists(v, seedsOf, where, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

function mapStrings(value: unknown, f: (text: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, mapStrings(v, f)]),
    );
  return value;
}
