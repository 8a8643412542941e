// Hugging Face config.json -> one normalized description of the architecture, validated field by field.
import { ModelError } from "./errors.js";

export type ModelTask = "causal-lm" | "sequence-classification";

interface CommonConfig {
  /** The config.json object as read, kept so a saved model keeps every field a user had. */
  raw: Record<string, unknown>;
  modelType: string;
  task: ModelTask;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  headDim: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number | undefined;
  eosTokenIds: number[];
  padTokenId: number | undefined;
  /** Output size of the score head (sequence classification). */
  numLabels: number;
}

export interface LlamaConfig extends CommonConfig {
  family: "llama";
  numKvHeads: number;
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling | undefined;
  /** Biases on q/k/v projections (Qwen2 always; Llama when attention_bias is set). */
  qkvBias: boolean;
  /** Bias on o_proj (Llama's attention_bias applies to it too). */
  oBias: boolean;
  mlpBias: boolean;
}

export interface Gpt2Config extends CommonConfig {
  family: "gpt2";
  intermediateSize: number;
  layerNormEps: number;
  activation: "gelu_new" | "gelu" | "relu";
}

export type ModelConfig = LlamaConfig | Gpt2Config;

export type RopeScaling =
  | { type: "linear"; factor: number }
  | {
      type: "llama3";
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositions: number;
    };

/**
 * Largest sizes a config.json may declare. An untrusted folder is refused before anything is allocated: the
 * biggest released models stay well inside these (Llama 3.1 405B: 126 layers, hidden 16384, 128 heads,
 * intermediate 53248, vocabulary 128256, 131072 positions).
 */
export const CONFIG_LIMITS = Object.freeze({
  layers: 1024,
  hiddenSize: 65_536,
  heads: 1024,
  headDim: 1024,
  intermediateSize: 262_144,
  vocabSize: 4_194_304,
  maxPositions: 16_777_216,
  numLabels: 65_536,
});

const LLAMA_TYPES = new Set(["llama", "mistral", "qwen2", "smollm", "tinyllama", "smollm2"]);

/** The HF architecture names we read and write, by family and task. */
export function architectureName(config: ModelConfig): string {
  const base =
    config.modelType === "qwen2"
      ? "Qwen2"
      : config.modelType === "mistral"
        ? "Mistral"
        : config.family === "gpt2"
          ? "GPT2"
          : "Llama";
  if (config.task === "sequence-classification") return `${base}ForSequenceClassification`;
  return config.family === "gpt2" ? "GPT2LMHeadModel" : `${base}ForCausalLM`;
}

