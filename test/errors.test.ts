// One error base: every error class a user reads extends SafetuneError (so the CLI prints it as one line and exits
// with its exit code, with no list of classes to keep up to date); the few that are internal are named here.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { EvalInterrupted, EvaluationError } from "../src/eval/errors.js";
import { StageInterrupted } from "../src/pipeline/stageProcess.js";
import { GuardConfigError } from "../src/serve/guards/guardConfig.js";
import { TrainingError, TrainingInterrupted } from "../src/train/trainingLoop.js";
import { ConfigError } from "../src/util/configError.js";
import { INTERRUPTED_EXIT_CODE, SafetuneError } from "../src/util/safetuneError.js";
import { cliSync } from "./helpers/cliSync.js";
import { REPO_ROOT, tmpDirWithCleanup } from "./helpers/fixtures.js";

/** Error classes that never reach a user as they are, and why. */
const INTERNAL: Record<string, string> = {
  ApiError: "an HTTP error body for API clients (status and OpenAI error type), not a CLI error",
  HttpProblem: "the dashboard API's HTTP status, answered as JSON",
  WorkerStartError: "the generation worker's failed start, turned into a ServerStartError",
  RaisedByTemplate: "raise_exception() inside a chat template, turned into a ChatTemplateError",
  RowProblem: "one bad row without its location, turned into a DataError naming file and line",
};

/** `class A extends B` declarations in src/, as A -> [B, file]. */
function classDeclarations(): Map<string, { base: string; file: string }> {
  const classes = new Map<string, { base: string; file: string }>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts"))
        for (const m of readFileSync(path, "utf8").matchAll(/\bclass (\w+) extends (\w+)/g))
          classes.set(m[1] as string, { base: m[2] as string, file: relative(REPO_ROOT, path) });
    }
  };
  walk(join(REPO_ROOT, "src"));
  return classes;
}

test("every error class in src/ extends SafetuneError, except the internal ones named here", () => {
  const classes = classDeclarations();
  const rootOf = (name: string): string => {
    let current = name;
    for (let hops = 0; hops < 20; hops++) {
      const base = classes.get(current)?.base;
      if (base === undefined || current === "SafetuneError") return current;
      current = base;
    }
    return current;
  };
  const errors = [...classes.keys()].filter((c) => /Error$/.test(rootOf(c)) && c !== "SafetuneError");
  const plain = errors.filter((c) => rootOf(c) !== "SafetuneError");
  assert.deepEqual(
    plain.map((c) => `${c} (${classes.get(c)?.file})`).sort(),
    Object.keys(INTERNAL)
      .map((c) => `${c} (${classes.get(c)?.file})`)
      .sort(),
    "a new user-facing error should extend SafetuneError (src/util/safetuneError.ts)",
  );
  assert.ok(
    errors.length - plain.length >= 20,
    `only ${errors.length - plain.length} SafetuneError classes found`,
  );
});

test("each error carries its exit code: 130 for a run stopped on purpose, 1 for a problem to fix", () => {
  for (const stopped of [new TrainingInterrupted("x"), new EvalInterrupted("x"), new StageInterrupted("x")]) {
    assert.ok(stopped instanceof SafetuneError);
    assert.equal(stopped.exitCode, INTERRUPTED_EXIT_CODE);
  }
  assert.equal(INTERRUPTED_EXIT_CODE, 130);
  for (const problem of [new ConfigError("x"), new GuardConfigError("x"), new TrainingError("x")])
    assert.equal(problem.exitCode, 1);
  const evaluation = new EvaluationError("a\n  b");
  assert.equal(evaluation.message, "a b", "EvaluationError keeps its own one-line message");
  assert.equal(evaluation.name, "EvaluationError");
});

test("the CLI prints a SafetuneError as its one line, without the --verbose hint, and exits with its code", () => {
  const { dir, cleanup } = tmpDirWithCleanup("safetune-errors-");
  try {
    const missing = join(dir, "missing.yaml");
    const r = cliSync(["sft", "--config", missing]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `safetune: ${missing}: config file not found`);
  } finally {
    cleanup();
  }
});
