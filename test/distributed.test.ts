// c10d through the addon: real processes (test/workers/distributedWorker.ts) join a process group on loopback and
// run every collective; a peer that exits or hangs makes the others' collective throw within the timeout; a
// rendezvous that misses a rank fails after the timeout and names it. Options and the torchrun environment are
// checked in this process.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { glooDevice } from "../src/distributed/glooDevice.js";
import {
  c10dAvailable,
  DistributedError,
  ProcessGroup,
  processGroupOptionsFromEnv,
} from "../src/distributed/index.js";
import { tensor } from "../src/engine/index.js";
import {
  broadcastInputs,
  type CaseInput,
  gatherInputs,
  type ReduceName,
  reduceInputs,
  reduceValues,
} from "./workers/distributedCases.js";

const WORKER = fileURLToPath(new URL("./workers/distributedWorker.ts", import.meta.url));
const skip = c10dAvailable()
  ? false
  : "this safetune build has no c10d: install libgloo-dev and run npm run build:native";

/** A port that was free a moment ago (the ranks bind it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

type Reply = Record<string, unknown> & { rank: number };

/** Runs one worker process; resolves with its last stdout line as JSON (its exit code does not matter). */
function runRank(config: Record<string, unknown>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, JSON.stringify(config)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d;
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killer);
      const line = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as Reply);
      } catch {
        reject(
          new Error(`rank ${config.rank} (exit ${code}) printed no JSON: ${stdout}\n${stderr.slice(-2000)}`),
        );
      }
    });
  });
}

async function runGroup(
  scenario: string,
  worldSize: number,
  timeoutMs: number,
  ranks = [...Array(worldSize).keys()],
): Promise<Reply[]> {
  const port = await freePort();
  const replies = await Promise.all(
    ranks.map((rank) => runRank({ scenario, rank, worldSize, port, timeoutMs })),
  );
  return replies.sort((a, b) => a.rank - b.rank);
}

/** The values a worker reads back: int64 of magnitude 2^40 stay exact as doubles. */
function valuesOf(c: CaseInput): number[] {
  return c.dtype === "float32" ? Array.from(Float32Array.from(c.values)) : c.values;
}

function checkCollectives(replies: Reply[], worldSize: number): void {
  assert.equal(replies.length, worldSize, "every rank replied");
  const root = worldSize - 1;
  const ranks = [...Array(worldSize).keys()];
  for (const reply of replies) {
    const r = reply.results as Record<string, unknown> | undefined;
    assert.ok(r, `rank ${reply.rank} ran the collectives: ${JSON.stringify(reply)}`);
    assert.deepEqual(
      r.broadcast,
      broadcastInputs(root).map(valuesOf),
      `rank ${reply.rank}: broadcast from ${root}`,
    );
    assert.deepEqual(
      r.broadcastTransposed,
      valuesOf(broadcastInputs(0)[0] as CaseInput),
      `rank ${reply.rank}: broadcast into a transposed view`,
    );
    assert.deepEqual(r.broadcastDefaultRoot, [0, 0], `rank ${reply.rank}: broadcast defaults to root 0`);
    for (const op of ["sum", "max", "min"] as ReduceName[]) {
      const expected = reduceInputs(0).map((_, i) =>
        reduceValues(
          ranks.map((rank) => valuesOf(reduceInputs(rank)[i] as CaseInput)),
          op,
        ),
      );
      assert.deepEqual(r[op], expected, `rank ${reply.rank}: allReduce ${op}`);
    }
    assert.deepEqual(r.defaultOp, (r.sum as unknown[])[0], `rank ${reply.rank}: allReduce defaults to sum`);
    const gathers = r.gather as { shapes: number[][]; dtypes: string[]; values: number[][] }[];
    gatherInputs(0).forEach((c, i) => {
      const g = gathers[i];
      assert.ok(g, `rank ${reply.rank}: allGather ${c.name} ran`);
      assert.deepEqual(
        g.shapes,
        Array(worldSize).fill(c.shape),
        `rank ${reply.rank}: allGather ${c.name} shapes`,
      );
      assert.deepEqual(
        g.dtypes,
        Array(worldSize).fill(c.dtype),
        `rank ${reply.rank}: allGather ${c.name} dtypes`,
      );
      assert.deepEqual(
        g.values,
        ranks.map((rank) => valuesOf(gatherInputs(rank)[i] as CaseInput)),
        `rank ${reply.rank}: allGather ${c.name} in rank order`,
      );
    });
  }
}

