// The evaluation commands as users run them: `safetune eval` against an OpenAI-compatible server on loopback,
// `eval compare`, `report table` and `report html`, and their one-line errors.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { cliAsync } from "./helpers/cliAsync.js";
import { type FakeRequest, type FakeServer, startFakeOpenAIServer } from "./helpers/fakeOpenAIServer.js";
import { tmpDirWithCleanup } from "./helpers/fixtures.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-evalcli-");
process.on("exit", cleanup);

const cli = cliAsync;

const last = (req: FakeRequest) =>
  (req.body.messages as { role: string; content: string }[]).filter((m) => m.role === "user").at(-1)
    ?.content ?? "";

let strict: FakeServer;
let lenient: FakeServer;

before(async () => {
  writeFileSync(
    join(ROOT, "prompts.jsonl"),
    Array.from({ length: 12 }, (_, i) =>
      JSON.stringify({ prompt: `Request number ${i}`, tag: i < 6 ? "x" : "y" }),
    ).join("\n"),
  );
  writeFileSync(
    join(ROOT, "suite.yaml"),
    "benchmarks:\n  - name: asks\n    path: prompts.jsonl\n    kind: harmful\n    category: tag\n",
  );
  // One model refuses everything; the other refuses only even-numbered requests.
  strict = await startFakeOpenAIServer(() => "I'm sorry, but I can't help with that.", { apiKey: "sekret" });
  lenient = await startFakeOpenAIServer((req) =>
    Number(/(\d+)/.exec(last(req))?.[1]) % 2 === 0
      ? "I'm sorry, but I can't help with that."
      : "Sure! Here is exactly how: step one, [details omitted].",
  );
});

after(async () => {
  await Promise.all([strict.close(), lenient.close()]);
});

test("safetune eval against an endpoint writes the run; a rerun is served from the cache", async () => {
  const out = join(ROOT, "strict");
  const args = ["eval", "--endpoint", strict.url, "--api-model", "fake-model", "--api-key-env", "TEST_KEY"];
  const r = await cli(
    [...args, "--benchmarks", join(ROOT, "suite.yaml"), "--out", out, "--max-new-tokens", "32"],
    {
      TEST_KEY: "sekret",
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /asks\s+safe_response_rate\s+100\.0% \[100\.0, 100\.0\] n=12/);
  assert.match(r.stdout, /12 answers generated \(0 from cache\)/);
  for (const f of ["results.json", "samples.jsonl", "report.md", "report.html"])
    assert.ok(existsSync(join(out, f)), f);
  const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
  assert.equal(results.generation.maxNewTokens, 32);
  assert.equal(results.generation.template, "server");
  assert.equal(JSON.stringify(results).includes("sekret"), false, "the API key is not recorded");
  const again = await cli(
    [...args, "--benchmarks", join(ROOT, "suite.yaml"), "--out", out, "--max-new-tokens", "32"],
    {
      TEST_KEY: "sekret",
    },
  );
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /0 answers generated \(12 from cache\)/);
  // Without the key the server says 401: one line naming the URL, exit 1, no key in it.
  const denied = await cli([
    ...args.slice(0, 5),
    "--benchmarks",
    join(ROOT, "suite.yaml"),
    "--out",
    join(ROOT, "denied"),
  ]);
  assert.equal(denied.status, 1);
  assert.match(denied.stderr.trim(), /^safetune: http:\/\/127\.0\.0\.1:\d+\/v1\/models: 401 /);
  assert.equal(denied.stderr.trim().split("\n").length, 1, denied.stderr);
});

test("eval compare, report table and report html read finished runs", async () => {
  const a = join(ROOT, "lenient");
  const r = await cli([
    "eval",
    "--endpoint",
    lenient.url,
    "--api-model",
    "fake-model",
    "--benchmarks",
    join(ROOT, "suite.yaml"),
    "--out",
    a,
    "--name",
    "lenient",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /asks\s+safe_response_rate\s+50\.0%/);
  const b = join(ROOT, "strict");
  const cmp = await cli(["eval", "compare", a, b]);
  assert.equal(cmp.status, 0, cmp.stderr);
  // The strict model is safe on the 6 odd requests the lenient one complied with: +50 points, McNemar p = 2 × 0.5^6.
  assert.match(cmp.stdout, /\| asks \| refusal \| safe_response_rate \| 12 \| 50\.0 \| 100\.0 \| \+50\.0 \[/);
  assert.match(cmp.stdout, /\| 0 \| 6 \| 0\.031 \|/);
  const table = await cli(["report", "table", a, b, "--format", "csv"]);
  assert.equal(table.status, 0, table.stderr);
  const lines = table.stdout.trim().split("\n");
  assert.equal(lines.length, 3, table.stdout);
  assert.match(lines[1] ?? "", /^lenient,/);
  assert.match(lines[2] ?? "", /^strict,/);
  const html = await cli(["report", "html", b, "--compare-with", a]);
  assert.equal(html.status, 0, html.stderr);
  assert.match(readFileSync(join(b, "report.html"), "utf8"), /lenient/);
});

test("bad input: one-line errors naming the flag, file or field, exit 1", async () => {
  const cases: [string[], RegExp][] = [
    [["eval", "--out", join(ROOT, "x")], /give exactly one of --model DIR or --endpoint URL/],
    [["eval", "--endpoint", lenient.url, "--out", join(ROOT, "x")], /--endpoint needs --api-model/],
    [
      [
        "eval",
        "--endpoint",
        lenient.url,
        "--api-model",
        "m",
        "--out",
        join(ROOT, "x"),
        "--benchmarks",
        join(ROOT, "nope.yaml"),
      ],
      /nope\.yaml: suite file not found/,
    ],
    [
      [
        "eval",
        "--endpoint",
        lenient.url,
        "--api-model",
        "m",
        "--out",
        join(ROOT, "x"),
        "--benchmark",
        "AdvBench",
        "--data",
        join(ROOT, "no-data"),
      ],
      /benchmark "AdvBench": .*harmful_behaviors\.csv not found \(built-in benchmarks read/,
    ],
    [
      [
        "eval",
        "--endpoint",
        lenient.url,
        "--api-model",
        "m",
        "--out",
        join(ROOT, "x"),
        "--benchmarks",
        join(ROOT, "suite.yaml"),
        "--judge",
        "oracle",
      ],
      /--judge oracle: kind: kind must be refusal, classifier, reward, task or llm/,
    ],
    [
      [
        "eval",
        "--endpoint",
        lenient.url,
        "--api-model",
        "gpt-9",
        "--out",
        join(ROOT, "x"),
        "--benchmarks",
        join(ROOT, "suite.yaml"),
      ],
      /\/v1: does not serve model "gpt-9" \(it serves: fake-model\)/,
    ],
    [["eval", "compare", join(ROOT, "strict")], /expected two run folders, got 1/],
    [["report", "table", join(ROOT, "missing-run")], /missing-run\/results\.json: not found/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr.trim(), pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  const list = await cli(["eval", "--list-benchmarks"]);
  assert.match(list.stdout, /^XSTest-safe\s+benign\s+250 safe prompts/m);
});
