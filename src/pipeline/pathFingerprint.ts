// What a stage's external inputs (data files, a user's model folder) looked like when it ran: sizes and
// modification times, so an edited dataset or a retrained model invalidates the stages that read it.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Folders are listed this deep and this wide; beyond that a change goes unnoticed (big trees are rare inputs). */
const MAX_DEPTH = 3;
const MAX_ENTRIES = 5000;

export function pathFingerprint(path: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return "missing";
  }
  if (!st.isDirectory()) return `${st.size}:${Math.round(st.mtimeMs)}`;
  const parts: string[] = [];
  const walk = (dir: string, prefix: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      if (parts.length >= MAX_ENTRIES) return;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`, depth + 1);
      else if (entry.isFile()) {
        const s = statSync(full);
        parts.push(`${prefix}${entry.name}:${s.size}:${Math.round(s.mtimeMs)}`);
      }
    }
  };
  walk(path, "", 0);
  return parts.join("|");
}