describe("ProcessGroup (gloo on loopback)", { skip }, () => {
  test("2 ranks: broadcast, allReduce sum/max/min, allGather, barrier on float32 and int64", async () => {
    checkCollectives(await runGroup("collectives", 2, 20_000), 2);
  });

  test("3 ranks: the same collectives", async () => {
    checkCollectives(await runGroup("collectives", 3, 20_000), 3);
  });

  test("a rank that exits mid-job makes the others' collective throw, not hang", async () => {
    const timeoutMs = 10_000;
    const replies = await runGroup("peerExits", 3, timeoutMs);
    assert.equal(replies[2]?.leaving, true, `rank 2 left after the barrier: ${JSON.stringify(replies[2])}`);
    for (const reply of replies.slice(0, 2)) {
      const failure = reply.collective as { error: string; distributedError: boolean; elapsedMs: number };
      assert.ok(failure, `rank ${reply.rank}'s allReduce threw: ${JSON.stringify(reply)}`);
      assert.equal(failure.distributedError, true, "a DistributedError");
      assert.match(failure.error, new RegExp(`^allReduce failed on rank ${reply.rank} of 3: `));
      // Gloo sees the closed connection (the peer's, or a rank that already gave up): no need to wait out the timeout.
      assert.match(failure.error, /Connection closed by peer|Connection reset|Broken pipe/i);
      assert.ok(
        failure.elapsedMs < timeoutMs,
        `failed in ${failure.elapsedMs} ms, before the ${timeoutMs} ms timeout`,
      );
    }
  });

  test("a rank that hangs makes the others' collective throw after the timeout", async () => {
    const timeoutMs = 2_000;
    const replies = await runGroup("peerHangs", 2, timeoutMs);
    const failure = replies[0]?.collective as { error: string; elapsedMs: number } | undefined;
    assert.ok(failure, `rank 0's allReduce threw: ${JSON.stringify(replies[0])}`);
    assert.match(failure.error, /^allReduce failed on rank 0 of 2: Timed out waiting 2000ms/);
    assert.ok(
      failure.elapsedMs >= timeoutMs - 100 && failure.elapsedMs < timeoutMs + 3_000,
      `failed after ${failure.elapsedMs} ms, about the ${timeoutMs} ms timeout`,
    );
  });

  test("a rendezvous missing a rank fails after the timeout and names it; a missing master too", async () => {
    const timeoutMs = 2_000;
    const port = await freePort();
    // Two different jobs at once: rank 0 of a job whose rank 1 never comes, and rank 1 of one without master.
    const [master, orphan] = await Promise.all([
      runRank({ scenario: "join", rank: 0, worldSize: 2, port, timeoutMs }),
      runRank({ scenario: "join", rank: 1, worldSize: 2, port: await freePort(), timeoutMs }),
    ]);
    const m = master.init as { error: string; distributedError: boolean; elapsedMs: number } | undefined;
    assert.ok(m, `rank 0's init threw: ${JSON.stringify(master)}`);
    assert.equal(m.distributedError, true, "a DistributedError");
    assert.equal(
      m.error,
      `rendezvous at 127.0.0.1:${port} timed out after 2000 ms: rank 1 of world size 2 never joined`,
    );
    assert.ok(m.elapsedMs >= timeoutMs - 100 && m.elapsedMs < timeoutMs + 3_000, `after ${m.elapsedMs} ms`);
    const o = orphan.init as { error: string; elapsedMs: number } | undefined;
    assert.ok(o, `rank 1's init threw: ${JSON.stringify(orphan)}`);
    assert.match(o.error, /^rendezvous failed: rank 0 \(the master\) at 127\.0\.0\.1:\d+ is unreachable: /);
    assert.ok(o.elapsedMs < timeoutMs + 3_000, `after ${o.elapsedMs} ms`);
  });

  test("world size 1 in this process: collectives are identities; destroy() ends the group", async () => {
    const pg = ProcessGroup.init({
      rank: 0,
      worldSize: 1,
      masterAddr: "127.0.0.1",
      masterPort: await freePort(),
    });
    assert.deepEqual([pg.rank, pg.worldSize, pg.backend], [0, 1, "gloo"]);
    const t = tensor([
      [1, 2],
      [3, 4],
    ]);
    pg.allReduce([t], "max");
    pg.broadcast([t]);
    pg.barrier();
    const [only, ...rest] = pg.allGather(t);
    assert.deepEqual(only?.toArray(), [1, 2, 3, 4], "allGather of one rank copies the tensor");
    assert.equal(rest.length, 0, "one tensor per rank");
    pg.destroy();
    pg.destroy();
    assert.throws(() => pg.barrier(), /barrier: the process group was destroyed/);
  });
});

