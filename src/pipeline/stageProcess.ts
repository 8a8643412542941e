// Runs one stage in a child process (the stage kinds' worker module, which calls stageWorker.ts): libtorch's
// thread pool is per process, and the addon's calls block the event loop, so parallel stages need processes of
// their own. The child's output arrives as lines; its outcome, or the error that stopped it, over IPC.
import { spawn } from "node:child_process";
import { INTERRUPTED_EXIT_CODE, SafetuneError } from "../util/safetuneError.js";
import { PipelineError } from "./errors.js";
import type { StageOutcome } from "./stageKind.js";

export interface StageJob {
  kind: string;
  name: string;
  group: string;
  seed?: number;
  /** The validated config (plain JSON). */
  config: unknown;
  dir: string;
  resume: boolean;
  label: string;
  /** libtorch intra-op threads. */
  threads: number;
}

export type WorkerReply =
  | { type: "done"; outcome: StageOutcome }
  | { type: "error" | "interrupted"; name: string; message: string };

/** A stage stopped by Ctrl-C (or the pipeline's signal) in its process: what it finished is kept. */
export class StageInterrupted extends SafetuneError {
  override readonly name = "StageInterrupted";
  override readonly exitCode = INTERRUPTED_EXIT_CODE;
}

/**
 * The module `name` in the folder of the module at `moduleUrl`, with the same extension: `.ts` when running from
 * the TypeScript sources (through tsx), `.js` when built.
 */
export function moduleBeside(moduleUrl: string, name: string): URL {
  return new URL(`./${name}.${moduleUrl.endsWith(".ts") ? "ts" : "js"}`, moduleUrl);
}

/** Node's arguments to run `entry`; a TypeScript source is loaded through tsx, as the CLI is. */
function workerArgs(entry: URL): string[] {
  const fromSource = entry.pathname.endsWith(".ts");
  if (!fromSource) return [entry.pathname];
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return ["--input-type=module", "-e", bootstrap];
}

/**
 * Runs `job` in a child process of `workerModule` (StageKinds.workerModule); `onLine` gets each line it prints
 * (stdout and stderr). Resolves with its outcome; rejects with StageInterrupted when it was stopped, a
 * PipelineError naming the stage when it failed.
 */
export function runStageProcess(
  job: StageJob,
  workerModule: URL,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<StageOutcome> {
  const child = spawn(process.execPath, workerArgs(workerModule), {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: {
      ...process.env,
      SAFETUNE_STAGE_JOB: JSON.stringify(job),
      OMP_NUM_THREADS: String(job.threads),
      MKL_NUM_THREADS: String(job.threads),
    },
  });
  const tail: string[] = [];
  const lines = (stream: NodeJS.ReadableStream | null) => {
    let pending = "";
    stream?.on("data", (chunk: Buffer) => {
      const parts = (pending + String(chunk)).split("\n");
      pending = parts.pop() ?? "";
      for (const part of parts) {
        // A redrawn bar keeps only its last state.
        const line = part.split("\r").pop()?.trimEnd() ?? "";
        if (line === "") continue;
        tail.push(line);
        if (tail.length > 5) tail.shift();
        onLine(line);
      }
    });
  };
  lines(child.stdout);
  lines(child.stderr);
  let reply: WorkerReply | undefined;
  child.on("message", (m: WorkerReply) => {
    reply = m;
  });
  const onAbort = () => child.kill("SIGINT");
  signal.addEventListener("abort", onAbort, { once: true });
  return new Promise((resolve, reject) => {
    child.on("error", (err) =>
      reject(new PipelineError(`${job.name}: could not start its process: ${err.message}`)),
    );
    child.on("exit", (code, killedBy) => {
      signal.removeEventListener("abort", onAbort);
      if (reply?.type === "done") return resolve(reply.outcome);
      if (reply?.type === "interrupted" || signal.aborted || killedBy === "SIGINT")
        return reject(new StageInterrupted(`${job.name}: interrupted`));
      if (reply?.type === "error")
        return reject(new PipelineError(`${job.name}: ${reply.message.split("\n")[0]}`));
      const how = killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`;
      reject(
        new PipelineError(
          `${job.name}: its process ${how}${tail.length ? ` (last output: ${tail[tail.length - 1]})` : ""}`,
        ),
      );
    });
  });
}
