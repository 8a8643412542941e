// A bounded load test on loopback: 16 concurrent autocannon clients, a few hundred chat completions. Every request
// must succeed, and concurrent requests must actually share decoding batches. (Speed goes to bench/serveBench.ts.)
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import autocannon from "autocannon";
import { createScratchModel } from "../src/model/scratchModel.js";
import { type RunningServer, startServer } from "../src/serve/server.js";

const REQUESTS = 320;
let dir: string;
let server: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "safetune-load-"));
  createScratchModel(join(dir, "tiny"), { vocabSize: 400, seed: 9 }).dispose();
  server = await startServer({ model: join(dir, "tiny"), port: 0, maxBatchRows: 16, log: () => {} });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test(`16 concurrent clients, ${REQUESTS} requests: no errors, every answer complete, batches shared`, async () => {
  let completionTokens = 0;
  const result = await autocannon({
    url: `${server.url}/v1/chat/completions`,
    connections: 16,
    amount: REQUESTS,
    timeout: 60,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "tiny",
          messages: [{ role: "user", content: "Tell me about the sea." }],
          max_tokens: 8,
          temperature: 0.7,
        }),
        onResponse: (status, body) => {
          if (status === 200)
            completionTokens += (JSON.parse(body) as { usage: { completion_tokens: number } }).usage
              .completion_tokens;
        },
      },
    ],
  });
  assert.equal(result.errors, 0, "no connection errors");
  assert.equal(result.timeouts, 0, "no timeouts");
  assert.equal(result.non2xx, 0, "no non-2xx responses");
  assert.equal(result["2xx"], REQUESTS);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string) =>
    Number(/\s(\S+)$/.exec(metrics.split("\n").find((l) => l.startsWith(name)) ?? "")?.[1]);
  assert.equal(
    value("safetune_completion_tokens_total"),
    completionTokens,
    "the metrics count what clients got",
  );
  const meanBatch = value("safetune_batch_rows_sum") / value("safetune_batch_rows_count");
  assert.ok(
    meanBatch > 2,
    `concurrent requests were decoded together (mean batch ${meanBatch.toFixed(1)} rows)`,
  );
});
