// A model-folder fuzzer (issue 21), beside the safetensors one: mutated config.json, tokenizer.json and chat
// templates (tokenizer_config.json's chat_template). After each mutation, what `inspect` and `generate --chat`
// do (summarise the folder; load model and tokenizer; render the template; decode two tokens) either succeeds
// or throws one of the errors the CLI reports as one line, quickly and without leaking tensors. A sample, and
// every failure the issue reported, also runs through the real CLI: exit 0, or exit 1 with one stderr line.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { summariseModel } from "../src/cli/commands/inspect.js";
import { liveTensors } from "../src/engine/index.js";
import { generate } from "../src/generate/generate.js";
import { ModelError } from "../src/model/errors.js";
import { loadModel } from "../src/model/loadModel.js";
import { SafetensorsError } from "../src/model/safetensors.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { ChatTemplateError } from "../src/tokenize/chatTemplate.js";
import { TokenizerFileError } from "../src/tokenize/files.js";
import { starterCorpus } from "../src/tokenize/starterCorpus.js";
import { loadTokenizer } from "../src/tokenize/tokenizer.js";
import { mulberry32 } from "../src/util/random.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");
const scratch = tmpDirWithCleanup("safetune-folder-fuzz-");
const base = join(scratch.dir, "base");
after(() => scratch.cleanup());

before(() => {
  createScratchModel(base, { vocabSize: 300, corpus: starterCorpus(20_000, 4), seed: 3 }).dispose();
});

type Json = Record<string, unknown>;
type Rand = () => number;

const FILES = ["config.json", "tokenizer.json", "tokenizer_config.json"] as const;
type FolderFile = (typeof FILES)[number];

function pick<T>(items: readonly T[], rand: Rand): T {
  return items[Math.floor(rand() * items.length)] as T;
}

const WEIRD: unknown[] = [
  0,
  -1,
  1,
  3,
  1.5,
  1e9,
  1e308,
  2 ** 53,
  -(2 ** 31),
  "x",
  "",
  "1e9",
  null,
  true,
  [],
  {},
  [1, 2],
  { a: 1 },
];

/** Templates that must stop at a limit, raise, or fail to parse: each becomes one ChatTemplateError. */
const HOSTILE_TEMPLATES = [
  "{% for i in range(999999999) %}{% for j in range(999999999) %}x{% endfor %}{% endfor %}",
  "{% for i in range(10000000) %}{{ i }}{% endfor %}",
  "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
  "{% set ns = namespace(s=[1]) %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
  "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
  "{{ messages | tojson(indent=100000000) }}",
  "{{ 'a\\nb' | indent(400000000) }}",
  "{{ raise_exception('no') }}",
  "{% for m in messages %}{{ m.content",
  "{{ messages[5].content }}",
  "{{ messages | nosuchfilter }}",
  "{% for m in messages %}{{ m.content + 1 }}{% endfor %}",
  "{{ range(1, 2, 0) }}",
  "{% if %}",
  "",
];

/** Paths to mutate in tokenizer.json and the config files: top-level keys and a few nested ones. */
function setPath(obj: Json, path: string[], value: unknown): void {
  let at: Json = obj;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null) return;
    at = next as Json;
  }
  const last = path[path.length - 1] as string;
  if (value === undefined) delete at[last];
  else at[last] = value;
}

/** The folder's text files by name: the three above, and any extra file a mutation adds. */
type FolderFiles = Record<FolderFile, string> & Record<string, string>;
type Mutation = (files: FolderFiles, rand: Rand) => void;

/** A JSON-level change to one file's object. */
function jsonMutation(file: FolderFile, change: (obj: Json, rand: Rand) => void): Mutation {
  return (files, rand) => {
    let obj: Json;
    try {
      obj = JSON.parse(files[file]) as Json;
    } catch {
      return; // an earlier round already broke this file's JSON
    }
    change(obj, rand);
    files[file] = JSON.stringify(obj);
  };
}

const CONFIG_KEYS = [
  "num_hidden_layers",
  "hidden_size",
  "intermediate_size",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "vocab_size",
  "max_position_embeddings",
  "rms_norm_eps",
  "rope_theta",
  "rope_scaling",
  "model_type",
  "architectures",
  "tie_word_embeddings",
  "eos_token_id",
  "bos_token_id",
  "hidden_act",
  "attention_bias",
];
const TOKENIZER_PATHS = [
  ["model"],
  ["model", "type"],
  ["model", "vocab"],
  ["model", "merges"],
  ["model", "unk_token"],
  ["added_tokens"],
  ["pre_tokenizer"],
  ["pre_tokenizer", "type"],
  ["normalizer"],
  ["decoder"],
  ["post_processor"],
];
const TOKENIZER_CONFIG_KEYS = [
  "chat_template",
  "bos_token",
  "eos_token",
  "pad_token",
  "add_bos_token",
  "add_eos_token",
  "model_max_length",
  "added_tokens_decoder",
];

