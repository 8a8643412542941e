// One rank of test/distributed.test.ts, run as its own process through tsx
// (`node --import tsx distributedWorker.ts '<json config>'`). It prints one JSON line with what it saw.
// Scenarios: collectives (every op, results as numbers), peerExits (the last rank exits after a barrier, the
// others then call allReduce), peerHangs (the last rank sleeps past the timeout), join (rendezvous only).
import { DistributedError, ProcessGroup } from "../../src/distributed/index.js";
import { type Tensor, tensor } from "../../src/engine/index.js";
import { broadcastInputs, type CaseInput, gatherInputs, reduceInputs } from "./distributedCases.js";

interface Config {
  scenario: "collectives" | "peerExits" | "peerHangs" | "join";
  rank: number;
  worldSize: number;
  port: number;
  timeoutMs: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config;
const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const toTensor = (c: CaseInput): Tensor => tensor(c.values, c.shape, { dtype: c.dtype });
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function failure(err: unknown, started: number) {
  return {
    error: err instanceof Error ? err.message : String(err),
    distributedError: err instanceof DistributedError,
    elapsedMs: Date.now() - started,
  };
}

function collectives(pg: ProcessGroup) {
  const out: Record<string, unknown> = {};
  const root = pg.worldSize - 1;
  const bcast = broadcastInputs(pg.rank).map(toTensor);
  pg.broadcast(bcast, root);
  out.broadcast = bcast.map((t) => t.toArray());
  // A transposed (non-contiguous) view goes through a contiguous copy and back.
  const grid = tensor(broadcastInputs(pg.rank)[0]?.values ?? [], [2, 3]);
  const transposed = grid.transpose(0, 1);
  pg.broadcast([transposed], 0);
  out.broadcastTransposed = grid.toArray();
  out.broadcastDefaultRoot = (() => {
    const t = tensor([pg.rank, pg.rank]);
    pg.broadcast([t]);
    return t.toArray();
  })();
  for (const op of ["sum", "max", "min"] as const) {
    const ts = reduceInputs(pg.rank).map(toTensor);
    pg.allReduce(ts, op); // mixed shapes and dtypes in one call
    out[op] = ts.map((t) => t.toArray());
  }
  const defaultOp = toTensor(reduceInputs(pg.rank)[0] as CaseInput);
  pg.allReduce([defaultOp]);
  out.defaultOp = defaultOp.toArray();
  out.gather = gatherInputs(pg.rank).map((c) => {
    const input = toTensor(c);
    const gathered = pg.allGather(input);
    return {
      shapes: gathered.map((t) => [...t.shape]),
      dtypes: gathered.map((t) => t.dtype),
      values: gathered.map((t) => t.toArray()),
    };
  });
  pg.barrier();
  return out;
}

function main(): void {
  const started = Date.now();
  let pg: ProcessGroup;
  try {
    pg = ProcessGroup.init({
      rank: config.rank,
      worldSize: config.worldSize,
      masterAddr: "127.0.0.1",
      masterPort: config.port,
      timeoutMs: config.timeoutMs,
    });
  } catch (err) {
    reply({ rank: config.rank, init: failure(err, started) });
    return;
  }
  const last = config.rank === config.worldSize - 1;
  if (config.scenario === "join") {
    reply({ rank: pg.rank, worldSize: pg.worldSize, backend: pg.backend });
  } else if (config.scenario === "collectives") {
    reply({ rank: pg.rank, results: collectives(pg) });
  } else {
    pg.barrier();
    if (last) {
      reply({ rank: pg.rank, leaving: true });
      if (config.scenario === "peerExits") process.exit(0); // sockets close with the process, mid-job
      sleep(config.timeoutMs + 500); // past the others' timeout, then gone
      process.exit(0);
    }
    const t = tensor([1, 2, 3]);
    const before = Date.now();
    try {
      pg.allReduce([t]);
      reply({ rank: pg.rank, unexpected: "allReduce returned" });
    } catch (err) {
      reply({ rank: pg.rank, collective: failure(err, before) });
    }
  }
  pg.destroy();
}

main();
