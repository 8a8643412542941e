// The one training loop every trainer shares: seeded data order, gradient accumulation, AdamW with a schedule,
// clipping, evaluation and atomic checkpoints, exact resume, metrics.jsonl, progress, Ctrl-C and NaN handling.
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
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
  dataParallel,
  isMainProcess,
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

export interface TrainingSummary {
  steps: number;
  tokens: number;
  seconds: number;
  final: Record<string, number>;
  eval: Record<string, number>;
  resumedFrom?: string;
}

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

export async function runTrainingLoop(
  trainable: [string, Tensor][],
  task: TrainingTask,
  o: LoopOptions,
  run: {
    configHash: string;
    resume: boolean;
    label: string;
    /** Where resume notes go (checkpoints skipped as damaged); default stderr. */
    log?: (line: string) => void;
  },
): Promise<TrainingSummary> {
  if (task.size === 0) throw new TrainingError("no training examples");
  const dp = dataParallel();
  if (dp && (o.batchSize < dp.worldSize || task.size < dp.worldSize))
    throw new TrainingError(
      `batch size ${o.batchSize} with ${task.size} examples cannot feed ${dp.worldSize} processes: every rank needs an example in each micro-batch`,
    );
  const main = isMainProcess();
  const weightOf = (indices: number[]) => (task.lossWeight ? task.lossWeight(indices) : indices.length);
  mkdirSync(o.outDir, { recursive: true });
  const metricsPath = join(o.outDir, "metrics.jsonl");
  const steps = totalSteps(task.size, o);
  const warmup = o.warmupSteps > 0 ? o.warmupSteps : Math.floor(o.warmupRatio * steps);
  const optimizer = new AdamW(weightDecayGroups(trainable, o.weightDecay), {
    lr: o.lr,
    beta1: o.beta1,
    beta2: o.beta2,
  });
  const params = trainable.map(([, t]) => t);

  let state: CheckpointState = { step: 0, epoch: 0, offset: 0, tokens: 0, configHash: run.configHash };
  let resumedFrom: string | undefined;
  manualSeed(o.seed); // a resumed run replaces this with the checkpoint's generator state
  if (run.resume) {
    try {
      // The newest checkpoint whose checksums and state.json hold up; damaged newer ones are skipped, and said so.
      const point = findResumePoint(o.outDir, {
        configHash: run.configHash,
        totalSteps: steps,
        examplesPerEpoch: task.size,
      });
      const log = run.log ?? ((line: string) => process.stderr.write(`${line}\n`));
      if (main) for (const s of point.skipped) log(`--resume: skipped ${s.dir}: ${s.reason}`);
      if (point.dir) {
        state = loadCheckpoint(point.dir, trainable, optimizer);
        resumedFrom = point.dir;
        // Steps after the checkpoint are replayed: their rows from the interrupted attempt go.
        if (main) truncateMetricsAfter(metricsPath, state.step);
      } else if (main) truncateMetricsAfter(metricsPath, 0);
    } catch (error) {
      optimizer.dispose();
      if (error instanceof CheckpointError) throw new TrainingError(error.message);
      throw error;
    }
  }

  // Every rank starts from rank 0's weights (after a resume all loaded the same checkpoint; this makes it certain).
  if (dp) broadcastParameters(dp.group, params);

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once("SIGINT", onSigint);
  const progress = main
    ? new Progress(run.label, steps, { startAt: state.step, every: o.logEvery })
    : undefined;
  /** Data-parallel step metrics are summed across ranks in this key order (fixed by the first step). */
  let metricKeys: string[] | undefined;
  const started = performance.now();
  const startTokens = state.tokens;
  let lastCheckpoint = resumedFrom;
  let order = epochOrder(task.size, o.seed, state.epoch);
  let final: Record<string, number> = {};
  let evalFigures: Record<string, number> = {};
  // TensorBoard events mirror metrics.jsonl's rows (rank 0 only, like the file).
  const tensorboard =
    main && reportsTo(o.reportTo, "tensorboard")
      ? new TensorBoardReport(o.outDir, run.resume ? { resumedAt: state.step } : {})
      : undefined;

  try {
    while (state.step < steps) {
      optimizer.lr = learningRate(state.step, {
        kind: o.schedule,
        lr: o.lr,
        warmupSteps: warmup,
        totalSteps: steps,
      });
      const sums: Record<string, number> = {};
      let micro = 0;
      let stepTokens = 0;
      for (let m = 0; m < o.gradientAccumulation; m++) {
        if (state.offset >= task.size) {
          state.epoch++;
          state.offset = 0;
          order = epochOrder(task.size, o.seed, state.epoch);
        }
        const global = order.slice(state.offset, state.offset + o.batchSize);
        state.offset += global.length;
        micro++;
        const indices = dp ? shardIndices(global, dp.rank, dp.worldSize) : global;
        if (indices.length === 0) continue; // a short last batch: this rank adds zero gradients
        // This rank's part of the global micro-batch's mean loss (1 without data parallelism).
        const share = dp ? weightOf(indices) / weightOf(global) : 1;
        const { loss, tokens, metrics } = tidy(() => {
          const r = task.step(indices);
          const value = r.loss.item();
          if (!Number.isFinite(value)) {
            throw new TrainingError(
              `step ${state.step + 1}: the loss is ${value}; training stopped before the update. Last good checkpoint: ${lastCheckpoint ?? "none yet"}`,
            );
          }
          (dp ? r.loss.mul(share / o.gradientAccumulation) : r.loss.div(o.gradientAccumulation)).backward();
          return { loss: value, tokens: r.tokens, metrics: r.metrics ?? {} };
        });
        for (const [k, v] of Object.entries({ loss, ...metrics })) sums[k] = (sums[k] ?? 0) + v * share;
        stepTokens += tokens;
      }
      if (dp) {
        allReduceGradients(dp.group, params);
        metricKeys ??= Object.keys(sums).sort();
        const summed = allReduceNumbers(dp.group, [
          ...metricKeys.map((k) => sums[k] ?? 0),
          stepTokens,
          interrupted ? 1 : 0,
        ]);
        metricKeys.forEach((k, i) => {
          sums[k] = summed[i] ?? 0;
        });
        stepTokens = summed[metricKeys.length] ?? 0;
        // Ctrl-C reaches ranks at different moments: all stop at the same step, or the others would wait forever.
        if ((summed[metricKeys.length + 1] ?? 0) > 0) interrupted = true;
      }
      const gradNorm = o.maxGradNorm > 0 ? clipGradNorm(params, o.maxGradNorm) : Number.NaN;
      if (!Number.isFinite(gradNorm) && o.maxGradNorm > 0) {
        optimizer.zeroGrad();
        throw new TrainingError(
          `step ${state.step + 1}: the gradient norm is ${gradNorm}; training stopped before the update. Last good checkpoint: ${lastCheckpoint ?? "none yet"}`,
        );
      }
      optimizer.step();
      optimizer.zeroGrad();
      state.step++;
      state.tokens += stepTokens;

      const seconds = (performance.now() - started) / 1000;
      const averages = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / micro]));
      final = { ...averages, lr: optimizer.lr, ...(o.maxGradNorm > 0 ? { grad_norm: gradNorm } : {}) };
      const record: Record<string, number> = {
        step: state.step,
        epoch: fractionalEpoch(state.epoch, state.offset, task.size),
        ...final,
        tokens_per_s: (state.tokens - startTokens) / seconds,
      };
      if (main && task.evaluate && o.evalEvery > 0 && state.step % o.evalEvery === 0 && state.step < steps) {
        evalFigures = task.evaluate();
        for (const [k, v] of Object.entries(evalFigures)) record[`eval_${k}`] = v;
      }
      if (main) appendFileSync(metricsPath, `${JSON.stringify(record)}\n`);
      tensorboard?.log(record);
      progress?.update(state.step, { loss: averages.loss, "tok/s": Math.round(record.tokens_per_s ?? 0) });

      if (main && ((o.saveEvery > 0 && state.step % o.saveEvery === 0) || interrupted)) {
        lastCheckpoint = saveCheckpoint(
          o.outDir,
          trainable,
          optimizer,
          { ...state, configHash: run.configHash },
          o.keepCheckpoints,
        );
        await writeCurves(o.outDir, run.log);
      }
      if (interrupted) {
        throw new TrainingInterrupted(
          `interrupted at step ${state.step}/${steps}; checkpoint saved to ${lastCheckpoint}; continue with --resume`,
        );
      }
      // Let signals and I/O through between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (main && task.evaluate) {
      evalFigures = task.evaluate();
      const evalRow = {
        step: state.step,
        ...Object.fromEntries(Object.entries(evalFigures).map(([k, v]) => [`eval_${k}`, v])),
      };
      appendFileSync(metricsPath, `${JSON.stringify(evalRow)}\n`);
      tensorboard?.log(evalRow);
    }
    if (main) await writeCurves(o.outDir, run.log);
  } finally {
    process.removeListener("SIGINT", onSigint);
    optimizer.dispose();
    tensorboard?.close();
  }
  return {
    steps: state.step,
    tokens: state.tokens,
    seconds: (performance.now() - started) / 1000,
    final,
    eval: evalFigures,
    resumedFrom,
  };
}
