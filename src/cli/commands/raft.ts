// `safetune raft`: reward-ranked fine-tuning; a YAML config (--config) plus flag overrides, validated, then the run.
import { RaftConfigSchema } from "../../train/runConfig.js";
import { runRaft } from "../../train/runRaft.js";
import { trainCommand, trainerHelp } from "./train.js";

const RAFT_FLAGS: Record<string, string> = {
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
};

const DESCRIPTION = `RAFT (reward-ranked fine-tuning): each iteration draws a batch of prompts, samples K answers per prompt, scores
them with the reward model (minus cost-lambda × the cost model's score when --cost-model is given), drops
degenerate answers (too short, one character or word repeated, looping), selects the best answer of each prompt
(--selection best-of-k) or the best --top-fraction of all answers (--selection top-fraction), and fine-tunes on
the selection. Every sample is kept in OUT/iterations/iter-000N.jsonl; figures per iteration in OUT/raft.jsonl.
The reward (and cost) model is a *ForSequenceClassification folder; answers are re-tokenized with its own
tokenizer and chat template (--reward-template when it has none).`;

export const raftHelp = trainerHelp("raft", DESCRIPTION, RAFT_FLAGS);

export async function raftCommand(argv: string[]): Promise<void> {
  await trainCommand(argv, "raft", DESCRIPTION, RaftConfigSchema, RAFT_FLAGS, (config, o) =>
    runRaft(config, o),
  );
}
