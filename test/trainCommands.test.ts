import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { createScratchModel } from "../src/model/scratchModel.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");
const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-traincli-");
process.on("exit", cleanup);
const BASE = join(ROOT, "base");
const DATA = join(ROOT, "chat.jsonl");

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  const stderr = r.stderr
    .split("\n")
    .filter((l) => l && !l.startsWith("npm warn"))
    .join("\n");
  return { code: r.status, stdout: r.stdout, stderr };
}

before(() => {
  createScratchModel(BASE, { vocabSize: 500, seed: 0 }).dispose();
  const rows = Array.from({ length: 12 }, (_, i) => ({
    messages: [
      { role: "user", content: `Question number ${i}?` },
      { role: "assistant", content: `Answer number ${i}.` },
    ],
  }));
  writeFileSync(DATA, rows.map((r) => JSON.stringify(r)).join("\n"));
});

test("sft reads --config YAML, lets flags override it, and saves the resolved config", () => {
  const out = join(ROOT, "sft");
  const config = join(ROOT, "run.yaml");
  writeFileSync(
    config,
    `model: ${BASE}\nout: ${out}\ndata:\n  train: ${DATA}\nmaxLength: 48\ntraining:\n  epochs: 1\n  batchSize: 4\n  lr: 0.001\n`,
  );
  const r = cli(["sft", "--config", config, "--lr", "0.002", "--set", "training.beta2=0.95"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sft: 3 steps; model written to .*sft\/model/);
  const resolved = parseYaml(readFileSync(join(out, "config.yaml"), "utf8"));
  assert.equal(resolved.training.lr, 0.002);
  assert.equal(resolved.training.beta2, 0.95);
  assert.equal(resolved.training.batchSize, 4);
  assert.ok(existsSync(join(out, "model", "model.safetensors")));
});

test("bad configs and data: one line naming the field or the row", () => {
  const bad = (args: string[], pattern: RegExp) => {
    const r = cli(args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.split("\n").length, 1, r.stderr);
  };
  bad(["sft", "--model", BASE, "--data", DATA], /config: out: /);
  bad(
    ["sft", "--model", BASE, "--out", join(ROOT, "x"), "--data", DATA, "--schedule", "sideways"],
    /training\.schedule: /,
  );
  bad(
    ["sft", "--model", BASE, "--out", join(ROOT, "x"), "--data", DATA, "--set", "training.bogus"],
    /--set: expected PATH=VALUE/,
  );
  bad(
    ["dpo", "--model", BASE, "--out", join(ROOT, "x"), "--data", DATA],
    /chat\.jsonl:1: a chat record cannot be used as preference data/,
  );
  bad(["sft", "--config", join(ROOT, "missing.yaml")], /missing\.yaml: config file not found/);
});
