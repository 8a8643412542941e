// A training run's configuration: one zod schema per trainer, each option documented where it is declared.
// `--config run.yaml` is read first, then flags override it; the resolved config is saved in the run folder.
// Every level is strict: a key the schema does not know is an error with the nearest known name, never a
// setting dropped in silence. Other tools' names for the options (TRL, PEFT) are in optionNames.ts.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { COMPUTE_DTYPES } from "../engine/dtype.js";
import { ConfigError } from "../util/configError.js";
import { setPath } from "../util/configValues.js";
import { closestName } from "../util/suggest.js";
import { canonicalPath, fieldAt, normalizeConfig, translateValue } from "./normalizeConfig.js";
import { type ConfigNames, configNames, snakeCase } from "./optionNames.js";
import { PreferenceLossSettingsSchema } from "./preferenceLoss.js";

const LoraSchema = z
  .object({
    /** Rank of the update matrices. */
    r: z.number().int().positive().default(8),
    /** Scaling numerator (update × alpha / r). */
    alpha: z.number().positive().default(16),
    dropout: z.number().min(0).max(1).default(0),
    /** Module names or suffixes to adapt (the paper: q/k/v); one string is a regular expression, or "all-linear". */
    targetModules: z.union([z.array(z.string()).min(1), z.string()]).default(["q_proj", "k_proj", "v_proj"]),
    /** Rank-stabilised scaling alpha / √r. */
    rslora: z.boolean().default(false),
    /** PEFT's rank_pattern: module name (or a pattern matching its end) -> its own rank. */
    rankPattern: z.record(z.string(), z.number().int().positive()).optional(),
    /** PEFT's alpha_pattern: module name (or a pattern matching its end) -> its own alpha. */
    alphaPattern: z.record(z.string(), z.number().positive()).optional(),
  })
  .strict();

/** The reporting integrations safetune has, in TRL's names (report_to). */
export const REPORT_TARGETS = ["tensorboard", "none"] as const;
export type ReportTarget = (typeof REPORT_TARGETS)[number];

const REPORT_TARGET = z.enum(REPORT_TARGETS, {
  error: '"tensorboard" or "none" (every step is logged to metrics.jsonl either way)',
});

const TrainingSchema = z
  .object({
    seed: z.number().int().nonnegative().default(0),
    epochs: z.number().int().positive().default(1),
    /** Stop after this many optimizer steps (overrides epochs). */
    maxSteps: z.number().int().positive().optional(),
    /** Examples per micro-batch. */
    batchSize: z.number().int().positive().default(4),
    /** Micro-batches per optimizer step. */
    gradientAccumulation: z.number().int().positive().default(1),
    lr: z.number().positive().default(5e-5),
    weightDecay: z.number().min(0).default(0),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    schedule: z.enum(["cosine", "linear", "constant"]).default("cosine"),
    /** Warm-up as a fraction of the steps (when warmupSteps is 0). */
    warmupRatio: z.number().min(0).max(1).default(0),
    warmupSteps: z.number().int().nonnegative().default(0),
    /** Clip the global gradient norm (0: off). */
    maxGradNorm: z.number().min(0).default(1),
    /** Evaluate every N steps (0: at the end only). */
    evalEvery: z.number().int().nonnegative().default(0),
    /** Checkpoint every N steps (0: only on Ctrl-C). */
    saveEvery: z.number().int().nonnegative().default(100),
    keepCheckpoints: z.number().int().positive().default(2),
    /** Progress lines every N steps when not on a terminal. */
    logEvery: z.number().int().positive().default(10),
    /**
     * TRL's report_to: "tensorboard" writes event files to <out>/runs/ as well; "none" (default) only metrics.jsonl
     * and curves.svg, which every run writes.
     */
    reportTo: z.union([REPORT_TARGET, z.array(REPORT_TARGET)]).optional(),
    /**
     * Recompute each transformer layer during the backward pass instead of keeping its activations: activation
     * memory no longer grows with depth, for about one more forward pass of compute (TRL: gradient_checkpointing).
     */
    gradientCheckpointing: z.boolean().default(false),
  })
  .strict();

