// metrics.jsonl after a resume: the rows of steps the run is about to replay are dropped, so the file keeps one
// row per step (plus evaluation rows) however often the run was interrupted.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomically } from "../util/atomicFolder.js";

/**
 * Keeps the rows of `path` whose `step` is at most `step` (and drops a torn last line a kill left behind).
 * Returns how many rows were dropped.
 */
export function truncateMetricsAfter(path: string, step: number): number {
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");
  const kept = lines.filter((line) => {
    try {
      const row = JSON.parse(line) as { step?: unknown };
      return typeof row.step === "number" && row.step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length !== lines.length) writeFileAtomically(path, kept.map((line) => `${line}\n`).join(""));
  return lines.length - kept.length;
}
