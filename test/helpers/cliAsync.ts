// Runs the safetune CLI in a child process without blocking this one: tests whose fake servers answer from this
// process must not use spawnSync (the server could never reply).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");

export function cliAsync(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}
