// The one training loop every trainer shares: seeded data order, gradient accumulation, AdamW with a schedule,
// clipping, evaluation and atomic checkpoints, exact resume, metrics.jsonl, progress, Ctrl-C and NaN handling.
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { AdamW, clipGradNorm, manualSeed, type Tensor, tidy, weightDecayGroups } from "../engine/index.js";
import { Progress } from "../util/progress.js";
import { mulberry32 } from "../util/random.js";
import { INTERRUPTED_EXIT_CODE, SafetuneError } from "../util/safetuneError.js";
import {
  CheckpointError,
  type CheckpointState,
  findResumePoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoints.js";
import {
  allReduceGradients,
  allReduceNumbers,
  broadcastParameters,
  type DataParallel,
  isMainRank,
  shardIndices,
} from "./dataParallel.js";
import { truncateMetricsAfter } from "./metricsLog.js";
import { reportsTo, TensorBoardReport, writeCurves } from "./reportTo.js";
import type { ReportTarget } from "./runConfig.js";
import { learningRate, type ScheduleKind } from "./schedule.js";

export interface LoopOptions {
  /** Run folder: checkpoints/, metrics.jsonl. */
  outDir: string;
  seed: number;
  epochs: number;
  /** Stop after this many optimizer steps (default: the epochs' worth). */
  maxSteps?: number;
  /** Examples per micro-batch. */
  batchSize: number;
  /** Micro-batches per optimizer step. */
  gradientAccumulation: number;
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  schedule: ScheduleKind;
  /** Warm-up as a fraction of all steps (used when warmupSteps is 0). */
  warmupRatio: number;
  warmupSteps: number;
  /** Clip the global gradient norm to this (0: off). */
  maxGradNorm: number;
  /** Evaluate every N optimizer steps (0: only at the end). */
  evalEvery: number;
  /** Checkpoint every N optimizer steps (0: only on Ctrl-C). */
  saveEvery: number;
  /** Checkpoints kept on disk. */
  keepCheckpoints: number;
  /** Plain progress lines every N steps when not on a terminal. */
  logEvery: number;
  /** "tensorboard": event files in <outDir>/runs/ too (metrics.jsonl and curves.svg are always written). */
  reportTo?: ReportTarget | ReportTarget[];
}

export interface StepResult {
  /** Scalar loss of this micro-batch (the loop scales it for accumulation). */
  loss: Tensor;
  /** Tokens processed, for throughput. */
  tokens: number;
  /** Figures to average over the step and log. */
  metrics?: Record<string, number>;
}

export interface TrainingTask {
  /** Examples per epoch. */
  size: number;
  /** Forward pass of a micro-batch of example indices; runs inside tidy(), with gradients on. */
  step(indices: number[]): StepResult;
  /**
   * How much a micro-batch's mean loss counts when a data-parallel rank holds part of it: its loss tokens for a
   * token-averaged loss (SFT), its examples otherwise (the default).
   */
  lossWeight?(indices: number[]): number;
  /** Held-out figures (run under noGrad by the task). */
  evaluate?(): Record<string, number>;
}

/** A figure read back from JSON, where NaN (e.g. no finite reward) was written as null. */
export const JsonFigureSchema = z
  .number()
  .nullable()
  .transform((v) => v ?? Number.NaN);

/** How a run went (also kept in RAFT's checkpoints, hence a schema). */
export const TrainingSummarySchema = z.object({
  /** Optimizer steps taken. */
  steps: z.number().int().nonnegative(),
  tokens: z.number().nonnegative(),
  seconds: z.number().nonnegative(),
  /** The last step's figures (loss, lr, grad_norm, task metrics). */
  final: z.record(z.string(), JsonFigureSchema),
  /** The last held-out figures. */
  eval: z.record(z.string(), JsonFigureSchema),
  /** The checkpoint the run continued from. */
  resumedFrom: z.string().optional(),
});
export type TrainingSummary = z.infer<typeof TrainingSummarySchema>;

/** A run stopped on purpose (Ctrl-C) after saving a checkpoint. */
export class TrainingInterrupted extends SafetuneError {
  override readonly name = "TrainingInterrupted";
  override readonly exitCode = INTERRUPTED_EXIT_CODE;
}

/** The run cannot continue (NaN loss, incompatible resume). */
export class TrainingError extends SafetuneError {
  override readonly name = "TrainingError";
}

/** Examples of epoch `epoch` in their seeded order. */
export function epochOrder(size: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: size }, (_, i) => i);
  const random = mulberry32(seed * 1000003 + epoch);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** Epochs done as TRL logs them: whole epochs plus the part of the current one consumed (4 decimals). */
