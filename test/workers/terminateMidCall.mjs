// Run as a child process by test/worker.test.ts: starts engine workers, lets each get deep into a loop of engine
// calls, terminates it, and checks that this process survives with a working engine. A crash of this process
// (an uncaught C++ exception aborting it) is what the test looks for, which is why it runs apart.
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const engine = await import("../../src/engine/index.ts");
const rounds = Number(process.argv[2] ?? 3);
const workerUrl = new URL("./engineWorker.mjs", import.meta.url);

for (let round = 0; round < rounds; round++) {
  const worker = new Worker(workerUrl);
  await new Promise((resolve, reject) => {
    worker.on("message", (msg) => {
      if (msg.ready) worker.postMessage({ id: 1, op: "spin" });
      else if (msg.id === 1) resolve();
    });
    worker.on("error", reject);
  });
  await sleep(30 + 20 * round);
  const code = await worker.terminate();
  if (code !== 1) throw new Error(`round ${round}: worker exit code ${code}, expected 1 (terminated)`);
}
const sum = engine.tidy(() =>
  engine
    .ones([2, 3])
    .matmul(engine.ones([3, 2]))
    .sum()
    .item(),
);
if (sum !== 12) throw new Error(`engine broken after terminations: ${sum}`);
console.log(`survived ${rounds} terminations mid-call`);