export function parseConfig(raw: unknown, file = "config.json"): ModelConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new ModelError(`${file}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  const read = new FieldReader(c, file);
  const architectures = Array.isArray(c.architectures) ? c.architectures.map(String) : [];
  const modelType = typeof c.model_type === "string" ? c.model_type : inferModelType(architectures);
  if (!modelType)
    throw new ModelError(
      `${file}: missing field 'model_type' (expected e.g. "llama", "qwen2", "mistral" or "gpt2")`,
    );
  const task: ModelTask = architectures.some((a) => a.endsWith("ForSequenceClassification"))
    ? "sequence-classification"
    : "causal-lm";
  const eosTokenIds = eosIdsOf(c.eos_token_id, file);
  const common = {
    raw: c,
    modelType,
    task,
    bosTokenId: read.optionalInt("bos_token_id"),
    eosTokenIds,
    padTokenId: read.optionalInt("pad_token_id"),
    numLabels: task === "sequence-classification" ? numLabelsOf(c, read) : 0,
  };

  if (modelType === "gpt2") {
    const hiddenSize = read.positiveInt("n_embd", CONFIG_LIMITS.hiddenSize);
    const numHeads = read.positiveInt("n_head", CONFIG_LIMITS.heads);
    if (hiddenSize % numHeads !== 0)
      throw new ModelError(`${file}: n_embd (${hiddenSize}) must be divisible by n_head (${numHeads})`);
    const activation = read.optionalString("activation_function") ?? "gelu_new";
    if (activation !== "gelu_new" && activation !== "gelu" && activation !== "relu") {
      throw new ModelError(
        `${file}: activation_function '${activation}' is not supported (expected gelu_new, gelu or relu)`,
      );
    }
    return {
      ...common,
      family: "gpt2",
      vocabSize: read.positiveInt("vocab_size", CONFIG_LIMITS.vocabSize),
      hiddenSize,
      numLayers: read.positiveInt("n_layer", CONFIG_LIMITS.layers),
      numHeads,
      headDim: hiddenSize / numHeads,
      maxPositions: read.positiveInt("n_positions", CONFIG_LIMITS.maxPositions),
      tieWordEmbeddings: read.optionalBool("tie_word_embeddings") ?? true,
      intermediateSize: read.optionalPositiveInt("n_inner", CONFIG_LIMITS.intermediateSize) ?? 4 * hiddenSize,
      layerNormEps: read.optionalNumber("layer_norm_epsilon") ?? 1e-5,
      activation,
    };
  }

  if (!LLAMA_TYPES.has(modelType)) {
    throw new ModelError(
      `${file}: unsupported architecture '${modelType}' (supported: llama, mistral, qwen2, smollm, tinyllama, gpt2)`,
    );
  }
  const hiddenSize = read.positiveInt("hidden_size", CONFIG_LIMITS.hiddenSize);
  const numHeads = read.positiveInt("num_attention_heads", CONFIG_LIMITS.heads);
  const numKvHeads = read.optionalPositiveInt("num_key_value_heads", numHeads) ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new ModelError(
      `${file}: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`,
    );
  }
  const headDim = read.optionalPositiveInt("head_dim", CONFIG_LIMITS.headDim) ?? hiddenSize / numHeads;
  if (!Number.isInteger(headDim))
    throw new ModelError(
      `${file}: hidden_size (${hiddenSize}) is not divisible by num_attention_heads (${numHeads}); set head_dim`,
    );
  if (headDim % 2 !== 0)
    throw new ModelError(
      `${file}: head_dim is ${headDim} (expected an even number: rotary embeddings rotate pairs of dimensions)`,
    );
  if (headDim > CONFIG_LIMITS.headDim)
    throw new ModelError(
      `${file}: hidden_size / num_attention_heads is ${headDim} (expected at most ${CONFIG_LIMITS.headDim} per head)`,
    );
  const attentionBias = read.optionalBool("attention_bias") ?? false;
  const hiddenAct = read.optionalString("hidden_act") ?? "silu";
  if (hiddenAct !== "silu")
    throw new ModelError(`${file}: hidden_act '${hiddenAct}' is not supported (expected silu)`);
  return {
    ...common,
    family: "llama",
    vocabSize: read.positiveInt("vocab_size", CONFIG_LIMITS.vocabSize),
    hiddenSize,
    numLayers: read.positiveInt("num_hidden_layers", CONFIG_LIMITS.layers),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: read.positiveInt("intermediate_size", CONFIG_LIMITS.intermediateSize),
    maxPositions: read.optionalPositiveInt("max_position_embeddings", CONFIG_LIMITS.maxPositions) ?? 2048,
    tieWordEmbeddings: read.optionalBool("tie_word_embeddings") ?? false,
    rmsNormEps: read.optionalPositiveNumber("rms_norm_eps") ?? 1e-6,
    ropeTheta: read.optionalPositiveNumber("rope_theta") ?? 10000,
    ropeScaling: parseRopeScaling(c.rope_scaling, file),
    // Qwen2's q/k/v projections always carry biases, whatever attention_bias says.
    qkvBias: modelType === "qwen2" || attentionBias,
    oBias: modelType !== "qwen2" && attentionBias,
    mlpBias: read.optionalBool("mlp_bias") ?? false,
  };
}

function inferModelType(architectures: string[]): string | undefined {
  const a = architectures[0] ?? "";
  if (a.startsWith("GPT2")) return "gpt2";
  if (a.startsWith("Qwen2")) return "qwen2";
  if (a.startsWith("Mistral")) return "mistral";
  if (a.startsWith("Llama")) return "llama";
  return undefined;
}

function numLabelsOf(c: Record<string, unknown>, read: FieldReader): number {
  const explicit = read.optionalPositiveInt("num_labels", CONFIG_LIMITS.numLabels);
  if (explicit !== undefined) return explicit;
  if (c.id2label && typeof c.id2label === "object") {
    const n = Object.keys(c.id2label).length;
    if (n >= 1 && n <= CONFIG_LIMITS.numLabels) return n;
  }
  return 2; // transformers' default
}

function eosIdsOf(value: unknown, file: string): number[] {
  if (value === undefined || value === null) return [];
  const ids = Array.isArray(value) ? value : [value];
  if (!ids.every((id) => typeof id === "number" && Number.isInteger(id)) || ids.length > 64)
    throw new ModelError(
      `${file}: field 'eos_token_id' is ${shown(value)} (expected an integer or a list of integers)`,
    );
  return ids as number[];
}

function parseRopeScaling(value: unknown, file: string): RopeScaling | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object") throw new ModelError(`${file}: rope_scaling must be an object`);
  const r = value as Record<string, unknown>;
  const type = String(r.rope_type ?? r.type ?? "");
  if (type === "default") return undefined;
  const positive = (key: string, fallback: number): number => {
    const v = r[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      throw new ModelError(`${file}: rope_scaling.${key} is ${shown(v)} (expected a positive number)`);
    return v;
  };
  const factor = positive("factor", 1);
  if (type === "linear") return { type, factor };
  if (type === "llama3") {
    return {
      type,
      factor,
      lowFreqFactor: positive("low_freq_factor", 1),
      highFreqFactor: positive("high_freq_factor", 4),
      originalMaxPositions: positive("original_max_position_embeddings", 8192),
    };
  }
  throw new ModelError(`${file}: rope_scaling type '${type}' is not supported (expected linear or llama3)`);
}

/** A config value as one short line for an error message. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

class FieldReader {
  constructor(
    private readonly c: Record<string, unknown>,
    private readonly file: string,
  ) {}
  /** A required integer in [1, max]. */
  positiveInt(key: string, max: number): number {
    const v = this.c[key];
    if (v === undefined)
      throw new ModelError(`${this.file}: missing field '${key}' (expected a positive integer)`);
    return this.checkPositiveInt(key, v, max);
  }
  /** An optional integer in [1, max]. */
  optionalPositiveInt(key: string, max: number): number | undefined {
    const v = this.c[key];
    if (v === undefined || v === null) return undefined;
    return this.checkPositiveInt(key, v, max);
  }
  private checkPositiveInt(key: string, v: unknown, max: number): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new ModelError(`${this.file}: field '${key}' is ${shown(v)} (expected a positive integer)`);
    }
    if (v > max) throw new ModelError(`${this.file}: field '${key}' is ${v} (expected at most ${max})`);
    return v;
  }
  optionalPositiveNumber(key: string): number | undefined {
    const v = this.optionalNumber(key);
    if (v !== undefined && v <= 0)
      throw new ModelError(`${this.file}: field '${key}' is ${v} (expected a positive number)`);
    return v;
  }
  optionalInt(key: string): number | undefined {
    const v = this.c[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v))
      throw new ModelError(`${this.file}: field '${key}' is ${shown(v)} (expected an integer)`);
    return v;
  }
  optionalNumber(key: string): number | undefined {
    const v = this.c[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new ModelError(`${this.file}: field '${key}' is ${shown(v)} (expected a number)`);
    return v;
  }
  optionalBool(key: string): boolean | undefined {
    const v = this.c[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean")
      throw new ModelError(`${this.file}: field '${key}' is ${shown(v)} (expected true or false)`);
    return v;
  }
  optionalString(key: string): string | undefined {
    const v = this.c[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string")
      throw new ModelError(`${this.file}: field '${key}' is ${shown(v)} (expected a string)`);
    return v;
  }
}
