// A benchmark's items from its data file: the prompt (text or chat messages), id, category, reference or answers.

import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { DataError } from "../../data/errors.js";
import { type Row, readRows } from "../../data/readRows.js";
import type { ChatMessage } from "../../data/records.js";
import { EvaluationError } from "../errors.js";
import type { Benchmark, BenchmarkItem } from "../types.js";
import type { BenchmarkSpec, ResolvedBenchmarkSpec } from "./benchmarkSpec.js";
import { BUILTIN_BENCHMARKS, builtinBenchmark } from "./builtinBenchmarks.js";
import {
  isJailbreakBenchName,
  loadJailbreakBenchBenchmark,
  resolveJailbreakBenchSpec,
} from "./jailbreakBenchmarks.js";

export interface ResolveOptions {
  /** The folder built-in benchmarks' files are under (the layout of the public releases). */
  dataDir: string;
  /** The folder relative paths of custom benchmarks are resolved against (the suite file's folder). */
  baseDir: string;
}

/** Applies a built-in's defaults and resolves the path; errors name the benchmark and the missing field. */
export function resolveBenchmarkSpec(spec: BenchmarkSpec, options: ResolveOptions): ResolvedBenchmarkSpec {
  if (spec.builtin !== undefined && isJailbreakBenchName(spec.builtin))
    return resolveJailbreakBenchSpec(spec, options);
  const builtin = spec.builtin === undefined ? undefined : builtinBenchmark(spec.builtin);
  if (spec.builtin !== undefined && !builtin) {
    throw new EvaluationError(
      `benchmark "${spec.builtin}": no such built-in benchmark (known: ${BUILTIN_BENCHMARKS.map((b) => b.name).join(", ")})`,
    );
  }
  const name = spec.name ?? builtin?.name;
  if (!name) throw new EvaluationError(`benchmark with path "${spec.path ?? "?"}": give it a name`);
  const path = spec.path ?? builtin?.path;
  if (!path) throw new EvaluationError(`benchmark "${name}": needs a path (or a built-in name)`);
  const kind = spec.kind ?? builtin?.kind;
  if (!kind)
    throw new EvaluationError(`benchmark "${name}": needs a kind (harmful, benign, reference or pairs)`);
  const base = spec.path === undefined && builtin ? options.dataDir : options.baseDir;
  const resolved: ResolvedBenchmarkSpec = {
    name,
    kind: kind as ResolvedBenchmarkSpec["kind"],
    path: isAbsolute(path) ? path : resolve(base, path),
    prompt: spec.prompt ?? builtin?.prompt ?? "prompt",
  };
  for (const key of ["input", "category", "id", "reference", "answer", "chosen", "rejected"] as const) {
    const value = spec[key] ?? builtin?.[key];
    if (value !== undefined) resolved[key] = value;
  }
  const where = spec.where ?? builtin?.where;
  if (where) resolved.where = where;
  if (spec.limit !== undefined) resolved.limit = spec.limit;
  if (builtin) resolved.builtin = builtin.name;
  if (resolved.kind === "reference" && !resolved.reference)
    throw new EvaluationError(`benchmark "${name}": a reference benchmark needs a reference field`);
  if (resolved.kind === "pairs" && (!resolved.chosen || !resolved.rejected))
    throw new EvaluationError(`benchmark "${name}": a pairs benchmark needs chosen and rejected fields`);
  return resolved;
}

/** Reads a benchmark's items. Every error is one line naming the benchmark, the file (and row) and the field. */
export async function loadBenchmark(spec: ResolvedBenchmarkSpec): Promise<Benchmark> {
  if (spec.builtin !== undefined && isJailbreakBenchName(spec.builtin))
    return loadJailbreakBenchBenchmark(spec);
  const where = `benchmark "${spec.name}"`;
  if (!existsSync(spec.path)) {
    const hint = spec.builtin
      ? " (built-in benchmarks read the public release files from the data folder: --data DIR or SAFETUNE_DATA)"
      : "";
    throw new EvaluationError(`${where}: ${spec.path} not found${hint}`);
  }
  const items: BenchmarkItem[] = [];
  const seen = new Set<string>();
  let checkedFields = false;
  try {
    for await (const entry of readRows(spec.path)) {
      const row = entry.row;
      if (!checkedFields) {
        checkFields(spec, row, where);
        checkedFields = true;
      }
      if (spec.where && !matches(row, spec.where)) continue;
      const item = itemOf(spec, row, entry.line, `${where}: ${entry.where}`);
      if (seen.has(item.id)) throw new EvaluationError(`${where}: ${entry.where}: duplicate id "${item.id}"`);
      seen.add(item.id);
      items.push(item);
      if (spec.limit !== undefined && items.length >= spec.limit) break;
    }
  } catch (err) {
    if (err instanceof DataError) throw new EvaluationError(`${where}: ${err.message}`);
    throw err;
  }
  if (items.length === 0) {
    const filter = spec.where ? ` matching ${JSON.stringify(spec.where)}` : "";
    throw new EvaluationError(`${where}: no items${filter} in ${spec.path}`);
  }
  return {
    name: spec.name,
    kind: spec.kind,
    source: spec.builtin ? `builtin:${spec.builtin} (${spec.path})` : spec.path,
    items,
  };
}

