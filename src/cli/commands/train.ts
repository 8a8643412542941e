// `safetune sft` and `safetune dpo`: a YAML config (--config) plus flag overrides, validated, then the run.
import type { z } from "zod";
import { processGroupOptionsFromEnv } from "../../distributed/env.js";
import { extractLaunchFlags, launchWorkers } from "../../distributed/launch.js";
import { ProcessGroup } from "../../distributed/processGroup.js";
import { latestCheckpoint } from "../../train/checkpoints.js";
import { setDataParallel } from "../../train/dataParallel.js";
import { DpoConfigSchema, parseValue, resolveConfig, SftConfigSchema } from "../../train/runConfig.js";
import { runDpo } from "../../train/runDpo.js";
import { runSft } from "../../train/runSft.js";
import { parseCommandArgs } from "../args.js";
import { UsageError } from "../errors.js";

/** Flags shared by every trainer and the config path each one sets. */
/** Config fields that are always text. */
const TEXT_PATHS = new Set([
  "model",
  "out",
  "data.train",
  "data.eval",
  "data.mapping",
  "template",
  "dpo.referenceCache",
  "raft.rewardModel",
  "raft.costModel",
  "raft.rewardTemplate",
]);

export const COMMON_FLAGS: Record<string, string> = {
  model: "model",
  out: "out",
  data: "data.train",
  "eval-data": "data.eval",
  mapping: "data.mapping",
  limit: "data.limit",
  template: "template",
  "max-length": "maxLength",
  epochs: "training.epochs",
  "max-steps": "training.maxSteps",
  "batch-size": "training.batchSize",
  "grad-accum": "training.gradientAccumulation",
  lr: "training.lr",
  "weight-decay": "training.weightDecay",
  schedule: "training.schedule",
  "warmup-ratio": "training.warmupRatio",
  "max-grad-norm": "training.maxGradNorm",
  "eval-every": "training.evalEvery",
  "save-every": "training.saveEvery",
  seed: "training.seed",
  "lora-r": "lora.r",
  "lora-alpha": "lora.alpha",
};

const DPO_FLAGS: Record<string, string> = {
  loss: "dpo.loss",
  beta: "dpo.beta",
  "label-smoothing": "dpo.labelSmoothing",
  "simpo-gamma": "dpo.simpoGamma",
  "sft-weight": "dpo.sftWeight",
};

export function trainerHelp(command: string, description: string, extra: Record<string, string>): string {
  const flags = { ...COMMON_FLAGS, ...extra };
  return `safetune ${command} [--config run.yaml] [flags]

${description}
Options come from the YAML config (see docs/training.md), then the flags below override them:

${Object.entries(flags)
  .map(([flag, path]) => `  --${flag.padEnd(16)} ${path}`)
  .join("\n")}
  --lora              train a LoRA adapter (r 8, alpha 16, q/k/v unless set)
  --skip-invalid      skip bad data rows and count them instead of stopping
  --set PATH=VALUE    set any config field, e.g. --set training.beta2=0.95 (repeatable)
  --resume            continue the run in --out from its last checkpoint

Data-parallel training (c10d over Gloo; torchrun's RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT also work):
  --nproc N           worker processes on this machine; each takes its shard of every global batch
  --nnodes N          machines in the job (default 1), with --node-rank R (0 hosts the rendezvous)
  --master-addr A     address of node 0 (default 127.0.0.1), --master-port P (default: a free port)`;
}

/** Parses a trainer's flags over its YAML config, validates, runs, and reports where the model went. */
export async function trainCommand<S extends z.ZodType>(
  argv: string[],
  command: string,
  description: string,
  schema: S,
  extra: Record<string, string>,
  run: (
    config: z.infer<S>,
    options: { resume: boolean; log: (line: string) => void },
  ) => Promise<{ modelDir: string; summary: { steps: number; eval?: Record<string, number> } }>,
): Promise<void> {
  const { flags: launch, rest } = extractLaunchFlags(argv);
  if (launch && (launch.nproc > 1 || launch.nnodes > 1)) {
    await launchWorkers([command, ...rest], launch);
    return;
  }
  joinDataParallelJob();
  return trainOneProcess(rest, command, description, schema, extra, run);
}