export function fractionalEpoch(epoch: number, offset: number, size: number): number {
  return Math.round((epoch + Math.min(offset, size) / size) * 1e4) / 1e4;
}

export function totalSteps(
  size: number,
  o: Pick<LoopOptions, "epochs" | "maxSteps" | "batchSize" | "gradientAccumulation">,
): number {
  const perEpoch = Math.ceil(size / (o.batchSize * o.gradientAccumulation));
  return o.maxSteps ?? perEpoch * o.epochs;
}

/** Where a run is, what it is called, and how it reports; the loop's options say how it trains. */
export interface LoopRun {
  configHash: string;
  resume: boolean;
  label: string;
  /** Where resume notes go (checkpoints skipped as damaged); default stderr. */
  log?: (line: string) => void;
  /** This process's rank in a data-parallel job (absent: the only process). */
  dataParallel?: DataParallel;
}

/**
 * The loop, top to bottom: check the data can feed every rank, build the optimizer, resume from the newest intact
 * checkpoint, then step by step: one optimizer step (learning rate, forward and backward over the micro-batches,
 * data-parallel sums, clip and update), its metrics row, an evaluation and a checkpoint when due, and a clean stop
 * on Ctrl-C. A final evaluation and the curves end the run.
 */
export async function runTrainingLoop(
  trainable: [string, Tensor][],
  task: TrainingTask,
  o: LoopOptions,
  run: LoopRun,
): Promise<TrainingSummary> {
  const dp = run.dataParallel;
  checkTaskFeedsRanks(task, o, dp);
  const main = isMainRank(dp);
  mkdirSync(o.outDir, { recursive: true });
  const steps = totalSteps(task.size, o);
  const { optimizer, state, resumedFrom } = createOptimizerAndStart(trainable, task, o, run, steps);
  const params = trainable.map(([, t]) => t);
  // Every rank starts from rank 0's weights (after a resume all loaded the same checkpoint; this makes it certain).
  if (dp) broadcastParameters(dp.group, params);

  const ctrlC = watchCtrlC();
  const report = main ? new LoopReport(o, run, state, steps) : undefined;
  const batches = new BatchOrder(task.size, o.seed, o.batchSize, state);
  let lastCheckpoint = resumedFrom;
  const stopped = (what: string, value: number) =>
    new TrainingError(
      `step ${state.step + 1}: ${what} is ${value}; training stopped before the update. Last good checkpoint: ${lastCheckpoint ?? "none yet"}`,
    );
  const parts: StepParts = { task, params, optimizer, batches, o, steps, dp, ctrlC, stopped };
  const throughput = new Throughput(state.tokens);
  let final: Record<string, number> = {};
  let evalFigures: Record<string, number> = {};
  try {
    while (state.step < steps) {
      final = optimizerStep(parts, state);
      const record = metricsRow(state, task.size, final, throughput.tokensPerSecond(state.tokens));
      if (main && task.evaluate && o.evalEvery > 0 && state.step % o.evalEvery === 0 && state.step < steps) {
        evalFigures = task.evaluate();
        Object.assign(record, evalColumns(evalFigures));
      }
      report?.step(record);
      if (main && ((o.saveEvery > 0 && state.step % o.saveEvery === 0) || ctrlC.interrupted)) {
        lastCheckpoint = saveCheckpoint(o.outDir, trainable, optimizer, { ...state }, o.keepCheckpoints);
        await writeCurves(o.outDir, run.log);
      }
      if (ctrlC.interrupted)
        throw new TrainingInterrupted(
          `interrupted at step ${state.step}/${steps}; checkpoint saved to ${lastCheckpoint}; continue with --resume`,
        );
      // Let signals and I/O through between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (main && task.evaluate) {
      evalFigures = task.evaluate();
      report?.evaluation(state.step, evalFigures);
    }
    if (main) await writeCurves(o.outDir, run.log);
  } finally {
    ctrlC.stop();
    optimizer.dispose();
    report?.close();
  }
  const seconds = throughput.seconds();
  return { steps: state.step, tokens: state.tokens, seconds, final, eval: evalFigures, resumedFrom };
}