const DataSchema = z
  .object({
    /** Training records: JSONL, JSON, CSV or Parquet, optionally gzipped. */
    train: z.string().min(1),
    /** Held-out records for evaluation during training. */
    eval: z.string().min(1).optional(),
    /** A built-in mapping (alpaca, chat, preference, pku-dpo, pku-raw, hh-rlhf, ...); auto-detected when absent. */
    mapping: z.string().optional(),
    /** Skip invalid rows (counted in the summary) instead of stopping at the first. */
    skipInvalid: z.boolean().default(false),
    /** Use at most this many training records. */
    limit: z.number().int().positive().optional(),
    /** Use at most this many eval records. */
    evalLimit: z.number().int().positive().optional(),
  })
  .strict();

const CommonSchema = z.object({
  /** Hugging Face model folder to start from. */
  model: z.string().min(1),
  /** Run folder: checkpoints, metrics.jsonl, and the trained model. */
  out: z.string().min(1),
  data: DataSchema,
  /** Chat template name or jinja source when the tokenizer has none (e.g. alpaca). */
  template: z.string().optional(),
  /** Longest training sequence in tokens; prompts are cut first. */
  maxLength: z.number().int().positive().default(512),
  /** Train a LoRA adapter instead of all weights (false: full fine-tuning). */
  lora: z.union([LoraSchema, z.literal(false)]).default(false),
  training: TrainingSchema.default(TrainingSchema.parse({})),
  /**
   * Dtype the model's weights are loaded in (TRL/transformers: torch_dtype). With LoRA a bfloat16/float16 base
   * stays frozen in half precision while the adapter, its optimizer state and the loss stay float32 (mixed
   * precision, as PEFT does); full fine-tuning needs float32 (half-precision master weights are refused).
   */
  dtype: z.enum(COMPUTE_DTYPES).default("float32"),
  /**
   * A quantised frozen base under LoRA (QLoRA's idea): int8 (per output channel) or nf4 (4-bit NormalFloat in
   * blocks of 64 with an absmax each) for every 2-D weight of a Llama-family model, dequantised tile by tile in
   * the matmuls; the adapter, optimizer state and loss stay float32. Needs lora.
   */
  quantize: z.enum(["int8", "nf4"]).optional(),
  /** Where the model trains: cpu, cuda or cuda:N (CUDA needs an addon built against a CUDA libtorch). */
  device: z
    .string()
    .regex(/^(cpu|cuda(:\d+)?)$/, { error: "expected cpu, cuda or cuda:N" })
    .default("cpu"),
});

export const SftConfigSchema = CommonSchema.extend({
  /**
   * Pack several short examples into each maxLength row (fewer padding tokens). Documents in a row see each
   * other through causal attention; no loss crosses a boundary.
   */
  packing: z.boolean().default(false),
}).strict();

/** The loss's settings (loss, beta, labelSmoothing, simpoGamma: see preferenceLoss.ts) and the trainer's own. */
const DpoSectionSchema = PreferenceLossSettingsSchema.extend({
  /** Weight of an SFT (NLL) term on the chosen answers; 0 = pure preference loss (RPO-style when > 0). */
  sftWeight: z.number().min(0).default(0),
  /** Where reference log-probs are cached (default: <out>/cache). */
  referenceCache: z.string().optional(),
}).strict();

export const DpoConfigSchema = CommonSchema.extend({
  dpo: DpoSectionSchema.default(DpoSectionSchema.parse({})),
}).strict();

export const RewardConfigSchema = CommonSchema.extend({
  reward: z
    .object({
      /** reward: Bradley-Terry on chosen/rejected; cost: safe-rlhf cost model (needs chosenSafe/rejectedSafe). */
      objective: z.enum(["reward", "cost"]).default("reward"),
      /** Bradley-Terry margin: the loss is -logsigmoid(r_c - r_r - margin) (reward objective). */
      margin: z.number().default(0),
      /** Centre-rewards coefficient: adds centre × (r_c + r_r)² (reward objective; TRL suggests 0.01). */
      centre: z.number().min(0).default(0),
    })
    .strict()
    .default({ objective: "reward", margin: 0, centre: 0 }),
}).strict();

