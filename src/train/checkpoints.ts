// Training checkpoints: trainable weights, optimizer moments, RNG state and position, written atomically so an
// interrupted run resumes exactly where it stopped.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromBytes, getRngState, noGrad, setRngState, type Tensor, tidy } from "../engine/index.js";
import type { AdamW } from "../engine/optim/adamw.js";
import { dtypeToSafetensors, SAFETENSORS_TO_DTYPE } from "../model/checkpoint.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../model/safetensors.js";
import { writeFolderAtomically } from "../util/atomicFolder.js";

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
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as CheckpointState;
  const weights = readSafetensorsFile(join(dir, "trainable.safetensors")).tensors;
  const moments = optimizer ? readSafetensorsFile(join(dir, "optimizer.safetensors")) : undefined;
  const restore = (target: Tensor, name: string, from: typeof weights) => {
    const entry = from.get(name);
    if (!entry) throw new Error(`${dir}: checkpoint has no '${name}'`);
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