/** AdamW over the trainable tensors, and the position the run starts from (startOrResume); no optimizer leaks. */
function createOptimizerAndStart(
  trainable: [string, Tensor][],
  task: TrainingTask,
  o: LoopOptions,
  run: LoopRun,
  steps: number,
): { optimizer: AdamW; state: CheckpointState; resumedFrom: string | undefined } {
  const optimizer = new AdamW(weightDecayGroups(trainable, o.weightDecay), {
    lr: o.lr,
    beta1: o.beta1,
    beta2: o.beta2,
  });
  try {
    const start = startOrResume(trainable, optimizer, task, o, run, steps);
    return { optimizer, state: start.state, resumedFrom: start.from };
  } catch (error) {
    optimizer.dispose();
    throw error;
  }
}

/** What one optimizer step works with. */
interface StepParts {
  task: TrainingTask;
  params: Tensor[];
  optimizer: AdamW;
  batches: BatchOrder;
  o: LoopOptions;
  steps: number;
  dp: DataParallel | undefined;
  ctrlC: { interrupted: boolean };
  /** The figures' order across ranks, fixed by the first data-parallel step. */
  metricKeys?: string[];
  stopped: (what: string, value: number) => Error;
}

/**
 * One optimizer step: the learning rate for it, forward and backward over its micro-batches, (data-parallel)
 * gradients and figures summed across ranks, clip and update. Advances `state` and returns the step's figures:
 * loss and task metrics averaged over the micro-batches, lr, and grad_norm when clipping.
 */
function optimizerStep(p: StepParts, state: CheckpointState): Record<string, number> {
  const { o, dp } = p;
  p.optimizer.lr = learningRate(state.step, {
    kind: o.schedule,
    lr: o.lr,
    warmupSteps: o.warmupSteps > 0 ? o.warmupSteps : Math.floor(o.warmupRatio * p.steps),
    totalSteps: p.steps,
  });
  const step = accumulateGradients(p.task, p.batches, o.gradientAccumulation, dp, p.stopped);
  if (dp) {
    allReduceGradients(dp.group, p.params);
    // The first step fixes the figures' layout (a rank with an empty shard later has none of its own).
    p.metricKeys ??= Object.keys(step.sums).sort();
    // Ctrl-C reaches ranks at different moments: all stop at the same step, or the others would wait forever.
    if (sumAcrossRanks(dp, step, p.metricKeys, p.ctrlC.interrupted)) p.ctrlC.interrupted = true;
  }
  const gradNorm = clipAndUpdate(p.params, p.optimizer, o.maxGradNorm, p.stopped);
  state.step++;
  state.tokens += step.tokens;
  const averages = Object.fromEntries(Object.entries(step.sums).map(([k, v]) => [k, v / step.micro]));
  return { ...averages, lr: p.optimizer.lr, ...(o.maxGradNorm > 0 ? { grad_norm: gradNorm } : {}) };
}

/** Tokens per second since the loop started (a resumed run counts from its checkpoint). */
class Throughput {
  readonly #started = performance.now();
  constructor(readonly startTokens: number) {}
  seconds(): number {
    return (performance.now() - this.#started) / 1000;
  }
  tokensPerSecond(tokens: number): number {
    return (tokens - this.startTokens) / this.seconds();
  }
}

/** A metrics.jsonl row: step, fractional epoch, the step's figures and throughput. */
function metricsRow(
  state: CheckpointState,
  size: number,
  figures: Record<string, number>,
  tokensPerSecond: number,
): Record<string, number> {
  return {
    step: state.step,
    epoch: fractionalEpoch(state.epoch, state.offset, size),
    ...figures,
    tokens_per_s: tokensPerSecond,
  };
}

/** Held-out figures as the eval_* columns of a metrics row. */
function evalColumns(figures: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [`eval_${k}`, v]));
}

