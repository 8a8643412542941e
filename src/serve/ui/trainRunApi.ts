// The dashboard's JSON API over training runs (folders with a metrics.jsonl, or a RAFT run's raft.jsonl): the runs
// with their latest figures, and one run's logged rows from a given row on, so a page polls only what is new
// while the run trains. Every run id goes through resolveRun before any file is read.
import { statSync } from "node:fs";
import { basename, join } from "node:path";
import { type Context, Hono } from "hono";
import { curvePanels } from "../../charts/trainingCurves.js";
import { readJsonLines } from "../../util/jsonLines.js";
import { findRuns, resolveRun, TRAIN_RUNS } from "./runIndex.js";

/** A run whose log changed this recently is shown as training. */
export const LIVE_SECONDS = 120;

/** The log a training run's curves come from: raft.jsonl (rewards per iteration) when it has one. */
function logOf(dir: string): { path: string; modified: Date } {
  for (const name of TRAIN_RUNS.files) {
    try {
      const info = statSync(join(dir, name));
      if (info.isFile()) return { path: join(dir, name), modified: info.mtime };
    } catch {
      // the next one
    }
  }
  throw new Error(`${dir}: no metrics.jsonl or raft.jsonl`);
}

function error(c: Context, status: 400 | 404 | 500, message: string): Response {
  return c.json({ error: { message } }, status);
}

/** The last value each column took, the step or iteration reached, and when the log last changed. */
function trainRunSummary(id: string, dir: string, now: number) {
  const { path, modified } = logOf(dir);
  const rows = readJsonLines(path);
  const { axis } = curvePanels(rows);
  const latest: Record<string, number> = {};
  for (const row of rows)
    for (const [k, v] of Object.entries(row)) if (typeof v === "number" && Number.isFinite(v)) latest[k] = v;
  return {
    id,
    name: basename(dir),
    log: basename(path),
    axis,
    rows: rows.length,
    reached: latest[axis] ?? 0,
    latest,
    updatedAt: modified.toISOString(),
    live: now - modified.getTime() < LIVE_SECONDS * 1000,
  };
}

export function trainRunApi(options: { runsDir?: string }): Hono {
  const app = new Hono();
  const runsDir = options.runsDir;

  app.get("/api/train-runs", (c) => {
    const now = Date.now();
    const runs = (runsDir === undefined ? [] : findRuns(runsDir, TRAIN_RUNS)).map(({ id, dir }) => {
      try {
        return trainRunSummary(id, dir, now);
      } catch (err) {
        return { id, error: (err as Error).message };
      }
    });
    return c.json({ runs });
  });

  /** Rows from row `from` on (default 0); `panels` and `total` always describe the whole log. */
  app.get("/api/train-runs/:id/metrics", (c) => {
    if (runsDir === undefined) return error(c, 404, "this server was started without a runs folder");
    const id = c.req.param("id");
    const found = resolveRun(runsDir, id, TRAIN_RUNS);
    if (!found.ok) return error(c, found.status, found.message);
    const raw = c.req.query("from") ?? "0";
    const from = Number(raw);
    if (!Number.isInteger(from) || from < 0) return error(c, 400, "from: expected a non-negative integer");
    try {
      const { path, modified } = logOf(found.location.dir);
      const rows = readJsonLines(path);
      return c.json({
        id,
        ...curvePanels(rows),
        total: rows.length,
        from: Math.min(from, rows.length),
        rows: rows.slice(from),
        updatedAt: modified.toISOString(),
        live: Date.now() - modified.getTime() < LIVE_SECONDS * 1000,
      });
    } catch (err) {
      return error(c, 500, (err as Error).message);
    }
  });
  return app;
}
