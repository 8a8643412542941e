// A learned refusal judge on disk: model.safetensors (its weights), card.json (how it was built, what it was
// measured at, and the weights' SHA-256) and README.md (the same for people). Loading checks the hash and
// the feature version, so a card never describes other weights than the ones judged with.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensorsFile, writeSafetensorsFile } from "../../model/safetensors.js";
import { writeFolderAtomically } from "../../util/atomicFolder.js";
import { EvaluationError } from "../errors.js";
import { REFUSAL_FEATURES_VERSION } from "./refusalFeatures.js";
import type { RefusalModel, RefusalModelConfig } from "./refusalModel.js";

export const REFUSAL_JUDGE_FORMAT = "safetune-refusal-judge/1";
export const WEIGHTS_FILE = "model.safetensors";
export const CARD_FILE = "card.json";

/** The judge safetune ships (`--judge refusal`), rebuilt by `npm run build:refusal-judge`. */
export const SHIPPED_REFUSAL_JUDGE_DIR = fileURLToPath(new URL("../../../judges/refusal/", import.meta.url));

/** What card.json holds; `measured` and `training` are free-form records written by the trainer. */
export interface RefusalJudgeCard {
  format: string;
  config: RefusalModelConfig;
  /** SHA-256 of model.safetensors, hex. */
  weightsSha256: string;
  training: Record<string, unknown>;
  measured?: Record<string, unknown>;
}

export function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function weightTensors(model: RefusalModel) {
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const width = Math.max(1, model.config.hidden);
  const tensors = [
    {
      name: "input",
      dtype: "F32" as const,
      shape: [model.config.features.buckets, width],
      data: bytes(model.weights.input),
    },
  ];
  if (model.weights.output)
    tensors.push({
      name: "output",
      dtype: "F32",
      shape: [model.config.hidden],
      data: bytes(model.weights.output),
    });
  if (model.weights.outputBias !== undefined)
    tensors.push({
      name: "output_bias",
      dtype: "F32",
      shape: [1],
      data: bytes(Float32Array.of(model.weights.outputBias)),
    });
  return tensors;
}

/**
 * Writes the folder atomically; `readme` renders the card for people. Returns the card as written.
 */
export function saveRefusalJudge(
  dir: string,
  model: RefusalModel,
  card: Omit<RefusalJudgeCard, "format" | "config" | "weightsSha256">,
  readme: (card: RefusalJudgeCard) => string,
): RefusalJudgeCard {
  let written: RefusalJudgeCard | undefined;
  writeFolderAtomically(dir, (tmp) => {
    const weights = join(tmp, WEIGHTS_FILE);
    writeSafetensorsFile(weights, weightTensors(model), { format: REFUSAL_JUDGE_FORMAT });
    written = {
      format: REFUSAL_JUDGE_FORMAT,
      config: model.config,
      weightsSha256: sha256File(weights),
      ...card,
    };
    writeFileSync(join(tmp, CARD_FILE), `${JSON.stringify(written, null, 2)}\n`);
    writeFileSync(join(tmp, "README.md"), readme(written));
  });
  return written as RefusalJudgeCard;
}

export function readRefusalJudgeCard(dir: string): RefusalJudgeCard {
  const path = join(dir, CARD_FILE);
  if (!existsSync(path))
    throw new EvaluationError(
      `${path}: no such file (a refusal judge folder holds ${CARD_FILE} and ${WEIGHTS_FILE}; make one with safetune judge train)`,
    );
  let card: RefusalJudgeCard;
  try {
    card = JSON.parse(readFileSync(path, "utf8")) as RefusalJudgeCard;
  } catch (err) {
    throw new EvaluationError(`${path}: not JSON (${(err as Error).message})`);
  }
  if (card.format !== REFUSAL_JUDGE_FORMAT)
    throw new EvaluationError(
      `${path}: format should be "${REFUSAL_JUDGE_FORMAT}", got ${JSON.stringify(card.format)}`,
    );
  if (card.config?.featuresVersion !== REFUSAL_FEATURES_VERSION)
    throw new EvaluationError(
      `${path}: config.featuresVersion is ${JSON.stringify(card.config?.featuresVersion)} but this safetune computes "${REFUSAL_FEATURES_VERSION}"; retrain the judge`,
    );
  return card;
}

function floats(
  entry: { dtype: string; data: Uint8Array; shape: number[] } | undefined,
  what: string,
): Float32Array {
  if (entry?.dtype !== "F32") throw new EvaluationError(`${what}: expected an F32 tensor`);
  return new Float32Array(entry.data.slice().buffer);
}

/** Loads a judge folder, checking that its weights are the ones its card describes. */
export function loadRefusalJudge(dir: string): { model: RefusalModel; card: RefusalJudgeCard } {
  const card = readRefusalJudgeCard(dir);
  const path = join(dir, WEIGHTS_FILE);
  if (!existsSync(path)) throw new EvaluationError(`${path}: no such file`);
  const hash = sha256File(path);
  if (hash !== card.weightsSha256)
    throw new EvaluationError(
      `${path}: SHA-256 ${hash.slice(0, 12)}... does not match ${CARD_FILE}'s weightsSha256 ${String(card.weightsSha256).slice(0, 12)}...: the weights are not the ones the card describes`,
    );
  const file = readSafetensorsFile(path);
  const input = floats(file.tensors.get("input"), `${path}: input`);
  const width = Math.max(1, card.config.hidden);
  if (input.length !== card.config.features.buckets * width)
    throw new EvaluationError(
      `${path}: input has ${input.length} values, expected ${card.config.features.buckets} x ${width}`,
    );
  const model: RefusalModel = { config: card.config, weights: { input } };
  if (card.config.hidden > 0) {
    model.weights.output = floats(file.tensors.get("output"), `${path}: output`);
    model.weights.outputBias = floats(file.tensors.get("output_bias"), `${path}: output_bias`)[0] ?? 0;
  }
  return { model, card };
}
