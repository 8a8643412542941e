// Runs the safetune CLI to completion in a child process, for tests that need no server in this process (those use
// cliAsync); npm's own warnings are dropped from stderr so a test can count the CLI's lines.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./fixtures.js";

const BIN = join(REPO_ROOT, "bin", "safetune.js");

export function cliSync(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  const stderr = r.stderr
    .split("\n")
    .filter((l) => l && !l.startsWith("npm warn"))
    .join("\n");
  return { code: r.status, stdout: r.stdout, stderr };
}

/** `count` chat records "Question number i?" / "Answer number i." as JSONL, for trainer tests. */
export function numberedChatJsonl(count = 12): string {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      messages: [
        { role: "user", content: `Question number ${i}?` },
        { role: "assistant", content: `Answer number ${i}.` },
      ],
    }),
  ).join("\n");
}
