// A suite: the benchmarks (and optionally the judges) of an evaluation, from a YAML file or built in.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { EvaluationError } from "../errors.js";
import { type JudgeSpec, validateJudgeSpec } from "../judges/judgeSpec.js";
import { type BenchmarkSpec, BenchmarkSpecSchema } from "./benchmarkSpec.js";
import { PAPER_SUITE } from "./builtinBenchmarks.js";

export interface Suite {
  /** Where it came from: a file path, or "builtin:paper". */
  source: string;
  /** The folder relative benchmark paths are resolved against. */
  baseDir: string;
  /** The suite's own data folder for built-ins (relative to the file), if it names one. */
  dataDir?: string;
  benchmarks: BenchmarkSpec[];
  judges?: JudgeSpec[];
  /** Attack names (or "all") applied to every harmful benchmark; the command line's --attacks replaces them. */
  attacks?: string[];
}

const SuiteFileSchema = z
  .object({
    /** The folder holding the public benchmark files, for built-in benchmarks. */
    dataDir: z.string().optional(),
    /** Built-in names, or benchmark specs. */
    benchmarks: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).min(1),
    /** Judge names ("refusal") or judge specs; the command line's --judge flags replace them. */
    judges: z.array(z.unknown()).optional(),
    /** Attacks applied to every harmful benchmark: names, or "all" (see src/eval/attacks/registry.ts). */
    attacks: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  })
  .strict();

/** The built-in suites: `paper` is the evaluation of Safe to Serve. */
export const BUILTIN_SUITES: Readonly<Record<string, readonly string[]>> = { paper: PAPER_SUITE };

/** A suite by built-in name ("paper") or from a YAML file. */
export function loadSuite(nameOrPath: string): Suite {
  const builtin = BUILTIN_SUITES[nameOrPath];
  if (builtin) {
    return {
      source: `builtin:${nameOrPath}`,
      baseDir: process.cwd(),
      benchmarks: builtin.map((name) => ({ builtin: name })),
    };
  }
  if (!existsSync(nameOrPath)) {
    throw new EvaluationError(
      `${nameOrPath}: suite file not found (or name a built-in suite: ${Object.keys(BUILTIN_SUITES).join(", ")})`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(nameOrPath, "utf8"));
  } catch (err) {
    throw new EvaluationError(`${nameOrPath}: not valid YAML (${(err as Error).message.split("\n")[0]})`);
  }
  return parseSuite(raw, nameOrPath);
}

/** Validates a parsed suite document; `file` names it in errors and anchors relative paths. */
export function parseSuite(raw: unknown, file: string): Suite {
  const result = SuiteFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EvaluationError(
      `${file}: ${issue?.path.join(".") || "(top level)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const baseDir = dirname(resolve(file));
  const benchmarks = result.data.benchmarks.map((entry, i) => {
    const value = typeof entry === "string" ? { builtin: entry } : entry;
    const parsed = BenchmarkSpecSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") || "(entry)";
      throw new EvaluationError(`${file}: benchmarks.${i}: ${field}: ${issue?.message ?? "invalid"}`);
    }
    return parsed.data;
  });
  const suite: Suite = { source: file, baseDir, benchmarks };
  if (result.data.dataDir !== undefined) suite.dataDir = resolve(baseDir, result.data.dataDir);
  const attacks = result.data.attacks;
  if (attacks !== undefined) suite.attacks = typeof attacks === "string" ? [attacks] : attacks;
  if (result.data.judges)
    suite.judges = result.data.judges.map((j, i) => validateJudgeSpec(j, `${file}: judges.${i}`));
  return suite;
}
