// Reading and writing a folder's weights: model.safetensors, or shards listed in model.safetensors.index.json.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DType } from "../engine/index.js";
import { ModelError } from "./errors.js";
import type { SafetensorsDtype } from "./safetensors.js";

export const SAFETENSORS_TO_DTYPE: Record<SafetensorsDtype, DType> = {
  F64: "float64",
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

export function dtypeToSafetensors(dtype: DType): SafetensorsDtype {
  const found = (Object.entries(SAFETENSORS_TO_DTYPE) as [SafetensorsDtype, DType][]).find(
    ([, d]) => d === dtype,
  );
  if (!found) throw new ModelError(`dtype ${dtype} cannot be stored in safetensors`);
  return found[0];
}

/** The weight files of a folder, in order. */
export function checkpointFiles(dir: string): string[] {
  const single = join(dir, "model.safetensors");
  if (existsSync(single)) return [single];
  const indexPath = join(dir, "model.safetensors.index.json");
  if (existsSync(indexPath)) {
    let index: unknown;
    try {
      index = JSON.parse(readFileSync(indexPath, "utf8"));
    } catch (err) {
      throw new ModelError(`${indexPath}: not valid JSON (${(err as Error).message})`);
    }
    const map = (index as { weight_map?: unknown }).weight_map;
    if (typeof map !== "object" || map === null)
      throw new ModelError(
        `${indexPath}: missing field 'weight_map' (expected an object of weight name -> shard file)`,
      );
    const files = [...new Set(Object.values(map as Record<string, unknown>).map(String))].sort();
    for (const f of files) {
      if (f.includes("/") || f.includes("\\"))
        throw new ModelError(`${indexPath}: shard '${f}' must be a file name in the same folder`);
      if (!existsSync(join(dir, f)))
        throw new ModelError(`${indexPath}: shard '${f}' is missing from ${dir}`);
    }
    return files.map((f) => join(dir, f));
  }
  if (existsSync(join(dir, "pytorch_model.bin"))) {
    throw new ModelError(
      `${dir}: only safetensors weights are supported (found pytorch_model.bin); convert with transformers' save_pretrained(safe_serialization=True)`,
    );
  }
  throw new ModelError(`${dir}: no model.safetensors or model.safetensors.index.json`);
}