function checkFields(spec: ResolvedBenchmarkSpec, row: Row, where: string): void {
  const required = [
    spec.prompt,
    spec.reference,
    spec.answer,
    spec.chosen,
    spec.rejected,
    spec.category,
    spec.id,
  ];
  for (const field of [...required, ...Object.keys(spec.where ?? {})]) {
    if (field !== undefined && !(field in row)) {
      throw new EvaluationError(
        `${where}: ${spec.path} has no field "${field}" (fields: ${Object.keys(row).join(", ") || "none"})`,
      );
    }
  }
}

function matches(row: Row, where: Record<string, string | number | boolean>): boolean {
  return Object.entries(where).every(([field, value]) => String(row[field]) === String(value));
}

function itemOf(spec: ResolvedBenchmarkSpec, row: Row, line: number, where: string): BenchmarkItem {
  const id = spec.id === undefined ? String(line) : scalarText(row[spec.id], spec.id, where);
  const item: BenchmarkItem = { id, prompt: promptOf(row, spec, where) };
  if (spec.category !== undefined) {
    const value = row[spec.category];
    if (value !== undefined && value !== null && value !== "")
      item.category = scalarText(value, spec.category, where);
  }
  if (spec.reference !== undefined) item.reference = answerText(row, spec.reference, where);
  if (spec.answer !== undefined) item.answer = scalarText(row[spec.answer], spec.answer, where);
  if (spec.chosen !== undefined) item.chosen = answerText(row, spec.chosen, where);
  if (spec.rejected !== undefined) item.rejected = answerText(row, spec.rejected, where);
  return item;
}

function promptOf(row: Row, spec: ResolvedBenchmarkSpec, where: string): ChatMessage[] {
  const value = row[spec.prompt];
  if (Array.isArray(value)) {
    const messages = value.map((m, i) => messageOf(m, `${where}: ${spec.prompt}[${i}]`));
    if (messages.length === 0 || messages[messages.length - 1]?.role !== "user")
      throw new EvaluationError(`${where}: field "${spec.prompt}" must end with a user message`);
    return messages;
  }
  let text = nonEmptyText(value, spec.prompt, where);
  if (spec.input !== undefined) {
    const input = row[spec.input];
    if (typeof input === "string" && input.trim() !== "") text = `${text}\n\n${input}`;
  }
  return [{ role: "user", content: text }];
}

function messageOf(value: unknown, where: string): ChatMessage {
  const m = value as { role?: unknown; content?: unknown } | null;
  if (!m || typeof m !== "object" || typeof m.role !== "string" || typeof m.content !== "string")
    throw new EvaluationError(`${where}: expected a message {role, content}`);
  return { role: m.role, content: m.content };
}

/** An answer: text, or a list of messages whose assistant turns are joined. */
function answerText(row: Row, field: string, where: string): string {
  const value = row[field];
  if (Array.isArray(value)) {
    const text = value
      .map((m, i) => messageOf(m, `${where}: ${field}[${i}]`))
      .filter((m) => m.role === "assistant")
      .map((m) => m.content)
      .join("\n");
    return nonEmptyText(text, field, where);
  }
  return nonEmptyText(value, field, where);
}

function nonEmptyText(value: unknown, field: string, where: string): string {
  if (typeof value !== "string" || value.trim() === "")
    throw new EvaluationError(`${where}: field "${field}" should be non-empty text, got ${describe(value)}`);
  return value;
}

function scalarText(value: unknown, field: string, where: string): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return String(value);
  throw new EvaluationError(`${where}: field "${field}" should be text or a number, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return value === "" ? "an empty string" : "blank text";
  return Array.isArray(value) ? "a list" : typeof value;
}
