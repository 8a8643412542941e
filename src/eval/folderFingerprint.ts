// A cheap fingerprint of a model folder: sizes and modification times of its weight, config and tokenizer files,
// so that caches keyed by a folder's path notice when the model in it is retrained.
import { statSync } from "node:fs";
import { join } from "node:path";

const FILES = [
  "config.json",
  "model.safetensors",
  "model.safetensors.index.json",
  "adapter_model.safetensors",
  "adapter_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
];

export function folderFingerprint(dir: string): string {
  const parts: string[] = [];
  for (const name of FILES) {
    try {
      const st = statSync(join(dir, name));
      parts.push(`${name}:${st.size}:${st.mtimeMs}`);
    } catch {
      // absent files are simply not part of the fingerprint
    }
  }
  return parts.join("|");
}
