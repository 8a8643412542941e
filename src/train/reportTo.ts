// Where a run reports besides metrics.jsonl (TRL's report_to): TensorBoard event files in <out>/runs/, and the
// training-curves SVG every run folder gets (<out>/curves.svg), rendered at each checkpoint and at the end.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventFileWriter } from "../tensorboard/index.js";
import { readJsonLines } from "../util/jsonLines.js";
import type { ReportTarget } from "./runConfig.js";

/** Where event files go: `tensorboard --logdir <out>` (or `<out>/runs`) finds them, as with transformers' runs/. */
export function tensorboardDir(outDir: string): string {
  return join(outDir, "runs");
}

export function reportsTo(
  reportTo: ReportTarget | ReportTarget[] | undefined,
  target: ReportTarget,
): boolean {
  return reportTo === undefined ? false : (Array.isArray(reportTo) ? reportTo : [reportTo]).includes(target);
}

/**
 * TensorBoard tags of a metrics row in transformers' spelling: train/loss, train/learning_rate, train/grad_norm,
 * train/rewards/chosen, eval/loss, ...; the step itself is the event's step, not a scalar.
 */
export function tensorboardScalars(row: Record<string, number>, prefix = "train"): [string, number][] {
  const scalars: [string, number][] = [];
  for (const [key, value] of Object.entries(row)) {
    if (key === "step" || key === "iteration" || typeof value !== "number") continue;
    if (key.startsWith("eval_")) scalars.push([`eval/${key.slice(5)}`, value]);
    else scalars.push([`${prefix}/${key === "lr" ? "learning_rate" : key}`, value]);
  }
  return scalars;
}

/**
 * Renders `<outDir>/curves.svg` from the run's log (`raft.jsonl` when it has one, else `metrics.jsonl`). A chart
 * that fails to render is reported on stderr and does not stop training.
 */
export async function writeCurves(outDir: string, log?: (line: string) => void): Promise<string | undefined> {
  const raft = join(outDir, "raft.jsonl");
  const source = existsSync(raft) ? raft : join(outDir, "metrics.jsonl");
  const path = join(outDir, "curves.svg");
  try {
    // vega is loaded when the first chart is drawn, not by every command that imports the trainers.
    const { renderCurves } = await import("../charts/trainingCurves.js");
    writeFileSync(path, await renderCurves(readJsonLines(source)));
    return path;
  } catch (error) {
    (log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `${path}: training curves not written: ${error instanceof Error ? error.message : String(error)}`,
    );
    return undefined;
  }
}

/** The TensorBoard side of a run: one event file per attempt in <out>/runs/, scalars at each logged step. */
export class TensorBoardReport {
  private readonly writer: EventFileWriter;

  constructor(outDir: string, options: { resumedAt?: number } = {}) {
    this.writer = new EventFileWriter(tensorboardDir(outDir));
    // A resumed run replays the steps after its checkpoint: TensorBoard drops the earlier attempt's copies.
    if (options.resumedAt !== undefined) this.writer.restartAt(options.resumedAt + 1);
  }

  get path(): string {
    return this.writer.path;
  }

  /** One metrics row (its `step`, or `at`, is the event's step). */
  log(row: Record<string, number>, options: { at?: number; prefix?: string } = {}): void {
    this.writer.scalars(options.at ?? row.step ?? 0, tensorboardScalars(row, options.prefix));
  }

  close(): void {
    this.writer.close();
  }
}