/** A worker started by the launcher (or torchrun-style variables) joins its process group before training. */
function joinDataParallelJob(): void {
  const options = processGroupOptionsFromEnv();
  if (!options || options.worldSize <= 1) return;
  const group = ProcessGroup.init(options);
  setDataParallel({ group, rank: options.rank, worldSize: options.worldSize });
}

async function trainOneProcess<S extends z.ZodType>(
  argv: string[],
  command: string,
  description: string,
  schema: S,
  extra: Record<string, string>,
  run: (
    config: z.infer<S>,
    options: { resume: boolean; log: (line: string) => void },
  ) => Promise<{ modelDir: string; summary: { steps: number; eval?: Record<string, number> } }>,
): Promise<void> {
  const flags = { ...COMMON_FLAGS, ...extra };
  const spec = Object.fromEntries(Object.keys(flags).map((f) => [f, { type: "string" as const }]));
  const { values } = parseCommandArgs(
    argv,
    {
      ...spec,
      config: { type: "string" },
      lora: { type: "boolean" },
      "skip-invalid": { type: "boolean" },
      resume: { type: "boolean" },
      set: { type: "string", multiple: true },
    },
    command,
  );
  if (values.help) {
    console.log(trainerHelp(command, description, extra));
    return;
  }
  const all = values as Record<string, unknown>;
  const overrides: [string, unknown][] = Object.entries(flags).map(([flag, path]) => {
    const text = all[flag];
    if (typeof text !== "string") return [path, undefined];
    // Folders, files and names stay text even when they read as numbers or booleans.
    return [path, TEXT_PATHS.has(path) ? text : parseValue(text)];
  });
  if (values.lora && all["lora-r"] === undefined) overrides.push(["lora.r", 8]);
  if (values["skip-invalid"]) overrides.push(["data.skipInvalid", true]);
  for (const assignment of (all.set as string[] | undefined) ?? []) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set: expected PATH=VALUE, got '${assignment}'`);
    overrides.push([assignment.slice(0, eq), parseValue(assignment.slice(eq + 1))]);
  }
  const config = resolveConfig(schema, values.config as string | undefined, overrides);
  const out = (config as { out: string }).out;
  if (values.resume && !latestCheckpoint(out))
    console.error(`safetune: --resume: no checkpoint in ${out} yet; starting from the beginning`);
  const result = await run(config, { resume: values.resume === true, log: (line) => console.error(line) });
  const evalText = Object.entries(result.summary.eval ?? {})
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(", ");
  console.log(
    `${command}: ${result.summary.steps} steps; ${evalText ? `eval ${evalText}; ` : ""}model written to ${result.modelDir}`,
  );
}

const SFT_DESCRIPTION =
  "Supervised fine-tuning (SIT: on a mixture of instruction data and safety demonstrations).";
const DPO_DESCRIPTION =
  "Direct preference optimisation on chosen/rejected pairs (sigmoid, ipo, hinge, robust, simpo).";
export const sftHelp = trainerHelp("sft", SFT_DESCRIPTION, { packing: "packing" });
export const dpoHelp = trainerHelp("dpo", DPO_DESCRIPTION, DPO_FLAGS);

export async function sftCommand(argv: string[]): Promise<void> {
  await trainCommand(argv, "sft", SFT_DESCRIPTION, SftConfigSchema, { packing: "packing" }, (config, o) =>
    runSft(config, o),
  );
}

export async function dpoCommand(argv: string[]): Promise<void> {
  await trainCommand(argv, "dpo", DPO_DESCRIPTION, DpoConfigSchema, DPO_FLAGS, (config, o) =>
    runDpo(config, o),
  );
}
