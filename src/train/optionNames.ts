// The names each run-config option answers to: its key, its safetune flag, and the names Hugging Face TRL,
// transformers' TrainingArguments and PEFT's LoraConfig give it. This is the one table of them: every name is
// accepted as a flag (--learning-rate and --learning_rate), as a key of a flat TRL-style YAML, and as a key in
// the option's own section (training.learning_rate), in snake_case, kebab-case or camelCase alike.
// The options themselves, their types and defaults come from the zod schemas (runConfig.ts).
import type { z } from "zod";

export interface OptionNames {
  /** The flag safetune documents (default: the key in kebab-case). */
  flag?: string;
  /** Other tools' names for the option (TRL, transformers, PEFT), snake_case. */
  names?: string[];
  /** Values in other tools' vocabulary and the value they mean here. */
  values?: Record<string, unknown>;
  /**
   * Other tools' on/off keys that choose a value of this option when true (TRL's `bf16: true` -> dtype bfloat16);
   * false leaves the option as it is. Config-file keys only, snake_case.
   */
  switchedBy?: Record<string, unknown>;
}

/** Options whose flag is not their key, or that other tools name differently; the rest go by their key. */
export const OPTION_NAMES: Readonly<Record<string, OptionNames>> = {
  model: { names: ["model_name_or_path"] },
  out: { names: ["output_dir"] },
  maxLength: { names: ["max_seq_length"] },
  lora: { names: ["use_peft"] },
  "data.train": { flag: "data", names: ["dataset_name", "train_file"] },
  "data.eval": { flag: "eval-data", names: ["validation_file"] },
  "data.limit": { names: ["max_train_samples"] },
  "data.evalLimit": { names: ["max_eval_samples"] },
  "training.epochs": { names: ["num_train_epochs"] },
  "training.batchSize": { names: ["per_device_train_batch_size"] },
  "training.gradientAccumulation": { flag: "grad-accum", names: ["gradient_accumulation_steps"] },
  "training.lr": { names: ["learning_rate"] },
  "training.beta1": { names: ["adam_beta1"] },
  "training.beta2": { names: ["adam_beta2"] },
  // transformers' "constant" ignores warm-up; safetune's constant warms up when warm-up is set.
  "training.schedule": { names: ["lr_scheduler_type"], values: { constant_with_warmup: "constant" } },
  "training.evalEvery": { names: ["eval_steps"] },
  "training.saveEvery": { names: ["save_steps"] },
  "training.keepCheckpoints": { names: ["save_total_limit"] },
  "training.logEvery": { names: ["logging_steps"] },
  "training.reportTo": { names: ["report_to"] },
  "training.gradientCheckpointing": { names: ["gradient_checkpointing"] },
  dtype: {
    names: ["torch_dtype"],
    values: { bf16: "bfloat16", fp16: "float16", half: "float16", fp32: "float32", float: "float32" },
    // TRL's mixed-precision switches: with LoRA, a half-precision frozen base under an fp32 adapter and loss.
    switchedBy: { bf16: "bfloat16", fp16: "float16" },
  },
  "lora.r": { flag: "lora-r" },
  "lora.alpha": { flag: "lora-alpha" },
  "lora.dropout": { flag: "lora-dropout" },
  "lora.targetModules": { flag: "lora-target-modules" },
  "lora.rslora": { names: ["use_rslora"] },
  "lora.rankPattern": { flag: "lora-rank-pattern" },
  "lora.alphaPattern": { flag: "lora-alpha-pattern" },
  "dpo.loss": { names: ["loss_type"] },
  "dpo.sftWeight": { names: ["rpo_alpha"] },
  "reward.centre": { names: ["center_rewards_coefficient"] },
  "raft.promptsPerIteration": { flag: "prompts" },
};

/** How a flag's text becomes the option's value. */
export type FieldKind = "text" | "value" | "boolean" | "list" | "switch";

export interface ConfigField {
  /** Where it lives in the resolved config: "training.lr". */
  path: string;
  /** Its section ("training"), or undefined for a top-level option. */
  section: string | undefined;
  key: string;
  kind: FieldKind;
  /** The documented flag, kebab-case ("lr"). */
  flag: string;
  /** Every name it answers to, snake_case: the key, the flag, other tools' names. */
  names: string[];
  /** Other tools' names only (for help texts and docs). */
  otherNames: string[];
  values: Record<string, unknown> | undefined;
}

export interface ConfigNames {
  fields: ConfigField[];
  /** Top-level keys of the schema (canonical spelling). */
  topKeys: string[];
  /** Sections by their snake_case name. */
  sections: Map<string, string>;
  /** Keys of each section (canonical spelling). */
  sectionKeys: Map<string, string[]>;
  /** Names a top-level key of a flat YAML may have. */
  flat: Map<string, ConfigField>;
  /** Names a key inside its section may have. */
  inSection: Map<string, Map<string, ConfigField>>;
  /** Every flag spelling, kebab-case. */
  flags: Map<string, ConfigField>;
  /** Top-level on/off keys that set an option to a value when true (OptionNames.switchedBy), by snake_case name. */
  valueSwitches: Map<string, { field: ConfigField; value: unknown }>;
}

