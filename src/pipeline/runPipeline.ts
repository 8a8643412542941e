// Runs a pipeline's plan: each stage that is not cached runs in its own folder (cleared first when its config
// changed), marked "running" before and "done" after, so an interrupted stage resumes and a finished one is
// skipped next time. A stage starts once the stages it reads have finished; with `jobs` > 1 up to that many run
// at once, each in its own process with a fixed number of intra-op threads. One header line per stage, the
// stages' progress beneath (a line per running stage on a terminal), a summary at the end.
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, rmSync } from "node:fs";
import { availableParallelism, freemem } from "node:os";
import { join } from "node:path";
import { setNumThreads } from "../engine/runtime.js";
import { formatDuration } from "../util/progress.js";
import type { Pipeline } from "./pipelineFile.js";
import { type PlannedStage, type PlanOptions, planPipeline } from "./plan.js";
import { criticalPathPriorities } from "./schedule.js";
import { StageDisplay } from "./stageDisplay.js";
import type { StageOutcome } from "./stageKind.js";
import { runStageProcess, StageInterrupted } from "./stageProcess.js";
import { type StageState, writeStageState } from "./stageState.js";

export interface PipelineRunOptions extends PlanOptions {
  /** Lines for the user (default: stderr, with a live block of running stages on a terminal). */
  log?: (line: string) => void;
  signal?: AbortSignal;
  /**
   * Stages run at once (default 1). Above 1 each stage runs in a process of its own; at 1 they run in this
   * process, one after another.
   */
  jobs?: number;
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
  /** Stages run at once, and the intra-op threads each had (undefined: libtorch's default). */
  jobs: number;
  threads: number | undefined;
}

/** What one stage process needs at most (a small model, its optimizer and an evaluation's batches). */
const STAGE_MEMORY_BYTES = 1.5 * 2 ** 30;

/** --jobs by default: one stage per core, as many as free memory holds. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(freemem() / STAGE_MEMORY_BYTES)));
}

/** Each stage's intra-op threads: the pipeline's own setting, or the cores shared among the parallel stages. */
export function stageThreads(pipeline: Pipeline, jobs: number): number | undefined {
  if (pipeline.threads !== undefined) return pipeline.threads;
  return jobs > 1 ? Math.max(1, Math.floor(availableParallelism() / jobs)) : undefined;
}

/**
 * Runs the plan, top to bottom: report the stages that are cached or skipped, then start each stage that is to
 * run once the stages it reads have finished (up to `jobs` at once), and stop at the first failure or Ctrl-C,
 * after the running stages end. Returns every stage's report in file order.
 */
export async function runPipeline(
  pipeline: Pipeline,
  options: PipelineRunOptions = {},
): Promise<PipelineReport> {
  const terminal =
    options.log === undefined && process.stderr.isTTY && process.env.CI === undefined
      ? process.stderr
      : undefined;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const signal = options.signal ?? new AbortController().signal;
  const jobs = Math.max(1, options.jobs ?? 1);
  const threads = stageThreads(pipeline, jobs);
  const plan = planPipeline(pipeline, options);
  const toRun = plan.filter((p) => p.action !== "cached" && p.action !== "skip");
  const parallel = jobs > 1 && toRun.length > 1;
  const display = new StageDisplay({ log, ...(terminal ? { terminal } : {}) });
  display.log(
    `pipeline ${pipeline.name}: ${toRun.length} of ${plan.length} stages to run in ${pipeline.workdir}${parallel ? `, ${jobs} at a time (${threads} thread${threads === 1 ? "" : "s"} each)` : ""}`,
  );
  const reports = new Map<string, StageReport>();
  for (const p of plan)
    if (p.action === "cached" || p.action === "skip") reports.set(p.stage.name, notRun(p));
  const run: StageRun = {
    workerModule: pipeline.stageKinds.workerModule,
    stagesToRun: toRun.length,
    threads,
    parallel,
    display,
    signal,
    started: performance.now(),
    ordinal: 0,
    // Each stage's current run id, which its dependants record (cached stages keep the one they finished with).
    runIds: new Map(plan.flatMap((p) => (p.state?.runId ? [[p.stage.name, p.state.runId] as const] : []))),
  };
  // In parallel, ready stages start critical-path first (ties in file order); one at a time, in file order.
  const priority = criticalPathPriorities(plan.map((p) => ({ ...p.stage, kind: p.kind.kind })));
  const byPriority = parallel
    ? [...toRun].sort((x, y) => (priority.get(y.stage.name) ?? 0) - (priority.get(x.stage.name) ?? 0))
    : toRun;
  let failure: unknown;
  try {
    failure = await runWhenReady(byPriority, jobs, signal, async (p) => {
      reports.set(p.stage.name, await runStage(p, run));
    });
  } finally {
    display.close();
  }
  if (signal.aborted || failure instanceof StageInterrupted) {
    signal.throwIfAborted();
    throw failure;
  }
  if (failure !== undefined) throw failure;
  return {
    stages: plan.flatMap((p) => reports.get(p.stage.name) ?? []),
    seconds: (performance.now() - run.started) / 1000,
    jobs: parallel ? jobs : 1,
    threads,
  };
}

/** The report of a stage that does not run: cached (with what it reported when it ran) or skipped. */
function notRun(p: PlannedStage): StageReport {
  return {
    name: p.stage.name,
    kind: p.kind.kind,
    action: p.action,
    seconds: 0,
    output: p.output,
    ...(p.state?.summary === undefined ? {} : { summary: p.state.summary }),
    ...(p.state?.figures === undefined ? {} : { figures: p.state.figures }),
  };
}

