// `safetune raft`: iterations of sample K answers per prompt → score (reward - λ·cost) → drop degenerate answers →
// select (best of K or global top fraction) → fine-tune on the selection with the SFT task and the shared loop.
// Every sample of iteration N is kept in <out>/iterations/iter-000N.jsonl; per-iteration figures in <out>/raft.jsonl.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatMessage, PromptRecord } from "../data/records.js";
import { modelScorer, type RewardFunction, type Scorer } from "../score/scorer.js";
import {
  type TrainingExample,
  TrainingExampleError,
  tokenizeConversation,
} from "../tokenize/trainingExample.js";
import { ConfigError } from "../util/configError.js";
import { CheckpointError, findResumePoint, loadCheckpoint, saveCheckpoint } from "./checkpoints.js";
import { allGatherText, type DataParallel, dataParallel, isMainProcess } from "./dataParallel.js";
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
import { loopOptions, prepareRun, saveTrainedModel } from "./runTrainer.js";
import { sftTask } from "./sft.js";
import { epochOrder, runTrainingLoop, TrainingError, type TrainingSummary } from "./trainingLoop.js";

export interface RaftRunOptions {
  log?: (line: string) => void;
  /** A reward to use instead of config.raft.rewardModel: a scorer or a function of the answer text. */
  reward?: Scorer | RewardFunction;
  /** A cost to use instead of config.raft.costModel (weighted by config.raft.costLambda). */
  cost?: Scorer | RewardFunction;
  /** Continue after the last finished iteration saved in <out>/checkpoints. */
  resume?: boolean;
  /** Prefix of the progress display's labels. */
  label?: string;
}

/** What RAFT keeps between iterations besides the weights. */
interface RaftProgress {
  history: RaftIterationRecord[];
  total: TrainingSummary;
  trainedExamples: number;
}

