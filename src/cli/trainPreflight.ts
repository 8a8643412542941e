// What sft, dpo, reward and raft check before their model loads: the run folder, the data files (first rows,
// mapped and tokenized with the template as the run will), the starting model's config.json and tokenizer, and
// RAFT's reward and cost model folders (config.json and weight headers, tokenizer, template).

import { DataError } from "../data/errors.js";
import type { DataRecord, RecordKind } from "../data/records.js";
import { DeviceError, resolveDevice } from "../engine/device.js";
import { ModelError } from "../model/errors.js";
import { readModelConfig } from "../model/loadModel.js";
import { tokenizeText } from "../tokenize/textExample.js";
import { loadTokenizer, type Tokenizer } from "../tokenize/tokenizer.js";
import { tokenizePreference, tokenizeRecord } from "../tokenize/trainingExample.js";
import type { CommonConfig, RaftConfig, RewardConfig } from "../train/runConfig.js";
import { checkEndpointSampling } from "../train/runRaft.js";
import { trainingPlacement } from "../train/runTrainer.js";
import { ConfigError } from "../util/configError.js";
import {
  checkDataFile,
  checkModelFolder,
  checkRunFolder,
  checkTemplate,
  checkTokenizerFile,
} from "./preflight.js";

/** The record kinds each trainer reads (as prepareRun is asked for them). */
const KINDS: Record<string, RecordKind | readonly RecordKind[]> = {
  sft: ["chat", "text"],
  dpo: "preference",
  reward: "preference",
  raft: "prompt",
};

/** Every check of a trainer's inputs that needs no model weights; throws one line on the first problem. */
export async function preflightTraining(
  command: string,
  config: CommonConfig,
  options: { resume: boolean; overwrite: boolean },
): Promise<void> {
  // Settings first: they need no file.
  if (command === "raft") checkEndpointSampling((config as RaftConfig).raft);
  trainingPlacement(config);
  try {
    resolveDevice(config.device);
  } catch (error) {
    if (error instanceof DeviceError) throw new ConfigError(error.message);
    throw error;
  }
  checkRunFolder(config.out, { finished: "model", ...options });
  const kind = KINDS[command];
  if (kind === undefined) return;
  const { data } = config;
  const read = { mapping: data.mapping, kind, skipInvalid: data.skipInvalid };
  const train = await checkDataFile(data.train, read);
  const evaluation = data.eval ? await checkDataFile(data.eval, read) : [];
  if (command === "reward" && (config as RewardConfig).reward.objective === "cost")
    requireLabels([...train, ...evaluation]);
  checkModelFolder(config.model, { what: "--model" });
  checkTokenizerFile(config.model);
  const tokenizer = await loadTokenizer(config.model);
  for (const record of [...train, ...evaluation]) tokenizeFirst(tokenizer, record, config);
  if (command === "raft") await checkScorers(config as RaftConfig);
}

/** One record tokenized as the trainer will (a template that is missing, unknown or raises fails here). */
function tokenizeFirst(tokenizer: Tokenizer, record: DataRecord, config: CommonConfig): void {
  const options = {
    maxLength: config.maxLength,
    ...(config.template === undefined ? {} : { template: config.template }),
  };
  switch (record.kind) {
    case "text":
      tokenizeText(tokenizer, record, options);
      return;
    case "preference":
      tokenizePreference(tokenizer, record, options);
      return;
    case "prompt":
      tokenizer.applyChatTemplate(record.prompt, {
        addGenerationPrompt: true,
        ...(config.template === undefined ? {} : { template: config.template }),
      });
      return;
    default:
      tokenizeRecord(tokenizer, record, options);
  }
}

function requireLabels(records: DataRecord[]): void {
  const missing = records.find(
    (r) => r.kind === "preference" && (r.chosenSafe === undefined || r.rejectedSafe === undefined),
  );
  if (missing)
    throw new DataError(
      `${missing.source ?? missing.id}: the cost objective needs safety labels (chosenSafe and rejectedSafe) on every pair; this one has none (use the pku-dpo or pku-raw mapping, or add the fields)`,
    );
}

/** RAFT's reward and cost models: *ForSequenceClassification folders whose weights, tokenizer and template exist. */
async function checkScorers(config: RaftConfig): Promise<void> {
  const { raft } = config;
  const scorers: [string | undefined, string][] = [
    [raft.rewardModel, "--reward-model"],
    [raft.costModel, "--cost-model"],
  ];
  for (const [dir, what] of scorers) {
    if (dir === undefined) continue;
    checkModelFolder(dir, { what, weights: true });
    const modelConfig = readModelConfig(dir);
    if (modelConfig.task !== "sequence-classification")
      throw new ModelError(
        `${what}: ${dir}: expected a *ForSequenceClassification model, got a ${modelConfig.modelType} causal LM`,
      );
    checkTokenizerFile(dir, what);
    checkTemplate(await loadTokenizer(dir), raft.rewardTemplate, "--reward-template");
  }
}
