// How a benchmark is declared in a suite file: a built-in name, or a data file with the fields to read.
import { z } from "zod";
import { BENCHMARK_KINDS } from "../types.js";

const fieldName = z.string().min(1);

export const BenchmarkSpecSchema = z
  .object({
    /** The name results are reported under (defaults to the built-in's name). */
    name: z.string().min(1).optional(),
    /** A built-in benchmark (see `safetune eval --list-benchmarks`); the fields below override its defaults. */
    builtin: z.string().min(1).optional(),
    /** The data file (.jsonl, .json, .csv, .parquet, optionally .gz); relative to the suite file, or to the data folder for built-ins. */
    path: z.string().min(1).optional(),
    /** harmful | benign | reference | pairs. */
    kind: z.enum(BENCHMARK_KINDS as [string, ...string[]]).optional(),
    /** The field holding the prompt: text, or a list of chat messages (default "prompt"). */
    prompt: fieldName.optional(),
    /** A field appended to the prompt after a blank line (Alpaca's "input"), when non-empty. */
    input: fieldName.optional(),
    /** The field holding a category label (a harm category, XSTest's type, ...). */
    category: fieldName.optional(),
    /** The field holding a stable id (default: the row number). */
    id: fieldName.optional(),
    /** The reference answer's field (reference benchmarks). */
    reference: fieldName.optional(),
    /** The field holding a short answer key that a correct response contains (the `task` judge's check). */
    answer: fieldName.optional(),
    /** The preferred and dispreferred answers' fields (pairs benchmarks). */
    chosen: fieldName.optional(),
    rejected: fieldName.optional(),
    /** Keep only rows whose fields equal these values, e.g. {label: safe}. */
    where: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** Evaluate only the first N items (after `where`). */
    limit: z.number().int().positive().optional(),
  })
  .strict();

export type BenchmarkSpec = z.infer<typeof BenchmarkSpecSchema>;

/** The fields a benchmark's rows are read through (see BenchmarkSpecSchema for each one's meaning). */
export interface BenchmarkFields {
  prompt: string;
  input?: string;
  category?: string;
  id?: string;
  reference?: string;
  answer?: string;
  chosen?: string;
  rejected?: string;
}

/** A spec with everything a loader needs resolved (built-in defaults applied, path absolute). */
export interface ResolvedBenchmarkSpec extends BenchmarkFields {
  name: string;
  kind: (typeof BENCHMARK_KINDS)[number];
  path: string;
  where?: Record<string, string | number | boolean>;
  limit?: number;
  /** The built-in it came from, if any. */
  builtin?: string;
}
