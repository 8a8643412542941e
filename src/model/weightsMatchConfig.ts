// A model folder's config.json checked against the weight files actually present, from the safetensors headers
// alone: nothing is allocated for a config that the weights do not back.
import { join } from "node:path";
import { paramSpecsOf } from "./buildModel.js";
import { checkpointFiles } from "./checkpoint.js";
import type { ModelConfig } from "./config.js";
import { ModelError } from "./errors.js";
import {
  readSafetensorsHeader,
  SAFETENSORS_PREFIX_BYTES,
  SafetensorsError,
  type SafetensorsHeaderEntry,
} from "./safetensors.js";

/** A header entry, the file it came from, and where its bytes start in that file. */
export interface WeightHeader extends SafetensorsHeaderEntry {
  file: string;
  /** Absolute byte position of the tensor's data in `file` (length prefix + header + data offset). */
  position: number;
}

/** Every weight's header entry in the folder's safetensors files, by name. */
export function readWeightHeaders(dir: string): Map<string, WeightHeader> {
  const out = new Map<string, WeightHeader>();
  for (const file of checkpointFiles(dir)) {
    let tensors: Map<string, SafetensorsHeaderEntry>;
    let dataStart: number;
    try {
      const header = readSafetensorsHeader(file);
      tensors = header.tensors;
      dataStart = SAFETENSORS_PREFIX_BYTES + header.headerLength;
    } catch (error) {
      if (error instanceof SafetensorsError) throw new ModelError(error.message);
      throw error;
    }
    for (const [name, entry] of tensors) {
      const earlier = out.get(name);
      if (earlier) throw new ModelError(`${file}: weight '${name}' also appears in ${earlier.file}`);
      out.set(name, { ...entry, file, position: dataStart + entry.dataOffsets[0] });
    }
  }
  return out;
}

const LAYER_INDEX = /(?:^|\.)(?:layers|h)\.(\d+)\./;

/** How many transformer blocks the weight names hold (highest block index + 1; 0 when none). */
export function layersInWeights(names: Iterable<string>): number {
  let top = -1;
  for (const name of names) {
    const m = LAYER_INDEX.exec(name);
    if (m) top = Math.max(top, Number(m[1]));
  }
  return top + 1;
}

/**
 * Throws a one-line ModelError unless the weight files hold exactly the blocks config.json declares and every
 * weight it implies, at the shape it implies. Reads headers only.
 */
export function checkWeightsMatchConfig(
  dir: string,
  config: ModelConfig,
  headers: Map<string, WeightHeader> = readWeightHeaders(dir),
): void {
  const configPath = join(dir, "config.json");
  const layerField = config.family === "gpt2" ? "n_layer" : "num_hidden_layers";
  const held = layersInWeights(headers.keys());
  if (held !== config.numLayers) {
    const files = [...new Set([...headers.values()].map((h) => h.file))].join(", ");
    throw new ModelError(
      `${configPath}: field '${layerField}' is ${config.numLayers} but the weights (${files}) hold ${held} layers`,
    );
  }
  const lookup = (name: string) =>
    headers.get(name) ??
    (config.family === "gpt2" ? headers.get(name.replace(/^transformer\./, "")) : undefined);
  for (const spec of paramSpecsOf(config)) {
    const entry = lookup(spec.name);
    if (!entry)
      throw new ModelError(
        `${dir}: weight '${spec.name}' is missing from the checkpoint (config.json implies shape [${spec.shape}])`,
      );
    if (entry.shape.join(",") !== spec.shape.join(","))
      throw new ModelError(
        `${entry.file}: weight '${entry.name}' has shape [${entry.shape}], config.json implies [${spec.shape}]`,
      );
  }
}
