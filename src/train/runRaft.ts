// `safetune raft`: iterations of sample K answers per prompt → score (reward - λ·cost) → drop degenerate answers →
// select (best of K or global top fraction) → fine-tune on the selection with the SFT task and the shared loop.
// Every sample of iteration N is kept in <out>/iterations/iter-000N.jsonl; per-iteration figures in <out>/raft.jsonl.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { ChatMessage, PromptRecord } from "../data/records.js";
import { modelScorer, type RewardFunction, type Scorer } from "../score/scorer.js";
import {
  type TrainingExample,
  TrainingExampleError,
  tokenizeConversation,
} from "../tokenize/trainingExample.js";
import { ConfigError } from "../util/configError.js";
import {
  CheckpointError,
  type CheckpointState,
  findResumePoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoints.js";
import { allGatherText, type DataParallel, isMainRank } from "./dataParallel.js";
import { EndpointSampler } from "./endpointSampler.js";
import {
  type AnswerSampler,
  iterationFigures,
  localSampler,
  type RankedSample,
  type SampledAnswer,
  type SampleOptions,
  scoreAnswers,
  selectSamples,
} from "./raft.js";
import { reportsTo, TensorBoardReport, writeCurves } from "./reportTo.js";
import { configHash, type RaftConfig } from "./runConfig.js";
import {
  loopOptions,
  type PreparedRun,
  prepareRun,
  saveTrainedModel,
  type TrainerOptions,
} from "./runTrainer.js";
import { sftTask } from "./sft.js";
import {
  epochOrder,
  JsonFigureSchema,
  runTrainingLoop,
  TrainingError,
  type TrainingSummary,
  TrainingSummarySchema,
} from "./trainingLoop.js";

export interface RaftRunOptions extends TrainerOptions {
  /** A reward to use instead of config.raft.rewardModel: a scorer or a function of the answer text. */
  reward?: Scorer | RewardFunction;
  /** A cost to use instead of config.raft.costModel (weighted by config.raft.costLambda). */
  cost?: Scorer | RewardFunction;
}

/** One line of <out>/raft.jsonl. */
const RaftIterationRecordSchema = z.object({
  iteration: z.number().int().positive(),
  mean_reward: JsonFigureSchema,
  best_reward: JsonFigureSchema,
  mean_selected_reward: JsonFigureSchema,
  selected: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  samples: z.number().int().nonnegative(),
  /** Optimizer steps of this iteration's fine-tuning (0 when nothing was selected). */
  steps: z.number().int().nonnegative(),
  /** Last training loss of the iteration (absent when nothing was trained). */
  loss: JsonFigureSchema.optional(),
});
export type RaftIterationRecord = z.infer<typeof RaftIterationRecordSchema>;

/** What RAFT keeps between iterations besides the weights: saved in each checkpoint's state, checked on resume. */
const RaftProgressSchema = z.object({
  history: z.array(RaftIterationRecordSchema),
  total: TrainingSummarySchema,
  trainedExamples: z.number().int().nonnegative(),
});
type RaftProgress = z.infer<typeof RaftProgressSchema>;

/** The iteration a run continues after, and its progress; read from a RAFT checkpoint's state.json. */
export function raftProgressFrom(
  state: CheckpointState,
  checkpoint: string,
  hash: string,
): RaftProgress & { iteration: number } {
  if (state.configHash !== hash)
    throw new TrainingError(
      `--resume: ${checkpoint} was written by another config (${state.configHash} vs ${hash}); use the same config or a new --out`,
    );
  const parsed = RaftProgressSchema.safeParse(state.extra);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrainingError(
      `--resume: ${join(checkpoint, "state.json")}: extra.${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"} (not a RAFT checkpoint of this version)`,
    );
  }
  return { ...parsed.data, iteration: state.step };
}

/**
 * Dataset indices of iteration `iteration`'s prompts (0-based): consecutive slices of seeded epoch orders, so every
 * prompt is used once before any repeats.
 */
export function promptBatch(count: number, size: number, seed: number, iteration: number): number[] {
  const out: number[] = [];
  let cachedEpoch = -1;
  let order: number[] = [];
  for (let j = 0; j < size; j++) {
    const position = iteration * size + j;
    const epoch = Math.floor(position / count);
    if (epoch !== cachedEpoch) {
      order = epochOrder(count, seed, epoch);
      cachedEpoch = epoch;
    }
    out.push(order[position % count] as number);
  }
  return out;
}

