// Finding evaluation runs (results.json) or training runs (metrics.jsonl, raft.jsonl) under a folder, and turning
// a run id from a URL back into a folder inside it.
// A run id is the run folder's path relative to the runs folder, with "/" between parts; when the runs folder
// is itself a run, it is the only one, named by its folder's name ("." would vanish from URLs). Nothing that
// resolves outside the runs folder, and no hidden folder, is ever accepted.
import { type Dirent, existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";

/** How many folders below the runs folder a results.json is looked for (pipelines: WORKDIR/STAGE). */
export const RUN_SEARCH_DEPTH = 4;

/** Folders never holding runs worth listing: answer caches, model weights, dependencies, hidden ones. */
const SKIPPED_FOLDERS = new Set(["cache", "model", "node_modules", "checkpoints", "iterations"]);

/** Stops a scan of a huge tree (a home folder given by mistake) from stalling every request. */
const MAX_FOLDERS_VISITED = 5000;

/** The id of a runs folder that is a run itself. */
function rootRunId(root: string): string {
  return basename(root) || "run";
}

export interface RunLocation {
  id: string;
  dir: string;
}

/** What marks a folder as a run of some kind: the files it has (any one), and what the kind is called. */
export interface RunKind {
  files: string[];
  noun: string;
}

export const EVAL_RUNS: RunKind = { files: ["results.json"], noun: "evaluation run" };
export const TRAIN_RUNS: RunKind = { files: ["raft.jsonl", "metrics.jsonl"], noun: "training run" };

/** The first of the kind's files the folder has, or undefined when it is no run of that kind. */
function runFile(dir: string, kind: RunKind): string | undefined {
  for (const file of kind.files) {
    try {
      if (statSync(join(dir, file)).isFile()) return file;
    } catch {
      // not this one
    }
  }
  return undefined;
}

function isRunFolder(dir: string, kind: RunKind = EVAL_RUNS): boolean {
  return runFile(dir, kind) !== undefined;
}

/**
 * Every run folder of `kind` (default: evaluation runs, with a results.json) under `runsDir` (itself included), at
 * most RUN_SEARCH_DEPTH levels deep.
 * Symbolic links are not followed, so the scan stays inside the folder; a run's own subfolders are not searched.
 */
export function findRuns(runsDir: string, kind: RunKind = EVAL_RUNS): RunLocation[] {
  const root = resolve(runsDir);
  const found: RunLocation[] = [];
  let visited = 0;
  const visit = (dir: string, parts: string[]) => {
    if (++visited > MAX_FOLDERS_VISITED) return;
    if (isRunFolder(dir, kind)) {
      found.push({ id: parts.length === 0 ? rootRunId(dir) : parts.join("/"), dir });
      return;
    }
    if (parts.length >= RUN_SEARCH_DEPTH) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // unreadable folders are simply not listed
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith(".") || SKIPPED_FOLDERS.has(entry.name)) continue;
      visit(join(dir, entry.name), [...parts, entry.name]);
    }
  };
  if (existsSync(root)) visit(root, []);
  return found;
}

export type RunLookup =
  | { ok: true; location: RunLocation }
  | { ok: false; status: 400 | 404; message: string };

/** Why an id is not even a well-formed run id (undefined when it is one). */
function malformedId(id: string): string | undefined {
  if (id === "" || id.length > 1000) return "empty or overlong run id";
  if (/[\\\0]/.test(id)) return "run ids use '/' between folders and no control characters";
  if (id.startsWith("/") || /^[A-Za-z]:/.test(id)) return "run ids are relative to the runs folder";
  const parts = id.split("/");
  if (parts.some((p) => p === "" || p.startsWith(".")))
    return "run ids may not contain empty, '.', '..' or hidden parts";
  if (parts.length > RUN_SEARCH_DEPTH) return "run id nested deeper than runs are searched";
  return undefined;
}

/**
 * The run folder an id names: 400 for an id that could point anywhere but at a folder below `runsDir`,
 * 404 for one that names no finished run. The real path (symbolic links resolved) must stay inside too.
 */
export function resolveRun(runsDir: string, id: string, kind: RunKind = EVAL_RUNS): RunLookup {
  const problem = malformedId(id);
  if (problem) return { ok: false, status: 400, message: `bad run id ${JSON.stringify(id)}: ${problem}` };
  const root = resolve(runsDir);
  const notFound = {
    ok: false as const,
    status: 404 as const,
    message: `no ${kind.noun} ${JSON.stringify(id)}`,
  };
  if (isRunFolder(root, kind))
    return id === rootRunId(root) ? { ok: true, location: { id, dir: root } } : notFound;
  const dir = join(root, ...id.split("/"));
  const file = runFile(dir, kind);
  if (file === undefined) return notFound;
  try {
    const realRoot = realpathSync(root);
    const realDir = realpathSync(dir);
    const realFile = realpathSync(join(dir, file));
    const inside = (p: string) => p === realRoot || p.startsWith(realRoot + sep);
    if (!inside(realDir) || !inside(realFile)) return notFound;
  } catch {
    return notFound;
  }
  return { ok: true, location: { id, dir } };
}