/** One line of <out>/raft.jsonl. */
export interface RaftIterationRecord {
  iteration: number;
  mean_reward: number;
  best_reward: number;
  mean_selected_reward: number;
  selected: number;
  dropped: number;
  samples: number;
  /** Optimizer steps of this iteration's fine-tuning (0 when nothing was selected). */
  steps: number;
  /** Last training loss of the iteration (absent when nothing was trained). */
  loss?: number;
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

export async function runRaft(config: RaftConfig, options: RaftRunOptions = {}) {
  const raft = config.raft;
  if (!options.reward && !raft.rewardModel)
    throw new ConfigError("raft: raft.rewardModel (--reward-model) is required");
  const endpoints = raftEndpoints(raft);
  checkEndpointSampling(raft);
  const run = await prepareRun(config, "prompt");
  const prompts = run.train.map((r) => (r as PromptRecord).prompt);
  if (prompts.length === 0) throw new TrainingError("raft: no prompts in the data");
  const owned: Scorer[] = [];
  const log = options.log ?? (() => {});
  const iterationsDir = join(config.out, "iterations");
  // In a data-parallel job each rank samples its share of the prompts and trains on its shard; rank 0 writes.
  const dp = dataParallel();
  const main = isMainProcess();
  if (main) mkdirSync(iterationsDir, { recursive: true });
  const logPath = join(config.out, "raft.jsonl");
  const seed = config.training.seed;
  const hash = configHash(config);
  let history: RaftIterationRecord[] = [];
  let total: TrainingSummary = { steps: 0, tokens: 0, seconds: 0, final: {}, eval: {} };
  let trainedExamples = 0;
  let start = 1;
  // Every iteration's randomness derives from the seed and its index, so the weights are all a resume needs.
  let checkpoint: string | undefined;
  if (options.resume) {
    try {
      const point = findResumePoint(config.out, { configHash: hash, totalSteps: raft.iterations });
      for (const s of point.skipped) log(`--resume: skipped ${s.dir}: ${s.reason}`);
      checkpoint = point.dir;
    } catch (error) {
      if (error instanceof CheckpointError) throw new TrainingError(error.message);
      throw error;
    }
  }
  if (checkpoint) {
    const state = loadCheckpoint(checkpoint, run.trainable, undefined);
    if (state.configHash !== hash) {
      throw new TrainingError(
        `--resume: ${checkpoint} was written by another config (${state.configHash} vs ${hash}); use the same config or a new --out`,
      );
    }
    ({ history, total, trainedExamples } = state.extra as unknown as RaftProgress);
    start = state.step + 1;
    log(`raft: resuming after iteration ${state.step} from ${checkpoint}`);
  }
  if (main) writeFileSync(logPath, history.map((r) => `${JSON.stringify(r)}\n`).join(""));
  // Rewards per iteration as TensorBoard scalars (raft/mean_reward, ...) at step = iteration, rank 0 only.
  const tensorboard =
    main && reportsTo(config.training.reportTo, "tensorboard")
      ? new TensorBoardReport(config.out, checkpoint ? { resumedAt: start - 1 } : {})
      : undefined;
  let sampler: AnswerSampler | undefined;
  try {
    sampler =
      endpoints.length > 0 && start <= raft.iterations
        ? await EndpointSampler.connect(endpointOptions(raft, endpoints), run.tokenizer)
        : localSampler(run.model, run.tokenizer);
    const scorerOptions = { maxLength: config.maxLength, batchSize: config.training.batchSize };
    const reward =
      options.reward ??
      (await modelScorer(raft.rewardModel as string, { ...scorerOptions, template: raft.rewardTemplate }));
    if (!options.reward) owned.push(reward as Scorer);
    let cost = options.cost;
    if (!cost && raft.costModel) {
      cost = await modelScorer(raft.costModel, { ...scorerOptions, template: raft.rewardTemplate });
      owned.push(cost);
    }
    for (let iteration = start; iteration <= raft.iterations; iteration++) {
      const indices = promptBatch(prompts.length, raft.promptsPerIteration, seed, iteration - 1);
      const batch = indices.map((i) => prompts[i] as ChatMessage[]);
      // Sample with the model as it is now (adapter dropout off), then score and select.
      if (run.adapter) run.adapter.training = false;
      const sampleOptions = {
        k: raft.k,
        maxNewTokens: raft.maxNewTokens,
        temperature: raft.temperature,
        topP: raft.topP,
        seed: seed * 7919 + iteration * 1_000_003,
        template: config.template,
        batchSize: raft.generationBatchSize,
      };
      const answers = dp
        ? await sampleShared(sampler, batch, sampleOptions, dp)
        : await sampler.sample(batch, sampleOptions);
      const sampled = sampler.report?.();
      if (sampled) log(`raft iteration ${iteration}/${raft.iterations} sampled: ${sampled}`);
      const scored = scoreAnswers(
        reward,
        batch,
        answers,
        cost ? { scorer: cost, lambda: raft.costLambda } : undefined,
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
      // Every rank scored the same answers; rank 0's selection is the one all train on, so they cannot drift apart.
      const fromRankZero = dp ? allGatherText(dp.group, main ? JSON.stringify(selected) : "")[0] : undefined;
      const ranked = dp && !main ? (JSON.parse(fromRankZero ?? "[]") as typeof selected) : selected;
      const examples = trainingExamples(run.tokenizer, ranked, config);
      if (main)
        writeIterationFile(
          join(iterationsDir, `${iterationName(iteration)}.jsonl`),
          iteration,
          ranked,
          indices,
        );
      const figures = iterationFigures(ranked);

      let summary: TrainingSummary | undefined;
      if (examples.length > 0) {
        if (run.adapter) run.adapter.training = true;
        summary = await runTrainingLoop(
          run.trainable,
          sftTask(run.model, examples, { padTokenId: run.padTokenId }),
          {
            ...loopOptions(config),
            outDir: join(config.out, "finetune", iterationName(iteration)),
            seed: seed + iteration,
            maxSteps: raft.stepsPerIteration,
            saveEvery: 0,
          },
          {
            configHash: hash,
            resume: false,
            label: `${options.label ?? "RAFT"} ${iteration}/${raft.iterations}`,
          },
        );
        total.steps += summary.steps;
        total.tokens += summary.tokens;
        total.seconds += summary.seconds;
        total.final = summary.final;
        trainedExamples += examples.length;
      }
      const record: RaftIterationRecord = {
        iteration,
        ...figures,
        steps: summary?.steps ?? 0,
        ...(summary?.final.loss === undefined ? {} : { loss: summary.final.loss }),
      };
      history.push(record);
      if (main) appendFileSync(logPath, `${JSON.stringify(record)}\n`);
      tensorboard?.log({ ...record }, { at: iteration, prefix: "raft" });
      if (main) await writeCurves(config.out, log);
      const progress: RaftProgress = { history, total, trainedExamples };
      if (main)
        saveCheckpoint(
          config.out,
          run.trainable,
          undefined,
          {
            step: iteration,
            epoch: 0,
            offset: 0,
            tokens: total.tokens,
            configHash: hash,
            extra: { ...progress },
          },
          config.training.keepCheckpoints,
        );
      log(
        `raft iteration ${iteration}/${raft.iterations}: mean reward ${fmt(record.mean_reward)}, best ${fmt(record.best_reward)}, ` +
          `selected ${record.selected}/${record.samples}, dropped ${record.dropped}` +
          (record.loss === undefined
            ? ", nothing to train"
            : `, ${record.steps} steps, loss ${fmt(record.loss)}`),
      );
    }
  } finally {
    tensorboard?.close();
    sampler?.dispose?.();
    for (const s of owned) s.dispose?.();
  }
  if (run.adapter) run.adapter.training = false;
  const last = history[history.length - 1];
  // The last iteration's sampled rewards are RAFT's held-out-style figures (reported and in the model card).
  if (last)
    total.eval = { iterations: history.length, mean_reward: last.mean_reward, best_reward: last.best_reward };
  const modelDir = main
    ? saveTrainedModel(run, config, total, "RAFT", { logs: ["raft.jsonl"], examples: trainedExamples })
    : join(config.out, "model");
  return { modelDir, summary: total, history, model: run.model, tokenizer: run.tokenizer };
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
  tokenizer: Awaited<ReturnType<typeof prepareRun>>["tokenizer"],
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
  return batch.map((_, p) => byRank[p % dp.worldSize]?.[Math.floor(p / dp.worldSize)] ?? []);
}
