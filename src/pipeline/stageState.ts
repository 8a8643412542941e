// <stage folder>/stage.json: which config a stage's output belongs to, whether it finished, and which runs of
// its upstream stages it was built from.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomically } from "../util/atomicFolder.js";

export interface StageState {
  kind: string;
  /** The hash of the resolved config, its upstream hashes and its external inputs' fingerprints. */
  hash: string;
  state: "running" | "done";
  started: string;
  finished?: string;
  seconds?: number;
  /** A fresh id per finished run: downstream stages record it to notice a rerun upstream. */
  runId?: string;
  /** Upstream stage -> the runId it had when this stage ran. */
  upstream: Record<string, string>;
  summary?: string;
  /** The intra-op threads it ran with, when the pipeline fixed them. */
  threads?: number;
  figures?: Record<string, number>;
}

export const STATE_FILE = "stage.json";

export function readStageState(dir: string): StageState | undefined {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as StageState;
  } catch {
    return undefined; // a torn write is treated as no state: the stage runs again
  }
}

export function writeStageState(dir: string, state: StageState): void {
  writeFileAtomically(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
