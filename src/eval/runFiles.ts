// Reading a finished run folder back: results.json (checked against the schema version) and samples.jsonl.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EvaluationError } from "./errors.js";
import { type EvalResults, RESULTS_SCHEMA_VERSION, type SampleRecord } from "./results.js";

/** A run folder's results.json, or the file itself when given one. */
export function readResults(runOrFile: string): EvalResults {
  const file = runOrFile.endsWith(".json") ? runOrFile : join(runOrFile, "results.json");
  if (!existsSync(file))
    throw new EvaluationError(`${file}: not found (is ${runOrFile} a finished evaluation run?)`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new EvaluationError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const v = value as Partial<EvalResults> | null;
  if (!v || typeof v !== "object" || !Array.isArray(v.benchmarks))
    throw new EvaluationError(`${file}: not a safetune results file (no benchmarks list)`);
  if (v.schemaVersion !== RESULTS_SCHEMA_VERSION)
    throw new EvaluationError(
      `${file}: results schema version ${String(v.schemaVersion)}, this safetune reads version ${RESULTS_SCHEMA_VERSION}`,
    );
  return v as EvalResults;
}

/** A run folder's samples.jsonl. */
export function readSamples(run: string): SampleRecord[] {
  const file = join(run, "samples.jsonl");
  if (!existsSync(file)) throw new EvaluationError(`${file}: not found`);
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as SampleRecord;
      } catch {
        throw new EvaluationError(`${file}:${i + 1}: not valid JSON`);
      }
    });
}
