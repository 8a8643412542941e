#!/usr/bin/env node
// In a source checkout, runs the TypeScript sources through tsx (never a stale dist/); an installed package
// ships only dist/ and runs that.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
let useSource = existsSync(source);
if (useSource) {
  try {
    const { register } = await import("tsx/esm/api");
    register();
  } catch {
    useSource = false;
  }
}
await import(useSource ? source.href : new URL("../dist/cli/main.js", import.meta.url).href);
