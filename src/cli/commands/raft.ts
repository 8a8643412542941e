// `safetune raft`: reward-ranked fine-tuning; a YAML config (--config) plus flag overrides, validated, then the run.
import { RaftConfigSchema } from "../../train/runConfig.js";
import { runRaft } from "../../train/runRaft.js";
import { UsageError } from "../errors.js";
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
  concurrency: "raft.concurrency",
};

/**
 * Flags read before the shared trainer parser sees the arguments: --endpoint repeats (the parser keeps only the
 * last value of a flag), and names must stay text (the parser reads "123" as a number).
 */
const ENDPOINT_FLAGS = {
  endpoint: "raft.endpoint",
  "api-model": "raft.apiModel",
  "api-key-env": "raft.apiKeyEnv",
};

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

export const raftHelp = trainerHelp("raft", DESCRIPTION, RAFT_FLAGS);

export async function raftCommand(argv: string[]): Promise<void> {
  await trainCommand(
    withEndpointFlagsAsSettings(argv),
    "raft",
    DESCRIPTION,
    RaftConfigSchema,
    RAFT_FLAGS,
    (config, o) => runRaft(config, o),
  );
}

/** The arguments with --endpoint, --api-model and --api-key-env turned into --set PATH=JSON (JSON is YAML). */
function withEndpointFlagsAsSettings(argv: string[]): string[] {
  const rest: string[] = [];
  const found: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const flag = match?.[1];
    if (!match || flag === undefined || !Object.hasOwn(ENDPOINT_FLAGS, flag)) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? argv[++i];
    if (value === undefined || (match[2] === undefined && value.startsWith("--")))
      throw new UsageError(`raft: --${flag} needs a value (see safetune raft --help)`);
    found[flag] = [...(found[flag] ?? []), value];
  }
  for (const [flag, values] of Object.entries(found)) {
    const path = ENDPOINT_FLAGS[flag as keyof typeof ENDPOINT_FLAGS];
    const value = flag === "endpoint" ? values : values[values.length - 1];
    rest.push("--set", `${path}=${JSON.stringify(value)}`);
  }
  return rest;
}
