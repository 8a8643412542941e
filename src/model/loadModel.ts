// Hugging Face model folder -> model: config.json, then every weight the config implies, checked by name and shape.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type DType, fromBytes, keep, noGrad, type Tensor, tidy, zeros } from "../engine/index.js";
import { buildModel, paramSpecsOf } from "./buildModel.js";
import { readCheckpoint, SAFETENSORS_TO_DTYPE } from "./checkpoint.js";
import { type ModelConfig, parseConfig } from "./config.js";
import { ModelError } from "./errors.js";
import { mergeAdapter } from "./lora.js";
import { adapterBaseModel, isAdapterFolder, loadAdapter } from "./loraFiles.js";
import type { TransformerModel } from "./transformer.js";
import { checkWeightsMatchConfig } from "./weightsMatchConfig.js";

export interface LoadModelOptions {
  /** Compute dtype of the weights in memory (default float32; bf16/f16 halve memory at some speed cost on CPU). */
  dtype?: DType;
  /** "cpu" (default) or "cuda[:N]" when libtorch has CUDA. */
  device?: string;
}

export interface LoadedModelInfo {
  /** The folder the model came from (tokenizer files are copied from here when it is saved elsewhere). */
  sourceDir: string;
  /** The dtype its weights had on disk: a save writes this back by default. */
  storageDtype: DType;
  /** Checkpoint entries that the architecture does not use (reported, not fatal). */
  unusedKeys: string[];
}

const modelInfo = new WeakMap<TransformerModel, LoadedModelInfo>();

/** Where a loaded model came from, if it was loaded from a folder. */
export function loadedModelInfo(model: TransformerModel): LoadedModelInfo | undefined {
  return modelInfo.get(model);
}

/** Buffers some checkpoints carry that are not weights: causal masks of GPT-2, rotary caches of older Llamas. */
const IGNORED = [/\.attn\.bias$/, /\.attn\.masked_bias$/, /\.rotary_emb\.inv_freq$/];

export function readModelConfig(dir: string): ModelConfig {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ModelError(`${dir}: model folder not found`);
  const path = join(dir, "config.json");
  if (!existsSync(path))
    throw new ModelError(`${path}: missing (a Hugging Face model folder needs config.json)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ModelError(`${path}: not valid JSON (${(err as Error).message.split("\n")[0]})`);
  }
  return parseConfig(raw, path);
}

/** Whether this libtorch multiplies matrices of `dtype` on `device` (1.13 has no float16 matmul on the CPU). */
function supportsMatmul(dtype: DType, device: string): boolean {
  const probe = zeros([2, 2], { dtype, device }); // outside the try: a missing engine must surface as itself
  try {
    tidy(() => {
      probe.matmul(probe);
    });
    return true;
  } catch {
    return false;
  } finally {
    probe.dispose();
  }
}

export function loadModel(dir: string, options: LoadModelOptions = {}): TransformerModel {
  if (isAdapterFolder(dir)) return loadAdapterFolder(dir, options);
  const config = readModelConfig(dir);
  // Headers only: a config the weight files do not back is refused before any tensor is allocated.
  checkWeightsMatchConfig(dir, config);
  const computeDtype = options.dtype ?? "float32";
  if (!supportsMatmul(computeDtype, options.device ?? "cpu")) {
    throw new ModelError(
      `${computeDtype} compute is not supported by this libtorch on ${options.device ?? "cpu"}: use bfloat16 or float32${options.device?.startsWith("cuda") ? "" : ", or a CUDA device"}`,
    );
  }
  const checkpoint = readCheckpoint(dir);
  const family = config.family;
  // Old GPT-2 checkpoints name weights without the "transformer." prefix.
  const lookup = (name: string) => {
    const direct = checkpoint.get(name);
    if (direct || family !== "gpt2") return direct;
    return checkpoint.get(name.replace(/^transformer\./, ""));
  };
  const used = new Set<string>();
  const params = new Map<string, Tensor>();
  let storageDtype: DType | undefined;
  noGrad(() => {
    for (const spec of paramSpecsOf(config)) {
      const entry = lookup(spec.name);
      if (!entry) {
        for (const t of params.values()) t.dispose();
        throw new ModelError(
          `${dir}: weight '${spec.name}' is missing from the checkpoint (config.json implies shape [${spec.shape}])`,
        );
      }
      used.add(entry.name);
      if (entry.shape.join(",") !== spec.shape.join(",")) {
        for (const t of params.values()) t.dispose();
        throw new ModelError(
          `${entry.file}: weight '${entry.name}' has shape [${entry.shape}], config.json implies [${spec.shape}]`,
        );
      }
      const diskDtype = SAFETENSORS_TO_DTYPE[entry.dtype];
      storageDtype ??= diskDtype;
      let t = fromBytes(entry.data, entry.shape, diskDtype);
      const target = options.dtype ?? "float32";
      if (diskDtype !== target) {
        const converted = t.to(target);
        t.dispose();
        t = converted;
      }
      if (options.device && options.device !== "cpu") {
        const moved = t.to(options.device);
        t.dispose();
        t = moved;
      }
      params.set(spec.name, keep(t));
    }
  });
  const unusedKeys = [...checkpoint.keys()].filter((k) => !used.has(k) && !IGNORED.some((re) => re.test(k)));
  const model = buildModel(config, params);
  modelInfo.set(model, { sourceDir: dir, storageDtype: storageDtype ?? "float32", unusedKeys });
  return model;
}

/** A PEFT adapter folder stands for its base model (base_model_name_or_path) with the adapter folded in. */
function loadAdapterFolder(dir: string, options: LoadModelOptions): TransformerModel {
  const model = loadModel(adapterBaseModel(dir), options);
  try {
    const adapter = loadAdapter(dir, model);
    mergeAdapter(model, adapter);
    adapter.dispose();
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}
