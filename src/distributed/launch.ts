// The launcher behind `--nproc N` (and `--nnodes/--node-rank/--master-addr/--master-port`), as torchrun does it:
// start this node's worker processes of the same command with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
// MASTER_PORT set, show rank 0's output, and when any worker fails stop the others and fail with one line naming
// the rank. (A rank that hangs is caught by the collectives' timeout in the others, which then fail.)
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { DistributedError } from "./errors.js";

export interface LaunchFlags {
  /** Worker processes on this machine. */
  nproc: number;
  /** Machines in the job. */
  nnodes: number;
  /** This machine's index (0 hosts the rendezvous). */
  nodeRank: number;
  masterAddr: string;
  /** Rendezvous port; a free one is picked on a single machine when absent. */
  masterPort: number | undefined;
}

/** A launch that failed: a worker exited with an error, or the flags are inconsistent. */
export class LaunchError extends DistributedError {}

const FLAG_NAMES = ["nproc", "nnodes", "node-rank", "master-addr", "master-port"] as const;

function positiveInt(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min)
    throw new LaunchError(`--${flag}: expected an integer >= ${min}, got '${value ?? ""}'`);
  return n;
}

/**
 * Takes the launcher's flags off a command line (`--flag value` or `--flag=value`); `flags` is undefined when
 * none was given, so the command runs as a single process.
 */
export function extractLaunchFlags(argv: readonly string[]): {
  flags: LaunchFlags | undefined;
  rest: string[];
} {
  const found: Partial<Record<(typeof FLAG_NAMES)[number], string>> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = FLAG_NAMES.find((f) => arg === `--${f}` || arg.startsWith(`--${f}=`));
    if (!name) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    found[name] = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
  }
  if (Object.keys(found).length === 0) return { flags: undefined, rest };
  const nnodes = found.nnodes === undefined ? 1 : positiveInt("nnodes", found.nnodes, 1);
  const nodeRank = found["node-rank"] === undefined ? 0 : positiveInt("node-rank", found["node-rank"], 0);
  if (nodeRank >= nnodes) throw new LaunchError(`--node-rank ${nodeRank}: must be below --nnodes ${nnodes}`);
  if (nnodes > 1 && (found["master-addr"] === undefined || found["master-port"] === undefined))
    throw new LaunchError("--nnodes > 1 needs --master-addr and --master-port (the address of node 0)");
  return {
    flags: {
      nproc: found.nproc === undefined ? 1 : positiveInt("nproc", found.nproc, 1),
      nnodes,
      nodeRank,
      masterAddr: found["master-addr"] ?? "127.0.0.1",
      masterPort:
        found["master-port"] === undefined ? undefined : positiveInt("master-port", found["master-port"], 1),
    },
    rest,
  };
}

/** A port nothing listens on right now (for a single-machine rendezvous). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** The CLI entry (bin/safetune.js), two folders up from both src/distributed and dist/distributed. */
const CLI = fileURLToPath(new URL("../../bin/safetune.js", import.meta.url));

interface Worker {
  rank: number;
  child: ChildProcess;
  /** The end of its stderr, for the failure message. */
  tail: string[];
}

/**
 * Runs `args` (a safetune command line without the launcher's flags) as this node's workers and waits for them.
 * Resolves when all succeed; rejects with a LaunchError naming the first rank that failed.
 */
export async function launchWorkers(
  args: readonly string[],
  flags: LaunchFlags,
  options: { log?: (line: string) => void } = {},
): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const worldSize = flags.nproc * flags.nnodes;
  const masterPort = flags.masterPort ?? (await freePort());
  // One process per core by default: libtorch threads of several processes on the same cores only contend.
  const threads = Math.max(1, Math.floor(availableParallelism() / flags.nproc));
  const workers: Worker[] = [];
  for (let local = 0; local < flags.nproc; local++) {
    const rank = flags.nodeRank * flags.nproc + local;
    const env = {
      ...process.env,
      RANK: String(rank),
      LOCAL_RANK: String(local),
      WORLD_SIZE: String(worldSize),
      LOCAL_WORLD_SIZE: String(flags.nproc),
      MASTER_ADDR: flags.masterAddr,
      MASTER_PORT: String(masterPort),
      OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(threads),
    };
    const child = spawn(process.execPath, [CLI, ...args], {
      env,
      stdio: ["ignore", rank === 0 ? "inherit" : "ignore", "pipe"],
    });
    const worker: Worker = { rank, child, tail: [] };
    child.stderr?.on("data", (chunk: Buffer) => {
      const lines = String(chunk)
        .split("\n")
        .filter((l) => l.trim() !== "");
      if (rank === 0) process.stderr.write(chunk);
      worker.tail.push(...lines);
      worker.tail.splice(0, Math.max(0, worker.tail.length - 20));
    });
    workers.push(worker);
  }
  log(
    `safetune: ${flags.nproc} process(es) on node ${flags.nodeRank} of ${flags.nnodes}: ranks ${workers.map((w) => `${w.rank} (pid ${w.child.pid})`).join(", ")}; rendezvous ${flags.masterAddr}:${masterPort}`,
  );
  const forward = (signal: NodeJS.Signals) => () => {
    for (const w of workers) w.child.kill(signal);
  };
  const onSigint = forward("SIGINT");
  const onSigterm = forward("SIGTERM");
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigterm);
  let failed: { worker: Worker; reason: string; stillRunning: number[] } | undefined;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.child.on("exit", (code, signal) => {
              if ((code !== 0 || signal) && !failed) {
                failed = {
                  worker: w,
                  reason: signal ? `was killed by ${signal}` : `exited with code ${code}`,
                  // A rank that timed out waiting fails first; the ones still running then are the suspects.
                  stillRunning: workers
                    .filter((o) => o !== w && o.child.exitCode === null && o.child.signalCode === null)
                    .map((o) => o.rank),
                };
                // The job cannot finish without this rank: stop the others now rather than at their timeout.
                for (const other of workers)
                  if (other !== w && other.child.exitCode === null) other.child.kill("SIGTERM");
              }
              resolve();
            });
          }),
      ),
    );
  } finally {
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigterm);
  }
  if (failed) {
    const last = failed.worker.tail.filter((l) => !l.startsWith("    at ")).at(-1);
    const timedOut = /timed out/i.test(last ?? "") && failed.stillRunning.length > 0;
    const stuck = timedOut ? ` (still running when it gave up: rank ${failed.stillRunning.join(", ")})` : "";
    throw new LaunchError(`rank ${failed.worker.rank} ${failed.reason}${last ? `: ${last}` : ""}${stuck}`);
  }
}
