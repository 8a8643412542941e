// Writing a whole folder so that readers see the old one or the new one, never half of either.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Calls `write(tmpDir)` to fill a temporary sibling folder, then swaps it into place at `dir`.
 * On failure the temporary folder is removed and `dir` is untouched.
 */
export function writeFolderAtomically(dir: string, write: (tmpDir: string) => void): void {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = join(parent, `.${basename(dir)}.tmp-${suffix}`);
  mkdirSync(tmp);
  try {
    write(tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(dir)) {
    const old = join(parent, `.${basename(dir)}.old-${suffix}`);
    renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, dir);
  }
}

/** Writes a file through a temporary sibling and a rename. */
export function writeFileAtomically(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
