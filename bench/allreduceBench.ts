// Allreduce benchmark (`tsx bench/allreduceBench.ts`): sum-allreduce of one float32 tensor between --ranks
// processes (default 2) on loopback through c10d's ProcessGroupGloo, for tensors of 1 KiB to --max-mib MiB
// (x4 steps). Per size: --warmup untimed ops, then the median wall time of single ops on rank 0 (each op ends
// only when every rank has contributed, so the ranks stay in step without barriers). Algorithm bandwidth is
// bytes / time, as nccl-tests define it; bus bandwidth multiplies it by 2(n-1)/n (1 for 2 ranks).
// This measures Gloo's loopback TCP path and the copies around it, not a network.
//
// Usage: tsx bench/allreduceBench.ts [--ranks N] [--max-mib N] [--warmup N] [--write-docs | --json]
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { c10dAvailable, ProcessGroup } from "../src/distributed/index.js";
import { getNumThreads, torchVersion, zeros } from "../src/engine/index.js";
import { intFlag, median, replaceDocsBlock } from "./measure.js";

const here = dirname(fileURLToPath(import.meta.url));
const DOCS = join(here, "..", "docs", "benchmarks.md");
const START = "<!-- bench:allreduce:start -->";
const END = "<!-- bench:allreduce:end -->";

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  bytes: number;
  ops: number;
  medianMs: number;
}

/** Timed ops per size: enough for a stable median, bounded so the 64 MiB row stays a few seconds. */
function opsFor(bytes: number): number {
  if (bytes <= 1 << 20) return 50;
  if (bytes <= 4 << 20) return 20;
  return 10;
}

/** One rank: joins the group, measures every size, and (rank 0) prints the rows as one JSON line. */
function worker(rank: number, ranks: number, port: number, sizes: number[], warmup: number): void {
  const pg = ProcessGroup.init({
    rank,
    worldSize: ranks,
    masterAddr: "127.0.0.1",
    masterPort: port,
    timeoutMs: 120_000,
  });
  const rows: Row[] = [];
  for (const bytes of sizes) {
    const t = zeros([bytes / 4]);
    for (let i = 0; i < warmup; i++) pg.allReduce([t]);
    const times: number[] = [];
    const ops = opsFor(bytes);
    for (let i = 0; i < ops; i++) {
      const start = performance.now();
      pg.allReduce([t]);
      times.push(performance.now() - start);
    }
    t.dispose();
    rows.push({ bytes, ops, medianMs: median(times) });
    if (rank === 0) log(`  ${formatBytes(bytes)}: ${median(times).toFixed(3)} ms`);
  }
  pg.barrier();
  pg.destroy();
  if (rank === 0) process.stdout.write(`${JSON.stringify(rows)}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/** Runs this file as one rank; resolves with its stdout. */
function runRank(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`rank ${args.join(" ")} exited with ${code}`)),
    );
  });
}

function formatBytes(bytes: number): string {
  return bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / 1024} KiB`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ranks: { type: "string", default: "2" },
      "max-mib": { type: "string", default: "64" },
      warmup: { type: "string", default: "3" },
      "write-docs": { type: "boolean", default: false },
      /** Print the rows as one JSON line instead of the table (bench/dataParallelBench.ts reads it). */
      json: { type: "boolean", default: false },
      worker: { type: "string" },
      port: { type: "string" },
    },
  });
  const ranks = intFlag("ranks", values.ranks, 2, 16);
  const maxBytes = intFlag("max-mib", values["max-mib"], 1, 1024) << 20;
  const warmup = intFlag("warmup", values.warmup, 0, 100);
  const sizes: number[] = [];
  for (let bytes = 1024; bytes <= maxBytes; bytes *= 4) sizes.push(bytes);
  if (values.worker !== undefined) {
    worker(intFlag("worker", values.worker, 0, ranks - 1), ranks, Number(values.port), sizes, warmup);
    return;
  }
  if (!c10dAvailable())
    throw new Error("this safetune build has no c10d: install libgloo-dev and run npm run build:native");

  const port = await freePort();
  log(`allreduce (sum, float32) between ${ranks} processes on loopback, port ${port}`);
  const common = [
    "--ranks",
    String(ranks),
    "--max-mib",
    String(maxBytes >> 20),
    "--warmup",
    String(warmup),
    "--port",
    String(port),
  ];
  const outputs = await Promise.all(
    Array.from({ length: ranks }, (_, rank) => runRank([...common, "--worker", String(rank)])),
  );
  const rows = JSON.parse(outputs[0]?.trim().split("\n").pop() ?? "[]") as Row[];
  if (values.json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return;
  }
  const busFactor = (2 * (ranks - 1)) / ranks;
  const table = [
    "| tensor | float32 elements | ops timed | median per op (ms) | algorithm bandwidth (GB/s) | bus bandwidth (GB/s) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => {
      const algbw = r.bytes / (r.medianMs / 1000) / 1e9;
      return `| ${formatBytes(r.bytes)} | ${(r.bytes / 4).toLocaleString("en-US")} | ${r.ops} | ${r.medianMs.toFixed(3)} | ${algbw.toPrecision(3)} | ${(algbw * busFactor).toPrecision(3)} |`;
    }),
  ];
  const load = os.loadavg()[0] ?? 0;
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const argv = process.argv.slice(2).filter((a) => a !== "--write-docs");
  const block = [
    START,
    "<!-- written by `tsx bench/allreduceBench.ts --write-docs`; edit bench/allreduceBench.ts, not this block -->",
    "",
    `Measured on ${new Date().toISOString().slice(0, 10)} with \`tsx bench/allreduceBench.ts${argv.length ? ` ${argv.join(" ")}` : ""}\`.`,
    "",
    `- CPU: ${cpu}, ${os.cpus().length} cores; libtorch ${torchVersion()} (c10d ProcessGroupGloo), ${getNumThreads()} intra-op thread(s); 1-minute load average ${load.toFixed(2)} after the run`,
    `- protocol: ${ranks} processes on one machine over loopback TCP; \`ProcessGroup.allReduce([t], "sum")\` on one float32 tensor; ${warmup} warm-up ops, then the median of single timed ops on rank 0`,
    "- algorithm bandwidth = tensor bytes / time per op; bus bandwidth = algorithm bandwidth x 2(n-1)/n (the bytes each rank sends and receives in a ring)",
    "",
    ...table,
    "",
    END,
  ].join("\n");
  process.stdout.write(`${block}\n`);
  if (values["write-docs"]) {
    replaceDocsBlock(DOCS, START, END, block, "Distributed");
    log(`wrote ${DOCS}`);
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
