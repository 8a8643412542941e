// What every trainer command does around its task: load the model, tokenizer and data, attach LoRA if asked,
// run the shared loop, and leave a usable folder (weights or adapter, tokenizer files, config, model card).
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { loadRecords } from "../data/loadRecords.js";
import type { DataRecord, RecordKind } from "../data/records.js";
import { isHalfDtype, keep, manualSeed, noGrad, type Tensor } from "../engine/index.js";
import { type LoadModelOptions, loadModel } from "../model/loadModel.js";
import { attachAdapter, createLora, type LoraAdapter, mergeAdapter } from "../model/lora.js";
import { saveAdapter } from "../model/loraFiles.js";
import { dequantizeModel } from "../model/quantizeModel.js";
import { saveModel, TOKENIZER_FILES } from "../model/saveModel.js";
import type { TransformerModel } from "../model/transformer.js";
import { loadTokenizer, type Tokenizer } from "../tokenize/tokenizer.js";
import { ConfigError } from "../util/configError.js";
import { type DataParallel, isMainRank } from "./dataParallel.js";
import { modelCard } from "./modelCard.js";
import { type CommonConfig, configHash } from "./runConfig.js";
import {
  type LoopOptions,
  runTrainingLoop,
  type TrainingSummary,
  type TrainingTask,
} from "./trainingLoop.js";

/** How any trainer is driven: resume, where notes go, the progress label, and the data-parallel rank. */
export interface TrainerOptions {
  /** Continue the run in config.out from its last checkpoint. */
  resume?: boolean;
  log?: (line: string) => void;
  /** The progress display's label (default: the method). */
  label?: string;
  /** This process's rank in a data-parallel job (absent: the only process). */
  dataParallel?: DataParallel;
}

export interface PreparedRun {
  model: TransformerModel;
  tokenizer: Tokenizer;
  adapter: LoraAdapter | undefined;
  trainable: [string, Tensor][];
  train: DataRecord[];
  evalRecords: DataRecord[];
  skipped: number;
  padTokenId: number;
  /** This process's rank in a data-parallel job (absent: the only process). */
  dataParallel?: DataParallel;
}

/** Loads everything a run needs and marks what it trains. */
export async function prepareRun(
  config: CommonConfig,
  kind: RecordKind | readonly RecordKind[],
  options: {
    /** Builds the trained model instead of loading config.model as is (e.g. a reward model from a causal LM). */
    model?: (tokenizer: Tokenizer, placement: LoadModelOptions) => TransformerModel;
    /** Weights trained in full beside a LoRA adapter (a new head that no base checkpoint has). */
    extraTrainable?: string[];
    dataParallel?: DataParallel;
  } = {},
): Promise<PreparedRun> {
  // The data first: a bad file or row fails before the model loads (tens of seconds at real sizes).
  const tokenizer = await loadTokenizer(config.model);
  const data = config.data;
  const train = await loadRecords(data.train, {
    mapping: data.mapping,
    kind,
    skipInvalid: data.skipInvalid,
    limit: data.limit,
  });
  const evaluation = data.eval
    ? await loadRecords(data.eval, {
        mapping: data.mapping,
        kind,
        skipInvalid: data.skipInvalid,
        limit: data.evalLimit,
      })
    : undefined;
  mkdirSync(config.out, { recursive: true });
  writeFileSync(join(config.out, "config.yaml"), toYaml(config));
  const placement = trainingPlacement(config);
  const model = options.model ? options.model(tokenizer, placement) : loadModel(config.model, placement);
  model.gradientCheckpointing = config.training.gradientCheckpointing;
  let adapter: LoraAdapter | undefined;
  let trainable: [string, Tensor][];
  if (config.lora) {
    // The adapter's A matrices are random: drawn under the run's seed, so that two runs of one config (with and
    // without gradient checkpointing, or every rank of a data-parallel run) start from the same adapter. libtorch
    // seeds its generator at random in each process.
    manualSeed(config.training.seed);
    adapter = createLora(model, {
      r: config.lora.r,
      alpha: config.lora.alpha,
      dropout: config.lora.dropout,
      targetModules: config.lora.targetModules,
      useRslora: config.lora.rslora,
      ...(config.lora.rankPattern ? { rankPattern: config.lora.rankPattern } : {}),
      ...(config.lora.alphaPattern ? { alphaPattern: config.lora.alphaPattern } : {}),
    });
    attachAdapter(model, adapter);
    adapter.training = true;
    trainable = [
      ...adapter.namedParameters(),
      ...(options.extraTrainable ?? []).map((name): [string, Tensor] => [
        name,
        fullPrecisionParam(model, name).requiresGrad_(),
      ]),
    ];
  } else {
    trainable = [...model.params].map(([name, t]): [string, Tensor] => [name, t.requiresGrad_()]);
  }
  const padTokenId = tokenizer.padTokenId ?? model.config.padTokenId ?? tokenizer.eosTokenId ?? 0;
  return {
    model,
    tokenizer,
    adapter,
    trainable,
    train: train.records,
    evalRecords: evaluation?.records ?? [],
    skipped: train.skipped.length + (evaluation?.skipped.length ?? 0),
    padTokenId,
    ...(options.dataParallel === undefined ? {} : { dataParallel: options.dataParallel }),
  };
}

