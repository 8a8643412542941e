// `safetune raft`: reward-ranked fine-tuning; a YAML config (--config) plus flag overrides, validated, then the run.
import { parseValue, RaftConfigSchema, resolveConfig } from "../../train/runConfig.js";
import { runRaft } from "../../train/runRaft.js";
import { parseCommandArgs } from "../args.js";
import { UsageError } from "../errors.js";

/** Flags and the config path each one sets. */
const FLAGS: Record<string, string> = {
  model: "model",
  out: "out",
  data: "data.train",
  mapping: "data.mapping",
  limit: "data.limit",
  template: "template",
  "max-length": "maxLength",
  "reward-model": "raft.rewardModel",
  "reward-template": "raft.rewardTemplate",
  "cost-model": "raft.costModel",
  "cost-lambda": "raft.costLambda",
  iterations: "raft.iterations",
  prompts: "raft.promptsPerIteration",
  k: "raft.k",
  "max-new-tokens": "raft.maxNewTokens",
  temperature: "raft.temperature",
  "top-p": "raft.topP",
  selection: "raft.selection",
  "top-fraction": "raft.topFraction",
  "min-chars": "raft.minChars",
  "max-repeat-fraction": "raft.maxRepeatFraction",
  "steps-per-iteration": "raft.stepsPerIteration",
  epochs: "training.epochs",
  "batch-size": "training.batchSize",
  "grad-accum": "training.gradientAccumulation",
  lr: "training.lr",
  "weight-decay": "training.weightDecay",
  schedule: "training.schedule",
  "max-grad-norm": "training.maxGradNorm",
  seed: "training.seed",
  "lora-r": "lora.r",
  "lora-alpha": "lora.alpha",
};

export const raftHelp = `safetune raft [--config run.yaml] --model DIR --out DIR --data PROMPTS --reward-model DIR [flags]

RAFT (reward-ranked fine-tuning): each iteration draws a batch of prompts, samples K answers per prompt, scores
them with the reward model (minus cost-lambda × the cost model's score when --cost-model is given), drops
degenerate answers (too short, one character or word repeated, looping), selects the best answer of each prompt
(--selection best-of-k) or the best --top-fraction of all answers (--selection top-fraction), and fine-tunes on
the selection. Every sample is kept in OUT/iterations/iter-000N.jsonl; figures per iteration in OUT/raft.jsonl.
The reward (and cost) model is a *ForSequenceClassification folder; answers are re-tokenized with its own
tokenizer and chat template (--reward-template when it has none).
Options come from the YAML config (the raft: section, see docs/training.md), then the flags below override them:

${Object.entries(FLAGS)
  .map(([flag, path]) => `  --${flag.padEnd(20)} ${path}`)
  .join("\n")}
  --lora                  train a LoRA adapter (r 8, alpha 16, q/k/v unless set)
  --skip-invalid          skip bad data rows and count them instead of stopping
  --set PATH=VALUE        set any config field, e.g. --set raft.topP=0.9 (repeatable)`;

export async function raftCommand(argv: string[]): Promise<void> {
  const spec = Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: "string" as const }]));
  const { values } = parseCommandArgs(
    argv,
    {
      ...spec,
      config: { type: "string" },
      lora: { type: "boolean" },
      "skip-invalid": { type: "boolean" },
      set: { type: "string", multiple: true },
    },
    "raft",
  );
  if (values.help) {
    console.log(raftHelp);
    return;
  }
  const all = values as Record<string, unknown>;
  const overrides: [string, unknown][] = Object.entries(FLAGS).map(([flag, path]) => [
    path,
    typeof all[flag] === "string"
      ? // Folders and names stay text even when they read as numbers.
        ["model", "out", "data", "reward-model", "cost-model", "template", "reward-template"].includes(flag)
        ? all[flag]
        : parseValue(all[flag] as string)
      : undefined,
  ]);
  if (values.lora && all["lora-r"] === undefined) overrides.push(["lora.r", 8]);
  if (values["skip-invalid"]) overrides.push(["data.skipInvalid", true]);
  for (const assignment of (all.set as string[] | undefined) ?? []) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set: expected PATH=VALUE, got '${assignment}'`);
    overrides.push([assignment.slice(0, eq), parseValue(assignment.slice(eq + 1))]);
  }
  // The raft section is required by the schema; flags alone may create it.
  const config = resolveConfig(RaftConfigSchema, values.config as string | undefined, overrides);
  if (!config.raft.rewardModel)
    throw new UsageError("raft: --reward-model DIR (or raft.rewardModel in the config) is required");
  const result = await runRaft(config, { log: (line) => console.error(line) });
  const last = result.history[result.history.length - 1];
  console.log(
    `raft: ${result.history.length} iterations, ${result.summary.steps} steps` +
      (last ? `; last mean reward ${last.mean_reward.toPrecision(4)}` : "") +
      `; model written to ${result.modelDir}`,
  );
}