/** "learningRate", "learning-rate", "learning_rate" -> "learning_rate" */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/-/g, "_")
    .toLowerCase();
}

export function kebabCase(name: string): string {
  return snakeCase(name).replace(/_/g, "-");
}

interface SchemaNode {
  def: { type: string; innerType?: SchemaNode; options?: SchemaNode[]; in?: SchemaNode };
  shape?: Record<string, SchemaNode>;
}

/** The alternatives a schema accepts, with defaults, optionals and unions unwrapped. */
function alternatives(node: SchemaNode): SchemaNode[] {
  const { def } = node;
  if ((def.type === "default" || def.type === "optional" || def.type === "nullable") && def.innerType)
    return alternatives(def.innerType);
  if (def.type === "union" && def.options) return def.options.flatMap(alternatives);
  if (def.type === "pipe" && def.in) return alternatives(def.in);
  return [node];
}

function kindOf(node: SchemaNode): FieldKind {
  const types = alternatives(node).map((a) => a.def.type);
  if (types.includes("object")) return "switch";
  if (types.every((t) => t === "boolean")) return "boolean";
  if (types.includes("array")) return "list";
  if (types.includes("string")) return "text";
  return "value";
}

function objectShape(node: SchemaNode): Record<string, SchemaNode> | undefined {
  return alternatives(node).find((a) => a.def.type === "object")?.shape;
}

function claim(map: Map<string, ConfigField>, name: string, field: ConfigField, where: string): void {
  const other = map.get(name);
  if (other && other !== field)
    throw new Error(`option name '${name}' ${where} is claimed by both ${other.path} and ${field.path}`);
  map.set(name, field);
}

const cache = new WeakMap<object, ConfigNames>();

/** The names of every option of a run-config schema (a zod object of top-level options and sections). */
export function configNames(schema: z.ZodType): ConfigNames {
  const cached = cache.get(schema);
  if (cached) return cached;
  const shape = (schema as unknown as SchemaNode).shape;
  if (!shape) throw new Error("configNames: expected a zod object schema");
  const topKeys = Object.keys(shape);
  const topSnake = new Set(topKeys.map(snakeCase));
  const field = (section: string | undefined, key: string, node: SchemaNode): ConfigField => {
    const path = section ? `${section}.${key}` : key;
    const entry = OPTION_NAMES[path] ?? {};
    const flag = entry.flag ?? kebabCase(key);
    const otherNames = (entry.names ?? []).map(snakeCase);
    const names = [...new Set([snakeCase(key), snakeCase(flag), ...otherNames])];
    return { path, section, key, kind: kindOf(node), flag, names, otherNames, values: entry.values };
  };
  const fields: ConfigField[] = [];
  const sections = new Map<string, string>();
  const sectionKeys = new Map<string, string[]>();
  const inSection = new Map<string, Map<string, ConfigField>>();
  for (const [key, node] of Object.entries(shape)) {
    const inner = objectShape(node);
    if (inner) {
      sections.set(snakeCase(key), key);
      sectionKeys.set(key, Object.keys(inner));
      const own = new Map<string, ConfigField>();
      inSection.set(key, own);
      // A section that may be false (lora) is also an option of its own: on or off.
      if (kindOf(node) === "switch" && alternatives(node).some((a) => a.def.type !== "object"))
        fields.push(field(undefined, key, node));
      for (const [innerKey, innerNode] of Object.entries(inner)) {
        const f = field(key, innerKey, innerNode);
        fields.push(f);
        for (const name of f.names) claim(own, name, f, `in ${key}`);
      }
    } else {
      fields.push(field(undefined, key, node));
    }
  }
  const flat = new Map<string, ConfigField>();
  const flags = new Map<string, ConfigField>();
  for (const f of fields) {
    for (const name of f.names) {
      // "data" (the flag of data.train) is also the data section's key: the section wins.
      if (!(topSnake.has(name) && name !== snakeCase(f.path))) claim(flat, name, f, "at the top level");
      claim(flags, kebabCase(name), f, "as a flag");
    }
  }
  const valueSwitches = new Map<string, { field: ConfigField; value: unknown }>();
  for (const f of fields)
    for (const [name, value] of Object.entries(OPTION_NAMES[f.path]?.switchedBy ?? {})) {
      const other = flat.get(name) ?? valueSwitches.get(name)?.field;
      if (other) throw new Error(`option name '${name}' is claimed by both ${other.path} and ${f.path}`);
      valueSwitches.set(name, { field: f, value });
    }
  const names: ConfigNames = {
    fields,
    topKeys,
    sections,
    sectionKeys,
    flat,
    inSection,
    flags,
    valueSwitches,
  };
  cache.set(schema, names);
  return names;
}