/**
 * The dtype and device a run loads its model in. Half precision is for a frozen base under LoRA (the adapter,
 * optimizer state and loss stay fp32); full fine-tuning in bf16/f16 would keep half-precision master weights,
 * whose small updates round away, so it is refused.
 */
export function trainingPlacement(config: CommonConfig): LoadModelOptions {
  if (config.dtype !== "float32" && !config.lora)
    throw new ConfigError(
      `dtype: ${config.dtype} needs lora (a frozen half-precision base with an fp32 adapter); full fine-tuning keeps float32 weights`,
    );
  // The recomputation calls back into JS from the backward pass, which libtorch runs on device threads for CUDA.
  if (config.training.gradientCheckpointing && config.device !== "cpu")
    throw new ConfigError(
      `training.gradientCheckpointing: works on the cpu device only in this version (device is ${config.device})`,
    );
  if (config.quantize && !config.lora)
    throw new ConfigError(
      `quantize: ${config.quantize} needs lora (a quantised base is frozen; full fine-tuning updates every weight)`,
    );
  return {
    dtype: config.dtype,
    device: config.device,
    ...(config.quantize ? { quantize: config.quantize } : {}),
  };
}

/** A weight trained in full beside LoRA keeps fp32 master weights, also over a half-precision base. */
function fullPrecisionParam(model: TransformerModel, name: string): Tensor {
  const weight = model.param(name);
  if (!isHalfDtype(weight.dtype)) return weight;
  const raised = keep(noGrad(() => weight.to("float32")));
  weight.dispose();
  model.params.set(name, raised);
  return raised;
}

/** The loop options of a config. */
export function loopOptions(config: CommonConfig): LoopOptions {
  return { outDir: config.out, ...config.training };
}

/**
 * Fields that may differ on --resume: how a run reports (logging, checkpoints, evaluation), and where it stops
 * (epochs, maxSteps: a resumed run may go on longer; the schedule then follows the new length, as transformers'
 * does when max_steps grows).
 */
function computeRelevant(config: CommonConfig): unknown {
  const {
    logEvery: _l,
    saveEvery: _s,
    keepCheckpoints: _k,
    evalEvery: _e,
    reportTo: _r,
    epochs: _epochs,
    maxSteps: _maxSteps,
    ...training
  } = config.training;
  return { ...config, training };
}

/** Runs the loop, then writes the trained model (or adapter) with its tokenizer files and model card. */
export async function trainAndSave(
  run: PreparedRun,
  config: CommonConfig,
  task: TrainingTask,
  method: string,
  options: {
    resume: boolean;
    /** Fold a LoRA adapter into the weights and save a full model folder instead of an adapter. */
    merge?: boolean;
    /** The progress display's label (default: the method). */
    label?: string;
  },
): Promise<{ summary: TrainingSummary; modelDir: string }> {
  const summary = await runTrainingLoop(run.trainable, task, loopOptions(config), {
    configHash: configHash(computeRelevant(config)),
    resume: options.resume,
    label: options.label ?? method,
    ...(run.dataParallel === undefined ? {} : { dataParallel: run.dataParallel }),
  });
  // In a data-parallel job every rank ends with the same weights; rank 0 writes them.
  if (!isMainRank(run.dataParallel)) return { summary, modelDir: join(config.out, "model") };
  if (options.merge && run.adapter) {
    dequantizeModel(run.model); // a quantised base merges into its dequantised weights, as QLoRA's merges do
    mergeAdapter(run.model, run.adapter);
    run.adapter = undefined;
  }
  const modelDir = saveTrainedModel(run, config, summary, method, { logs: ["metrics.jsonl"] });
  return { summary, modelDir };
}

/**
 * Writes `<out>/model`: the weights (or the PEFT adapter), the tokenizer files, the model card, the resolved
 * config, and the run's logs named in `logs` (files in `<out>`).
 */
export function saveTrainedModel(
  run: PreparedRun,
  config: CommonConfig,
  summary: TrainingSummary,
  method: string,
  options: { logs: string[]; examples?: number },
): string {
  const modelDir = join(config.out, "model");
  if (run.adapter) {
    run.adapter.training = false;
    saveAdapter(run.adapter, modelDir, { baseModel: config.model });
  } else {
    saveModel(run.model, modelDir);
  }
  // The folder must be usable on its own, also for models that were built rather than loaded.
  for (const f of TOKENIZER_FILES) {
    const from = join(config.model, f);
    if (existsSync(from) && !existsSync(join(modelDir, f))) copyFileSync(from, join(modelDir, f));
  }
  writeFileSync(
    join(modelDir, "README.md"),
    modelCard({
      method,
      baseModel: config.model,
      adapter: run.adapter !== undefined,
      data: {
        train: config.data.train,
        eval: config.data.eval,
        mapping: config.data.mapping,
        examples: options.examples ?? run.train.length,
        evalExamples: run.evalRecords.length,
        skipped: run.skipped,
      },
      config,
      summary,
      date: new Date().toISOString().slice(0, 10),
    }),
  );
  writeFileSync(join(modelDir, "training_config.yaml"), toYaml(config));
  for (const log of options.logs) {
    if (existsSync(join(config.out, log))) copyFileSync(join(config.out, log), join(modelDir, log));
  }
  return modelDir;
}