const MUTATIONS: Mutation[] = [
  jsonMutation("config.json", (c, r) => setPath(c, [pick(CONFIG_KEYS, r)], pick(WEIRD, r))),
  jsonMutation("config.json", (c, r) => setPath(c, [pick(CONFIG_KEYS, r)], undefined)),
  jsonMutation("config.json", (c, r) =>
    setPath(c, ["model_type"], pick(["gpt2", "qwen2", "mistral", "bert"], r)),
  ),
  jsonMutation("tokenizer.json", (c, r) => setPath(c, pick(TOKENIZER_PATHS, r), pick(WEIRD, r))),
  jsonMutation("tokenizer.json", (c, r) => setPath(c, pick(TOKENIZER_PATHS, r), undefined)),
  jsonMutation("tokenizer.json", (c, r) =>
    setPath(
      c,
      ["added_tokens"],
      [
        ...((c.added_tokens as unknown[]) ?? []),
        {
          id: pick([1e9, 5000, -1, 0, 5], r),
          content: pick(["<x>", "hi", "<|im_start|>"], r),
          special: r() < 0.5,
        },
      ],
    ),
  ),
  jsonMutation("tokenizer_config.json", (c, r) =>
    setPath(c, [pick(TOKENIZER_CONFIG_KEYS, r)], pick(WEIRD, r)),
  ),
  jsonMutation("tokenizer_config.json", (c, r) => setPath(c, ["chat_template"], pick(HOSTILE_TEMPLATES, r))),
  jsonMutation("tokenizer_config.json", (c, r) =>
    setPath(c, ["chat_template"], [{ name: "default", template: pick(HOSTILE_TEMPLATES, r) }, { name: 3 }]),
  ),
  // Files the tokenizer also reads: a chat_template.jinja and special_tokens_map.json.
  (files, r) => {
    files["chat_template.jinja"] = pick(HOSTILE_TEMPLATES, r);
  },
  (files, r) => {
    files["special_tokens_map.json"] = JSON.stringify({
      bos_token: pick(WEIRD, r),
      eos_token: pick([...WEIRD, { content: "<|nope|>" }], r),
      additional_special_tokens: pick(WEIRD, r),
    });
  },
  // Byte-level: cut the file, or overwrite one character with a JSON-significant one.
  (files, r) => {
    const file = pick(FILES, r);
    files[file] = files[file].slice(0, Math.floor(r() * files[file].length));
  },
  (files, r) => {
    const file = pick(FILES, r);
    const text = files[file];
    const i = Math.floor(r() * text.length);
    files[file] = text.slice(0, i) + pick([...'{}[]":,-.019eE ntfx\\'], r) + text.slice(i + 1);
  },
];

function baseFiles(): FolderFiles {
  return Object.fromEntries(FILES.map((f) => [f, readFileSync(join(base, f), "utf8")])) as FolderFiles;
}

/** A model folder: the base weights, with the given config.json and tokenizer files. */
function writeCase(dir: string, files: FolderFiles): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(base, "model.safetensors"), join(dir, "model.safetensors"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** The errors the CLI prints as the one line a user needs (src/cli/main.ts). */
const EXPECTED = [ModelError, SafetensorsError, TokenizerFileError, ChatTemplateError, RangeError];

/** What `inspect` and `generate --chat --max-new-tokens 2` do with the folder, in process. */
async function inspectAndGenerate(dir: string): Promise<void> {
  await summariseModel(dir);
  const model = loadModel(dir);
  try {
    const tokenizer = await loadTokenizer(dir);
    await generate(model, tokenizer, "hi", { maxNewTokens: 2, chat: true });
  } finally {
    model.dispose();
  }
}

test("fuzz: 250 model-folder mutations succeed or fail with one expected one-line error, fast", {
  timeout: 120_000,
}, async () => {
  const rand = mulberry32(Number(process.env.FUZZ_SEED ?? 0x0f01de75));
  const started = performance.now();
  const tensorsBefore = liveTensors();
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < Number(process.env.FUZZ_CASES ?? 250); i++) {
    const files = baseFiles();
    const rounds = 1 + Math.floor(rand() * 2);
    for (let k = 0; k < rounds; k++) pick(MUTATIONS, rand)(files, rand);
    const dir = join(scratch.dir, `case-${i}`);
    writeCase(dir, files);
    const caseStart = performance.now();
    try {
      await inspectAndGenerate(dir);
      outcomes.ok++;
    } catch (error) {
      const e = error as Error;
      const describe = `case ${i} (${dir}): ${e?.name}: ${e?.message}`;
      assert.ok(
        EXPECTED.some((E) => error instanceof E),
        `unexpected error class; ${describe}`,
      );
      assert.ok(!e.message.includes("\n"), `not one line; ${describe}`);
      outcomes.refused++;
    }
    const seconds = (performance.now() - caseStart) / 1000;
    assert.ok(seconds < 8, `case ${i} took ${seconds.toFixed(1)} s (${dir})`);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(liveTensors(), tensorsBefore, "no tensors left behind by refused folders");
  // Some mutations leave the folder usable (an unused key, a harmless value): both outcomes must occur.
  assert.ok(outcomes.ok > 0 && outcomes.refused > 0, JSON.stringify(outcomes));
  if (process.env.FUZZ_VERBOSE) console.log(outcomes);
  assert.ok(performance.now() - started < 60_000, "fuzz run too slow");
});

// --- the issue's failures, through the real CLI --------------------------------------------------

function runCli(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: "1" } });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.resume();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const lines = stderr
        .split("\n")
        .filter((l) => l && !l.startsWith("npm warn"))
        .join("\n");
      resolve({ code, stderr: lines, ms: performance.now() - started });
    });
  });
}

