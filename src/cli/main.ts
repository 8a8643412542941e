#!/usr/bin/env node
// The safetune command line: one file per command under commands/, errors as one line unless --verbose.
import { DataError } from "../data/errors.js";
import { DistributedError } from "../distributed/errors.js";
import { EndpointError } from "../endpoint/openaiEndpoint.js";
import { EngineUnavailableError } from "../engine/native.js";
import { EvalInterrupted, EvaluationError } from "../eval/errors.js";
import { ExportError } from "../export/errors.js";
import { ModelError } from "../model/errors.js";
import { SafetensorsError } from "../model/safetensors.js";
import { PipelineError } from "../pipeline/errors.js";
import { ServerStartError } from "../serve/serverStartError.js";
import { ChatTemplateError } from "../tokenize/chatTemplate.js";
import { TokenizerFileError } from "../tokenize/files.js";
import { TrainingExampleError } from "../tokenize/trainingExample.js";
import { TrainingError, TrainingInterrupted } from "../train/trainingLoop.js";
import { ConfigError } from "../util/configError.js";
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
import { UsageError } from "./errors.js";

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

/** Errors whose message is already the one line a user needs. */
const EXPECTED = [
  UsageError,
  ModelError,
  ExportError,
  SafetensorsError,
  TokenizerFileError,
  ChatTemplateError,
  EngineUnavailableError,
  DataError,
  ConfigError,
  TrainingError,
  TrainingInterrupted,
  TrainingExampleError,
  EvaluationError,
  EvalInterrupted,
  EndpointError,
  PipelineError,
  ServerStartError,
  DistributedError,
  RangeError,
];

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
    else if (EXPECTED.some((E) => error instanceof E) || error.name === "SystemError")
      console.error(oneLine(error.message));
    else console.error(`${oneLine(error.message)} (run with --verbose for details)`);
    // 130: stopped by Ctrl-C, as shells report it.
    return error instanceof TrainingInterrupted || error instanceof EvalInterrupted ? 130 : 1;
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