function iterationName(iteration: number): string {
  return `iter-${String(iteration).padStart(4, "0")}`;
}

/** What every iteration works with: the prepared run, its sampler and scorers, where it writes. */
interface RaftContext {
  config: RaftConfig;
  options: RaftRunOptions;
  run: PreparedRun;
  prompts: ChatMessage[][];
  sampler: AnswerSampler;
  reward: Scorer | RewardFunction;
  cost: Scorer | RewardFunction | undefined;
  hash: string;
  main: boolean;
  log: (line: string) => void;
}

/**
 * RAFT, top to bottom: check the settings, load the policy and prompts, resume after the last finished iteration,
 * then per iteration sample → score → select → fine-tune → record and checkpoint; finally save the model.
 */
export async function runRaft(config: RaftConfig, options: RaftRunOptions = {}) {
  const raft = config.raft;
  if (!options.reward && !raft.rewardModel)
    throw new ConfigError("raft: raft.rewardModel (--reward-model) is required");
  const endpoints = raftEndpoints(raft);
  checkEndpointSampling(raft);
  const run = await prepareRun(config, "prompt", { dataParallel: options.dataParallel });
  const prompts = run.train.map((r) => (r as PromptRecord).prompt);
  if (prompts.length === 0) throw new TrainingError("raft: no prompts in the data");
  const log = options.log ?? (() => {});
  // In a data-parallel job each rank samples its share of the prompts and trains on its shard; rank 0 writes.
  const main = isMainRank(options.dataParallel);
  const hash = configHash(config);
  // Every iteration's randomness derives from the seed and its index, so the weights are all a resume needs.
  const resumed = options.resume ? resumeRaft(config.out, hash, run, raft.iterations, log) : undefined;
  const progress: RaftProgress = resumed ?? freshProgress();
  const start = (resumed?.iteration ?? 0) + 1;
  const { logPath, tensorboard } = openRaftLogs(config, progress, main, resumed?.iteration);
  const owned: Scorer[] = [];
  let sampler: AnswerSampler | undefined;
  try {
    sampler =
      endpoints.length > 0 && start <= raft.iterations
        ? await EndpointSampler.connect(endpointOptions(raft, endpoints), run.tokenizer)
        : localSampler(run.model, run.tokenizer);
    const { reward, cost } = await loadScorers(config, options, owned);
    const context: RaftContext = { config, options, run, prompts, sampler, reward, cost, hash, main, log };
    for (let iteration = start; iteration <= raft.iterations; iteration++) {
      const record = await raftIteration(iteration, context, progress);
      progress.history.push(record);
      if (main) appendFileSync(logPath, `${JSON.stringify(record)}\n`);
      tensorboard?.log({ ...record }, { at: iteration, prefix: "raft" });
      if (main) {
        await writeCurves(config.out, log);
        saveRaftCheckpoint(context, iteration, progress);
      }
      log(iterationLine(record, raft.iterations));
    }
  } finally {
    tensorboard?.close();
    sampler?.dispose?.();
    for (const s of owned) s.dispose?.();
  }
  const modelDir = saveRaftModel(config, run, progress, main);
  return {
    modelDir,
    summary: progress.total,
    history: progress.history,
    model: run.model,
    tokenizer: run.tokenizer,
  };
}

/**
 * raft.jsonl holding the iterations kept, and TensorBoard's per-iteration scalars (raft/mean_reward, ... at step =
 * iteration) when asked for; rank 0 writes them, the other ranks get a path they never write to.
 */
function openRaftLogs(
  config: RaftConfig,
  progress: RaftProgress,
  main: boolean,
  resumedAt: number | undefined,
): { logPath: string; tensorboard: TensorBoardReport | undefined } {
  const logPath = join(config.out, "raft.jsonl");
  if (main) {
    mkdirSync(join(config.out, "iterations"), { recursive: true });
    writeFileSync(logPath, progress.history.map((r) => `${JSON.stringify(r)}\n`).join(""));
  }
  const tensorboard =
    main && reportsTo(config.training.reportTo, "tensorboard")
      ? new TensorBoardReport(config.out, resumedAt === undefined ? {} : { resumedAt })
      : undefined;
  return { logPath, tensorboard };
}

