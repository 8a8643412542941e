// `safetune sft` and `safetune dpo`: a YAML config (--config) plus flag overrides, validated, then the run.
import type { z } from "zod";
import { DataError } from "../../data/errors.js";
import { processGroupOptionsFromEnv } from "../../distributed/env.js";
import { extractLaunchFlags, launchWorkers } from "../../distributed/launch.js";
import { ProcessGroup } from "../../distributed/processGroup.js";
import { latestCheckpoint } from "../../train/checkpoints.js";
import type { DataParallel } from "../../train/dataParallel.js";
import { type ConfigField, configNames } from "../../train/optionNames.js";
import { type CommonConfig, DpoConfigSchema, resolveConfig, SftConfigSchema } from "../../train/runConfig.js";
import { runDpo } from "../../train/runDpo.js";
import { runSft } from "../../train/runSft.js";
import { parseValue } from "../../util/configValues.js";
import { type FlagForms, type OptionSpec, parseCommandArgs } from "../args.js";
import { UsageError } from "../errors.js";
import { preflightTraining } from "../trainPreflight.js";

/** The flags of a trainer: one per option of its config schema, under every name the option has (optionNames.ts). */
export function trainerFlags(schema: z.ZodType): { spec: OptionSpec; forms: FlagForms } {
  const { fields, flags } = configNames(schema);
  const spec: OptionSpec = {};
  for (const f of fields) spec[f.flag] = { type: "string", ...(f.kind === "list" ? { multiple: true } : {}) };
  const aliases = new Map<string, string>();
  for (const [name, f] of flags) if (name !== f.flag) aliases.set(name, f.flag);
  const switches = new Set(
    fields.filter((f) => f.kind === "boolean" || f.kind === "switch").map((f) => f.flag),
  );
  const lists = new Set(fields.filter((f) => f.kind === "list").map((f) => f.flag));
  return { spec, forms: { aliases, switches, lists } };
}

/** A flag's text(s) as the option's value: names stay text, lists split at commas, the rest read as YAML. */
function flagValue(field: ConfigField, text: string | string[]): unknown {
  if (Array.isArray(text)) {
    const items = text
      .flatMap((t) => t.split(","))
      .map((t) => t.trim())
      .filter((t) => t !== "");
    // PEFT reads one string as a regular expression or "all-linear"; a list of one name is a name.
    return items.length === 1 && items[0] === "all-linear" ? items[0] : items;
  }
  return field.kind === "text" ? text : parseValue(text);
}

function helpLines(schema: z.ZodType): string {
  const { fields } = configNames(schema);
  const width = Math.max(...fields.map((f) => f.flag.length)) + 2;
  return fields
    .map((f) => {
      const other = f.otherNames.filter((n) => n.replace(/_/g, "-") !== f.flag);
      const also = other.length ? `  (TRL/HF: --${other.join(", --")})` : "";
      const what = f.kind === "switch" ? `${f.path} on (defaults) / off` : f.path;
      return `  --${f.flag.padEnd(width)} ${what}${also}`;
    })
    .join("\n");
}

export function trainerHelp(command: string, description: string, schema: z.ZodType): string {
  return `safetune ${command} [--config run.yaml] [flags]

${description}
Options come from the YAML config (see docs/training.md; TRL's flat names work too), then the flags below
override them. Flags may be written with - or _ (--learning-rate, --learning_rate); switches stand alone.

${helpLines(schema)}
  --set PATH=VALUE    set any config field, e.g. --set training.beta2=0.95 (repeatable)
  --resume            continue the run in --out from its last checkpoint
  --overwrite         replace the finished run in --out (without it, a folder holding one is refused)

Data-parallel training (c10d over Gloo; torchrun's RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT also work):
  --nproc N           worker processes on this machine; each takes its shard of every global batch
  --nnodes N          machines in the job (default 1), with --node-rank R (0 hosts the rendezvous)
  --master-addr A     address of node 0 (default 127.0.0.1), --master-port P (default: a free port)`;
}

/** What a trainer command runs once its config is resolved: where the model went and how training went. */
type TrainerRun<S extends z.ZodType> = (
  config: z.infer<S>,
  options: { resume: boolean; log: (line: string) => void; dataParallel?: DataParallel },
) => Promise<{ modelDir: string; summary: { steps: number; eval?: Record<string, number> } }>;

/** Parses a trainer's flags over its YAML config, validates, runs, and reports where the model went. */
export async function trainCommand<S extends z.ZodType>(
  argv: string[],
  command: string,
  description: string,
  schema: S,
  run: TrainerRun<S>,
): Promise<void> {
  const { flags: launch, rest } = extractLaunchFlags(argv);
  if (launch && (launch.nproc > 1 || launch.nnodes > 1)) {
    // The inputs are checked once here, before any worker starts (each then checks them again, cheaply).
    const parsed = resolveTrainerArgs(rest, command, description, schema);
    if (!parsed) return;
    await preflight(command, parsed);
    await launchWorkers([command, ...rest], launch);
    return;
  }
  return trainOneProcess(rest, command, description, schema, run, joinDataParallelJob());
}

