// The plan of a pipeline run: every stage's resolved config and hash, and whether it is cached, resumes a
// stopped attempt, runs, or reruns (its config, inputs or an upstream stage changed, or --from/--only forced it).
import { createHash } from "node:crypto";
import { isAbsolute, join, relative, resolve } from "node:path";
import { SAFETUNE_VERSION } from "../version.js";
import { PipelineError } from "./errors.js";
import { pathFingerprint } from "./pathFingerprint.js";
import type { Pipeline, PipelineStage } from "./pipelineFile.js";
import { substitute } from "./references.js";
import type { StageKind } from "./stageKind.js";
import { readStageState, type StageState } from "./stageState.js";

export type StageAction = "cached" | "resume" | "run" | "rerun" | "skip";

export interface PlannedStage {
  stage: PipelineStage;
  kind: StageKind;
  /** The stage's folder. */
  dir: string;
  /** What `${name}` resolves to. */
  output: string;
  /** The validated config, references resolved. */
  config: unknown;
  hash: string;
  action: StageAction;
  /** Why it runs (or does not). */
  reason: string;
  state: StageState | undefined;
}

export interface PlanOptions {
  /** Rerun this stage (every seed of it, for a seeded stage's name) and every later one. */
  from?: string;
  /** Run only this stage, or every seed of a seeded stage (their upstream stages must have finished). */
  only?: string;
}

function stageOutput(workdir: string, name: string, kind: StageKind): string {
  const dir = join(workdir, name);
  return kind.output === "." ? dir : join(dir, kind.output);
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return !rel.startsWith("..") && !isAbsolute(rel);
}

/** The stages a --from/--only name picks: the stage itself, or every seed of a seeded stage (`dpo` or `dpo@1`). */
export function stagesNamed(pipeline: Pipeline, name: string): string[] {
  return pipeline.stages.filter((s) => s.name === name || s.group === name).map((s) => s.name);
}

export function planPipeline(pipeline: Pipeline, options: PlanOptions = {}): PlannedStage[] {
  const names = pipeline.stages.map((s) => s.name);
  const picked: Record<"from" | "only", string[]> = { from: [], only: [] };
  for (const flag of ["from", "only"] as const) {
    const name = options[flag];
    if (name === undefined) continue;
    picked[flag] = stagesNamed(pipeline, name);
    if (picked[flag].length === 0) {
      const groups = [...new Set(pipeline.stages.map((s) => s.group))];
      throw new PipelineError(`--${flag} ${name}: no such stage (stages: ${groups.join(", ")})`);
    }
  }
  const workdir = resolve(pipeline.workdir);
  const planned = new Map<string, PlannedStage>();
  const fromIndex = picked.from.length === 0 ? -1 : names.indexOf(picked.from[0] as string);
  const only = options.only === undefined ? undefined : new Set(picked.only);
  for (const [index, stage] of pipeline.stages.entries()) {
    const where = `${pipeline.source}: stages.${stage.name}`;
    const kind = pipeline.stageKinds.byName[stage.kind];
    if (!kind)
      throw new PipelineError(`${where}: kind: ${stage.kind} is not one of the pipeline's stage kinds`);
    const resolved = substitute(stage.raw, {
      vars: pipeline.vars,
      where,
      stage: (name) => {
        const upstream = planned.get(name);
        if (!upstream)
          throw new PipelineError(`${where}: refers to \${${name}}, which is not an earlier stage`);
        return upstream.output;
      },
    });
    // `kind` chose the schema; the rest is the stage's config.
    const { kind: _kind, ...body } = resolved as Record<string, unknown>;
    const parsed = kind.schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PipelineError(
        `${where}: ${issue?.path.join(".") || "(stage)"}: ${issue?.message ?? "invalid"}`,
      );
    }
    const config = parsed.data;
    const inputs: Record<string, string> = {};
    for (const input of kind.inputs(config)) {
      if (input === undefined) continue;
      const path = resolve(input);
      if (!inside(path, workdir)) inputs[input] = pathFingerprint(path);
    }
    const upstreamHashes = Object.fromEntries(stage.needs.map((n) => [n, planned.get(n)?.hash]));
    const hash = createHash("sha256")
      .update(
        JSON.stringify({
          kind: stage.kind,
          config,
          upstreamHashes,
          inputs,
          version: SAFETUNE_VERSION,
          ...(kind.revision === undefined ? {} : { revision: kind.revision }),
        }),
      )
      .digest("hex")
      .slice(0, 16);
    const dir = join(workdir, stage.name);
    const state = readStageState(dir);
    const { action, reason } = decide(stage, index, hash, state, planned, options, fromIndex, only);
    planned.set(stage.name, {
      stage,
      kind,
      dir,
      output: stageOutput(workdir, stage.name, kind),
      config,
      hash,
      action,
      reason,
      state,
    });
  }
  return [...planned.values()];
}

function decide(
  stage: PipelineStage,
  index: number,
  hash: string,
  state: StageState | undefined,
  planned: Map<string, PlannedStage>,
  options: PlanOptions,
  fromIndex: number,
  only: ReadonlySet<string> | undefined,
): { action: StageAction; reason: string } {
  const fresh = state === undefined ? "run" : "rerun";
  if (only !== undefined) {
    if (!only.has(stage.name)) return { action: "skip", reason: "--only" };
    for (const need of stage.needs) {
      const upstream = planned.get(need);
      if (only.has(need)) continue; // --only dpo: dpo@1 may read sit@1 of the same group (it runs first)
      if (!(upstream?.state?.state === "done" && upstream.state.hash === upstream.hash))
        throw new PipelineError(
          `--only ${stage.name}: it needs ${need}, which has not finished with its current config (run the pipeline, or --only ${need} first)`,
        );
    }
    return { action: fresh, reason: "--only" };
  }
  if (fromIndex >= 0 && index >= fromIndex) return { action: fresh, reason: `--from ${options.from}` };
  if (!state) return { action: "run", reason: "not run yet" };
  if (state.hash !== hash) return { action: "rerun", reason: "config or inputs changed" };
  for (const need of stage.needs) {
    const upstream = planned.get(need);
    if (upstream && upstream.action !== "cached") return { action: "rerun", reason: `${need} runs again` };
    if (upstream?.state?.runId !== state.upstream[need])
      return { action: "rerun", reason: `${need} was rerun since` };
  }
  if (state.state === "running") return { action: "resume", reason: "stopped part-way" };
  return { action: "cached", reason: `finished ${state.finished?.slice(0, 19).replace("T", " ") ?? ""}` };
}
