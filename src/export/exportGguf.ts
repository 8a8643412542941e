// Model folder (+ optional LoRA adapter) -> one GGUF file that llama.cpp, Ollama and LM Studio load.
import { basename, join, resolve } from "node:path";
import { loadModel, readModelConfig } from "../model/loadModel.js";
import { mergeAdapter } from "../model/lora.js";
import { loadAdapter } from "../model/loraFiles.js";
import { architectureMetadata, type GgufArchitecture, ggufArchitectureOf } from "./ggufArchitecture.js";
import { type GgufWeightType, ggufTensorsOf } from "./ggufTensors.js";
import { tokenizerMetadata } from "./ggufTokenizer.js";
import { type GgufValue, gguf, tensorByteSize, writeGgufFile } from "./ggufWriter.js";

export interface ExportGgufOptions {
  /** A PEFT LoRA adapter folder, merged into the weights before writing. */
  adapter?: string;
  /** Storage of the 2-D weight matrices: "f32" (default, exact) or "f16" (half the size). */
  dtype?: GgufWeightType;
  /** general.name (default: the model folder's name). */
  name?: string;
  /** Where the weights are loaded and the adapter merged: cpu (default), cuda or cuda:N. */
  device?: string;
}

export interface ExportGgufResult {
  path: string;
  architecture: GgufArchitecture;
  tensors: number;
  /** Bytes of tensor data (without header and padding). */
  tensorBytes: number;
  /** Tokenizer details llama.cpp may treat differently (the file is still written). */
  warnings: string[];
}

/** llama.cpp's general.file_type (llama_ftype): all F32, mostly F16, or mostly Q8_0. */
const FILE_TYPE: Record<GgufWeightType, number> = { f32: 0, f16: 1, q8_0: 7 };
/** ggml's quantization format version, which llama.cpp's converter always records. */
const QUANTIZATION_VERSION = 2;

/** Writes `modelDir` (and `options.adapter`, merged) as a GGUF v3 file at `outPath`, atomically. */
export function exportGguf(
  modelDir: string,
  outPath: string,
  options: ExportGgufOptions = {},
): ExportGgufResult {
  const weights = options.dtype ?? "f32";
  // Everything that can be refused is checked before the weights are read.
  const config = readModelConfig(modelDir);
  const arch = ggufArchitectureOf(config, join(modelDir, "config.json"));
  const tokenizer = tokenizerMetadata(modelDir, config);

  const model = loadModel(modelDir, options.device === undefined ? {} : { device: options.device });
  try {
    if (options.adapter) {
      const adapter = loadAdapter(options.adapter, model);
      try {
        mergeAdapter(model, adapter);
      } finally {
        adapter.dispose();
      }
    }
    const tensors = ggufTensorsOf(model, arch, weights);
    const metadata = new Map<string, GgufValue>([
      ["general.architecture", gguf.str(arch)],
      ["general.name", gguf.str(options.name ?? basename(resolve(modelDir)))],
      ["general.file_type", gguf.u32(FILE_TYPE[weights])],
      ["general.quantization_version", gguf.u32(QUANTIZATION_VERSION)],
      ...architectureMetadata(config, arch),
      ...tokenizer.entries,
    ]);
    writeGgufFile(outPath, metadata, tensors);
    return {
      path: outPath,
      architecture: arch,
      tensors: tensors.length,
      tensorBytes: tensors.reduce((n, t) => n + tensorByteSize(t), 0),
      warnings: tokenizer.warnings,
    };
  } finally {
    model.dispose();
  }
}