/** Every rank needs an example in each micro-batch. */
function checkTaskFeedsRanks(task: TrainingTask, o: LoopOptions, dp: DataParallel | undefined): void {
  if (task.size === 0) throw new TrainingError("no training examples");
  if (dp && (o.batchSize < dp.worldSize || task.size < dp.worldSize))
    throw new TrainingError(
      `batch size ${o.batchSize} with ${task.size} examples cannot feed ${dp.worldSize} processes: every rank needs an example in each micro-batch`,
    );
}

/**
 * The starting position: fresh (seeded generator), or with `run.resume` the newest checkpoint whose checksums
 * and state.json hold up, its weights, optimizer moments and generator state loaded. Damaged newer checkpoints
 * are skipped and named; metrics.jsonl rows after the checkpoint go, since those steps are replayed.
 */
function startOrResume(
  trainable: [string, Tensor][],
  optimizer: AdamW,
  task: TrainingTask,
  o: LoopOptions,
  run: LoopRun,
  steps: number,
): { state: CheckpointState; from?: string } {
  const fresh: CheckpointState = { step: 0, epoch: 0, offset: 0, tokens: 0, configHash: run.configHash };
  manualSeed(o.seed); // a resumed run replaces this with the checkpoint's generator state
  if (!run.resume) return { state: fresh };
  const main = isMainRank(run.dataParallel);
  const metricsPath = join(o.outDir, METRICS_FILE);
  try {
    const point = findResumePoint(o.outDir, {
      configHash: run.configHash,
      totalSteps: steps,
      examplesPerEpoch: task.size,
    });
    const log = run.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    if (main) for (const s of point.skipped) log(`--resume: skipped ${s.dir}: ${s.reason}`);
    if (!point.dir) {
      if (main) truncateMetricsAfter(metricsPath, 0);
      return { state: fresh };
    }
    const state = loadCheckpoint(point.dir, trainable, optimizer);
    if (main) truncateMetricsAfter(metricsPath, state.step);
    return { state: { ...state, configHash: run.configHash }, from: point.dir };
  } catch (error) {
    if (error instanceof CheckpointError) throw new TrainingError(error.message);
    throw error;
  }
}

/**
 * Clips the global gradient norm (maxGradNorm > 0; NaN when off), then updates the weights and clears the
 * gradients. A gradient norm that is not finite stops the run before the update.
 */
function clipAndUpdate(
  params: Tensor[],
  optimizer: AdamW,
  maxGradNorm: number,
  stopped: (what: string, value: number) => Error,
): number {
  const gradNorm = maxGradNorm > 0 ? clipGradNorm(params, maxGradNorm) : Number.NaN;
  if (!Number.isFinite(gradNorm) && maxGradNorm > 0) {
    optimizer.zeroGrad();
    throw stopped("the gradient norm", gradNorm);
  }
  optimizer.step();
  optimizer.zeroGrad();
  return gradNorm;
}

/** Ctrl-C sets a flag the loop reads between steps: the current step finishes, is checkpointed, and the run stops. */
function watchCtrlC(): { interrupted: boolean; stop(): void } {
  const watch = {
    interrupted: false,
    stop: () => process.removeListener("SIGINT", onSigint),
  };
  const onSigint = () => {
    watch.interrupted = true;
  };
  process.once("SIGINT", onSigint);
  return watch;
}

/**
 * The seeded global batch order across epochs, advancing the loop position (epoch, offset) as batches are taken,
 * so a resumed run continues with exactly the batches it would have had.
 */
export class BatchOrder {
  #order: number[];
  constructor(
    readonly size: number,
    readonly seed: number,
    readonly batchSize: number,
    readonly position: { epoch: number; offset: number },
  ) {
    this.#order = epochOrder(size, seed, position.epoch);
  }

  /** The next global micro-batch (shorter at the end of an epoch); a new epoch starts when one is used up. */
  next(): number[] {
    const p = this.position;
    if (p.offset >= this.size) {
      p.epoch++;
      p.offset = 0;
      this.#order = epochOrder(this.size, this.seed, p.epoch);
    }
    const batch = this.#order.slice(p.offset, p.offset + this.batchSize);
    p.offset += batch.length;
    return batch;
  }
}

