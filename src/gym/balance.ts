// Helpers for pools that must be balanced over categories and free of repeated prompts.
import type { Rng } from "./rng.js";

/** The i-th key round-robin: any prefix of the sequence is balanced to within one. */
export function roundRobin<T>(keys: readonly T[], i: number): T {
  return keys[i % keys.length] as T;
}

/**
 * For row i of a round-robin over `categories` keys: whether it gets the safe answer. Alternates within each
 * category and within each round, so both every category and the whole are half safe (to within one).
 */
export function safeInTurn(i: number, categories: number): boolean {
  return (i + Math.floor(i / categories)) % 2 === 0;
}

/** Splits `total` by fractions (rounded, the last part takes the remainder). */
export function splitCount(total: number, fractions: readonly number[]): number[] {
  const parts = fractions.slice(0, -1).map((fraction) => Math.round(total * fraction));
  const used = parts.reduce((sum, part) => sum + part, 0);
  return [...parts, Math.max(0, total - used)];
}

/** How many tries a benchmark row gets to find a prompt not already used before accepting a repeat. */
const DISTINCT_TRIES = 30;

/**
 * `count` rows from `make(i)`, retrying a row whose key was already used: benchmarks stay free of repeats
 * while there are enough distinct prompts, and still reach their size when there are not.
 */
export function distinctRows<T>(count: number, make: (i: number) => T, key: (row: T) => string): T[] {
  const seen = new Set<string>();
  const rows: T[] = [];
  for (let i = 0; i < count; i++) {
    let row = make(i);
    for (let tries = 1; tries < DISTINCT_TRIES && seen.has(key(row)); tries++) row = make(i);
    seen.add(key(row));
    rows.push(row);
  }
  return rows;
}

/** Zero-padded record ids: "base-000123". */
export function recordId(prefix: string, i: number): string {
  return `${prefix}-${String(i).padStart(6, "0")}`;
}

/** Shuffles rows, then numbers them in their new order. */
export function shuffledWithIds<T extends object>(
  rng: Rng,
  prefix: string,
  rows: readonly T[],
): (T & { id: string })[] {
  return rng.shuffle(rows).map((row, i) => ({ ...row, id: recordId(prefix, i) }));
}

/**
 * `count` items taken round-robin over `pools`, each pool shuffled and drawn without repeats. A pool that runs
 * out is skipped (the others make up its share); only when every pool has run out does drawing start over,
 * reshuffled. So rows repeat only when the pools hold fewer than `count` items in all.
 */
export function balancedDraw<T>(rng: Rng, pools: readonly (readonly T[])[], count: number): T[] {
  if (count > 0 && pools.every((pool) => pool.length === 0))
    throw new RangeError("balancedDraw: every pool is empty");
  const out: T[] = [];
  let queues = pools.map((pool) => rng.shuffle(pool));
  while (out.length < count) {
    if (queues.every((queue) => queue.length === 0)) queues = pools.map((pool) => rng.shuffle(pool));
    for (const queue of queues) {
      const item = queue.shift();
      if (item !== undefined && out.length < count) out.push(item);
    }
  }
  return out;
}
