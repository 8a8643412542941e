// What the child process of one stage does when a pipeline runs stages in parallel (`--jobs N`): it receives the
// stage (kind, validated config, folder) in its environment, fixes libtorch's intra-op threads, runs it with its
// progress on stderr, and answers with the outcome, or with the error that stopped it. Ctrl-C reaches it as
// SIGINT: trainers checkpoint, evaluations keep their caches, and it answers "interrupted". The process's module
// (StageKinds.workerModule) calls runStageWorker with the kinds it knows.
import { setNumThreads } from "../engine/runtime.js";
import { INTERRUPTED_EXIT_CODE, SafetuneError } from "../util/safetuneError.js";
import type { StageKinds } from "./stageKind.js";
import type { StageJob, WorkerReply } from "./stageProcess.js";

function reply(message: WorkerReply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

/** Runs the stage job of this process's environment with `kinds`, answers its parent and exits. */
export async function runStageWorker(kinds: StageKinds["byName"]): Promise<never> {
  const controller = new AbortController();
  process.on("SIGINT", () => controller.abort());
  process.on("SIGTERM", () => controller.abort());
  const job = JSON.parse(process.env.SAFETUNE_STAGE_JOB ?? "null") as StageJob;
  try {
    setNumThreads(job.threads);
    const kind = kinds[job.kind];
    if (!kind) throw new Error(`unknown stage kind ${job.kind}`);
    const outcome = await kind.run({
      name: job.name,
      group: job.group,
      ...(job.seed === undefined ? {} : { seed: job.seed }),
      config: job.config,
      dir: job.dir,
      resume: job.resume,
      label: job.label,
      log: (line) => process.stderr.write(`${line}\n`),
      signal: controller.signal,
    });
    await reply({ type: "done", outcome });
    process.exit(0);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    // A trainer or evaluation stopped by the signal says so with the interrupted exit code (TrainingInterrupted,
    // EvalInterrupted).
    const interrupted =
      controller.signal.aborted ||
      (error instanceof SafetuneError && error.exitCode === INTERRUPTED_EXIT_CODE);
    await reply({ type: interrupted ? "interrupted" : "error", name: error.name, message: error.message });
    process.exit(interrupted ? INTERRUPTED_EXIT_CODE : 1);
  }
}
