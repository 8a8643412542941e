// Hugging Face model folder -> model: config.json, then every weight the config implies, checked by name and shape.
import { closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type DType,
  keep,
  noGrad,
  type PackedWeight,
  type QuantizeKind,
  readTensorFromFile,
  type Tensor,
  tidy,
  zeros,
} from "../engine/index.js";
import { buildModel, paramSpecsOf } from "./buildModel.js";
import { SAFETENSORS_TO_DTYPE } from "./checkpoint.js";
import { type ModelConfig, parseConfig } from "./config.js";
import { ModelError } from "./errors.js";
import { attachAdapter, mergeAdapter } from "./lora.js";
import { adapterBaseModel, isAdapterFolder, loadAdapter } from "./loraFiles.js";
import { checkQuantizable, isQuantizedWeight, packWeight } from "./quantizeModel.js";
import type { TransformerModel } from "./transformer.js";
import { checkWeightsMatchConfig, readWeightHeaders, type WeightHeader } from "./weightsMatchConfig.js";

export interface LoadModelOptions {
  /** Compute dtype of the weights in memory (default float32; bf16/f16 halve memory at some speed cost on CPU). */
  dtype?: DType;
  /** "cpu" (default) or "cuda[:N]" when libtorch has CUDA. */
  device?: string;
  /** Pack the 2-D weights as a frozen quantised base (int8 per channel, NF4 blocks), each as soon as it is read. */
  quantize?: QuantizeKind;
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
  const headers = readWeightHeaders(dir);
  checkWeightsMatchConfig(dir, config, headers);
  const computeDtype = options.dtype ?? "float32";
  const device = options.device ?? "cpu";
  if (!supportsMatmul(computeDtype, device)) {
    throw new ModelError(
      `${computeDtype} compute is not supported by this libtorch on ${device}: use bfloat16 or float32${device.startsWith("cuda") ? "" : ", or a CUDA device"}`,
    );
  }
  // Old GPT-2 checkpoints name weights without the "transformer." prefix.
  const lookup = (name: string): WeightHeader => {
    const entry =
      headers.get(name) ??
      (config.family === "gpt2" ? headers.get(name.replace(/^transformer\./, "")) : undefined);
    if (!entry) throw new ModelError(`${dir}: weight '${name}' is missing from the checkpoint`);
    return entry;
  };
  const specs = paramSpecsOf(config);
  const entries = new Map(specs.map((spec) => [spec.name, lookup(spec.name)]));
  const loaded = new Map<string, Tensor>();
  const packed = new Map<string, PackedWeight>();
  if (options.quantize) checkQuantizable(config, options.quantize);
  try {
    // Shard by shard, each weight read from the file straight into its own storage: one copy in memory.
    for (const file of new Set([...entries.values()].map((e) => e.file))) {
      withOpenFile(file, (fd) => {
        for (const [name, entry] of entries) {
          if (entry.file !== file) continue;
          const weight = readWeight(fd, entry, computeDtype, device);
          if (options.quantize && isQuantizedWeight(config, name, weight.shape))
            packed.set(name, packWeight(weight, options.quantize));
          else loaded.set(name, weight);
        }
      });
    }
  } catch (err) {
    for (const t of loaded.values()) t.dispose();
    for (const w of packed.values()) for (const t of [w.data, w.scales]) t.dispose();
    if (err instanceof ModelError) throw err;
    throw new ModelError(`${dir}: reading the weights failed (${(err as Error).message})`);
  }
  const params = new Map(
    specs.flatMap((spec): [string, Tensor][] => {
      const t = loaded.get(spec.name);
      return t ? [[spec.name, t]] : [];
    }),
  );
  const used = new Set([...entries.values()].map((e) => e.name));
  const unusedKeys = [...headers.keys()].filter((k) => !used.has(k) && !IGNORED.some((re) => re.test(k)));
  const firstEntry = entries.values().next().value;
  const storageDtype = firstEntry ? SAFETENSORS_TO_DTYPE[firstEntry.dtype] : "float32";
  const model = buildModel(config, params);
  for (const [name, w] of packed) model.quantized.set(name, w);
  modelInfo.set(model, { sourceDir: dir, storageDtype, unusedKeys });
  return model;
}

/**
 * One weight from an open safetensors file: read into a tensor of its disk dtype (kept as is when that is the
 * compute dtype, so bf16/f16 stay 2 bytes a parameter), converted and moved one weight at a time otherwise.
 */
function readWeight(fd: number, entry: WeightHeader, dtype: DType, device: string): Tensor {
  return noGrad(() => {
    let t = readTensorFromFile(fd, entry.position, entry.shape, SAFETENSORS_TO_DTYPE[entry.dtype]);
    if (t.dtype !== dtype) t = replace(t, t.to(dtype));
    if (device !== "cpu") t = replace(t, t.to(device));
    return keep(t);
  });
}

function replace(old: Tensor, next: Tensor): Tensor {
  old.dispose();
  return next;
}

function withOpenFile<T>(path: string, use: (fd: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new ModelError(`${path}: cannot open (${(err as Error).message})`);
  }
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A PEFT adapter folder stands for its base model (base_model_name_or_path) with the adapter folded in; over a
 * quantised base the adapter stays attached (a packed weight cannot take the update).
 */
function loadAdapterFolder(dir: string, options: LoadModelOptions): TransformerModel {
  const model = loadModel(adapterBaseModel(dir), options);
  try {
    const adapter = loadAdapter(dir, model);
    if (options.quantize) {
      attachAdapter(model, adapter);
      return model;
    }
    mergeAdapter(model, adapter);
    adapter.dispose();
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}
