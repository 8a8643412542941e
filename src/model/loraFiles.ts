// PEFT's adapter folder: adapter_config.json + adapter_model.safetensors with keys
// base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r].
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromBytes, keep, noGrad, type Tensor } from "../engine/index.js";
import { writeFolderAtomically } from "../util/atomicFolder.js";
import { dtypeToSafetensors, SAFETENSORS_TO_DTYPE } from "./checkpoint.js";
import { ModelError } from "./errors.js";
import { LoraAdapter, type LoraConfig, type LoraPair, moduleRankAlpha } from "./lora.js";
import { readSafetensorsFile, SafetensorsError, writeSafetensorsFile } from "./safetensors.js";
import type { TransformerModel } from "./transformer.js";

const PREFIX = "base_model.model.";

export function readLoraConfig(dir: string): LoraConfig & { raw: Record<string, unknown> } {
  const path = join(dir, "adapter_config.json");
  if (!existsSync(path))
    throw new ModelError(`${path}: missing (a PEFT adapter folder needs adapter_config.json)`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ModelError(`${path}: not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  if (raw.peft_type !== undefined && raw.peft_type !== "LORA")
    throw new ModelError(`${path}: peft_type '${raw.peft_type}' is not supported (expected LORA)`);
  const r = raw.r;
  if (typeof r !== "number" || !Number.isInteger(r) || r <= 0)
    throw new ModelError(`${path}: field 'r' must be a positive integer`);
  const alpha = raw.lora_alpha ?? r;
  if (typeof alpha !== "number") throw new ModelError(`${path}: field 'lora_alpha' must be a number`);
  const targets = raw.target_modules;
  if (
    !(typeof targets === "string" || (Array.isArray(targets) && targets.every((t) => typeof t === "string")))
  ) {
    throw new ModelError(
      `${path}: field 'target_modules' must be a list of module names or a regular expression`,
    );
  }
  return {
    raw,
    r,
    alpha,
    targetModules: targets as string[] | string,
    dropout: typeof raw.lora_dropout === "number" ? raw.lora_dropout : 0,
    useRslora: raw.use_rslora === true,
    rankPattern: numberPattern(raw.rank_pattern, "rank_pattern", path),
    alphaPattern: numberPattern(raw.alpha_pattern, "alpha_pattern", path),
  };
}

/** PEFT's rank_pattern / alpha_pattern: an object of numbers ({} or absent: none). */
function numberPattern(value: unknown, field: string, path: string): Record<string, number> {
  if (value === undefined || value === null) return {};
  const ok =
    typeof value === "object" &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "number" && v > 0);
  if (!ok) throw new ModelError(`${path}: field '${field}' must map module names to positive numbers`);
  return value as Record<string, number>;
}

/** Whether `dir` is a PEFT adapter folder rather than a model folder. */
export function isAdapterFolder(dir: string): boolean {
  return existsSync(join(dir, "adapter_config.json")) && !existsSync(join(dir, "config.json"));
}

/**
 * The base model folder an adapter names (base_model_name_or_path): as written when that folder exists (PEFT
 * records the path it was given), else relative to the adapter folder.
 */
export function adapterBaseModel(dir: string): string {
  const { raw } = readLoraConfig(dir);
  const base = raw.base_model_name_or_path;
  const path = join(dir, "adapter_config.json");
  if (typeof base !== "string" || base === "")
    throw new ModelError(`${path}: base_model_name_or_path is not set; name the base model with --model`);
  if (existsSync(join(base, "config.json"))) return base;
  const relative = join(dir, base);
  if (existsSync(join(relative, "config.json"))) return relative;
  throw new ModelError(
    `${path}: base_model_name_or_path '${base}' is not a model folder here (a Hub name? download it and pass --model)`,
  );
}

/** Loads a PEFT LoRA adapter for `model`, checking every module exists and every shape fits. */
export function loadAdapter(dir: string, model: TransformerModel): LoraAdapter {
  const config = readLoraConfig(dir);
  const file = join(dir, "adapter_model.safetensors");
  if (!existsSync(file)) throw new ModelError(`${file}: missing (only safetensors adapters are supported)`);
  let tensors: ReturnType<typeof readSafetensorsFile>["tensors"];
  try {
    tensors = readSafetensorsFile(file).tensors;
  } catch (err) {
    if (err instanceof SafetensorsError) throw new ModelError(err.message);
    throw err;
  }
  const linears = model.linearModules();
  const pairs = new Map<string, Partial<LoraPair>>();
  noGrad(() => {
    for (const [key, entry] of tensors) {
      const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(key);
      if (!m)
        throw new ModelError(
          `${file}: unexpected key '${key}' (expected ${PREFIX}<module>.lora_A.weight / lora_B.weight)`,
        );
      const [, module = "", which] = m;
      const size = linears.get(module);
      if (!size)
        throw new ModelError(
          `${file}: module '${module}' does not exist in this ${model.config.modelType} model`,
        );
      const { r } = moduleRankAlpha(config, module);
      const expected = which === "A" ? [r, size.inFeatures] : [size.outFeatures, r];
      if (entry.shape.join(",") !== expected.join(",")) {
        throw new ModelError(
          `${file}: '${key}' has shape [${entry.shape}], expected [${expected}] for r=${r}`,
        );
      }
      let t: Tensor = fromBytes(entry.data, entry.shape, SAFETENSORS_TO_DTYPE[entry.dtype]);
      if (t.dtype !== model.dtype) {
        const converted = t.to(model.dtype);
        t.dispose();
        t = converted;
      }
      const pair = pairs.get(module) ?? {};
      if (which === "A") pair.a = keep(t);
      else pair.b = keep(t);
      pairs.set(module, pair);
    }
  });
  const modules = new Map<string, LoraPair>();
  for (const [module, pair] of pairs) {
    if (!pair.a || !pair.b)
      throw new ModelError(`${file}: module '${module}' has only one of lora_A / lora_B`);
    modules.set(module, { a: pair.a, b: pair.b });
  }
  if (modules.size === 0) throw new ModelError(`${file}: no LoRA weights found`);
  return new LoraAdapter(config, modules);
}

/** Writes `adapter` as a PEFT folder (atomically); `baseModel` is recorded as base_model_name_or_path. */
export function saveAdapter(
  adapter: LoraAdapter,
  dir: string,
  options: { baseModel?: string; taskType?: string } = {},
): void {
  const c = adapter.config;
  const config = {
    peft_type: "LORA",
    task_type: options.taskType ?? "CAUSAL_LM",
    base_model_name_or_path: options.baseModel ?? null,
    r: c.r,
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    target_modules: c.targetModules,
    use_rslora: c.useRslora,
    rank_pattern: c.rankPattern ?? {},
    alpha_pattern: c.alphaPattern ?? {},
    bias: "none",
    fan_in_fan_out: false,
    modules_to_save: null,
    inference_mode: true,
  };
  const tensors = noGrad(() =>
    adapter.namedParameters().map(([name, t]) => ({
      name: `${PREFIX}${name}`,
      dtype: dtypeToSafetensors(t.dtype),
      shape: [...t.shape],
      data: t.toBytes(),
    })),
  );
  writeFolderAtomically(dir, (tmp) => {
    writeFileSync(join(tmp, "adapter_config.json"), `${JSON.stringify(config, null, 2)}\n`);
    writeSafetensorsFile(join(tmp, "adapter_model.safetensors"), tensors, { format: "pt" });
  });
}
