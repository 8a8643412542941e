// Training checkpoints: trainable weights, optimizer moments, RNG state and position, written atomically with
// sha256 checksums so an interrupted run resumes exactly where it stopped, from the newest checkpoint that is intact.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromBytes, getRngState, noGrad, setRngState, type Tensor, tidy } from "../engine/index.js";
import type { AdamW } from "../engine/optim/adamw.js";
import { dtypeToSafetensors, SAFETENSORS_TO_DTYPE } from "../model/checkpoint.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../model/safetensors.js";
import { writeFolderAtomically } from "../util/atomicFolder.js";
import { SafetuneError } from "../util/safetuneError.js";

/** Where the loop is: enough to continue with the same data order, schedule and randomness. */
export interface LoopPosition {
  /** Optimizer steps taken. */
  step: number;
  epoch: number;
  /** Examples of this epoch's permutation already consumed. */
  offset: number;
  /** Tokens seen so far (for throughput and the model card). */
  tokens: number;
}

export interface CheckpointState extends LoopPosition {
  /** Hash of the resolved config: a resume from another config is refused. */
  configHash: string;
  /** JS-side random state the trainer needs back (e.g. RAFT's sampler), if any. */
  extra?: Record<string, unknown>;
}

const PREFIX = "step-";
/** sha256 of every other file of a checkpoint, written last. */
const CHECKSUMS = "checksums.json";

/** A checkpoint is unusable (damaged, or not from this run); the message names the file and what is wrong. */
export class CheckpointError extends SafetuneError {
  override readonly name = "CheckpointError";
}

export function checkpointDir(outDir: string, step: number): string {
  return join(outDir, "checkpoints", `${PREFIX}${String(step).padStart(7, "0")}`);
}

/** The newest complete checkpoint of a run, if any. */
export function latestCheckpoint(outDir: string): string | undefined {
  const root = join(outDir, "checkpoints");
  if (!existsSync(root)) return undefined;
  const steps = readdirSync(root)
    .filter((d) => d.startsWith(PREFIX) && existsSync(join(root, d, "state.json")))
    .sort();
  const last = steps[steps.length - 1];
  return last ? join(root, last) : undefined;
}

function tensorEntries(named: [string, Tensor][]) {
  return noGrad(() =>
    named.map(([name, t]) => ({
      name,
      dtype: dtypeToSafetensors(t.dtype),
      shape: [...t.shape],
      data: t.toBytes(),
    })),
  );
}

/**
 * Writes a checkpoint for `state.step` and keeps only the newest `keep` of them. Without an optimizer (RAFT
 * restarts its optimizer every iteration) only weights, RNG and state are written.
 */
export function saveCheckpoint(
  outDir: string,
  trainable: [string, Tensor][],
  optimizer: AdamW | undefined,
  state: CheckpointState,
  keep: number,
): string {
  const dir = checkpointDir(outDir, state.step);
  const moments: [string, Tensor][] = [];
  const names = trainable.map(([n]) => n);
  optimizer?.groups.forEach((g) => {
    g.params.forEach((p, i) => {
      const name = names[trainable.findIndex(([, t]) => t === p)] ?? `param.${i}`;
      moments.push(
        [`exp_avg.${name}`, g.expAvg[i] as Tensor],
        [`exp_avg_sq.${name}`, g.expAvgSq[i] as Tensor],
      );
    });
  });
  const rng = tidy(() => getRngState().toBytes());
  writeFolderAtomically(dir, (tmp) => {
    writeSafetensorsFile(join(tmp, "trainable.safetensors"), tensorEntries(trainable));
    if (optimizer) {
      writeSafetensorsFile(join(tmp, "optimizer.safetensors"), tensorEntries(moments), {
        step: String(optimizer.stepCount),
      });
    }
    writeSafetensorsFile(join(tmp, "rng.safetensors"), [
      { name: "torch_cpu", dtype: "U8", shape: [rng.length], data: rng },
    ]);
    writeFileSync(join(tmp, "state.json"), `${JSON.stringify(state, null, 2)}\n`);
    writeChecksums(tmp);
  });
  const root = join(outDir, "checkpoints");
  const all = readdirSync(root)
    .filter((d) => d.startsWith(PREFIX))
    .sort();
  for (const old of all.slice(0, Math.max(0, all.length - keep)))
    rmSync(join(root, old), { recursive: true, force: true });
  return dir;
}