/** A run's progress before its first iteration. */
function freshProgress(): RaftProgress {
  return { history: [], total: { steps: 0, tokens: 0, seconds: 0, final: {}, eval: {} }, trainedExamples: 0 };
}

/**
 * The trained policy saved as a model folder (by rank 0; the others return where it goes), with the last
 * iteration's sampled rewards as RAFT's held-out-style figures in its summary and model card.
 */
function saveRaftModel(config: RaftConfig, run: PreparedRun, progress: RaftProgress, main: boolean): string {
  if (run.adapter) run.adapter.training = false;
  const { history, total, trainedExamples } = progress;
  const last = history[history.length - 1];
  if (last)
    total.eval = { iterations: history.length, mean_reward: last.mean_reward, best_reward: last.best_reward };
  return main
    ? saveTrainedModel(run, config, total, "RAFT", { logs: ["raft.jsonl"], examples: trainedExamples })
    : join(config.out, "model");
}

/** The newest intact RAFT checkpoint's weights loaded into the run, and its progress; undefined with none yet. */
function resumeRaft(
  out: string,
  hash: string,
  run: PreparedRun,
  iterations: number,
  log: (line: string) => void,
): (RaftProgress & { iteration: number }) | undefined {
  let checkpoint: string | undefined;
  try {
    const point = findResumePoint(out, { configHash: hash, totalSteps: iterations });
    for (const s of point.skipped) log(`--resume: skipped ${s.dir}: ${s.reason}`);
    checkpoint = point.dir;
  } catch (error) {
    if (error instanceof CheckpointError) throw new TrainingError(error.message);
    throw error;
  }
  if (!checkpoint) return undefined;
  const resumed = raftProgressFrom(loadCheckpoint(checkpoint, run.trainable, undefined), checkpoint, hash);
  log(`raft: resuming after iteration ${resumed.iteration} from ${checkpoint}`);
  return resumed;
}

/** The reward (and cost) scorers: the caller's, or loaded from the configured model folders (then owned here). */
async function loadScorers(
  config: RaftConfig,
  options: RaftRunOptions,
  owned: Scorer[],
): Promise<{ reward: Scorer | RewardFunction; cost: Scorer | RewardFunction | undefined }> {
  const raft = config.raft;
  const scorerOptions = {
    maxLength: config.maxLength,
    batchSize: config.training.batchSize,
    template: raft.rewardTemplate,
  };
  let reward = options.reward;
  if (!reward) {
    const loaded = await modelScorer(raft.rewardModel as string, scorerOptions);
    owned.push(loaded);
    reward = loaded;
  }
  let cost = options.cost;
  if (!cost && raft.costModel) {
    const loaded = await modelScorer(raft.costModel, scorerOptions);
    owned.push(loaded);
    cost = loaded;
  }
  return { reward, cost };
}

/**
 * One RAFT iteration: sample K answers per prompt with the current policy, score them, select, write the
 * iteration's file, and fine-tune on the selection. Returns its raft.jsonl record; adds to the run's totals.
 */
async function raftIteration(
  iteration: number,
  context: RaftContext,
  progress: RaftProgress,
): Promise<RaftIterationRecord> {
  const { config, run, main } = context;
  const raft = config.raft;
  const indices = promptBatch(
    context.prompts.length,
    raft.promptsPerIteration,
    config.training.seed,
    iteration - 1,
  );
  const batch = indices.map((i) => context.prompts[i] as ChatMessage[]);
  const answers = await sampleIteration(iteration, batch, context);
  const ranked = selectIteration(batch, answers, context);
  const examples = trainingExamples(run.tokenizer, ranked, config);
  if (main)
    writeIterationFile(
      join(config.out, "iterations", `${iterationName(iteration)}.jsonl`),
      iteration,
      ranked,
      indices,
    );
  const summary = examples.length > 0 ? await fineTune(iteration, examples, context) : undefined;
  if (summary) {
    const { total } = progress;
    total.steps += summary.steps;
    total.tokens += summary.tokens;
    total.seconds += summary.seconds;
    total.final = summary.final;
    progress.trainedExamples += examples.length;
  }
  return {
    iteration,
    ...iterationFigures(ranked),
    steps: summary?.steps ?? 0,
    ...(summary?.final.loss === undefined ? {} : { loss: summary.final.loss }),
  };
}