const RaftSchema = z
  .object({
    /** Sample → score → select → fine-tune rounds. */
    iterations: z.number().int().positive().default(4),
    /** Prompts drawn (seeded, without repeats until all are used) per iteration. */
    promptsPerIteration: z.number().int().positive().default(16),
    /** Answers sampled per prompt. */
    k: z.number().int().positive().default(4),
    maxNewTokens: z.number().int().positive().default(128),
    temperature: z.number().positive().default(1),
    topP: z.number().gt(0).max(1).default(1),
    /** Rows decoded together while sampling. */
    generationBatchSize: z.number().int().positive().default(64),
    /** best-of-k: the best answer of each prompt; top-fraction: the best topFraction of all answers. */
    selection: z.enum(["best-of-k", "top-fraction"]).default("best-of-k"),
    topFraction: z.number().gt(0).max(1).default(0.25),
    /**
     * Reward model folder (*ForSequenceClassification; its own tokenizer and chat template score the text).
     * Required by `safetune raft`; library callers may pass a reward function to runRaft instead.
     */
    rewardModel: z.string().min(1).optional(),
    /** Chat template of the reward model's tokenizer when it has none (name or jinja). */
    rewardTemplate: z.string().optional(),
    /** Cost model folder: the ranked score is reward - costLambda × cost. */
    costModel: z.string().min(1).optional(),
    costLambda: z.number().min(0).default(1),
    /** Answers shorter than this (trimmed characters) are dropped as degenerate. */
    minChars: z.number().int().nonnegative().default(8),
    /** Most one character or word may make up of an answer before it is dropped as degenerate. */
    maxRepeatFraction: z.number().gt(0).max(1).default(0.5),
    /** Fewest distinct word 3-grams per 3-gram before an answer is dropped as repetitive. */
    minDistinctRatio: z.number().min(0).max(1).default(0.5),
    /** Optimizer steps on each iteration's selection (default: training.epochs over it). */
    stepsPerIteration: z.number().int().positive().optional(),
    /**
     * OpenAI-compatible base URL(s) serving the starting policy: the K answers are sampled there instead of
     * locally (replicas share the load). A server's model is fixed, so this needs iterations: 1.
     */
    endpoint: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** The policy's name at the endpoint(s); required with endpoint. */
    apiModel: z.string().min(1).optional(),
    /** Environment variable holding the endpoints' API key (default OPENAI_API_KEY when set). */
    apiKeyEnv: z.string().min(1).optional(),
    /** Requests in flight per endpoint (default 8). */
    concurrency: z.number().int().positive().optional(),
  })
  .strict();

export const RaftConfigSchema = CommonSchema.extend({
  raft: RaftSchema.default(RaftSchema.parse({})),
}).strict();

export type RaftConfig = z.infer<typeof RaftConfigSchema>;

/** What every trainer's config has. */
export type CommonConfig = z.infer<typeof CommonSchema>;
export type SftConfig = z.infer<typeof SftConfigSchema>;
export type DpoConfig = z.infer<typeof DpoConfigSchema>;
export type RewardConfig = z.infer<typeof RewardConfigSchema>;

interface ConfigFile {
  data: Record<string, unknown>;
  /** The line (1-based) where a key path is written, if it is. */
  lineOf(keys: readonly string[]): number | undefined;
}

/** Reads a YAML config file as a mapping of options, keeping where each key is written. */
function readConfigFile(file: string): ConfigFile {
  if (!existsSync(file)) throw new ConfigError(`${file}: config file not found`);
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(file, "utf8"), { lineCounter: lines });
  const error = doc.errors[0];
  if (error) throw new ConfigError(`${file}: not valid YAML (${error.message.split("\n")[0]})`);
  const parsed: unknown = doc.toJS();
  if (parsed !== null && parsed !== undefined && (typeof parsed !== "object" || Array.isArray(parsed)))
    throw new ConfigError(`${file}: expected a mapping of options`);
  const lineOf = (keys: readonly string[]): number | undefined => {
    let node: unknown = doc.contents;
    let line: number | undefined;
    for (const key of keys) {
      const items = (node as { items?: { key?: { value?: unknown; range?: number[] }; value?: unknown }[] })
        .items;
      const pair = items?.find((p) => String(p.key?.value) === key);
      if (!pair) return line;
      const offset = pair.key?.range?.[0];
      line = offset === undefined ? line : lines.linePos(offset).line;
      node = pair.value;
    }
    return line;
  };
  return { data: (parsed ?? {}) as Record<string, unknown>, lineOf };
}

