// `safetune dpo`: preference optimisation on chosen/rejected pairs with cached reference log-probs.
import { join } from "node:path";
import type { PreferenceRecord } from "../data/records.js";
import { tokenizePreference } from "../tokenize/trainingExample.js";
import { cachedReferenceLogProbs, dpoTask, type TokenizedPair } from "./dpo.js";
import type { DpoConfig } from "./runConfig.js";
import { prepareRun, type TrainerOptions, trainAndSave } from "./runTrainer.js";

export async function runDpo(config: DpoConfig, options: TrainerOptions = {}) {
  const run = await prepareRun(config, "preference", { dataParallel: options.dataParallel });
  const tokenize = (records: typeof run.train): TokenizedPair[] =>
    records.map((r) =>
      tokenizePreference(run.tokenizer, r as PreferenceRecord, {
        maxLength: config.maxLength,
        template: config.template,
      }),
    );
  const pairs = tokenize(run.train);
  const evalPairs = tokenize(run.evalRecords);
  const cacheDir = config.dpo.referenceCache ?? join(config.out, "cache");
  const refOptions = {
    padTokenId: run.padTokenId,
    batchSize: config.training.batchSize,
    dataParallel: run.dataParallel,
  };
  // Reference log-probs come from the starting weights (with LoRA: the base, adapter off), before any update.
  const reference = cachedReferenceLogProbs(run.model, pairs, cacheDir, refOptions);
  const evalReference = evalPairs.length
    ? cachedReferenceLogProbs(run.model, evalPairs, cacheDir, refOptions)
    : undefined;
  options.log?.(
    `reference log-probs: ${reference.cached ? "read from" : "computed and cached in"} ${reference.path}`,
  );
  const task = dpoTask(
    run.model,
    pairs,
    reference.reference,
    { ...config.dpo, padTokenId: run.padTokenId },
    evalReference
      ? { pairs: evalPairs, reference: evalReference.reference, batchSize: config.training.batchSize }
      : undefined,
  );
  const result = await trainAndSave(run, config, task, "DPO", {
    resume: options.resume ?? false,
    ...(options.label === undefined ? {} : { label: options.label }),
  });
  return {
    ...result,
    model: run.model,
    tokenizer: run.tokenizer,
    pairs: pairs.length,
    referenceCached: reference.cached,
  };
}
