// Replayed JailbreakBench attacks as benchmarks, on the published artifacts in ../shared/data (skipped without them).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { jailbreakBenchArtifacts } from "../src/eval/benchmarks/jailbreakBenchmarks.js";
import { loadBenchmark, resolveBenchmarkSpec } from "../src/eval/benchmarks/loadBenchmark.js";
import { REPO_ROOT, SHARED } from "./helpers/fixtures.js";

const DATA = join(SHARED, "data");
const present = existsSync(join(DATA, "jailbreakbench", "attack-artifacts"));
const opts = { dataDir: DATA, baseDir: REPO_ROOT };

test("every artifact loads: prompts as given, null prompts skipped and counted, ids and categories kept", {
  skip: !present && "no ../shared/data/jailbreakbench",
}, async () => {
  const artifacts = jailbreakBenchArtifacts(DATA);
  assert.ok(artifacts.length >= 18, `${artifacts.length} artifacts`);
  assert.equal(new Set(artifacts.map((a) => a.name)).size, artifacts.length, "names are unique");
  for (const a of artifacts) {
    const raw = JSON.parse(readFileSync(a.path, "utf8")).jailbreaks as Record<string, unknown>[];
    const kept = raw.filter((r) => r.prompt !== null && r.prompt !== undefined);
    const b = await loadBenchmark(resolveBenchmarkSpec({ builtin: a.name }, opts));
    assert.equal(b.kind, "harmful");
    assert.equal(b.items.length, kept.length, a.name);
    assert.ok(b.source.includes(`${raw.length - kept.length} null prompts skipped`), b.source);
    b.items.forEach((item, i) => {
      assert.equal(item.prompt[0]?.content, kept[i]?.prompt);
      assert.equal(item.id, String(kept[i]?.index));
      assert.equal(item.category, kept[i]?.category);
      assert.equal(item.attack, a.name);
      // Judges read the behaviour's goal, as JailbreakBench's own judges do, not the jailbreak prompt.
      assert.deepEqual(item.request, [{ role: "user", content: kept[i]?.goal }]);
    });
  }
});

test("names are case-insensitive, limit and a category field apply, unknown names list the known ones", {
  skip: !present && "no ../shared/data/jailbreakbench",
}, async () => {
  const b = await loadBenchmark(
    resolveBenchmarkSpec({ builtin: "JBB:pair:VICUNA-13B-v1.5", limit: 5, category: "behavior" }, opts),
  );
  assert.equal(b.name, "jbb:PAIR:vicuna-13b-v1.5");
  assert.equal(b.items.length, 5);
  const raw = JSON.parse(
    readFileSync(join(DATA, "jailbreakbench/attack-artifacts/PAIR/black_box/vicuna-13b-v1.5.json"), "utf8"),
  ).jailbreaks as Record<string, unknown>[];
  const firstKept = raw.find((r) => r.prompt !== null);
  assert.equal(b.items[0]?.category, firstKept?.behavior);
  assert.throws(
    () => resolveBenchmarkSpec({ builtin: "jbb:PAIR:nobody" }, opts),
    /benchmark "jbb:PAIR:nobody": no such JailbreakBench artifact .*known: .*jbb:GCG:vicuna-13b-v1\.5/,
  );
});