/**
 * The config file (if any) with overrides applied, validated by `schema`. The file may use TRL's flat names and
 * any case style; overrides are [path, value] with paths in either spelling ("training.lr", "learning_rate").
 * A section switched by `true` (lora) is turned on with its defaults. The result is in canonical form.
 */
export function resolveConfig<S extends z.ZodType>(
  schema: S,
  file: string | undefined,
  overrides: [string, unknown][],
): z.infer<S> {
  const where = file ?? "config";
  const source = file ? readConfigFile(file) : undefined;
  const { config: raw, spelling, written: keysOf } = normalizeConfig(source?.data ?? {}, schema, where);
  const names = configNames(schema);
  for (const [written, value] of overrides) {
    if (value === undefined) continue;
    const path = canonicalPath(written, schema);
    const field = fieldAt(names, path);
    if (field?.kind === "switch") {
      const current = raw[path];
      raw[path] = value === true ? (typeof current === "object" && current !== null ? current : {}) : value;
    } else {
      setPath(raw, path, translateValue(field, value));
    }
    if (written !== path) spelling.set(path, written);
    keysOf.delete(path); // a flag's value: no line of the file to point at
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const line = issue ? lineOfIssue(issuePath(issue), keysOf, source) : undefined;
    throw new ConfigError(`${where}${line ? `:${line}` : ""}: ${describeIssue(issue, names, spelling)}`);
  }
  return result.data;
}

/** The line of the file that set the field at `path` (or the option holding it), if the file set it. */
function lineOfIssue(
  path: string,
  keysOf: Map<string, string[]>,
  source: ConfigFile | undefined,
): number | undefined {
  const parts = path.split(".");
  for (let n = parts.length; n > 0 && source; n--) {
    const keys = keysOf.get(parts.slice(0, n).join("."));
    if (keys) return source.lineOf([...keys, ...parts.slice(n)]);
  }
  return undefined;
}

/** The canonical path of the field an issue is about (an unknown key included). */
function issuePath(first: Issue): string {
  const issue = innermost(first);
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  return path.join(".");
}

type Issue = z.core.$ZodIssue;

/** The innermost problem of a union (lora: an object or false) that the value was meant for. */
function innermost(issue: Issue): Issue {
  if (issue.code !== "invalid_union") return issue;
  const branches = issue.errors.map((b) => b[0]).filter((i): i is Issue => i !== undefined);
  const meant = branches.find((i) => i.path.length > 0 || i.code === "unrecognized_keys") ?? branches[0];
  return meant ? { ...innermost(meant), path: [...issue.path, ...meant.path] } : issue;
}

/** Names accepted at a level of the config (the top level or a section), canonical first. */
function namesAt(names: ConfigNames, section: string | undefined): string[] {
  if (section === undefined) return [...names.topKeys, ...names.flat.keys()];
  return [...(names.sectionKeys.get(section) ?? []), ...(names.inSection.get(section)?.keys() ?? [])];
}

/** One line for a schema problem: the field as canonical path (and as written), what is wrong, a suggestion. */
export function describeIssue(
  first: Issue | undefined,
  names: ConfigNames,
  spelling: Map<string, string> = new Map(),
): string {
  if (!first) return "(top level): invalid";
  const issue = innermost(first);
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const section = issue.path.length === 1 ? String(issue.path[0]) : undefined;
    const known = namesAt(names, section);
    const guess = closestName(key, known);
    const at = path ? `${path}.${key}` : key;
    // Suggest in the writer's style: snake_case for snake_case keys.
    const styled = guess && key.includes("_") && !/[A-Z]/.test(key) ? snakeCase(guess) : guess;
    if (styled) return `${at}: unknown key; did you mean ${styled}?`;
    const canonical = section === undefined ? names.topKeys : (names.sectionKeys.get(section) ?? []);
    return `${at}: unknown key (known: ${canonical.join(", ")}; other tools' names: docs/training.md)`;
  }
  const written = spelling.get(path);
  const where = `${path || "(top level)"}${written && snakeCase(written) !== snakeCase(path) ? ` (${written})` : ""}`;
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
    const field = fieldAt(names, path);
    const also = field?.otherNames.length ? ` (or ${field.otherNames.join(", ")})` : "";
    return `${where}: required, not set${also}`;
  }
  return `${where}: ${issue.message}`;
}

/** A short stable hash of a resolved config (which checkpoints belong to which run). */
export function configHash(config: unknown): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16);
}
