// Runs a pipeline's plan: each stage that is not cached runs in its own folder (cleared first when its config
// changed), marked "running" before and "done" after, so an interrupted stage resumes and a finished one is
// skipped next time. One header line per stage, the stages' own progress bars beneath, a summary at the end.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { formatDuration } from "../train/progress.js";
import type { Pipeline } from "./pipelineFile.js";
import { type PlannedStage, type PlanOptions, planPipeline } from "./plan.js";
import { type StageState, writeStageState } from "./stageState.js";

export interface PipelineRunOptions extends PlanOptions {
  /** Lines for the user (default: stderr). */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface StageReport {
  name: string;
  kind: string;
  action: PlannedStage["action"];
  seconds: number;
  summary?: string;
  figures?: Record<string, number>;
  /** The stage's output path. */
  output: string;
}

export interface PipelineReport {
  stages: StageReport[];
  seconds: number;
}

export async function runPipeline(
  pipeline: Pipeline,
  options: PipelineRunOptions = {},
): Promise<PipelineReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const signal = options.signal ?? new AbortController().signal;
  const plan = planPipeline(pipeline, options);
  const toRun = plan.filter((p) => p.action !== "cached" && p.action !== "skip");
  const started = performance.now();
  const reports: StageReport[] = [];
  let ordinal = 0;
  // Each stage's current run id, which its dependants record (cached stages keep the one they finished with).
  const runIds = new Map(
    plan.flatMap((p) => (p.state?.runId ? [[p.stage.name, p.state.runId] as const] : [])),
  );
  log(`pipeline ${pipeline.name}: ${toRun.length} of ${plan.length} stages to run in ${pipeline.workdir}`);
  for (const p of plan) {
    if (p.action === "cached" || p.action === "skip") {
      reports.push({
        name: p.stage.name,
        kind: p.kind.kind,
        action: p.action,
        seconds: 0,
        output: p.output,
        ...(p.state?.summary === undefined ? {} : { summary: p.state.summary }),
        ...(p.state?.figures === undefined ? {} : { figures: p.state.figures }),
      });
      continue;
    }
    signal.throwIfAborted();
    ordinal++;
    const elapsed = formatDuration((performance.now() - started) / 1000);
    log(
      `\n── [${ordinal}/${toRun.length}] ${p.stage.name} (${p.kind.kind}): ${p.action}, ${p.reason} · ${elapsed} elapsed`,
    );
    if (p.action === "rerun") rmSync(p.dir, { recursive: true, force: true });
    mkdirSync(p.dir, { recursive: true });
    const upstream = Object.fromEntries(p.stage.needs.map((need) => [need, runIds.get(need) ?? ""]));
    const state: StageState = {
      kind: p.kind.kind,
      hash: p.hash,
      state: "running",
      started: p.action === "resume" && p.state ? p.state.started : new Date().toISOString(),
      upstream,
    };
    writeStageState(p.dir, state);
    const stageStarted = performance.now();
    const outcome = await p.kind.run({
      name: p.stage.name,
      config: p.config,
      dir: p.dir,
      resume: p.action === "resume",
      label: `[${ordinal}/${toRun.length} ${p.stage.name}]`,
      log,
      signal,
    });
    const seconds = (performance.now() - stageStarted) / 1000;
    const runId = randomBytes(6).toString("hex");
    runIds.set(p.stage.name, runId);
    writeStageState(p.dir, {
      ...state,
      state: "done",
      finished: new Date().toISOString(),
      seconds,
      runId,
      summary: outcome.summary,
      ...(outcome.figures === undefined ? {} : { figures: outcome.figures }),
    });
    log(`   ${p.stage.name}: ${outcome.summary} (${formatDuration(seconds)})`);
    reports.push({
      name: p.stage.name,
      kind: p.kind.kind,
      action: p.action,
      seconds,
      summary: outcome.summary,
      output: p.output,
      ...(outcome.figures === undefined ? {} : { figures: outcome.figures }),
    });
  }
  return { stages: reports, seconds: (performance.now() - started) / 1000 };
}

/** The plan as text: one line per stage with what will happen and why (`--dry-run`). */
export function describePlan(pipeline: Pipeline, plan: readonly PlannedStage[]): string {
  const width = Math.max(...plan.map((p) => p.stage.name.length));
  const lines = [`pipeline ${pipeline.name} (${pipeline.source}) in ${pipeline.workdir}`];
  for (const p of plan) {
    const needs = p.stage.needs.length ? ` <- ${p.stage.needs.join(", ")}` : "";
    lines.push(
      `  ${p.stage.name.padEnd(width)}  ${p.kind.kind.padEnd(9)} ${p.action.padEnd(7)} ${p.hash}  ${p.reason}${needs}`,
    );
  }
  const n = plan.filter((p) => p.action !== "cached" && p.action !== "skip").length;
  lines.push(`${n} of ${plan.length} stages would run`);
  return lines.join("\n");
}
