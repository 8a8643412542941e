// Every command that loads a model checks its other inputs first (issue 17 item 6): the real CLI, spawned, against
// a model folder whose weights file is corrupt. Were the model loaded (or its weight headers read) before an input
// was checked, the error would name model.safetensors instead of the bad input; each case asserts the input's
// one-line error, exit code 1, and that the weights were never reached.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fixtureDir, REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");
const { dir, cleanup } = tmpDirWithCleanup("safetune-preflight-");
const good = join(dir, "model");
const corrupt = join(dir, "corrupt");
const at = (name: string) => join(dir, name);

function cli(args: string[]) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, CI: "1" },
  });
  const stderr = r.stderr
    .split("\n")
    .filter((l) => l && !l.startsWith("npm warn"))
    .join("\n");
  return { code: r.status, stdout: r.stdout, stderr, seconds: (performance.now() - started) / 1000 };
}

/** The command fails with one line matching `pattern`, exit code 1, without touching the corrupt weights. */
function failsFirst(args: string[], pattern: RegExp): void {
  const r = cli(args);
  assert.equal(r.code, 1, `${args.join(" ")}\n${r.stderr}`);
  assert.equal(r.stderr.split("\n").length, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /model\.safetensors|header length/, "the weights were read before the input");
  assert.match(r.stderr, pattern);
}

before(() => {
  const made = cli(["create-model", "--out", good, "--vocab-size", "300", "--seed", "1"]);
  assert.equal(made.code, 0, made.stderr);
  cpSync(good, corrupt, { recursive: true });
  // Not a safetensors file: any load, or any read of its header, fails naming it.
  writeFileSync(join(corrupt, "model.safetensors"), Buffer.alloc(4096, 0xab));
  writeFileSync(at("sft.jsonl"), `${JSON.stringify({ instruction: "Say hi", output: "hi" })}\n`);
  writeFileSync(at("dpo.jsonl"), `${JSON.stringify({ prompt: "Q", chosen: "A", rejected: "B" })}\n`);
  writeFileSync(at("prompts.jsonl"), `${JSON.stringify({ prompt: "Hello" })}\n`);
  writeFileSync(
    at("suite.yaml"),
    "benchmarks:\n  - name: asks\n    path: prompts.jsonl\n    kind: harmful\n",
  );
  writeFileSync(at("a-file"), "not a folder\n");
  mkdirSync(at("finished/model"), { recursive: true });
});

after(cleanup);

