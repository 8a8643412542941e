// sft/dpo/reward/raft data errors read like `data stats` ones (issue 21): a bad row names its file and line and
// says that --skip-invalid skips and counts such rows; with --skip-invalid the run goes on.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { cliSync } from "./helpers/cliSync.js";
import { REPO_ROOT, tmpDir } from "./helpers/fixtures.js";

const _BIN = join(REPO_ROOT, "bin", "safetune.js");

const cli = cliSync;

test("a bad row stops sft and dpo with the --skip-invalid hint; with the flag sft skips it", (t) => {
  const dir = tmpDir(t);
  const model = join(dir, "model");
  assert.equal(cli(["create-model", "--out", model, "--vocab-size", "400", "--seed", "1"]).code, 0);
  const sftData = join(dir, "sft.jsonl");
  writeFileSync(
    sftData,
    `${JSON.stringify({ instruction: "Say hi", output: "hi" })}\n[1, 2]\n${JSON.stringify({ instruction: "Bye", output: "bye" })}\n`,
  );
  const common = ["--model", model, "--max-steps", "1", "--template", "chatml"];
  const sft = cli(["sft", ...common, "--data", sftData, "--out", join(dir, "sft")]);
  assert.equal(sft.code, 1, sft.stderr);
  assert.equal(sft.stderr.split("\n").length, 1, sft.stderr);
  assert.match(sft.stderr, /sft\.jsonl:2: .*\(--skip-invalid skips and counts such rows\)$/);

  const dpoData = join(dir, "dpo.jsonl");
  writeFileSync(
    dpoData,
    `${JSON.stringify({ prompt: "Q", chosen: "A", rejected: "B" })}\n${JSON.stringify({ prompt: "Q", chosen: "", rejected: "B" })}\n`,
  );
  const dpo = cli(["dpo", ...common, "--data", dpoData, "--out", join(dir, "dpo")]);
  assert.equal(dpo.code, 1, dpo.stderr);
  assert.equal(dpo.stderr.split("\n").length, 1, dpo.stderr);
  assert.match(dpo.stderr, /dpo\.jsonl:2: .*\(--skip-invalid skips and counts such rows\)$/);

  const skipped = cli([
    "sft",
    ...common,
    "--data",
    sftData,
    "--out",
    join(dir, "sft2"),
    "--skip-invalid",
    "true",
  ]);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.doesNotMatch(skipped.stderr, /--skip-invalid skips/);
});
