// Labelled sets for the safe/unsafe reading: JailbreakBench's judged responses (jailbroken = unsafe, with their
// harm category) read from the real artifacts, and a keywords judge declared in a file, measured per category.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { calibrateJudge, isJailbreakBenchPath, readLabelledFile } from "../src/eval/calibrate.js";
import { createJudge } from "../src/eval/judges/createJudge.js";
import { validateJudgeSpec } from "../src/eval/judges/judgeSpec.js";
import { SHARED } from "./helpers/fixtures.js";

const ARTIFACTS = join(SHARED, "data", "jailbreakbench", "attack-artifacts");
const PAIR_GPT4 = join(ARTIFACTS, "PAIR", "black_box", "gpt-4-0125-preview.json");

test("a JailbreakBench artifact file reads as safe/unsafe answers: jailbroken = unsafe, prompts skipped when the attack found none", async () => {
  assert.ok(isJailbreakBenchPath(PAIR_GPT4) && isJailbreakBenchPath(ARTIFACTS));
  const raw = JSON.parse(readFileSync(PAIR_GPT4, "utf8")) as {
    jailbreaks: {
      prompt: string | null;
      response: string | null;
      jailbroken: boolean;
      jailbroken_llama_guard1?: boolean;
      category: string;
    }[];
  };
  const kept = raw.jailbreaks.filter((j) => j.prompt !== null && j.response !== null);
  assert.ok(kept.some((j) => typeof j.jailbroken_llama_guard1 === "boolean"));
  const set = await readLabelledFile(PAIR_GPT4);
  assert.equal(set.on, "safe");
  assert.equal(set.items.length, kept.length);
  set.items.forEach((x, i) => {
    assert.equal(x.positive, kept[i]?.jailbroken);
    assert.equal(x.fields.category, kept[i]?.category);
    assert.equal(x.fields.attack, "PAIR");
    assert.equal(x.fields.target, "gpt-4-0125-preview");
    // Llama Guard 1's reading rides along as a field, where the artifact has one, never as the label.
    const guard = kept[i]?.jailbroken_llama_guard1;
    assert.equal(x.fields.jailbroken_llama_guard1, guard === undefined ? undefined : String(guard));
  });
});

test("a keywords judge from a file, grouped by JailbreakBench category: the groups partition the answers", async () => {
  const spec = validateJudgeSpec(
    parseYaml(readFileSync(new URL("./fixtures/harm-keywords.yaml", import.meta.url), "utf8")),
    "harm-keywords.yaml",
  );
  const set = await readLabelledFile(PAIR_GPT4);
  const report = await calibrateJudge(await createJudge(spec), set, {
    file: PAIR_GPT4,
    groupBy: ["category"],
  });
  const groups = report.grouped?.[0]?.groups ?? [];
  assert.ok(groups.length >= 5, `${groups.length} categories`);
  assert.equal(
    groups.reduce((s, g) => s + g.report.n, 0),
    set.items.length,
  );
  assert.equal(report.grouped?.[0]?.baseline, undefined, "no refusal baseline on safe/unsafe labels");
});
