import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./helpers/fixtures.js";

// Plain Node, not tsx: tsx maps "safetune" to src/ (tsconfig paths, for the examples), and this test is about
// what an installed package exposes, which is dist/ (built by `npm ci` through the prepare script).
test('the built package exposes the library API as `import { loadModel, generate } from "safetune"`', () => {
  assert.ok(
    existsSync(join(REPO_ROOT, "dist", "index.js")),
    "dist/ is missing: `npm ci` builds it (prepare script), or run `npm run build`",
  );
  const names = [
    "loadModel",
    "generate",
    "generateTokens",
    "loadTokenizer",
    "saveModel",
    "createLora",
    "tensor",
    "tidy",
    "AdamW",
  ];
  const script = `const api = await import("safetune"); console.log(JSON.stringify(${JSON.stringify(names)}.map((n) => [n, typeof api[n]])));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  for (const [name, type] of JSON.parse(r.stdout) as [string, string][]) assert.equal(type, "function", name);
  assert.ok(existsSync(join(REPO_ROOT, "dist", "index.d.ts")), "type declarations are emitted");
});
