// Train/eval/test splits by unique prompt: every record whose normalised prompt is the same lands in the
// same split, so no prompt is trained on and evaluated on (the PKU eval subset in ../shared/data fails this).
import { DataError } from "./errors.js";
import type { DataRecord } from "./records.js";
import { deriveSeed, seededShuffle } from "./shuffle.js";
import { promptKey } from "./text.js";

export interface SplitOptions {
  /** Fraction of the records for eval, in [0, 1). */
  eval: number;
  /** Fraction of the records for test, in [0, 1). */
  test: number;
  seed: number;
}

export interface SplitResult {
  train: DataRecord[];
  eval: DataRecord[];
  test: DataRecord[];
  /** Unique prompts in each split. */
  prompts: { train: number; eval: number; test: number };
}

/** Records grouped by normalised prompt, groups in order of first appearance. */
export function groupByPrompt(records: readonly DataRecord[]): DataRecord[][] {
  const groups = new Map<string, DataRecord[]>();
  for (const record of records) {
    const key = promptKey(record);
    const group = groups.get(key);
    if (group) group.push(record);
    else groups.set(key, [record]);
  }
  return [...groups.values()];
}

/**
 * Splits records so that no prompt crosses splits. Prompt groups are drawn in a seeded order and fill eval
 * until it holds round(eval x records) records, then test likewise; the rest is train (a split can exceed
 * its target by less than one group). Each split keeps the records' original order.
 */
export function splitByPrompt(records: readonly DataRecord[], options: SplitOptions): SplitResult {
  for (const name of ["eval", "test"] as const) {
    const f = options[name];
    if (!(Number.isFinite(f) && f >= 0 && f < 1))
      throw new DataError(`split: ${name} must be a fraction in [0, 1), got ${f}`);
  }
  if (options.eval + options.test >= 1)
    throw new DataError(`split: eval + test must be below 1 (got ${options.eval} + ${options.test})`);
  const groups = groupByPrompt(records);
  const order = seededShuffle(
    groups.map((_, i) => i),
    deriveSeed(options.seed, 2),
  );
  const target = {
    eval: Math.round(options.eval * records.length),
    test: Math.round(options.test * records.length),
  };
  const assigned = new Array<"train" | "eval" | "test">(groups.length);
  const sizes = { eval: 0, test: 0 };
  for (const g of order) {
    const size = groups[g]?.length ?? 0;
    const split = sizes.eval < target.eval ? "eval" : sizes.test < target.test ? "test" : "train";
    if (split !== "train") sizes[split] += size;
    assigned[g] = split;
  }
  const splitOf = new Map<DataRecord, "train" | "eval" | "test">();
  groups.forEach((group, g) => {
    for (const record of group) splitOf.set(record, assigned[g] ?? "train");
  });
  const result: SplitResult = { train: [], eval: [], test: [], prompts: { train: 0, eval: 0, test: 0 } };
  for (const record of records) result[splitOf.get(record) ?? "train"].push(record);
  for (const split of assigned) result.prompts[split ?? "train"]++;
  return result;
}
