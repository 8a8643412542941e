#!/usr/bin/env node
// The safetune command line: one file per command under commands/, errors as one line unless --verbose.
import { SafetuneError } from "../util/safetuneError.js";
import { SAFETUNE_VERSION } from "../version.js";

/** A command's entry point, loaded only when that command runs (see COMMANDS). */
type CommandRun = (argv: string[]) => Promise<void>;

/**
 * Every command, with the line `safetune --help` shows for it. Each command's module (and everything it imports:
 * the libtorch addon, tokenizers, the HTTP server, the trainers) is imported only when that command runs, so a
 * `generate` does not pay the start-up time and memory of parsing the trainers', the server's and the UI's
 * module graphs. A command's own `--help` text lives in its module.
 */
const COMMANDS: Record<string, { load: () => Promise<CommandRun>; summary: string }> = {
  generate: {
    load: async () => (await import("./commands/generate.js")).generateCommand,
    summary: "generate text or tokens with a model",
  },
  inspect: {
    load: async () => (await import("./commands/inspect.js")).inspectCommand,
    summary: "describe a model folder",
  },
  "create-model": {
    load: async () => (await import("./commands/createModel.js")).createModelCommand,
    summary: "build a small model (tokenizer + random weights) from scratch",
  },
  data: {
    load: async () => (await import("./commands/data.js")).dataCommand,
    summary: "build SIT mixtures, split by prompt, dataset statistics, request-classifier pairs",
  },
  sft: {
    load: async () => (await import("./commands/train.js")).sftCommand,
    summary: "supervised fine-tuning (SIT on a safety mixture)",
  },
  dpo: {
    load: async () => (await import("./commands/train.js")).dpoCommand,
    summary: "direct preference optimisation and its loss variants",
  },
  raft: {
    load: async () => (await import("./commands/raft.js")).raftCommand,
    summary: "reward-ranked fine-tuning: sample K, score, keep the best, fine-tune",
  },
  reward: {
    load: async () => (await import("./commands/reward.js")).rewardCommand,
    summary: "reward model (Bradley-Terry) or safety cost model on preference pairs",
  },
  eval: {
    load: async () => (await import("./commands/eval.js")).evalCommand,
    summary: "evaluate safety and helpfulness on benchmarks, with judges and intervals; compare runs",
  },
  judge: {
    load: async () => (await import("./commands/judge.js")).judgeCommand,
    summary: "measure a judge against human labels (calibrate)",
  },
  report: {
    load: async () => (await import("./commands/report.js")).reportCommand,
    summary: "comparison table across runs; rebuild a run's report",
  },
  pipeline: {
    load: async () => (await import("./commands/pipeline.js")).pipelineCommand,
    summary: "run a pipeline file: cached stages from data to aligned, evaluated models",
  },
  demo: {
    load: async () => (await import("./commands/pipeline.js")).demoCommand,
    summary: "the paper's experiment on the built-in synthetic world (under 10 min on 2 CPU cores)",
  },
  serve: {
    load: async () => (await import("./commands/serve.js")).serveCommand,
    summary: "serve a model behind an OpenAI-compatible API with safety guards and a dashboard",
  },
  ui: {
    load: async () => (await import("./commands/ui.js")).uiCommand,
    summary: "web dashboard of evaluation runs: reports, samples, comparisons",
  },
  merge: {
    load: async () => (await import("./commands/merge.js")).mergeCommand,
    summary: "fold a LoRA adapter into its base model: a plain Hugging Face folder",
  },
  export: {
    load: async () => (await import("./commands/export.js")).exportCommand,
    summary: "write a model (and merged LoRA adapter) as GGUF for llama.cpp / Ollama",
  },
};

const USAGE = `safetune: align language models for safety, evaluate them, and serve them

usage: safetune <command> [options]   (safetune <command> --help for a command's options; safetune --version)

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`)
  .join("\n")}`;

/**
 * Whether an error's message is already the one line a user needs: safetune's own errors (SafetuneError: a bad file,
 * flag or field, a stopped run), a RangeError (an option out of range, from a library function) and Node's
 * SystemError (a file or socket call that failed, naming the path). Anything else is a bug: it gets the --verbose hint.
 */
function isExpected(error: Error): boolean {
  return error instanceof SafetuneError || error instanceof RangeError || error.name === "SystemError";
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(`safetune ${SAFETUNE_VERSION}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`safetune: unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(", ")})`);
    return 1;
  }
  try {
    // Inside the try: a module that fails to load (a missing native addon) is reported like any other error.
    const run = await command.load();
    await run(rest);
    return 0;
  } catch (err) {
    const verbose = rest.includes("--verbose");
    const error = err instanceof Error ? err : new Error(String(err));
    if (verbose) console.error(error.stack);
    else if (isExpected(error)) console.error(oneLine(error.message));
    else console.error(`${oneLine(error.message)} (run with --verbose for details)`);
    // The error says how the command ends (130 for a run stopped by Ctrl-C, as shells report it); 1 otherwise.
    return error instanceof SafetuneError ? error.exitCode : 1;
  }
}

function oneLine(message: string): string {
  const first = message.split("\n")[0] ?? "";
  return first.startsWith("safetune") ? first : `safetune: ${first}`;
}

// `safetune ... | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