const ISSUE_CASES: [string, Mutation, RegExp][] = [
  [
    "num_hidden_layers 1e9 (ran the heap out of memory after 38 s)",
    jsonMutation("config.json", (c) => setPath(c, ["num_hidden_layers"], 1e9)),
    /config\.json: field 'num_hidden_layers' is 1000000000 \(expected at most 1024\)/,
  ],
  [
    "max_position_embeddings 0 (was accepted)",
    jsonMutation("config.json", (c) => setPath(c, ["max_position_embeddings"], 0)),
    /config\.json: field 'max_position_embeddings' is 0 \(expected a positive integer\)/,
  ],
  [
    "more layers than the weights hold",
    jsonMutation("config.json", (c) => setPath(c, ["num_hidden_layers"], 7)),
    /config\.json: field 'num_hidden_layers' is 7 but the weights .* hold \d+ layers/,
  ],
];

const TEMPLATE_CASES: [string, string, RegExp][] = [
  [
    "nested range(999999999) loops (crashed V8, exit 133)",
    "{% for i in range(999999999) %}{% for j in range(999999999) %}x{% endfor %}{% endfor %}",
    /chat template passed 999999999 to a function or filter/,
  ],
  [
    "range(10000000) (ran past 40 s)",
    "{% for m in messages %}{% for i in range(10000000) %}{{ i }}{% endfor %}{% endfor %}",
    /chat template built a list of 10000000 items \(limit 100000\)/,
  ],
  [
    "loops that run out the clock",
    "{% for i in range(90000) %}{% for j in range(90000) %}{% endfor %}{% endfor %}",
    /chat template rendering exceeded 2000 ms/,
  ],
];

test("the issue's model-folder failures: inspect and generate exit 1 with one line, within seconds", {
  timeout: 180_000,
}, async () => {
  const jobs: { label: string; args: string[]; expect: RegExp | undefined }[] = [];
  ISSUE_CASES.forEach(([label, mutate, expect], i) => {
    const files = baseFiles();
    mutate(files, Math.random);
    const dir = join(scratch.dir, `issue-${i}`);
    writeCase(dir, files);
    // Each CLI start costs seconds on a busy machine: inspect and generate both for the first case only.
    if (i !== 1) jobs.push({ label: `inspect: ${label}`, args: ["inspect", "--model", dir], expect });
    if (i !== 2)
      jobs.push({
        label: `generate: ${label}`,
        args: ["generate", "--model", dir, "--prompt", "hi", "--chat", "--max-new-tokens", "2"],
        expect,
      });
  });
  TEMPLATE_CASES.forEach(([label, template, expect], i) => {
    const files = baseFiles();
    const config = JSON.parse(files["tokenizer_config.json"]) as Json;
    config.chat_template = template;
    files["tokenizer_config.json"] = JSON.stringify(config);
    const dir = join(scratch.dir, `template-${i}`);
    writeCase(dir, files);
    // inspect prints the template without rendering it; generate --chat renders it.
    jobs.push({
      label: `generate: ${label}`,
      args: ["generate", "--model", dir, "--prompt", "hi", "--chat", "--max-new-tokens", "2"],
      expect,
    });
  });
  // A seeded random mutation too: it may succeed (exit 0) or be refused (exit 1, one line).
  const rand = mulberry32(0x5eed);
  for (let i = 0; i < 1; i++) {
    const files = baseFiles();
    pick(MUTATIONS, rand)(files, rand);
    const dir = join(scratch.dir, `random-${i}`);
    writeCase(dir, files);
    jobs.push({ label: `inspect: random ${i}`, args: ["inspect", "--model", dir], expect: undefined });
    jobs.push({
      label: `generate: random ${i}`,
      args: ["generate", "--model", dir, "--prompt", "hi", "--chat", "--max-new-tokens", "2"],
      expect: undefined,
    });
  }
  const failures: string[] = [];
  const queue = [...jobs];
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const r = await runCli(job.args, 60_000);
      const where = `${job.label}: code ${r.code} after ${(r.ms / 1000).toFixed(1)} s, stderr ${JSON.stringify(r.stderr)}`;
      if (r.code === 0 && !job.expect) continue;
      if (r.code !== 1) failures.push(`expected exit 1; ${where}`);
      else if (r.stderr.split("\n").length !== 1) failures.push(`expected one stderr line; ${where}`);
      else if (job.expect && !job.expect.test(r.stderr)) failures.push(`unexpected message; ${where}`);
      else if (r.ms > 30_000) failures.push(`too slow; ${where}`);
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepEqual(failures, []);
});
