// Worker entry for test/worker.test.ts: loads the engine (TypeScript, through tsx) in this thread and answers
// the parent's requests { id, op, args } with { id, ok, value } or { id, ok: false, error }.
import { parentPort, threadId } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const engine = await import("../../src/engine/index.ts");
const tasks = await import("./engineTasks.ts");

/** Tensors this worker holds on purpose, to check what terminating it releases. */
const held = [];

const ops = {
  matmul: () => tasks.matmulTask(),
  train: (steps) => tasks.trainTask(steps),
  gradProbe: () => tasks.gradProbe(),
  holdNoGrad: (buffer, timeoutMs) => tasks.holdNoGrad(new Int32Array(buffer), timeoutMs),
  /** Answers through shared memory, so a parent blocked inside its own noGrad() can read it. */
  gradProbeToShared: (buffer) => {
    const flags = new Int32Array(buffer);
    const probe = tasks.gradProbe();
    Atomics.store(flags, 3, probe.enabled ? 1 : 2);
    Atomics.store(flags, 4, probe.recorded ? 1 : 2);
    Atomics.store(flags, 2, 1);
    Atomics.notify(flags, 2);
    return probe;
  },
  liveTensors: () => engine.liveTensors(),
  hold: (count) => {
    for (let i = 0; i < count; i++) held.push(engine.keep(engine.ones([256, 256])));
    return held.length;
  },
  badMatmul: () => engine.tidy(() => engine.zeros([2, 3]).matmul(engine.zeros([2, 3]))),
  /** Replies "started", then multiplies matrices until the thread is terminated. */
  spin: (id) => {
    parentPort.postMessage({ id, ok: true, value: "started" });
    const a = engine.keep(engine.randn([192, 192]));
    for (;;) engine.tidy(() => a.matmul(a).tanh().sum());
  },
};

parentPort.on("message", ({ id, op, args = [] }) => {
  try {
    const fn = ops[op];
    if (!fn) throw new Error(`engineWorker: unknown op '${op}'`);
    const value = op === "spin" ? fn(id) : fn(...args);
    parentPort.postMessage({ id, ok: true, value });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});

parentPort.postMessage({
  ready: true,
  threadId,
  gradEnabled: engine.isGradEnabled(),
  torch: engine.torchVersion(),
});
