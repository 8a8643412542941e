#!/usr/bin/env node
// The safetune command line: one file per command under commands/, errors as one line unless --verbose.
import { SafetuneError } from "../util/safetuneError.js";
import { SAFETUNE_VERSION } from "../version.js";
import { createModelCommand, createModelHelp } from "./commands/createModel.js";
import { dataCommand, dataHelp } from "./commands/data.js";
import { evalCommand, evalHelp } from "./commands/eval.js";
import { exportCommand, exportHelp } from "./commands/export.js";
import { generateCommand, generateHelp } from "./commands/generate.js";
import { inspectCommand, inspectHelp } from "./commands/inspect.js";
import { judgeCommand, judgeHelp } from "./commands/judge.js";
import { mergeCommand, mergeHelp } from "./commands/merge.js";
import { demoCommand, demoHelp, pipelineCommand, pipelineHelp } from "./commands/pipeline.js";
import { raftCommand, raftHelp } from "./commands/raft.js";
import { reportCommand, reportHelp } from "./commands/report.js";
import { rewardCommand, rewardHelp } from "./commands/reward.js";
import { serveCommand, serveHelp } from "./commands/serve.js";
import { dpoCommand, dpoHelp, sftCommand, sftHelp } from "./commands/train.js";
import { uiCommand, uiHelp } from "./commands/ui.js";

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; help: string; summary: string }> = {
  generate: { run: generateCommand, help: generateHelp, summary: "generate text or tokens with a model" },
  inspect: { run: inspectCommand, help: inspectHelp, summary: "describe a model folder" },
  "create-model": {
    run: createModelCommand,
    help: createModelHelp,
    summary: "build a small model (tokenizer + random weights) from scratch",
  },
  data: {
    run: dataCommand,
    help: dataHelp,
    summary: "build SIT mixtures, split by prompt, dataset statistics, request-classifier pairs",
  },
  sft: { run: sftCommand, help: sftHelp, summary: "supervised fine-tuning (SIT on a safety mixture)" },
  dpo: { run: dpoCommand, help: dpoHelp, summary: "direct preference optimisation and its loss variants" },
  raft: {
    run: raftCommand,
    help: raftHelp,
    summary: "reward-ranked fine-tuning: sample K, score, keep the best, fine-tune",
  },
  reward: {
    run: rewardCommand,
    help: rewardHelp,
    summary: "reward model (Bradley-Terry) or safety cost model on preference pairs",
  },
  eval: {
    run: evalCommand,
    help: evalHelp,
    summary: "evaluate safety and helpfulness on benchmarks, with judges and intervals; compare runs",
  },
  judge: { run: judgeCommand, help: judgeHelp, summary: "measure a judge against human labels (calibrate)" },
  report: {
    run: reportCommand,
    help: reportHelp,
    summary: "comparison table across runs; rebuild a run's report",
  },
  pipeline: {
    run: pipelineCommand,
    help: pipelineHelp,
    summary: "run a pipeline file: cached stages from data to aligned, evaluated models",
  },
  demo: {
    run: demoCommand,
    help: demoHelp,
    summary: "the paper's experiment on the built-in synthetic world (under 10 min on 2 CPU cores)",
  },
  serve: {
    run: serveCommand,
    help: serveHelp,
    summary: "serve a model behind an OpenAI-compatible API with safety guards and a dashboard",
  },
  ui: {
    run: uiCommand,
    help: uiHelp,
    summary: "web dashboard of evaluation runs: reports, samples, comparisons",
  },
  merge: {
    run: mergeCommand,
    help: mergeHelp,
    summary: "fold a LoRA adapter into its base model: a plain Hugging Face folder",
  },
  export: {
    run: exportCommand,
    help: exportHelp,
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
    await command.run(rest);
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
