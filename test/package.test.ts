import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./helpers/fixtures.js";

const built = existsSync(join(REPO_ROOT, "dist", "index.js"));

test('the built package exposes the library API as `import { loadModel, generate } from "safetune"`', {
  skip: built ? false : "run `npm run build` first (CI does)",
}, async () => {
  const specifier = "safetune"; // a variable: type-checking must not need dist/ to exist
  const api = (await import(specifier)) as Record<string, unknown>;
  for (const name of [
    "loadModel",
    "generate",
    "generateTokens",
    "loadTokenizer",
    "saveModel",
    "createLora",
    "tensor",
    "tidy",
    "AdamW",
  ]) {
    assert.equal(typeof api[name], "function", name);
  }
  assert.ok(existsSync(join(REPO_ROOT, "dist", "index.d.ts")), "type declarations are emitted");
});
