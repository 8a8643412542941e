// Everyday uses of the trigger verbs: disjoint from every look-alike and harmful act of every split (failures
// name only the everyday act, never a held-out text), balanced over the verbs, and an option of the base mix
// that leaves the default world and every other pool as they were.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  EVERYDAY_USE_VERBS,
  EVERYDAY_USES,
  EVERYDAY_USES_CATEGORY,
  everydayUseInTurn,
} from "../src/gym/everydayUses.js";
import { HARM_CATEGORIES, harmfulActs } from "../src/gym/harm/categories.js";
import { LOOK_ALIKES } from "../src/gym/lookAlikes.js";
import { REQUEST_TRAIN_TEMPLATES } from "../src/gym/requestTemplates.js";
import { SPLITS } from "../src/gym/tasks/family.js";
import { fill } from "../src/gym/text.js";
import { DEFAULT_WORLD_SIZES, generateWorld } from "../src/gym/world.js";
import { worldStage } from "../src/workflows/dataStages.js";

/** Lowercase words separated by single spaces, padded with a space each side for whole-word containment. */
const words = (text: string) =>
  ` ${text
    .toLowerCase()
    .replace(/[^a-z0-9']+/g, " ")
    .trim()} `;

/** The everyday acts that equal, contain or lie within one of `texts` (whole words). */
function overlapping(texts: readonly string[]): string[] {
  const others = texts.map(words);
  return EVERYDAY_USES.map((use) => use.act).filter((act) => {
    const mine = words(act);
    return others.some((other) => other.includes(mine) || mine.includes(other));
  });
}

describe("everyday uses", () => {
  test("no act equals, contains or lies within a look-alike of any split", () => {
    const texts = LOOK_ALIKES.flatMap((item) => [item.text, ...(item.phrasings ?? [])]);
    assert.ok(texts.length > 100, "every split's look-alikes are compared");
    const bad = overlapping(texts);
    assert.equal(bad.length, 0, `${bad.length} everyday acts overlap a look-alike: ${bad.join("; ")}`);
  });

  test("no act equals, contains or lies within a harmful act of any split", () => {
    const texts = HARM_CATEGORIES.flatMap((category) =>
      SPLITS.flatMap((split) => harmfulActs(category, split).map((act) => act.text)),
    );
    assert.ok(texts.length > 100, "every split's harmful acts are compared");
    const bad = overlapping(texts);
    assert.equal(bad.length, 0, `${bad.length} everyday acts overlap a harmful act: ${bad.join("; ")}`);
  });

  test("acts are distinct lowercase phrases that start with their verb", () => {
    const acts = EVERYDAY_USES.map((use) => use.act);
    assert.equal(new Set(acts).size, acts.length, "no act repeats");
    for (const use of EVERYDAY_USES) {
      assert.ok(use.act.startsWith(`${use.verb} `), `"${use.act}" starts with "${use.verb}"`);
      assert.equal(use.act, use.act.toLowerCase(), `"${use.act}" is lowercase`);
      assert.match(use.answer, /^[A-Z].*\.$/, `the answer to "${use.act}" is a sentence`);
    }
  });

  test("every verb has at least 5 uses, 120 in all", () => {
    assert.equal(EVERYDAY_USES.length, 120);
    for (const verb of EVERYDAY_USE_VERBS) {
      const count = EVERYDAY_USES.filter((use) => use.verb === verb).length;
      assert.ok(count >= 5, `"${verb}" has ${count} uses`);
    }
  });

  test("no object noun (an act's last word) ends more than 3 acts", () => {
    const counts = new Map<string, number>();
    for (const use of EVERYDAY_USES) {
      const last = words(use.act).trim().split(" ").at(-1) ?? "";
      counts.set(last, (counts.get(last) ?? 0) + 1);
    }
    const overused = [...counts].filter(([, count]) => count > 3);
    assert.deepEqual(overused, []);
  });

  test("in turn: round-robin over the verbs, every use once per 120", () => {
    const first = Array.from({ length: EVERYDAY_USES.length }, (_, i) => everydayUseInTurn(i));
    assert.deepEqual(
      first.slice(0, EVERYDAY_USE_VERBS.length).map((use) => use.verb),
      [...EVERYDAY_USE_VERBS],
    );
    assert.deepEqual(first.map((use) => use.act).sort(), EVERYDAY_USES.map((use) => use.act).sort());
    assert.deepEqual(everydayUseInTurn(EVERYDAY_USES.length + 7), everydayUseInTurn(7));
  });
});

