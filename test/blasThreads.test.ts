// setNumThreads bounds the threads matmuls run on, BLAS's included: OpenBLAS keeps a thread pool of its own that
// libtorch's set_num_threads does not resize, so with one thread asked for, matmuls ran on two (the second spinning
// in sched_yield between them). Read from each thread's CPU time in /proc (Linux).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { linear, randn, setNumThreads, tidy } from "../src/engine/index.js";

/** CPU time (user + system, clock ticks) of each thread of this process. */
function cpuTicksByThread(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const task of readdirSync("/proc/self/task")) {
    try {
      // Fields after the command name's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = (readFileSync(`/proc/self/task/${task}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
      ticks.set(task, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended
    }
  }
  return ticks;
}

test("with setNumThreads(1), large matmuls run on one thread", {
  skip: !existsSync("/proc/self/task"),
}, () => {
  setNumThreads(1);
  const a = randn([512, 2048]);
  const b = randn([2048, 2048]);
  const before = cpuTicksByThread();
  // About 0.13 TFLOP: seconds of work, far more than the 10 ticks (0.1 s) a second thread is allowed below.
  for (let i = 0; i < 30; i++) tidy(() => linear(a, b));
  const busy = [...cpuTicksByThread()]
    .map(([task, t]) => [task, t - (before.get(task) ?? 0)] as const)
    .filter(([, used]) => used > 10);
  assert.equal(busy.length, 1, `threads that worked: ${JSON.stringify(busy)}`);
  a.dispose();
  b.dispose();
});
