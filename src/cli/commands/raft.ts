// `safetune raft`: reward-ranked fine-tuning; a YAML config (--config) plus flag overrides, validated, then the run.
import { RaftConfigSchema } from "../../train/runConfig.js";
import { runRaft } from "../../train/runRaft.js";
import { trainCommand, trainerHelp } from "./train.js";

const DESCRIPTION = `RAFT (reward-ranked fine-tuning): each iteration draws a batch of prompts, samples K answers per prompt, scores
them with the reward model (minus cost-lambda × the cost model's score when --cost-model is given), drops
degenerate answers (too short, one character or word repeated, looping), selects the best answer of each prompt
(--selection best-of-k) or the best --top-fraction of all answers (--selection top-fraction), and fine-tunes on
the selection. Every sample is kept in OUT/iterations/iter-000N.jsonl; figures per iteration in OUT/raft.jsonl.
The reward (and cost) model is a *ForSequenceClassification folder; answers are re-tokenized with its own
tokenizer and chat template (--reward-template when it has none).

Sampling from servers of the starting policy (vLLM, TGI, llama.cpp server, safetune serve) instead of locally:
  --endpoint URL      an OpenAI-compatible base URL serving --model (repeatable: replicas share the load)
  --api-model NAME    the policy's name at the endpoint(s)
  --api-key-env VAR   environment variable holding their API key (default OPENAI_API_KEY, if set)
  --concurrency N     requests in flight per endpoint (default 8)
Candidates are seeded per answer as local sampling is; scoring and fine-tuning stay local. A server's model does
not change, so this needs --iterations 1 (restart the servers with the new model for another round).`;

export const raftHelp = trainerHelp("raft", DESCRIPTION, RaftConfigSchema);

export async function raftCommand(argv: string[]): Promise<void> {
  await trainCommand(argv, "raft", DESCRIPTION, RaftConfigSchema, (config, o) => runRaft(config, o));
}