/** One optimizer step's forward and backward passes: figures summed over micro-batches (weighted by shard). */
interface AccumulatedStep {
  /** Loss and task metrics, each micro-batch's value times this rank's share of it. */
  sums: Record<string, number>;
  /** Micro-batches drawn (every rank draws the same number). */
  micro: number;
  tokens: number;
}

/**
 * Forward and backward over `accumulation` micro-batches, gradients summed into the parameters. A data-parallel rank
 * takes its shard of each global micro-batch and scales its loss by its share, so the summed gradients equal the
 * one-process gradient of the global batch. A loss that is not finite stops the run before any update.
 */
function accumulateGradients(
  task: TrainingTask,
  batches: BatchOrder,
  accumulation: number,
  dp: DataParallel | undefined,
  stopped: (what: string, value: number) => Error,
): AccumulatedStep {
  const weightOf = (indices: number[]) => (task.lossWeight ? task.lossWeight(indices) : indices.length);
  const step: AccumulatedStep = { sums: {}, micro: 0, tokens: 0 };
  for (let m = 0; m < accumulation; m++) {
    const global = batches.next();
    step.micro++;
    const indices = dp ? shardIndices(global, dp.rank, dp.worldSize) : global;
    if (indices.length === 0) continue; // a short last batch: this rank adds zero gradients
    // This rank's part of the global micro-batch's mean loss (1 without data parallelism).
    const share = dp ? weightOf(indices) / weightOf(global) : 1;
    const { loss, tokens, metrics } = tidy(() => {
      const r = task.step(indices);
      const value = r.loss.item();
      if (!Number.isFinite(value)) throw stopped("the loss", value);
      (dp ? r.loss.mul(share / accumulation) : r.loss.div(accumulation)).backward();
      return { loss: value, tokens: r.tokens, metrics: r.metrics ?? {} };
    });
    for (const [k, v] of Object.entries({ loss, ...metrics })) step.sums[k] = (step.sums[k] ?? 0) + v * share;
    step.tokens += tokens;
  }
  return step;
}

/**
 * Sums the step's figures (in the order of `keys`, the same on every rank) and tokens across ranks in place,
 * together with each rank's Ctrl-C flag; returns whether any rank was interrupted.
 */
function sumAcrossRanks(
  dp: DataParallel,
  step: AccumulatedStep,
  keys: readonly string[],
  interrupted: boolean,
): boolean {
  const summed = allReduceNumbers(dp.group, [
    ...keys.map((k) => step.sums[k] ?? 0),
    step.tokens,
    interrupted ? 1 : 0,
  ]);
  keys.forEach((k, i) => {
    step.sums[k] = summed[i] as number;
  });
  step.tokens = summed[keys.length] as number;
  return (summed[keys.length + 1] as number) > 0;
}

const METRICS_FILE = "metrics.jsonl";

/** Rank 0's outputs of the loop: metrics.jsonl, TensorBoard events mirroring its rows, and the progress display. */
class LoopReport {
  readonly #metricsPath: string;
  readonly #progress: Progress;
  readonly #tensorboard: TensorBoardReport | undefined;

  constructor(o: LoopOptions, run: LoopRun, state: CheckpointState, steps: number) {
    this.#metricsPath = join(o.outDir, METRICS_FILE);
    this.#progress = new Progress(run.label, steps, { startAt: state.step, every: o.logEvery });
    this.#tensorboard = reportsTo(o.reportTo, "tensorboard")
      ? new TensorBoardReport(o.outDir, run.resume ? { resumedAt: state.step } : {})
      : undefined;
  }

  step(record: Record<string, number>): void {
    appendFileSync(this.#metricsPath, `${JSON.stringify(record)}\n`);
    this.#tensorboard?.log(record);
    this.#progress.update(record.step as number, {
      loss: record.loss,
      "tok/s": Math.round(record.tokens_per_s ?? 0),
    });
  }

  /** The final held-out figures, as eval_* columns of their own row. */
  evaluation(step: number, figures: Record<string, number>): void {
    const row = { step, ...evalColumns(figures) };
    appendFileSync(this.#metricsPath, `${JSON.stringify(row)}\n`);
    this.#tensorboard?.log(row);
  }

  close(): void {
    this.#tensorboard?.close();
  }
}
