// Shared helpers for tests against the golden model fixtures in ../shared/fixtures/models.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBytes, noGrad, type Tensor, tidy } from "../../src/engine/index.js";
import { SAFETENSORS_TO_DTYPE } from "../../src/model/checkpoint.js";
import { readSafetensorsFile } from "../../src/model/safetensors.js";

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The shared fixtures and datasets beside the checkout (SAFETUNE_SHARED overrides where they are). */
export const SHARED = process.env.SAFETUNE_SHARED ?? resolve(REPO_ROOT, "../shared");

/** Tiny Hugging Face-layout checkpoints with reference outputs (see ../shared/fixtures/README.md). */
export const FIXTURES = resolve(SHARED, "fixtures/models");

/** The folder of one fixture model, e.g. fixtureDir("llama"). */
export function fixtureDir(name: string): string {
  return join(FIXTURES, name);
}

/**
 * Every tensor of `<fixture>/expected.safetensors` by name, with its on-disk dtype (I64 -> int64, F32 -> float32).
 * The tensors belong to the enclosing tidy() scope, if any; otherwise dispose them with disposeAll().
 */
export function expected(name: string): Map<string, Tensor> {
  const file = readSafetensorsFile(join(fixtureDir(name), "expected.safetensors"));
  const out = new Map<string, Tensor>();
  for (const [key, entry] of file.tensors) {
    out.set(key, fromBytes(entry.data, entry.shape, SAFETENSORS_TO_DTYPE[entry.dtype]));
  }
  return out;
}

/** Disposes every tensor of a map (e.g. the result of expected()). */
export function disposeAll(tensors: Map<string, Tensor>): void {
  for (const t of tensors.values()) t.dispose();
}

/** The tensor `name` of a map, or a thrown error naming it. */
export function must(tensors: Map<string, Tensor>, name: string): Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`no tensor '${name}' (have: ${[...tensors.keys()].join(", ")})`);
  return t;
}

function checkShapes(a: Tensor, b: Tensor): void {
  if (a.shape.join(",") !== b.shape.join(",")) {
    throw new Error(`shape mismatch: [${a.shape}] vs [${b.shape}]`);
  }
}

/** max |a - b| over all elements, computed in float32 (shapes must match). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  checkShapes(a, b);
  if (a.numel === 0) return 0;
  return noGrad(() => tidy(() => a.float().sub(b.float()).abs().amax().item()));
}

/** max |b| over all elements. */
export function maxAbs(t: Tensor): number {
  if (t.numel === 0) return 0;
  return noGrad(() => tidy(() => t.float().abs().amax().item()));
}

/** max |a - b| / max |b|: the error relative to the reference `b` (the absolute error when b is all zeros). */
export function maxRelDiff(a: Tensor, b: Tensor): number {
  const abs = maxAbsDiff(a, b);
  const scale = maxAbs(b);
  return scale > 0 ? abs / scale : abs;
}

/** The part of node:test's TestContext that tmpDir needs. */
export interface AfterHook {
  after(fn: () => void | Promise<void>): void;
}

/**
 * A fresh temporary folder under os.tmpdir(). With a test context it is removed after that test;
 * without one, remove it with the returned folder's cleanup (see tmpDirWithCleanup).
 */
export function tmpDir(t: AfterHook, prefix = "safetune-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh temporary folder and the function that removes it. */
export function tmpDirWithCleanup(prefix = "safetune-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
