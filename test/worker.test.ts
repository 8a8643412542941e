// The addon is context-aware: worker threads load their own instance of it next to the main thread's, compute
// the same results at the same time, keep their own grad mode, and can be terminated mid-computation.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { isGradEnabled, liveTensors, noGrad, torchVersion } from "../src/engine/index.js";
import { type GradProbe, gradProbe, type holdNoGrad, matmulTask, trainTask } from "./workers/engineTasks.js";

const WORKER_URL = new URL("./workers/engineWorker.mjs", import.meta.url);
const CALL_TIMEOUT_MS = 60_000;

interface Ready {
  ready: true;
  threadId: number;
  gradEnabled: boolean;
  torch: string;
}
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** One worker running test/workers/engineWorker.mjs, with request/response calls. */
class EngineWorker {
  readonly worker = new Worker(WORKER_URL);
  readonly ready: Promise<Ready>;
  readonly exited: Promise<number>;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (msg: Ready | Reply) => {
        if ("ready" in msg) return resolve(msg);
        const pending = this.#pending.get(msg.id);
        if (!pending) return;
        this.#pending.delete(msg.id);
        if (msg.ok) pending.resolve(msg.value);
        else pending.reject(new Error(msg.error));
      });
      this.worker.on("error", (err) => {
        reject(err);
        this.#failAll(err);
      });
    });
    this.exited = new Promise((resolve) => {
      this.worker.on("exit", (code) => {
        this.#failAll(new Error(`worker exited with code ${code}`));
        resolve(code);
      });
    });
  }

  call<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker call '${op}' timed out`)), CALL_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.worker.postMessage({ id, op, args });
    });
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}

function close(actual: readonly number[], expected: readonly number[], tol: number): void {
  assert.equal(actual.length, expected.length);
  for (const [i, a] of actual.entries()) {
    assert.ok(Math.abs(a - (expected[i] as number)) <= tol, `[${i}] ${a} vs ${expected[i]}`);
  }
}

/** Polls until `cond` holds (the main thread must keep its event loop free to receive messages). */
async function until(cond: () => boolean, what: string, timeoutMs = CALL_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

describe("worker threads", () => {
  const startLive = liveTensors();
  let a: EngineWorker;
  let b: EngineWorker;

  before(async () => {
    a = new EngineWorker();
    b = new EngineWorker();
    await Promise.all([a.ready, b.ready]);
  });

  after(async () => {
    await Promise.all([a?.worker.terminate(), b?.worker.terminate()]);
  });

  test("each worker loads its own instance of the engine", async () => {
    const [ra, rb] = await Promise.all([a.ready, b.ready]);
    assert.notEqual(ra.threadId, 0);
    assert.notEqual(rb.threadId, 0);
    assert.notEqual(ra.threadId, rb.threadId);
    assert.equal(ra.torch, torchVersion());
    assert.equal(rb.torch, torchVersion());
    assert.equal(ra.gradEnabled, true, "grad mode starts on in a new thread");
    assert.equal(rb.gradEnabled, true);
  });

  test("two workers and the main thread compute at the same time and get the main thread's results", async (t) => {
    const started = performance.now();
    const inWorkers = Promise.all([
      a.call<ReturnType<typeof matmulTask>>("matmul"),
      b.call<ReturnType<typeof matmulTask>>("matmul"),
      a.call<ReturnType<typeof trainTask>>("train", 40),
      b.call<ReturnType<typeof trainTask>>("train", 40),
    ]);
    // the main thread runs the same work while the workers run theirs
    const mainMatmul = matmulTask();
    const mainTrain = trainTask(40);
    const [ma, mb, ta, tb] = await inWorkers;
    t.diagnostic(`2 workers + main thread: ${(performance.now() - started).toFixed(0)} ms`);

    // hand-computed: [[0, .1, .2, .3], [.4, .5, .6, .7], [.8, .9, 1, 1.1]] @ [[-3, -2], [-1, 0], [1, 2], [3, 4]]
    close(mainMatmul.small, [1, 1.6, 1, 3.2, 1, 4.8], 1e-5);
    assert.equal(mainMatmul.batched.length, 12);
    assert.ok(Number.isFinite(mainMatmul.checksum));
    // the same kernels on the same inputs: bit-identical in every thread
    assert.deepEqual(ma, mainMatmul);
    assert.deepEqual(mb, mainMatmul);
    assert.deepEqual(ta, mainTrain);
    assert.deepEqual(tb, mainTrain);
    const losses = mainTrain.losses;
    assert.equal(losses.length, 40);
    assert.ok(
      (losses.at(-1) as number) < (losses[0] as number) / 10,
      `training converges: ${losses[0]} -> ${losses.at(-1)}`,
    );
  });

  test("grad mode is per thread: noGrad in one worker leaves the other worker and the main thread alone", async () => {
    const flags = new Int32Array(new SharedArrayBuffer(5 * Int32Array.BYTES_PER_ELEMENT));
    const held = a.call<ReturnType<typeof holdNoGrad>>("holdNoGrad", flags.buffer, CALL_TIMEOUT_MS);
    await until(() => Atomics.load(flags, 0) === 1, "worker A inside noGrad");
    // A is blocked inside noGrad() now
    const other = await b.call<GradProbe>("gradProbe");
    assert.deepEqual(other, { enabled: true, recorded: true }, "worker B still records graphs");
    assert.deepEqual(gradProbe(), { enabled: true, recorded: true }, "the main thread still records graphs");
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    const result = await held;
    assert.deepEqual(result.before, { enabled: false, recorded: false });
    assert.deepEqual(
      result.afterOthers,
      { enabled: false, recorded: false },
      "others' activity did not turn it back on",
    );
    assert.equal(result.restored, true, "restored in A after its noGrad");

    // and the other way round: the main thread inside noGrad, a worker answering through shared memory
    const probe = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      b.worker.postMessage({ id: -1, op: "gradProbeToShared", args: [flags.buffer] });
      assert.notEqual(Atomics.wait(flags, 2, 0, CALL_TIMEOUT_MS), "timed-out");
      return { enabled: Atomics.load(flags, 3) === 1, recorded: Atomics.load(flags, 4) === 1 };
    });
    assert.deepEqual(
      probe,
      { enabled: true, recorded: true },
      "worker B records graphs while main is in noGrad",
    );
    assert.equal(isGradEnabled(), true);
  });

  test("an engine error in a worker reaches it as an op-named Error, and the worker carries on", async () => {
    await assert.rejects(a.call("badMatmul"), (err: Error) => {
      assert.match(err.message, /^matmul: /);
      assert.doesNotMatch(err.message, /Exception raised from|frame #/);
      return true;
    });
    assert.deepEqual(await a.call("matmul"), matmulTask());
  });

  test("terminating an idle worker that holds tensors does not crash the process and releases them", async (t) => {
    const liveBefore = liveTensors();
    const c = new EngineWorker();
    await c.ready;
    assert.equal(await c.call<number>("hold", 8), 8);
    assert.equal(liveTensors(), liveBefore + 8, "liveTensors() counts every thread's tensors");
    const code = await c.worker.terminate();
    assert.equal(code, 1, "terminated, not exited");
    assert.equal(await c.exited, 1);
    // the main thread and the other workers still work
    assert.deepEqual(matmulTask().small, (await a.call<ReturnType<typeof matmulTask>>("matmul")).small);
    assert.deepEqual(await b.call<GradProbe>("gradProbe"), { enabled: true, recorded: true });
    // the worker's environment runs its finalizers on teardown
    await until(
      () => liveTensors() === liveBefore,
      "the terminated worker's tensors to be released",
      5_000,
    ).catch(() => {});
    t.diagnostic(`live tensors: ${liveBefore} before the worker, ${liveTensors()} after terminating it`);
    assert.equal(liveTensors(), liveBefore, "the terminated worker's tensors were released");
  });

  test("terminating a worker in the middle of engine calls does not crash the process", async (t) => {
    // In a child process, so that an abort shows up as this test's failure instead of killing the test runner.
    const script = fileURLToPath(new URL("./workers/terminateMidCall.mjs", import.meta.url));
    const child = spawnSync(process.execPath, [script, "3"], { encoding: "utf8", timeout: CALL_TIMEOUT_MS });
    const stderr = child.stderr.trim();
    t.diagnostic(
      `child: status ${child.status}, signal ${child.signal}, stdout ${JSON.stringify(child.stdout.trim())}`,
    );
    assert.equal(
      child.signal,
      null,
      `the process was killed by ${child.signal} while a worker was terminated mid-call; stderr: ${stderr}`,
    );
    assert.equal(child.status, 0, `child failed: ${stderr}`);
    assert.match(child.stdout, /survived 3 terminations mid-call/);
  });

  test("the main thread's tensors are back to where they started", () => {
    assert.equal(liveTensors(), startLive);
  });
});
