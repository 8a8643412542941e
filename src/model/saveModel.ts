// Model -> Hugging Face folder: config.json, safetensors (sharded past a size), tokenizer files carried along.
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DType, noGrad, tidy } from "../engine/index.js";
import { writeFolderAtomically } from "../util/atomicFolder.js";
import { dtypeToSafetensors } from "./checkpoint.js";
import { architectureName } from "./config.js";
import { loadedModelInfo } from "./loadModel.js";
import { type SafetensorsTensorInput, writeSafetensorsFile } from "./safetensors.js";
import type { TransformerModel } from "./transformer.js";

export interface SaveModelOptions {
  /** On-disk dtype; default: the dtype the model was loaded with, else its compute dtype. */
  dtype?: DType;
  /** Largest shard in bytes before the checkpoint is split (default 2 GiB). */
  maxShardBytes?: number;
  /** Extra JSON files to write next to the weights (e.g. generation_config.json). */
  extraJson?: Record<string, unknown>;
}

/** Files that travel with a model so the saved folder is usable on its own. */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "chat_template.jinja",
  "generation_config.json",
];

const TORCH_DTYPE_NAMES: Partial<Record<DType, string>> = {
  float32: "float32",
  float16: "float16",
  bfloat16: "bfloat16",
};

/** Writes `model` to `dir` atomically: a reader sees the previous folder or the complete new one. */
export function saveModel(model: TransformerModel, dir: string, options: SaveModelOptions = {}): void {
  const info = loadedModelInfo(model);
  const dtype = options.dtype ?? info?.storageDtype ?? model.dtype;
  const maxShard = options.maxShardBytes ?? 2 * 1024 ** 3;
  const tensors: SafetensorsTensorInput[] = noGrad(() =>
    model.paramSpecs().map((spec) => {
      const t = model.param(spec.name);
      const data =
        t.dtype === dtype && t.device === "cpu" ? t.toBytes() : tidy(() => t.to("cpu").to(dtype).toBytes());
      return { name: spec.name, dtype: dtypeToSafetensors(dtype), shape: [...t.shape], data };
    }),
  );
  const config = {
    ...model.config.raw,
    architectures: [architectureName(model.config)],
    torch_dtype: TORCH_DTYPE_NAMES[dtype] ?? dtype,
  };
  writeFolderAtomically(dir, (tmp) => {
    writeFileSync(join(tmp, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
    writeShards(tmp, tensors, maxShard);
    for (const [name, value] of Object.entries(options.extraJson ?? {})) {
      writeFileSync(join(tmp, name), `${JSON.stringify(value, null, 2)}\n`);
    }
    // Tokenizer files travel with the weights (also when saving over the source folder).
    const source = info?.sourceDir;
    for (const f of source ? TOKENIZER_FILES : []) {
      if (existsSync(join(source as string, f)) && !existsSync(join(tmp, f)))
        copyFileSync(join(source as string, f), join(tmp, f));
    }
  });
}

function writeShards(dir: string, tensors: SafetensorsTensorInput[], maxShard: number): void {
  const shards: SafetensorsTensorInput[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const current = shards[shards.length - 1] as SafetensorsTensorInput[];
    if (size > 0 && size + t.data.byteLength > maxShard) {
      shards.push([t]);
      size = t.data.byteLength;
    } else {
      current.push(t);
      size += t.data.byteLength;
    }
  }
  const metadata = { format: "pt" };
  if (shards.length === 1) {
    writeSafetensorsFile(join(dir, "model.safetensors"), shards[0] ?? [], metadata);
    return;
  }
  const n = String(shards.length).padStart(5, "0");
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((shard, i) => {
    const file = `model-${String(i + 1).padStart(5, "0")}-of-${n}.safetensors`;
    writeSafetensorsFile(join(dir, file), shard, metadata);
    for (const t of shard) {
      weightMap[t.name] = file;
      total += t.data.byteLength;
    }
  });
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  writeFileSync(join(dir, "model.safetensors.index.json"), `${JSON.stringify(index, null, 2)}\n`);
}