/** Restores weights, optimizer moments and RNG from `dir`; returns the loop state. */
export function loadCheckpoint(
  dir: string,
  trainable: [string, Tensor][],
  optimizer: AdamW | undefined,
): CheckpointState {
  const state = readCheckpointState(dir);
  const weights = readSafetensorsFile(join(dir, "trainable.safetensors")).tensors;
  const moments = optimizer ? readSafetensorsFile(join(dir, "optimizer.safetensors")) : undefined;
  const restore = (target: Tensor, name: string, from: typeof weights) => {
    const entry = from.get(name);
    if (!entry) throw new CheckpointError(`${dir}: checkpoint has no '${name}'`);
    tidy(() => {
      target.copy_(fromBytes(entry.data, entry.shape, SAFETENSORS_TO_DTYPE[entry.dtype]));
    });
  };
  noGrad(() => {
    for (const [name, t] of trainable) restore(t, name, weights);
    if (!optimizer || !moments) return;
    optimizer.groups.forEach((g) => {
      g.params.forEach((p, i) => {
        const name = trainable.find(([, t]) => t === p)?.[0] ?? `param.${i}`;
        restore(g.expAvg[i] as Tensor, `exp_avg.${name}`, moments.tensors);
        restore(g.expAvgSq[i] as Tensor, `exp_avg_sq.${name}`, moments.tensors);
      });
    });
    optimizer.stepCount = Number(moments.metadata.step ?? state.step);
  });
  const rng = readSafetensorsFile(join(dir, "rng.safetensors")).tensors.get("torch_cpu");
  if (rng) tidy(() => setRngState(fromBytes(rng.data, rng.shape, "uint8")));
  return state;
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Records the sha256 of every file in checkpoint folder `dir` in checksums.json. */
function writeChecksums(dir: string): void {
  const files = readdirSync(dir)
    .filter((f) => f !== CHECKSUMS)
    .sort();
  const sums = Object.fromEntries(files.map((f) => [f, sha256(join(dir, f))]));
  writeFileSync(join(dir, CHECKSUMS), `${JSON.stringify({ algorithm: "sha256", files: sums }, null, 2)}\n`);
}

/**
 * Throws a CheckpointError naming the first file of `dir` that is missing or whose sha256 differs from
 * checksums.json. A checkpoint written before checksums were recorded is only checked for its state.json.
 */
export function verifyCheckpoint(dir: string): void {
  const path = join(dir, CHECKSUMS);
  if (!existsSync(path)) {
    if (!existsSync(join(dir, "state.json"))) throw new CheckpointError(`${dir}: no state.json`);
    return;
  }
  let files: unknown;
  try {
    files = (JSON.parse(readFileSync(path, "utf8")) as { files?: unknown }).files;
  } catch (error) {
    throw new CheckpointError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof files !== "object" || files === null || Array.isArray(files))
    throw new CheckpointError(`${path}: missing field 'files' (expected an object of file name -> sha256)`);
  for (const [file, expected] of Object.entries(files as Record<string, unknown>)) {
    if (file.includes("/") || file.includes("\\"))
      throw new CheckpointError(`${path}: '${file}' must be a file name in the checkpoint folder`);
    const target = join(dir, file);
    if (!existsSync(target)) throw new CheckpointError(`${target}: missing`);
    if (sha256(target) !== expected)
      throw new CheckpointError(`${target}: sha256 differs from ${CHECKSUMS} (truncated or modified)`);
  }
}

/** What a checkpoint's state.json must agree with. */
export interface RunBounds {
  /** The run's config hash. */
  configHash: string;
  /** Total optimizer steps (or iterations) of the run: a checkpoint beyond it is not this run's. */
  totalSteps: number;
  /** Examples per epoch, when the loop resumes inside an epoch. */
  examplesPerEpoch?: number;
}

/** Reads and validates `dir`/state.json; a parse error or a bad field is a CheckpointError naming the file. */
export function readCheckpointState(dir: string): CheckpointState {
  const path = join(dir, "state.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new CheckpointError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new CheckpointError(`${path}: expected a JSON object`);
  const s = raw as Record<string, unknown>;
  const count = (key: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = s[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      throw new CheckpointError(
        `${path}: field '${key}' is ${JSON.stringify(v)} (expected an integer from ${min} to ${max})`,
      );
    return v;
  };
  const step = count("step", 1);
  const epoch = count("epoch", 0);
  const offset = count("offset", 0);
  const tokens = count("tokens", 0);
  if (typeof s.configHash !== "string")
    throw new CheckpointError(
      `${path}: field 'configHash' is ${JSON.stringify(s.configHash)} (expected a string)`,
    );
  if (s.extra !== undefined && (typeof s.extra !== "object" || s.extra === null || Array.isArray(s.extra)))
    throw new CheckpointError(`${path}: field 'extra' must be an object`);
  const state: CheckpointState = { step, epoch, offset, tokens, configHash: s.configHash };
  if (s.extra !== undefined) state.extra = s.extra as Record<string, unknown>;
  return state;
}

/**
 * An intact checkpoint that is not this run's is refused, not skipped: falling back would silently throw away
 * newer training (a run resumed with fewer steps than it already took, another config, other data).
 */
function checkAgainstRun(dir: string, state: CheckpointState, bounds: RunBounds): void {
  const path = join(dir, "state.json");
  if (state.configHash !== bounds.configHash)
    throw new CheckpointError(
      `--resume: ${dir} was written by another config (${state.configHash} vs ${bounds.configHash}); use the same config or a new --out`,
    );
  if (state.step > bounds.totalSteps)
    throw new CheckpointError(
      `--resume: ${path}: step ${state.step} is beyond this run's ${bounds.totalSteps} steps; resume with at least that many steps (or iterations) or use a new --out`,
    );
  if (bounds.examplesPerEpoch !== undefined && state.offset > bounds.examplesPerEpoch)
    throw new CheckpointError(
      `--resume: ${path}: offset ${state.offset} is beyond this run's ${bounds.examplesPerEpoch} examples per epoch; use the same data or a new --out`,
    );
}

/** The checkpoint a resume uses and those it passed over, newest first, with why. */
export interface ResumePoint {
  dir: string | undefined;
  skipped: { dir: string; reason: string }[];
}

/**
 * The newest checkpoint of `outDir` whose files match their checksums and whose state.json is valid. Damaged
 * ones are skipped (and listed); an intact one that is not this run's is an error (see checkAgainstRun).
 */
export function findResumePoint(outDir: string, bounds: RunBounds): ResumePoint {
  const root = join(outDir, "checkpoints");
  const skipped: ResumePoint["skipped"] = [];
  if (!existsSync(root)) return { dir: undefined, skipped };
  const dirs = readdirSync(root)
    .filter((d) => d.startsWith(PREFIX))
    .sort()
    .reverse();
  for (const name of dirs) {
    const dir = join(root, name);
    let state: CheckpointState;
    try {
      verifyCheckpoint(dir);
      state = readCheckpointState(dir);
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      skipped.push({ dir, reason: error.message });
      continue;
    }
    checkAgainstRun(dir, state, bounds);
    return { dir, skipped };
  }
  if (skipped.length > 0)
    throw new CheckpointError(
      `--resume: no usable checkpoint in ${root} (${skipped.map((s) => s.reason).join("; ")}); remove them or use a new --out`,
    );
  return { dir: undefined, skipped };
}