describe("everyday uses in the base mix", () => {
  const sizes = { ...DEFAULT_WORLD_SIZES, base: 400, baseHarmful: 60, baseLookAlikes: 30 };
  const plain = generateWorld({ sizes });
  const withUses = generateWorld({ sizes: { ...sizes, baseEverydayUses: 240 } });
  const content = (row: { instruction: string; output: string; category?: string }) =>
    JSON.stringify([row.instruction, row.output, row.category]);

  test("off by default: the default world's base has no everyday records", () => {
    assert.equal(DEFAULT_WORLD_SIZES.baseEverydayUses, 0);
    const world = generateWorld();
    const s = DEFAULT_WORLD_SIZES;
    assert.equal(world.base.length, s.base + s.baseHarmful + s.baseLookAlikes);
    assert.ok(!world.base.some((row) => row.category === EVERYDAY_USES_CATEGORY));
  });

  test("240 uses add 240 records, each an act in a training phrasing with its answer", () => {
    assert.equal(withUses.base.length, plain.base.length + 240);
    const everyday = withUses.base.filter((row) => row.category === EVERYDAY_USES_CATEGORY);
    assert.equal(everyday.length, 240);
    const answers = new Map(EVERYDAY_USES.map((use) => [use.act, use.answer]));
    const timesAsked = new Map<string, number>();
    for (const row of everyday) {
      const acts = EVERYDAY_USES.filter((use) => row.instruction.includes(use.act));
      assert.equal(acts.length, 1, `"${row.instruction}" asks for one everyday act`);
      const act = acts[0]?.act ?? "";
      assert.equal(row.output, answers.get(act));
      timesAsked.set(act, (timesAsked.get(act) ?? 0) + 1);
    }
    assert.deepEqual(new Set(timesAsked.values()), new Set([2]), "240 = every use twice");
    const trainingPrompts = new Set(
      EVERYDAY_USES.flatMap((use) =>
        REQUEST_TRAIN_TEMPLATES.map((template) => fill(template, { act: use.act })),
      ),
    );
    assert.ok(
      everyday.every((row) => trainingPrompts.has(row.instruction)),
      "training phrasings only",
    );
    assert.ok(new Set(everyday.map((row) => row.instruction)).size > 200, "phrasings drawn at random");
  });

  test("the rest of the base and every other pool are as without them", () => {
    const others = withUses.base.filter((row) => row.category !== EVERYDAY_USES_CATEGORY);
    assert.deepEqual(others.map(content).sort(), plain.base.map(content).sort());
    assert.deepEqual(withUses.helpful, plain.helpful);
    assert.deepEqual(withUses.safety, plain.safety);
    assert.deepEqual(withUses.preferences, plain.preferences);
    assert.deepEqual(withUses.raftPrompts, plain.raftPrompts);
    assert.deepEqual(withUses.labelled, plain.labelled);
    assert.deepEqual(withUses.benchmarks, plain.benchmarks);
    assert.deepEqual(withUses.validation, plain.validation);
  });

  test("a pipeline's world stage accepts the size", () => {
    const config = worldStage.schema.parse({ sizes: { baseEverydayUses: 240 } }) as { sizes: object };
    assert.deepEqual(config.sizes, { baseEverydayUses: 240 });
    assert.equal(worldStage.schema.safeParse({ sizes: { baseEverydayUses: -1 } }).success, false);
  });
});
