import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { expected, fixtureDir, must, REPO_ROOT, tmpDir } from "./helpers/fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  const stderr = r.stderr
    .split("\n")
    .filter((l) => l && !l.startsWith("npm warn"))
    .join("\n");
  return { code: r.status, stdout: r.stdout, stderr };
}

/** One line on stderr, exit code 1, no stack trace. */
function assertCleanFailure(r: ReturnType<typeof cli>, pattern: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.split("\n").length, 1, `one line expected, got:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test("generate --prompt-ids --json prints the reference greedy tokens (no tokenizer needed)", () => {
  for (const name of ["llama", "qwen2", "gpt2"]) {
    const exp = expected(name);
    const prompt = must(exp, "greedy.prompt").toArray();
    const want = must(exp, "greedy.tokens").toArray();
    const r = cli([
      "generate",
      "--model",
      fixtureDir(name),
      "--prompt-ids",
      prompt.join(","),
      "--max-new-tokens",
      "16",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.tokens, want);
    assert.equal(out.text, "");
  }
});

test("generate --dtype: bfloat16 compute works on the CPU; float16 works or says why in one line", () => {
  const base = [
    "generate",
    "--model",
    fixtureDir("llama"),
    "--prompt-ids",
    "157,246,208",
    "--max-new-tokens",
    "4",
    "--json",
  ];
  const bf16 = cli([...base, "--dtype", "bfloat16"]);
  assert.equal(bf16.code, 0, bf16.stderr);
  assert.equal(JSON.parse(bf16.stdout).tokens.length, 4);
  const f16 = cli([...base, "--dtype", "float16"]);
  if (f16.code !== 0)
    assertCleanFailure(
      f16,
      /float16 compute is not supported by this libtorch on cpu: use bfloat16 or float32/,
    );
  assertCleanFailure(cli([...base, "--dtype", "int8"]), /--dtype: expected float32, bfloat16 or float16/);
});

test("create-model, inspect and generate --prompt work end to end on a model built from scratch", (t) => {
  const dir = join(tmpDir(t), "tiny");
  const created = cli(["create-model", "--out", dir, "--vocab-size", "800", "--seed", "2"]);
  assert.equal(created.code, 0, created.stderr);
  const vocab = Number(
    /created .*tiny: llama-tiny, [\d,]+ parameters, vocabulary (\d+)/.exec(created.stdout)?.[1],
  );
  assert.ok(
    vocab > 300 && vocab <= 800,
    `vocabulary ${vocab}: bytes + specials + merges, at most the requested 800`,
  );

  const inspected = cli(["inspect", "--model", dir]);
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.match(inspected.stdout, /architecture\s+LlamaForCausalLM/);
  assert.match(inspected.stdout, /dtypes\s+F32/);
  assert.match(inspected.stdout, /<\|im_start\|>/, "the chat template is shown");
  const json = JSON.parse(cli(["inspect", "--model", dir, "--json"]).stdout);
  assert.equal(json.vocabSize, vocab);
  assert.equal(json.parameters > 0, true);

  const text = cli(["generate", "--model", dir, "--prompt", "The model", "--max-new-tokens", "8", "--json"]);
  assert.equal(text.code, 0, text.stderr);
  const out = JSON.parse(text.stdout);
  assert.equal(out.tokens.length <= 8, true);
  assert.equal(typeof out.text, "string");

  const chat = cli([
    "generate",
    "--model",
    dir,
    "--prompt",
    "Hi",
    "--chat",
    "--max-new-tokens",
    "4",
    "--temperature",
    "0.8",
    "--top-p",
    "0.9",
    "--seed",
    "1",
  ]);
  assert.equal(chat.code, 0, chat.stderr);
});

test("bad input: one clear line, exit code 1, no stack trace", (t) => {
  const tmp = tmpDir(t);
  assertCleanFailure(
    cli(["generate", "--model", join(tmp, "missing"), "--prompt-ids", "1"]),
    /missing: model folder not found/,
  );
  assertCleanFailure(cli(["generate", "--prompt-ids", "1"]), /--model is required/);
  assertCleanFailure(
    cli(["generate", "--model", fixtureDir("llama"), "--prompt-ids", "1,x"]),
    /'x' is not a token id/,
  );
  assertCleanFailure(
    cli(["generate", "--model", fixtureDir("llama"), "--prompt-ids", "1,300"]),
    /prompt id 300 is outside the vocabulary/,
  );
  assertCleanFailure(
    cli(["generate", "--model", fixtureDir("llama"), "--prompt", "hi"]),
    /tokenizer\.json is missing; use --prompt-ids/,
  );
  assertCleanFailure(
    cli(["generate", "--model", fixtureDir("llama"), "--prompt-ids", "1", "--top-p", "2"]),
    /--top-p: expected a number in \[0, 1\]/,
  );
  assertCleanFailure(
    cli(["generate", "--model", fixtureDir("llama"), "--bogus"]),
    /Unknown option '--bogus'/,
  );
  assertCleanFailure(cli(["frobnicate"]), /unknown command 'frobnicate'/);

  const unsupported = join(tmp, "bert");
  mkdirSync(unsupported);
  writeFileSync(join(unsupported, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: 8 }));
  assertCleanFailure(
    cli(["inspect", "--model", unsupported]),
    /config\.json: unsupported architecture 'bert'/,
  );

  const noField = join(tmp, "nofield");
  mkdirSync(noField);
  writeFileSync(join(noField, "config.json"), JSON.stringify({ model_type: "llama", vocab_size: 10 }));
  assertCleanFailure(cli(["inspect", "--model", noField]), /config\.json: missing field 'hidden_size'/);

  const corrupt = join(tmp, "corrupt");
  mkdirSync(corrupt);
  copyFileSync(join(fixtureDir("llama"), "config.json"), join(corrupt, "config.json"));
  writeFileSync(join(corrupt, "model.safetensors"), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 123]));
  assertCleanFailure(cli(["generate", "--model", corrupt, "--prompt-ids", "1"]), /model\.safetensors: /);

  const verbose = cli(["generate", "--model", join(tmp, "missing"), "--prompt-ids", "1", "--verbose"]);
  assert.equal(verbose.code, 1);
  assert.match(verbose.stderr, /\n\s+at /, "--verbose shows the stack");
});

test("a missing engine is reported in one line naming the package and LIBTORCH", (t) => {
  const r = cli(["generate", "--model", fixtureDir("llama"), "--prompt-ids", "1"], {
    SAFETUNE_ADDON: join(tmpDir(t), "none.node"),
  });
  assertCleanFailure(r, /apt-get install libtorch-dev.*LIBTORCH=/);
  // Commands that need no engine still work without it.
  const inspect = cli(["inspect", "--model", fixtureDir("llama")], {
    SAFETUNE_ADDON: join(tmpDir(t), "none.node"),
  });
  assert.equal(inspect.code, 0, inspect.stderr);
});

test("the native build says what is wrong with LIBTORCH in one line", () => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts", "build-native.mjs")], {
    encoding: "utf8",
    env: { ...process.env, LIBTORCH: "/nonexistent/libtorch" },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /LIBTORCH=\/nonexistent\/libtorch: expected .*torch\.h/);
});
