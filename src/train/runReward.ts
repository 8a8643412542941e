// `safetune reward`: a Bradley-Terry reward model (or a safe-rlhf cost model) on preference pairs, saved as a
// *ForSequenceClassification folder with one output.
import type { DataRecord, PreferenceRecord } from "../data/records.js";
import { rewardModelFrom } from "../model/rewardModel.js";
import { tokenizePreference } from "../tokenize/trainingExample.js";
import { type RewardPair, requireSafetyLabels, rewardTask } from "./reward.js";
import type { RewardConfig } from "./runConfig.js";
import { prepareRun, type TrainerOptions, trainAndSave } from "./runTrainer.js";

export async function runReward(config: RewardConfig, options: TrainerOptions = {}) {
  // Full fine-tuning only: a LoRA run would save an adapter without the new score head.
  // With LoRA the new score head trains in full beside the adapter, and the result is saved merged: a PEFT
  // adapter would not carry the head.
  const run = await prepareRun(config, "preference", {
    extraTrainable: ["score.weight"],
    dataParallel: options.dataParallel,
    model: (tokenizer, placement) =>
      rewardModelFrom(config.model, {
        ...placement,
        seed: config.training.seed,
        padTokenId: tokenizer.padTokenId ?? tokenizer.eosTokenId,
      }),
  });
  const tokenize = (records: DataRecord[]): RewardPair[] =>
    records.map((r) => {
      const record = r as PreferenceRecord;
      const pair: RewardPair = tokenizePreference(run.tokenizer, record, {
        maxLength: config.maxLength,
        template: config.template,
      });
      if (record.chosenSafe !== undefined) pair.chosenSafe = record.chosenSafe;
      if (record.rejectedSafe !== undefined) pair.rejectedSafe = record.rejectedSafe;
      return pair;
    });
  const pairs = tokenize(run.train);
  const evalPairs = tokenize(run.evalRecords);
  const objective = config.reward.objective;
  if (objective === "cost") {
    try {
      requireSafetyLabels(pairs, config.data.train);
      if (config.data.eval) requireSafetyLabels(evalPairs, config.data.eval);
    } catch (err) {
      run.model.dispose();
      throw err;
    }
  }
  const task = rewardTask(
    run.model,
    pairs,
    { ...config.reward, padTokenId: run.padTokenId },
    evalPairs.length ? { pairs: evalPairs, batchSize: config.training.batchSize } : undefined,
  );
  options.log?.(`${objective} model: ${pairs.length} training pairs, ${evalPairs.length} eval pairs`);
  const result = await trainAndSave(run, config, task, objective === "cost" ? "Cost model" : "Reward model", {
    resume: options.resume ?? false,
    merge: true,
    ...(options.label === undefined ? {} : { label: options.label }),
  });
  return { ...result, model: run.model, tokenizer: run.tokenizer, pairs: pairs.length };
}