test("control: with every input valid, the corrupt weights are what fails (so the cases below can fail)", () => {
  const r = cli(["sft", "--model", corrupt, "--data", "sft.jsonl", "--out", "ok", "--template", "chatml"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /model\.safetensors/);
});

describe("trainers", () => {
  const train = (command: string, data: string, ...extra: string[]) => [
    command,
    "--model",
    corrupt,
    "--data",
    data,
    "--out",
    "run",
    "--max-steps",
    "1",
    ...extra,
  ];

  test("sft: a missing data file, a missing eval file, an unknown template", () => {
    failsFirst(train("sft", "missing.jsonl", "--template", "chatml"), /missing\.jsonl: file not found/);
    failsFirst(
      train("sft", "sft.jsonl", "--template", "chatml", "--eval-data", "gone.jsonl"),
      /gone\.jsonl: file not found/,
    );
    failsFirst(train("sft", "sft.jsonl", "--template", "nope"), /unknown chat template "nope"/);
    // A data-parallel launch checks once, before any worker starts: one line, not one per rank.
    failsFirst(train("sft", "missing.jsonl", "--nproc", "2"), /^safetune: missing\.jsonl: file not found$/);
  });

  test("dpo: a missing data file, rows of the wrong kind, a finished run in --out", () => {
    failsFirst(train("dpo", "missing.jsonl", "--template", "chatml"), /missing\.jsonl: file not found/);
    failsFirst(train("dpo", "sft.jsonl", "--template", "chatml"), /sft\.jsonl:1: .*preference/);
    const finished = [
      "dpo",
      "--model",
      corrupt,
      "--data",
      "dpo.jsonl",
      "--out",
      "finished",
      "--template",
      "chatml",
    ];
    failsFirst(finished, /finished.model holds a finished run; pass --overwrite/);
    // --overwrite lets it through to the model, whose weights then fail.
    const replaced = cli([...finished, "--overwrite"]);
    assert.equal(replaced.code, 1);
    assert.match(replaced.stderr, /model\.safetensors/);
  });

  test("reward: a missing data file, the cost objective on pairs without safety labels", () => {
    failsFirst(train("reward", "missing.jsonl", "--template", "chatml"), /missing\.jsonl: file not found/);
    failsFirst(
      train("reward", "dpo.jsonl", "--template", "chatml", "--set", "reward.objective=cost"),
      /dpo\.jsonl:1: the cost objective needs safety labels/,
    );
  });

  test("raft: a missing data file, a missing reward model, a causal LM as reward model", () => {
    const raft = (data: string, reward: string) =>
      train("raft", data, "--template", "chatml", "--reward-model", reward, "--iterations", "1");
    failsFirst(raft("missing.jsonl", good), /missing\.jsonl: file not found/);
    failsFirst(raft("prompts.jsonl", "no-reward"), /--reward-model: no-reward: model folder not found/);
    failsFirst(raft("prompts.jsonl", good), /--reward-model: .*expected a \*ForSequenceClassification model/);
  });
});

test("eval: a missing suite, an unknown template, a missing adapter, a missing --compare-with run", () => {
  const evalArgs = (...extra: string[]) => ["eval", "--model", corrupt, "--out", "ev", ...extra];
  failsFirst(evalArgs("--benchmarks", "nope.yaml"), /nope\.yaml: suite file not found/);
  failsFirst(
    evalArgs("--benchmarks", "suite.yaml", "--template", "nope"),
    /--template: unknown chat template/,
  );
  failsFirst(
    evalArgs("--benchmarks", "suite.yaml", "--template", "chatml", "--adapter", "no-adapter"),
    /--adapter: no-adapter.adapter_config\.json: missing/,
  );
  failsFirst(
    evalArgs("--benchmarks", "suite.yaml", "--template", "chatml", "--compare-with", "no-run"),
    /no-run.results\.json: not found/,
  );
});

test("generate: a missing adapter, an unknown template with --chat", () => {
  failsFirst(
    ["generate", "--model", corrupt, "--prompt", "hi", "--adapter", "no-adapter"],
    /--adapter: no-adapter.adapter_config\.json: missing/,
  );
  failsFirst(
    ["generate", "--model", corrupt, "--prompt", "hi", "--chat", "--template", "nope"],
    /--template: unknown chat template "nope"/,
  );
});

test("serve: an unknown template, a folder that is not an adapter", () => {
  failsFirst(
    ["serve", "--model", corrupt, "--port", "0", "--template", "nope"],
    /serve: --template: unknown chat template "nope"/,
  );
  failsFirst(
    ["serve", "--model", corrupt, "--port", "0", "--adapter", good],
    /serve: --adapter: .*adapter_config\.json: missing/,
  );
});

test("export gguf and merge: an output path under a file, a missing adapter", () => {
  failsFirst(["export", "gguf", "--model", corrupt, "--out", "a-file/x.gguf"], /--out: .*a-file is a file/);
  failsFirst(
    ["export", "gguf", "--model", corrupt, "--out", "x.gguf", "--adapter", "no-adapter"],
    /--adapter: no-adapter.adapter_config\.json: missing/,
  );
  const adapter = fixtureDir("lora-adapter");
  failsFirst(
    ["merge", "--model", corrupt, "--adapter", adapter, "--out", "a-file/merged"],
    /--out: .*a-file is a file/,
  );
  failsFirst(
    ["merge", "--model", corrupt, "--adapter", "no-adapter", "--out", "merged"],
    /--adapter: no-adapter.adapter_config\.json: missing/,
  );
});
