/**
 * File helpers for tokenizer folders: one-line errors naming the file and what was expected,
 * and atomic writes (temporary file in the same folder, fsync, rename over the target).
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { SafetuneError } from "../util/safetuneError.js";

/** A tokenizer file is missing, unreadable, not valid JSON, or not shaped as expected. Message is one line. */
export class TokenizerFileError extends SafetuneError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(oneLine(`${path}: ${detail}`));
    this.name = "TokenizerFileError";
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

export function errorText(error: unknown): string {
  return oneLine(error instanceof Error ? error.message : String(error));
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads a text file; a missing file gives undefined unless `required`, any other failure throws. */
export function readTextSync(path: string, expected: string, required: boolean): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    return readFailure(path, expected, required, error);
  }
}

export async function readText(
  path: string,
  expected: string,
  required: boolean,
): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    return readFailure(path, expected, required, error);
  }
}

function readFailure(path: string, expected: string, required: boolean, error: unknown): undefined {
  if (isMissing(error)) {
    if (!required) return undefined;
    throw new TokenizerFileError(path, `file not found (expected ${expected})`);
  }
  throw new TokenizerFileError(path, `cannot read file (${errorText(error)}; expected ${expected})`);
}

/** Parses `text` as a JSON object; anything else throws a TokenizerFileError naming `path`. */
export function parseJsonObject(path: string, text: string, expected: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TokenizerFileError(path, `invalid JSON (${errorText(error)}; expected ${expected})`);
  }
  if (!isPlainObject(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    throw new TokenizerFileError(path, `JSON is ${kind}, not an object (expected ${expected})`);
  }
  return value;
}

/** Atomic: writes a temporary file in the same folder, fsyncs it, then renames it over the target. */
export function writeFileAtomicSync(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o644);
    const bytes = Buffer.from(data, "utf8");
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created or is already renamed
    }
    throw error;
  }
}
