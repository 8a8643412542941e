// The object rows of a JSONL log that may still be growing: blank lines, a torn last line (a write in progress or
// a killed run) and non-object lines are skipped.
import { existsSync, readFileSync } from "node:fs";

export function readJsonLines(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const rows: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const row = JSON.parse(line) as unknown;
      if (row && typeof row === "object" && !Array.isArray(row)) rows.push(row as Record<string, unknown>);
    } catch {
      // a line still being written
    }
  }
  return rows;
}