/** K answers per prompt from the policy as it is now (adapter dropout off); ranks share the prompts. */
async function sampleIteration(
  iteration: number,
  batch: ChatMessage[][],
  context: RaftContext,
): Promise<SampledAnswer[][]> {
  const { config, run, sampler } = context;
  const raft = config.raft;
  if (run.adapter) run.adapter.training = false;
  const sampleOptions: SampleOptions = {
    k: raft.k,
    maxNewTokens: raft.maxNewTokens,
    temperature: raft.temperature,
    topP: raft.topP,
    seed: config.training.seed * 7919 + iteration * 1_000_003,
    template: config.template,
    batchSize: raft.generationBatchSize,
  };
  const dp = context.options.dataParallel;
  const answers = dp
    ? await sampleShared(sampler, batch, sampleOptions, dp)
    : await sampler.sample(batch, sampleOptions);
  const sampled = sampler.report?.();
  if (sampled) context.log(`raft iteration ${iteration}/${raft.iterations} sampled: ${sampled}`);
  return answers;
}

/**
 * Scores (reward − λ·cost), drops degenerate answers and selects. Every rank scored the same answers; rank 0's
 * selection is the one all train on, so they cannot drift apart.
 */
function selectIteration(
  batch: ChatMessage[][],
  answers: SampledAnswer[][],
  context: RaftContext,
): RankedSample[] {
  const raft = context.config.raft;
  const scored = scoreAnswers(
    context.reward,
    batch,
    answers,
    context.cost ? { scorer: context.cost, lambda: raft.costLambda } : undefined,
  );
  const selected = selectSamples(scored, {
    mode: raft.selection,
    fraction: raft.topFraction,
    degenerate: {
      minChars: raft.minChars,
      maxRepeatFraction: raft.maxRepeatFraction,
      minDistinctRatio: raft.minDistinctRatio,
    },
  });
  const dp = context.options.dataParallel;
  if (!dp) return selected;
  const fromRankZero = allGatherText(dp.group, context.main ? JSON.stringify(selected) : "")[0];
  if (context.main) return selected;
  if (fromRankZero === undefined) throw new TrainingError("raft: rank 0's selection did not arrive");
  return JSON.parse(fromRankZero) as RankedSample[];
}

/** The SFT task on the selected answers, through the shared loop, in <out>/finetune/iter-N. */
function fineTune(
  iteration: number,
  examples: TrainingExample[],
  context: RaftContext,
): Promise<TrainingSummary> {
  const { config, run, options } = context;
  const raft = config.raft;
  if (run.adapter) run.adapter.training = true;
  return runTrainingLoop(
    run.trainable,
    sftTask(run.model, examples, { padTokenId: run.padTokenId }),
    {
      ...loopOptions(config),
      outDir: join(config.out, "finetune", iterationName(iteration)),
      seed: config.training.seed + iteration,
      maxSteps: raft.stepsPerIteration,
      saveEvery: 0,
    },
    {
      configHash: context.hash,
      resume: false,
      label: `${options.label ?? "RAFT"} ${iteration}/${raft.iterations}`,
      ...(options.dataParallel === undefined ? {} : { dataParallel: options.dataParallel }),
    },
  );
}

/** The weights after `iteration` and the progress so far (rank 0). */
function saveRaftCheckpoint(context: RaftContext, iteration: number, progress: RaftProgress): void {
  saveCheckpoint(
    context.config.out,
    context.run.trainable,
    undefined,
    {
      step: iteration,
      epoch: 0,
      offset: 0,
      tokens: progress.total.tokens,
      configHash: context.hash,
      extra: { ...progress },
    },
    context.config.training.keepCheckpoints,
  );
}

function iterationLine(record: RaftIterationRecord, iterations: number): string {
  return (
    `raft iteration ${record.iteration}/${iterations}: mean reward ${fmt(record.mean_reward)}, best ${fmt(record.best_reward)}, ` +
    `selected ${record.selected}/${record.samples}, dropped ${record.dropped}` +
    (record.loss === undefined ? ", nothing to train" : `, ${record.steps} steps, loss ${fmt(record.loss)}`)
  );
}