/**
 * Starts each stage of `stages` (in this order of preference) once none of the stages it reads is waiting or
 * running, at most `jobs` at once; after the first failure or once `signal` is aborted it starts no more and waits
 * for the running ones. Resolves with the first failure (undefined when every stage finished).
 */
async function runWhenReady(
  stages: readonly PlannedStage[],
  jobs: number,
  signal: AbortSignal,
  runOne: (p: PlannedStage) => Promise<void>,
): Promise<unknown> {
  const pending = new Set(stages.map((p) => p.stage.name));
  const running = new Map<string, Promise<void>>();
  let failure: unknown;
  while (pending.size > 0 || running.size > 0) {
    // Start what is ready while there is room and nothing has failed or been stopped.
    if (failure === undefined && !signal.aborted) {
      for (const p of stages) {
        if (running.size >= jobs) break;
        if (!pending.has(p.stage.name)) continue;
        const waits = p.stage.needs.some((n) => pending.has(n) || running.has(n));
        if (waits) continue;
        const name = p.stage.name;
        pending.delete(name);
        running.set(
          name,
          runOne(p).then(
            () => void running.delete(name),
            (err: unknown) => {
              failure ??= err;
              running.delete(name);
            },
          ),
        );
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  return failure;
}

/** What every stage of one pipeline run shares. */
interface StageRun {
  workerModule: URL;
  /** How many stages this run runs (for "[3/10 dpo]"). */
  stagesToRun: number;
  /** Intra-op threads of a stage without its own setting. */
  threads: number | undefined;
  /** Stages run in processes of their own. */
  parallel: boolean;
  display: StageDisplay;
  signal: AbortSignal;
  started: number;
  /** Stages started so far. */
  ordinal: number;
  runIds: Map<string, string>;
}

/**
 * Runs one stage: its folder (cleared first on a rerun), marked running in stage.json; the stage itself, in its
 * own process when stages run in parallel (its lines also go to stage.log), else in this one; then marked done
 * with a new run id, its summary and figures.
 */
async function runStage(p: PlannedStage, run: StageRun): Promise<StageReport> {
  const ordinal = ++run.ordinal;
  const threads = p.stage.threads ?? run.threads;
  const label = `[${ordinal}/${run.stagesToRun} ${p.stage.name}]`;
  const elapsed = formatDuration((performance.now() - run.started) / 1000);
  run.display.log(
    `\n── [${ordinal}/${run.stagesToRun}] ${p.stage.name} (${p.kind.kind}): ${p.action}, ${p.reason} · ${elapsed} elapsed`,
  );
  if (p.action === "rerun") rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  const upstream = Object.fromEntries(p.stage.needs.map((need) => [need, run.runIds.get(need) ?? ""]));
  const state: StageState = {
    kind: p.kind.kind,
    hash: p.hash,
    state: "running",
    started: p.action === "resume" && p.state ? p.state.started : new Date().toISOString(),
    upstream,
    ...(threads === undefined ? {} : { threads }),
  };
  writeStageState(p.dir, state);
  const stageStarted = performance.now();
  const outcome = await (run.parallel
    ? runInProcess(p, label, threads ?? 1, run)
    : runHere(p, label, threads, run));
  const seconds = (performance.now() - stageStarted) / 1000;
  const runId = randomBytes(6).toString("hex");
  run.runIds.set(p.stage.name, runId);
  writeStageState(p.dir, {
    ...state,
    state: "done",
    finished: new Date().toISOString(),
    seconds,
    runId,
    summary: outcome.summary,
    ...(outcome.figures === undefined ? {} : { figures: outcome.figures }),
  });
  run.display.log(`   ${p.stage.name}: ${outcome.summary} (${formatDuration(seconds)})`);
  return {
    name: p.stage.name,
    kind: p.kind.kind,
    action: p.action,
    seconds,
    summary: outcome.summary,
    output: p.output,
    ...(outcome.figures === undefined ? {} : { figures: outcome.figures }),
  };
}

/** What a stage is told about itself, in this process or in its own. */
function stageContext(p: PlannedStage, label: string) {
  return {
    name: p.stage.name,
    group: p.stage.group,
    ...(p.stage.seed === undefined ? {} : { seed: p.stage.seed }),
    config: p.config,
    dir: p.dir,
    resume: p.action === "resume",
    label,
  };
}

/** The stage in a process of its own, its lines shown as it runs and kept in its stage.log. */
async function runInProcess(
  p: PlannedStage,
  label: string,
  threads: number,
  run: StageRun,
): Promise<StageOutcome> {
  run.display.start(p.stage.name, label);
  const logFile = join(p.dir, "stage.log");
  try {
    return await runStageProcess(
      { kind: p.kind.kind, ...stageContext(p, label), threads },
      run.workerModule,
      (line) => {
        appendFileSync(logFile, `${line}\n`);
        run.display.line(p.stage.name, line);
      },
      run.signal,
    );
  } finally {
    run.display.finish(p.stage.name);
  }
}

/** The stage in this process, with its thread count when it has one. */
function runHere(
  p: PlannedStage,
  label: string,
  threads: number | undefined,
  run: StageRun,
): Promise<StageOutcome> {
  if (threads !== undefined) setNumThreads(threads);
  return p.kind.run({ ...stageContext(p, label), log: (line) => run.display.log(line), signal: run.signal });
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
