// Checks every command runs before it loads a model: loading takes tens of seconds at real sizes, so a typo in a
// data path, a folder, a template or an output path must fail first, in a fraction of a second, as one line.
// One helper per concern; each reads headers or the first rows only, never weights.
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadRecords } from "../data/loadRecords.js";
import type { DataRecord, RecordKind } from "../data/records.js";
import { ModelError } from "../model/errors.js";
import { readModelConfig } from "../model/loadModel.js";
import { adapterBaseModel, isAdapterFolder, readLoraConfig } from "../model/loraFiles.js";
import { readSafetensorsHeader, SafetensorsError } from "../model/safetensors.js";
import { readWeightHeaders } from "../model/weightsMatchConfig.js";
import {
  loadTokenizer,
  resolveChatTemplate,
  type Tokenizer,
  TokenizerFileError,
} from "../tokenize/tokenizer.js";
import { UsageError } from "./errors.js";

/** Rows read from a data file before a model loads (the rest is read when the run reads the file). */
export const PREFLIGHT_ROWS = 8;

/**
 * A model folder as `what` (e.g. "--reward-model"): config.json present and valid (or, for a PEFT adapter folder,
 * adapter_config.json and its base). With `weights`, the safetensors headers are read too (headers only).
 */
export function checkModelFolder(dir: string, options: { what?: string; weights?: boolean } = {}): void {
  const what = options.what ? `${options.what}: ` : "";
  try {
    if (isAdapterFolder(dir)) {
      checkAdapterFolder(dir, options.what);
      checkModelFolder(adapterBaseModel(dir), options);
      return;
    }
    readModelConfig(dir);
    if (options.weights) readWeightHeaders(dir);
  } catch (error) {
    if (error instanceof ModelError && what) throw new ModelError(`${what}${error.message}`);
    throw error;
  }
}

/** A PEFT adapter folder: adapter_config.json valid, adapter_model.safetensors present with a readable header. */
export function checkAdapterFolder(dir: string, what = "--adapter"): void {
  try {
    readLoraConfig(dir); // a missing folder reads as its missing adapter_config.json
  } catch (error) {
    if (error instanceof ModelError) throw new ModelError(`${what}: ${error.message}`);
    throw error;
  }
  const file = join(dir, "adapter_model.safetensors");
  if (!existsSync(file))
    throw new ModelError(`${what}: ${file}: missing (only safetensors adapters are supported)`);
  try {
    readSafetensorsHeader(file);
  } catch (error) {
    if (error instanceof SafetensorsError) throw new ModelError(`${what}: ${error.message}`);
    throw error;
  }
}

/** The folder's tokenizer.json is there (text prompts and chat templates need it). */
export function checkTokenizerFile(dir: string, what = "--model"): void {
  const file = join(dir, "tokenizer.json");
  if (!existsSync(file))
    throw new TokenizerFileError(`${what}: ${file}`, "missing (a tokenizer is needed to encode text)");
}

/** The template `name` (or the tokenizer's own, when none is named) resolves for this tokenizer. */
export function checkTemplate(tokenizer: Tokenizer, name: string | undefined, what = "--template"): void {
  try {
    resolveChatTemplate(tokenizer, name);
  } catch (error) {
    throw new UsageError(`${what}: ${(error as Error).message}`);
  }
}

/** The first existing folder at or above `path`. */
function nearestExisting(path: string): string {
  let dir = resolve(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** A folder that can be created (or written into) at `path`: not a file, under a writable folder. */
export function checkWritableFolder(path: string, what = "--out"): void {
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new UsageError(`${what}: ${path} is a file, not a folder`);
  const base = nearestExisting(path);
  if (!statSync(base).isDirectory())
    throw new UsageError(`${what}: ${path}: ${base} is a file, not a folder`);
  try {
    accessSync(base, constants.W_OK);
  } catch {
    throw new UsageError(`${what}: ${path}: cannot write in ${base} (permission denied)`);
  }
}

/** A file that can be written at `path`: not a folder, its folder writable (or creatable). */
export function checkWritableFile(path: string, what = "--out"): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new UsageError(`${what}: ${path} is a folder, not a file`);
  const folder = dirname(resolve(path));
  if (existsSync(folder) && !statSync(folder).isDirectory())
    throw new UsageError(`${what}: ${path}: ${folder} is a file, not a folder`);
  checkWritableFolder(folder, `${what}: ${path}`);
}

/**
 * A run folder: writable, and not holding a finished run (`finished`, e.g. "model") unless the user said to
 * continue (--resume) or replace it (--overwrite).
 */
export function checkRunFolder(
  out: string,
  options: { finished: string; resume: boolean; overwrite: boolean },
): void {
  checkWritableFolder(out);
  const done = join(out, options.finished);
  if (existsSync(done) && !options.resume && !options.overwrite)
    throw new UsageError(
      `--out: ${done} holds a finished run; pass --overwrite to replace it, --resume to continue it, or another --out`,
    );
}

/**
 * The first rows of a data file, mapped and validated as the run will (a missing file, a bad mapping or a bad
 * first row fails here with the file and line). Only PREFLIGHT_ROWS records are read.
 */
export async function checkDataFile(
  path: string,
  options: { mapping?: string | undefined; kind: RecordKind | readonly RecordKind[]; skipInvalid?: boolean },
): Promise<DataRecord[]> {
  const result = await loadRecords(path, {
    ...(options.mapping === undefined ? {} : { mapping: options.mapping }),
    kind: options.kind,
    skipInvalid: options.skipInvalid ?? false,
    limit: PREFLIGHT_ROWS,
  });
  return result.records;
}

/**
 * A model a command will load and prompt with text: its folder (config.json), the adapter folder, and — when
 * `template` is given ("" for the tokenizer's own) — the tokenizer and the chat template rendering one message.
 */
export async function checkLocalModel(options: {
  model: string;
  adapter?: string | undefined;
  /** The template to render with: a name or jinja, null for the tokenizer's own, undefined when none is used. */
  template?: string | null | undefined;
  /** tokenizer.json must be there even when no template is used. */
  tokenizer?: boolean;
}): Promise<void> {
  checkModelFolder(options.model, { what: "--model" });
  if (options.adapter !== undefined) checkAdapterFolder(options.adapter);
  if (options.template === undefined && !options.tokenizer) return;
  checkTokenizerFile(options.model);
  if (options.template === undefined) return;
  const tokenizer = await loadTokenizer(options.model);
  checkTemplate(tokenizer, options.template ?? undefined);
  try {
    tokenizer.applyChatTemplate([{ role: "user", content: "x" }], {
      addGenerationPrompt: true,
      ...(options.template === null ? {} : { template: options.template }),
    });
  } catch (error) {
    throw new UsageError(`--template: ${(error as Error).message.split("\n")[0]}`);
  }
}