/** The endpoints RAFT samples from (none: the local model samples). */
function raftEndpoints(raft: RaftConfig["raft"]): string[] {
  return raft.endpoint === undefined ? [] : [raft.endpoint].flat();
}

/**
 * Sampling from servers is sampling from the model they serve, which stays the starting policy while the local copy
 * is fine-tuned: a second iteration would not sample from the improved policy, so only one is allowed.
 */
export function checkEndpointSampling(raft: RaftConfig["raft"]): void {
  if (raftEndpoints(raft).length === 0) {
    if (raft.apiModel !== undefined) throw new ConfigError("raft: --api-model is only used with --endpoint");
    return;
  }
  if (raft.apiModel === undefined)
    throw new ConfigError("raft: --endpoint needs --api-model NAME (the policy's name at the endpoint)");
  if (raft.iterations !== 1)
    throw new ConfigError(
      `raft: --endpoint samples from the served model, which stays the starting policy, so it needs --iterations 1 (got ${raft.iterations}); for more rounds restart the servers with each iteration's model and run raft again from it`,
    );
}

function endpointOptions(raft: RaftConfig["raft"], urls: string[]) {
  const keyEnv = raft.apiKeyEnv ?? "OPENAI_API_KEY";
  const apiKey = process.env[keyEnv];
  if (raft.apiKeyEnv !== undefined && apiKey === undefined)
    throw new ConfigError(`raft: --api-key-env: environment variable ${keyEnv} is not set`);
  return {
    urls,
    model: raft.apiModel as string,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(raft.concurrency === undefined ? {} : { concurrency: raft.concurrency }),
  };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}

/** Tokenized (prompt + answer) conversations of the selected samples; untokenizable ones are marked dropped. */
function trainingExamples(
  tokenizer: PreparedRun["tokenizer"],
  ranked: RankedSample[],
  config: RaftConfig,
): TrainingExample[] {
  const examples: TrainingExample[] = [];
  for (const s of ranked) {
    if (!s.selected) continue;
    try {
      examples.push(
        tokenizeConversation(tokenizer, [...s.prompt, { role: "assistant", content: s.answer }], {
          maxLength: config.maxLength,
          template: config.template,
        }),
      );
    } catch (err) {
      if (!(err instanceof TrainingExampleError)) throw err;
      s.selected = false;
      s.dropped = `not trainable: ${err.message}`;
    }
  }
  return examples;
}

function writeIterationFile(
  path: string,
  iteration: number,
  ranked: RankedSample[],
  indices: number[],
): void {
  const lines = ranked.map((s) =>
    JSON.stringify({
      iteration,
      prompt_index: indices[s.promptIndex],
      sample: s.sampleIndex,
      prompt: s.prompt,
      answer: s.answer,
      finish_reason: s.finishReason,
      reward: s.reward,
      ...(s.cost === undefined ? {} : { cost: s.cost }),
      score: s.score,
      selected: s.selected,
      ...(s.dropped === undefined ? {} : { dropped: s.dropped }),
    }),
  );
  writeFileSync(path, lines.length ? `${lines.join("\n")}\n` : "");
}

/**
 * Data-parallel sampling: rank r samples the prompts at positions r, r + worldSize, ... (seeded by its rank, so a
 * run is reproducible for a given number of processes), and the answers are gathered back into prompt order.
 */
async function sampleShared(
  sampler: AnswerSampler,
  batch: ChatMessage[][],
  options: SampleOptions,
  dp: DataParallel,
): Promise<SampledAnswer[][]> {
  const positions = batch.map((_, p) => p).filter((p) => p % dp.worldSize === dp.rank);
  const mine = await sampler.sample(
    positions.map((p) => batch[p] as ChatMessage[]),
    { ...options, seed: options.seed + dp.rank * 104_729 },
  );
  const byRank = allGatherText(dp.group, JSON.stringify(mine)).map((t) => JSON.parse(t) as SampledAnswer[][]);
  return batch.map((_, p) => {
    const answers = byRank[p % dp.worldSize]?.[Math.floor(p / dp.worldSize)];
    if (answers === undefined)
      throw new TrainingError(
        `raft: rank ${p % dp.worldSize} sent no answers for prompt ${p} of the iteration`,
      );
    return answers;
  });
}
