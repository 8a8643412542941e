// An append-only JSONL key-value cache on disk: generated responses and judge verdicts survive an
// interrupted run, so a rerun regenerates and rejudges nothing already done.

import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/** A stable hash of any JSON-serialisable key material (objects' keys are sorted first). */
export function cacheKey(material: unknown): string {
  return createHash("sha256").update(stableJson(material)).digest("hex").slice(0, 32);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export class JsonlCache<T> {
  readonly path: string;
  readonly #entries = new Map<string, T>();
  /** Lines that could not be read back (a torn last line after a crash): skipped, and counted here. */
  readonly damagedLines: number;

  constructor(path: string) {
    this.path = path;
    let damaged = 0;
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      // A torn last line (a crash mid-write) must not swallow the next entry appended after it.
      if (text.length > 0 && !text.endsWith("\n")) appendFileSync(path, "\n");
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        try {
          const entry = JSON.parse(line) as { key?: unknown; value?: T };
          if (typeof entry.key === "string" && "value" in entry)
            this.#entries.set(entry.key, entry.value as T);
          else damaged++;
        } catch {
          damaged++;
        }
      }
    } else {
      mkdirSync(dirname(path), { recursive: true });
    }
    this.damagedLines = damaged;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): T | undefined {
    return this.#entries.get(key);
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Stores and appends at once (one line per entry, so a crash loses at most the line being written). */
  set(key: string, value: T): void {
    this.#entries.set(key, value);
    appendFileSync(this.path, `${JSON.stringify({ key, value })}\n`);
  }
}