/** A worker started by the launcher (or torchrun-style variables) joins its process group before training. */
function joinDataParallelJob(): DataParallel | undefined {
  const options = processGroupOptionsFromEnv();
  if (!options || options.worldSize <= 1) return undefined;
  const group = ProcessGroup.init(options);
  return { group, rank: options.rank, worldSize: options.worldSize };
}

interface TrainerArgs<C> {
  config: C;
  resume: boolean;
  overwrite: boolean;
}

/** The resolved config and run flags of a trainer's argv; undefined when --help was printed instead. */
function resolveTrainerArgs<S extends z.ZodType>(
  argv: string[],
  command: string,
  description: string,
  schema: S,
): TrainerArgs<z.infer<S>> | undefined {
  const { spec, forms } = trainerFlags(schema);
  const { values } = parseCommandArgs(
    argv,
    {
      ...spec,
      config: { type: "string" },
      resume: { type: "boolean" },
      overwrite: { type: "boolean" },
      set: { type: "string", multiple: true },
    },
    command,
    { forms },
  );
  if (values.help) {
    console.log(trainerHelp(command, description, schema));
    return undefined;
  }
  const all = values as Record<string, string | string[] | undefined>;
  const overrides: [string, unknown][] = [];
  for (const field of configNames(schema).fields) {
    const text = all[field.flag];
    if (text !== undefined) overrides.push([field.path, flagValue(field, text)]);
  }
  for (const assignment of (all.set as string[] | undefined) ?? []) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set: expected PATH=VALUE, got '${assignment}'`);
    overrides.push([assignment.slice(0, eq), parseValue(assignment.slice(eq + 1))]);
  }
  return {
    config: resolveConfig(schema, values.config as string | undefined, overrides),
    resume: values.resume === true,
    overwrite: values.overwrite === true,
  };
}

/** Everything that needs no weights, checked before the model loads (tens of seconds at real sizes). */
async function preflight(command: string, args: TrainerArgs<unknown>): Promise<void> {
  const { config, resume, overwrite } = args;
  await preflightTraining(command, config as CommonConfig, { resume, overwrite }).catch((error: unknown) => {
    throw withSkipInvalidHint(error, config);
  });
}

async function trainOneProcess<S extends z.ZodType>(
  argv: string[],
  command: string,
  description: string,
  schema: S,
  run: TrainerRun<S>,
  dataParallel: DataParallel | undefined,
): Promise<void> {
  const parsed = resolveTrainerArgs(argv, command, description, schema);
  if (!parsed) return;
  const { config } = parsed;
  const out = (config as { out: string }).out;
  await preflight(command, parsed);
  if (parsed.resume && !latestCheckpoint(out))
    console.error(`safetune: --resume: no checkpoint in ${out} yet; starting from the beginning`);
  const result = await run(config, {
    resume: parsed.resume,
    log: (line) => console.error(line),
    ...(dataParallel === undefined ? {} : { dataParallel }),
  }).catch((error: unknown) => {
    throw withSkipInvalidHint(error, config);
  });
  const evalText = Object.entries(result.summary.eval ?? {})
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(", ");
  console.log(
    `${command}: ${result.summary.steps} steps; ${evalText ? `eval ${evalText}; ` : ""}model written to ${result.modelDir}`,
  );
}

/** A bad-row DataError with the hint `data stats` gives: such rows can be skipped and counted. */
function withSkipInvalidHint(error: unknown, config: unknown): unknown {
  const skipping = (config as { data?: { skipInvalid?: boolean } }).data?.skipInvalid === true;
  if (error instanceof DataError && error.rowProblem && !skipping)
    return new DataError(`${error.message} (--skip-invalid skips and counts such rows)`);
  return error;
}

const SFT_DESCRIPTION =
  "Supervised fine-tuning (SIT: on a mixture of instruction data and safety demonstrations).";
const DPO_DESCRIPTION =
  "Direct preference optimisation on chosen/rejected pairs (sigmoid, ipo, hinge, robust, simpo).";
export const sftHelp = trainerHelp("sft", SFT_DESCRIPTION, SftConfigSchema);
export const dpoHelp = trainerHelp("dpo", DPO_DESCRIPTION, DpoConfigSchema);

export async function sftCommand(argv: string[]): Promise<void> {
  await trainCommand(argv, "sft", SFT_DESCRIPTION, SftConfigSchema, (config, o) => runSft(config, o));
}

export async function dpoCommand(argv: string[]): Promise<void> {
  await trainCommand(argv, "dpo", DPO_DESCRIPTION, DpoConfigSchema, (config, o) => runDpo(config, o));
}