describe("ProcessGroup options", () => {
  test("invalid options and nccl on a CPU build are one-line DistributedErrors", () => {
    const base = { rank: 0, worldSize: 2, masterAddr: "127.0.0.1", masterPort: 29_500 };
    assert.throws(
      () => ProcessGroup.init({ ...base, rank: 2 }),
      /rank must be an integer in \[0, 1\], got 2/,
    );
    assert.throws(() => ProcessGroup.init({ ...base, masterPort: 70_000 }), DistributedError);
    assert.throws(() => ProcessGroup.init({ ...base, timeoutMs: 0 }), /timeoutMs/);
    assert.throws(
      () => ProcessGroup.init({ ...base, backend: "nccl" }),
      /backend "nccl" (needs a CUDA build of libtorch|is not bound by safetune yet)/,
    );
  });

  test("processGroupOptionsFromEnv reads the torchrun variables", () => {
    assert.equal(processGroupOptionsFromEnv({}), undefined);
    assert.deepEqual(
      processGroupOptionsFromEnv({
        RANK: "1",
        WORLD_SIZE: "4",
        MASTER_ADDR: "10.0.0.1",
        MASTER_PORT: "29500",
        LOCAL_RANK: "1",
      }),
      { rank: 1, worldSize: 4, masterAddr: "10.0.0.1", masterPort: 29_500 },
    );
    assert.throws(
      () => processGroupOptionsFromEnv({ RANK: "0", WORLD_SIZE: "2" }),
      /MASTER_ADDR, MASTER_PORT not set/,
    );
    assert.throws(
      () => processGroupOptionsFromEnv({ RANK: "x", WORLD_SIZE: "2", MASTER_ADDR: "h", MASTER_PORT: "1" }),
      /RANK must be a non-negative integer, got 'x'/,
    );
  });

  test("gloo binds to GLOO_SOCKET_IFNAME, else loopback for a loopback master, else the default device", () => {
    assert.deepEqual(glooDevice("10.0.0.1", { GLOO_SOCKET_IFNAME: "eth0, eth1" }), {
      interfaces: ["eth0", "eth1"],
      hostname: "",
    });
    assert.deepEqual(glooDevice("127.0.0.1", {}), { interfaces: [], hostname: "127.0.0.1" });
    assert.deepEqual(glooDevice("localhost", {}), { interfaces: [], hostname: "localhost" });
    assert.deepEqual(glooDevice("10.0.0.1", {}), { interfaces: [], hostname: "" });
  });
});
