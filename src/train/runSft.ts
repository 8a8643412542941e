// `safetune sft`: supervised fine-tuning on instruction or chat records (SIT is SFT on a safety mixture), or on
// plain text records (continued pretraining: every token trained, no chat template).
import type { ChatRecord, InstructionRecord } from "../data/records.js";
import { packExamples } from "../tokenize/packing.js";
import { tokenizeText } from "../tokenize/textExample.js";
import { tokenizeRecord } from "../tokenize/trainingExample.js";
import type { SftConfig } from "./runConfig.js";
import { prepareRun, type TrainerOptions, trainAndSave } from "./runTrainer.js";
import { sftTask } from "./sft.js";

export async function runSft(config: SftConfig, options: TrainerOptions = {}) {
  const run = await prepareRun(config, ["chat", "text"], { dataParallel: options.dataParallel });
  const tokenize = (records: typeof run.train) =>
    records.map((r) =>
      r.kind === "text"
        ? tokenizeText(run.tokenizer, r, { maxLength: config.maxLength })
        : tokenizeRecord(run.tokenizer, r as InstructionRecord | ChatRecord, {
            maxLength: config.maxLength,
            template: config.template,
          }),
    );
  const tokenized = tokenize(run.train);
  const examples = config.packing ? packExamples(tokenized, config.maxLength) : tokenized;
  const evalExamples = tokenize(run.evalRecords);
  const task = sftTask(
    run.model,
    examples,
    { padTokenId: run.padTokenId },
    evalExamples.length ? { examples: evalExamples, batchSize: config.training.batchSize } : undefined,
  );
  const result = await trainAndSave(run, config, task, "SFT", {
    resume: options.resume ?? false,
    ...(options.label === undefined ? {} : { label: options.label }),
  });
  return {
    ...result,
    model: run.model,
    tokenizer: run.tokenizer,
    examples: tokenized.length,
    rows: examples.length,
  };
}
