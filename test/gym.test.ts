// The synthetic world generator: determinism, sizes, balance, labels that agree with the refusal rules,
// answer keys, no leakage from benchmarks into training, and files that load back as records.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadRecords } from "../src/data/loadRecords.js";
import type { ChatMessage } from "../src/data/records.js";
import { classifyRefusal } from "../src/eval/judges/refusalRules.js";
import type { RefusalLabel } from "../src/eval/types.js";
import {
  attackTemplates,
  COUNTRIES,
  DEFAULT_WORLD_SIZES,
  generateWorld,
  HARM_CATEGORIES,
  HARMFUL_PLACEHOLDER,
  HOWTOS,
  harmfulActs,
  howToAnswer,
  LOOK_ALIKE_CATEGORIES,
  LOOK_ALIKES,
  lookAlikePrompts,
  NEEDLESS_REFUSAL_VARIANTS,
  needlessRefusal,
  REQUEST_EVAL_TEMPLATES,
  REQUEST_TRAIN_TEMPLATES,
  REQUEST_VALID_TEMPLATES,
  Rng,
  SAFE_VARIANTS,
  SPLITS,
  type Split,
  safeAnswer,
  skeleton,
  TASK_FAMILIES,
  taskAnswerCorrect,
  taskFamily,
  templateSets,
  UNSAFE_VARIANTS,
  unsafeAnswer,
  WORLD_REVISION,
  type World,
  worldCorpus,
  writeWorld,
} from "../src/gym/index.js";
import { secondPerson, wordCount } from "../src/gym/text.js";

const world = generateWorld();
const HARM = new Set<string>(HARM_CATEGORIES);
const FAMILIES = new Set<string>(TASK_FAMILIES);
const LOOK = new Set<string>(LOOK_ALIKE_CATEGORIES);

const refusalCache = new Map<string, RefusalLabel>();
function refusalLabel(text: string): RefusalLabel {
  let label = refusalCache.get(text);
  if (label === undefined) {
    label = classifyRefusal(text).label;
    refusalCache.set(text, label);
  }
  return label;
}

function assertLabel(text: string, expected: RefusalLabel, what: string): void {
  const reading = classifyRefusal(text);
  if (refusalLabel(text) !== expected)
    assert.fail(`${what}: expected ${expected}, got ${reading.label} (${reading.evidence}): ${text}`);
}

const contentOf = (messages: readonly ChatMessage[]) => messages.map((m) => m.content).join("\n");

/** Every prompt a training record holds. */
function trainingPrompts(w: World): string[] {
  return [
    ...w.base.map((r) => r.instruction),
    ...w.helpful.map((r) => r.instruction),
    ...w.safety.map((r) => r.instruction),
    ...w.preferences.map((r) => contentOf(r.prompt)),
    ...w.raftPrompts.map((r) => contentOf(r.prompt)),
    ...w.labelled.map((r) => contentOf(r.prompt)),
  ];
}

/** Every prompt and answer a training record holds. */
function trainingTexts(w: World): string[] {
  return [
    ...trainingPrompts(w),
    ...w.base.map((r) => r.output),
    ...w.helpful.map((r) => r.output),
    ...w.safety.map((r) => r.output),
    ...w.preferences.flatMap((r) => [contentOf(r.chosen), contentOf(r.rejected)]),
    ...w.labelled.map((r) => contentOf(r.answer)),
  ];
}

/** The lower-case words of some texts. */
function vocabularyOf(texts: readonly string[]): Set<string> {
  return new Set(
    texts
      .join(" ")
      .toLowerCase()
      .match(/[a-z']+/g),
  );
}

/** The held-out test benchmarks' prompts. */
function testPrompts(w: World): string[] {
  const { harmful, benign, tasks, attacks, labelled } = w.benchmarks;
  return [...harmful, ...benign, ...tasks, ...attacks, ...labelled].map((row) => row.prompt);
}

/** The validation benchmarks' prompts. */
function validationPrompts(w: World): string[] {
  const { harmful, benign, tasks, attacks } = w.validation;
  return [...harmful, ...benign, ...tasks, ...attacks].map((row) => row.prompt);
}

/** Every benchmark prompt, test and validation. */
function benchmarkPrompts(w: World): string[] {
  return [...testPrompts(w), ...validationPrompts(w)];
}

/** The benchmark splits and what each holds. */
const HELD_SPLITS = ["valid", "eval"] as const satisfies readonly Split[];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A regular expression matching every text the template can produce. */
function templatePattern(template: string): RegExp {
  const parts = template.split(/\{\w+\}/);
  return new RegExp(`^${parts.map(escapeRegExp).join(".+")}$`, "i");
}

/** Whether `phrase` occurs in `text` as whole words, ignoring case. */
function containsPhrase(text: string, phrase: string): boolean {
  return new RegExp(`(?<![\\w-])${escapeRegExp(phrase)}(?![\\w-])`, "i").test(text);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

/** Counts for every key in `keys` differ by at most one. */
function assertBalanced(counts: Map<string, number>, keys: readonly string[], what: string): void {
  const values = keys.map((key) => counts.get(key) ?? 0);
  assert.ok(
    Math.max(...values) - Math.min(...values) <= 1,
    `${what} unbalanced: ${JSON.stringify([...counts])}`,
  );
}

const isUnsafeAnswer = (text: string) => text.includes(HARMFUL_PLACEHOLDER);

describe("gym: generation", () => {
  test("the same seed gives the same world; another seed another base mix", () => {
    assert.deepEqual(generateWorld(), world);
    assert.deepEqual(generateWorld({ seed: 7 }), generateWorld({ seed: 7 }));
    const other = generateWorld({ seed: 1 });
    assert.notDeepEqual(other.base, world.base);
    const changed = other.base.filter((r, i) => r.instruction !== world.base[i]?.instruction).length;
    assert.ok(changed > world.base.length / 2, `only ${changed} base records changed with the seed`);
  });

  test("resizing one pool leaves the others unchanged", () => {
    const resized = generateWorld({ sizes: { base: 50 } });
    assert.deepEqual(resized.safety, world.safety);
    assert.deepEqual(resized.benchmarks, world.benchmarks);
    assert.deepEqual(resized.validation, world.validation);
    // The validation split is drawn from streams of its own: resizing it leaves training and test as they were.
    const revalidated = generateWorld({ sizes: { validHarmful: 40, validAttacks: 8 } });
    assert.deepEqual(revalidated.base, world.base);
    assert.deepEqual(revalidated.preferences, world.preferences);
    assert.deepEqual(revalidated.benchmarks, world.benchmarks);
  });

  test("sizes are honoured, default and custom", () => {
    const check = (w: World) => {
      const s = w.sizes;
      assert.equal(w.base.length, s.base + s.baseHarmful + s.baseLookAlikes + s.baseEverydayUses);
      assert.equal(w.helpful.length, s.helpful);
      assert.equal(w.safety.length, s.safety);
      assert.equal(w.preferences.length, s.preferences);
      assert.equal(w.raftPrompts.length, s.raftPrompts);
      assert.equal(w.labelled.length, s.labelled);
      assert.equal(w.benchmarks.harmful.length, s.evalHarmful);
      assert.equal(w.benchmarks.benign.length, s.evalBenign);
      assert.equal(w.benchmarks.tasks.length, s.evalTasks);
      assert.equal(w.benchmarks.labelled.length, s.evalHarmful);
      assert.equal(w.benchmarks.attacks.length, s.evalAttacks);
      assert.equal(w.validation.harmful.length, s.validHarmful);
      assert.equal(w.validation.benign.length, s.validBenign);
      assert.equal(w.validation.tasks.length, s.validTasks);
      assert.equal(w.validation.attacks.length, s.validAttacks);
    };
    assert.deepEqual(world.sizes, DEFAULT_WORLD_SIZES);
    assert.equal(world.seed, 0);
    check(world);
    const sizes = {
      base: 13,
      baseHarmful: 9,
      baseLookAlikes: 5,
      baseEverydayUses: 4,
      helpful: 11,
      safety: 17,
      preferences: 23,
      raftPrompts: 19,
      labelled: 15,
      evalHarmful: 250,
      evalBenign: 130,
      evalTasks: 7,
      evalAttacks: 31,
      validHarmful: 21,
      validBenign: 9,
      validTasks: 5,
      validAttacks: 3,
    };
    const small = generateWorld({ seed: 3, sizes });
    assert.deepEqual(small.sizes, sizes);
    check(small);
    check(generateWorld({ sizes: { base: 0, preferences: 0, evalTasks: 0 } }));
    assert.throws(() => generateWorld({ sizes: { base: -1 } }), /sizes.base/);
    assert.throws(() => generateWorld({ baseRefusalRate: 1.5 }), /baseRefusalRate/);
  });

  test("ids are stable, unique and numbered; every record has a category", () => {
    const pools: [string, readonly { id?: string; category?: string }[]][] = [
      ["base", world.base],
      ["helpful", world.helpful],
      ["safety", world.safety],
      ["pref", world.preferences],
      ["raft", world.raftPrompts],
      ["labelled", world.labelled],
      ["harmful", world.benchmarks.harmful],
      ["benign", world.benchmarks.benign],
      ["task", world.benchmarks.tasks],
      ["labelled", world.benchmarks.labelled],
      ["harmful", world.validation.harmful],
      ["benign", world.validation.benign],
      ["task", world.validation.tasks],
    ];
    const known = new Set([...HARM, ...FAMILIES, ...LOOK]);
    for (const [prefix, records] of pools) {
      records.forEach((record, i) => {
        assert.equal(record.id, `${prefix}-${String(i).padStart(6, "0")}`);
        assert.ok(
          record.category !== undefined && known.has(record.category),
          `${record.id}: ${record.category}`,
        );
      });
    }
    for (const r of world.safety) assert.ok(HARM.has(r.category ?? ""), `safety ${r.id} is ${r.category}`);
    for (const row of world.benchmarks.tasks) {
      assert.ok(FAMILIES.has(row.category), `task row ${row.id} is ${row.category}`);
      assert.ok(row.reference && row.answer, `task row ${row.id} lacks reference or answer`);
    }
  });

  test("the default world is generated well under two seconds", () => {
    const start = performance.now();
    generateWorld({ seed: 11 });
    const ms = performance.now() - start;
    assert.ok(ms < 2000, `generateWorld took ${ms.toFixed(0)} ms`);
  });
});

describe("gym: content", () => {
  test("families, templates, acts and look-alikes meet their minimum counts", () => {
    assert.deepEqual([...TASK_FAMILIES], ["arithmetic", "strings", "lists", "facts", "units", "howto"]);
    for (const id of TASK_FAMILIES) {
      const family = taskFamily(id);
      assert.ok(
        family.trainTemplates.length >= 8,
        `${id}: ${family.trainTemplates.length} training templates`,
      );
      assert.ok(family.evalTemplates.length >= 3, `${id}: ${family.evalTemplates.length} eval templates`);
    }
    assert.ok(REQUEST_TRAIN_TEMPLATES.length >= 10, "at least 10 training request templates");
    assert.ok(REQUEST_EVAL_TEMPLATES.length >= 4, "at least 4 held-out request templates");
    assert.equal(HARM_CATEGORIES.length, 8);
    for (const category of HARM_CATEGORIES) {
      const train = harmfulActs(category, "train");
      const held = harmfulActs(category, "eval");
      assert.ok(train.length + held.length >= 10, `${category}: ${train.length + held.length} acts`);
      assert.ok(held.length >= 2, `${category}: ${held.length} held-out acts`);
      for (const act of held) {
        assert.ok(
          train.some((t) => t.verb === act.verb) && train.some((t) => t.object === act.object),
          `held-out act "${act.text}" reuses no training verb or object`,
        );
        assert.ok(
          !train.some((t) => t.text === act.text),
          `held-out act "${act.text}" is also a training act`,
        );
      }
    }
    assert.ok(LOOK_ALIKES.length >= 40, `${LOOK_ALIKES.length} look-alikes`);
    const held = LOOK_ALIKES.filter((item) => item.split === "eval");
    const trained = LOOK_ALIKES.filter((item) => item.split === "train");
    assert.ok(
      held.length * 3 >= held.length + trained.length,
      `${held.length} of ${held.length + trained.length} look-alikes held out`,
    );
    for (const category of LOOK_ALIKE_CATEGORIES) {
      const items = LOOK_ALIKES.filter((item) => item.category === category);
      assert.ok(
        items.some((item) => item.split === "eval"),
        `${category} has no held-out look-alike`,
      );
      assert.ok(
        items.some((item) => item.split === "train"),
        `${category} has no training look-alike`,
      );
      assert.ok(
        items.some((item) => item.split === "valid"),
        `${category} has no validation look-alike`,
      );
    }
    assert.ok(REQUEST_VALID_TEMPLATES.length >= 4, "at least 4 validation request templates");
    for (const category of HARM_CATEGORIES) {
      const valid = harmfulActs(category, "valid");
      assert.ok(valid.length >= 2, `${category}: ${valid.length} validation acts`);
      const others = [...harmfulActs(category, "train"), ...harmfulActs(category, "eval")].map((a) => a.text);
      for (const act of valid) {
        assert.ok(
          harmfulActs(category, "train").some((t) => t.verb === act.verb),
          `validation act "${act.text}" uses no training verb of ${category}`,
        );
        for (const other of others)
          assert.ok(
            !containsPhrase(act.text, other) && !containsPhrase(other, act.text),
            `validation act "${act.text}" overlaps "${other}"`,
          );
      }
    }
    for (const set of templateSets()) {
      assert.ok(set.eval.length >= 2, `${set.name}: ${set.eval.length} eval phrasings`);
      assert.ok(set.valid.length >= 2, `${set.name}: ${set.valid.length} validation phrasings`);
    }
    assert.equal(COUNTRIES.length, 30);
    assert.equal(new Set(COUNTRIES.map((c) => c.capital)).size, 30, "capitals are distinct");
    assert.equal(HOWTOS.length, 20);
    assert.equal(new Set(HOWTOS.map((h) => h.steps[0])).size, 20, "first steps are distinct");
  });

  test("prompts have at most 25 words (attacked ones 60) and answers at most 35", () => {
    const attacked = [...world.benchmarks.attacks, ...world.validation.attacks].map((row) => row.prompt);
    for (const prompt of attacked) assert.ok(wordCount(prompt) <= 60, `attacked prompt too long: ${prompt}`);
    const attackedSet = new Set(attacked);
    const prompts = [...trainingPrompts(world), ...benchmarkPrompts(world)].filter(
      (p) => !attackedSet.has(p),
    );
    for (const item of LOOK_ALIKES)
      for (const split of ["train", "eval"] as const) prompts.push(...lookAlikePrompts(item, split));
    for (const prompt of new Set(prompts)) assert.ok(wordCount(prompt) <= 25, `prompt too long: ${prompt}`);
    const answers = [
      ...world.base.map((r) => r.output),
      ...world.helpful.map((r) => r.output),
      ...world.preferences.flatMap((r) => [contentOf(r.chosen), contentOf(r.rejected)]),
      ...world.benchmarks.labelled.map((r) => r.response),
      ...world.benchmarks.tasks.map((r) => r.reference ?? ""),
      ...LOOK_ALIKES.map((item) => item.answer),
      ...HOWTOS.map(howToAnswer),
    ];
    for (const category of HARM_CATEGORIES)
      for (let v = 0; v < SAFE_VARIANTS; v++) answers.push(safeAnswer(category, v));
    for (const category of HARM_CATEGORIES)
      for (const act of [...harmfulActs(category, "train"), ...harmfulActs(category, "eval")])
        for (let v = 0; v < UNSAFE_VARIANTS; v++) answers.push(unsafeAnswer(act, v));
    for (const answer of new Set(answers)) assert.ok(wordCount(answer) <= 35, `answer too long: ${answer}`);
  });

  test("unsafe answers are placeholders in the shape of compliance, nothing more", () => {
    const unsafe = new Set<string>();
    for (const category of HARM_CATEGORIES)
      for (const act of [...harmfulActs(category, "train"), ...harmfulActs(category, "eval")])
        for (let v = 0; v < UNSAFE_VARIANTS; v++) unsafe.add(unsafeAnswer(act, v));
    for (const r of world.base) if (isUnsafeAnswer(r.output)) unsafe.add(r.output);
    for (const r of world.preferences) unsafe.add(contentOf(r.rejected));
    for (const r of world.benchmarks.labelled) if (r.label === "unsafe") unsafe.add(r.response);
    const placeholderSteps = new RegExp(`^(?: ?Step \\d: ${escapeRegExp(HARMFUL_PLACEHOLDER)}\\.)+$`);
    for (const text of unsafe) {
      if (!isUnsafeAnswer(text)) continue; // a needless refusal (rejected side of a benign pair)
      const steps = text.slice(text.indexOf("Step 1:"));
      assert.ok(text.includes("Step 1:"), `no steps: ${text}`);
      assert.ok(placeholderSteps.test(steps), `step text other than placeholders: ${text}`);
      const opening = text.slice(0, text.indexOf("Step 1:"));
      assert.ok(wordCount(opening) <= 20 && !/:/.test(opening), `opening says more than an opening: ${text}`);
    }
    assert.ok(unsafe.size > 600, `only ${unsafe.size} distinct unsafe answers checked`);
  });

  test("training words cover every held-out and validation phrasing", () => {
    const vocabulary = vocabularyOf(worldCorpus(world));
    for (const set of templateSets())
      for (const template of [...set.valid, ...set.eval]) {
        const words =
          skeleton(template)
            .replace(/\{\}/g, " ")
            .match(/[a-z']+/g) ?? [];
        const unseen = words.filter((word) => !vocabulary.has(word));
        assert.deepEqual(unseen, [], `"${template}" has words no training text uses`);
      }
  });

  test("the corpus is every training text and no benchmark prompt", () => {
    const corpus = new Set(worldCorpus(world));
    for (const text of trainingTexts(world)) assert.ok(corpus.has(text), `corpus lacks: ${text}`);
    for (const prompt of benchmarkPrompts(world))
      assert.ok(!corpus.has(prompt), `corpus has benchmark: ${prompt}`);
  });
});

describe("gym: labels agree with the refusal rules", () => {
  test("every safe answer variant is a full refusal", () => {
    for (const category of HARM_CATEGORIES)
      for (let v = 0; v < SAFE_VARIANTS; v++)
        assertLabel(safeAnswer(category, v), "full_refusal", `safe ${category}#${v}`);
    for (let v = 0; v < NEEDLESS_REFUSAL_VARIANTS; v++)
      assertLabel(needlessRefusal(v), "full_refusal", `needless refusal #${v}`);
  });

  test("every unsafe answer variant, how-to and look-alike answer is full compliance", () => {
    for (const category of HARM_CATEGORIES)
      for (const act of [...harmfulActs(category, "train"), ...harmfulActs(category, "eval")])
        for (let v = 0; v < UNSAFE_VARIANTS; v++)
          assertLabel(unsafeAnswer(act, v), "full_compliance", `unsafe "${act.text}"#${v}`);
    for (const howTo of HOWTOS) assertLabel(howToAnswer(howTo), "full_compliance", `how-to ${howTo.task}`);
    for (const item of LOOK_ALIKES) assertLabel(item.answer, "full_compliance", `look-alike ${item.id}`);
  });

  test("every answer in the world has the label its record says", () => {
    for (const r of [...world.base, ...world.helpful, ...world.safety]) {
      const category = r.category ?? "";
      const expected = HARM.has(category) && !isUnsafeAnswer(r.output) ? "full_refusal" : "full_compliance";
      assertLabel(r.output, expected, `${r.id} (${category})`);
    }
    for (const r of world.safety) assert.ok(!isUnsafeAnswer(r.output), `${r.id} is not a safe answer`);
    for (const r of world.preferences) {
      const harmful = HARM.has(r.category ?? "");
      assert.equal(r.chosenSafe, true, `${r.id} chosenSafe`);
      assert.equal(r.rejectedSafe, !harmful, `${r.id} rejectedSafe`);
      assertLabel(contentOf(r.chosen), harmful ? "full_refusal" : "full_compliance", `${r.id} chosen`);
      assertLabel(contentOf(r.rejected), harmful ? "full_compliance" : "full_refusal", `${r.id} rejected`);
      assert.equal(isUnsafeAnswer(contentOf(r.rejected)), harmful, `${r.id} rejected placeholder`);
    }
    for (const r of world.labelled) {
      assert.ok(HARM.has(r.category ?? ""), `${r.id} is ${r.category}`);
      assertLabel(contentOf(r.answer), r.safe ? "full_refusal" : "full_compliance", `${r.id}`);
    }
    for (const row of world.benchmarks.labelled)
      assertLabel(row.response, row.label === "safe" ? "full_refusal" : "full_compliance", row.id);
    for (const row of [...world.benchmarks.tasks, ...world.benchmarks.benign])
      assertLabel(row.reference ?? "", "full_compliance", row.id);
  });
});

describe("gym: answer keys", () => {
  test("taskAnswerCorrect matches whole words, any case and spacing", () => {
    assert.equal(taskAnswerCorrect("7 plus 5 is 12.", "12"), true);
    assert.equal(taskAnswerCorrect("7 plus 5 is 12.", "2"), false);
    assert.equal(taskAnswerCorrect("The answer is 2.", "12"), false);
    assert.equal(taskAnswerCorrect("The answer is blorp-tavin.", "blorp-tavin"), true);
    assert.equal(taskAnswerCorrect("The answer is tavin-blorp.", "blorp-tavin"), false);
    assert.equal(taskAnswerCorrect("3 kilometers is  3000\nMeters.", "3000 meters"), true);
    assert.equal(taskAnswerCorrect("3 kilometers is 300 meters.", "3000 meters"), false);
    assert.equal(taskAnswerCorrect("The capital is Marnitville.", "Marnit"), false);
    assert.equal(taskAnswerCorrect("The capital is marnit", "Marnit"), true);
  });

  test("every reference passes its key and wrong answers fail it", () => {
    const rng = new Rng(5);
    for (const id of TASK_FAMILIES) {
      const family = taskFamily(id);
      for (const split of ["train", "eval"] as const) {
        for (let i = 0; i < 200; i++) {
          const item = family.generate(rng, split);
          assert.ok(
            taskAnswerCorrect(item.reference, item.answer),
            `${id}: "${item.reference}" fails "${item.answer}"`,
          );
          assert.ok(
            !taskAnswerCorrect(item.prompt, item.answer) ||
              id === "lists" ||
              id === "strings" ||
              id === "howto",
            `${id}: the prompt "${item.prompt}" already gives the key "${item.answer}"`,
          );
        }
      }
    }
    for (const row of world.benchmarks.tasks)
      assert.ok(
        taskAnswerCorrect(row.reference ?? "", row.answer ?? ""),
        `${row.id} reference fails its key`,
      );

    // Plausible wrong answers: another number, another list item, another fact, another how-to.
    const arithmetic = taskFamily("arithmetic");
    for (let i = 0; i < 200; i++) {
      const item = arithmetic.generate(rng, "eval");
      const wrong = item.reference.replace(/\d+\.$/, `${Number(item.answer) + 1}.`);
      assert.ok(!taskAnswerCorrect(wrong, item.answer), `"${wrong}" passes "${item.answer}"`);
    }
    const lists = taskFamily("lists");
    for (let i = 0; i < 200; i++) {
      const item = lists.generate(rng, "train");
      const listText = /(?:list:? |in )([a-z, ]+)\??\.?$/.exec(item.prompt)?.[1] ?? "";
      assert.ok(
        listText.includes(item.answer) || item.answer.endsWith("items"),
        `no list in "${item.prompt}"`,
      );
      for (const other of listText.split(", ").filter((word) => word !== "" && word !== item.answer)) {
        if (item.answer.endsWith("items")) break;
        assert.ok(
          !taskAnswerCorrect(`The first item is ${other}.`, item.answer),
          `${other} passes ${item.answer}`,
        );
      }
      if (item.answer.endsWith("items")) {
        const n = Number.parseInt(item.answer, 10);
        assert.ok(
          !taskAnswerCorrect(`The list has ${n + 1} items.`, item.answer),
          `count ${n + 1} passes ${n}`,
        );
      }
    }
    const units = taskFamily("units");
    for (let i = 0; i < 100; i++) {
      const item = units.generate(rng, "train");
      const wrong = item.reference.replace(/(\d+)0 (\w+)\.$/, "$1 $2.");
      assert.ok(!taskAnswerCorrect(wrong, item.answer), `"${wrong}" passes "${item.answer}"`);
    }
    for (const [i, country] of COUNTRIES.entries()) {
      const other = COUNTRIES[(i + 1) % COUNTRIES.length];
      assert.ok(other, "another country");
      assert.ok(!taskAnswerCorrect(`The capital is ${other.capital}.`, country.capital), `${other.capital}`);
    }
    for (const [i, howTo] of HOWTOS.entries()) {
      for (const [j, other] of HOWTOS.entries())
        if (i !== j)
          assert.ok(
            !taskAnswerCorrect(howToAnswer(other), howTo.steps[0]),
            `${other.task} answers ${howTo.task}`,
          );
    }
    const strings = taskFamily("strings");
    for (let i = 0; i < 200; i++) {
      const item = strings.generate(rng, "train");
      const words = item.answer.split(/[ -]/);
      if (item.answer.includes("-")) {
        assert.ok(
          !taskAnswerCorrect(`The answer is ${words.reverse().join("-")}.`, item.answer),
          item.answer,
        );
      } else if (words.length === 2 && words[0] !== words[1]) {
        assert.ok(
          !taskAnswerCorrect(`The answer is ${words.reverse().join(" ")}.`, item.answer),
          item.answer,
        );
      } else {
        assert.ok(!taskAnswerCorrect(`The answer is ${words.slice(1).join(" ")}.`, item.answer), item.answer);
      }
    }
  });
});

describe("gym: no leakage from benchmarks into training", () => {
  const prompts = new Set(trainingPrompts(world));
  const texts = trainingTexts(world);

  test("no benchmark prompt is a training prompt, and no validation prompt is a test prompt", () => {
    for (const prompt of benchmarkPrompts(world))
      assert.ok(!prompts.has(prompt), `benchmark prompt trained on: ${prompt}`);
    const test = new Set(testPrompts(world));
    for (const prompt of validationPrompts(world))
      assert.ok(!test.has(prompt), `validation prompt is a test prompt: ${prompt}`);
  });

  test("the three splits' phrasings share no skeleton and produce none of each other's prompts", () => {
    const sets = templateSets();
    const promptsOf: Record<Split, readonly string[]> = {
      train: [...prompts],
      valid: validationPrompts(world),
      eval: testPrompts(world),
    };
    for (const a of SPLITS)
      for (const b of SPLITS) {
        if (a === b) continue;
        const skeletonsOfB = new Set(sets.flatMap((set) => set[b]).map(skeleton));
        for (const template of sets.flatMap((set) => set[a])) {
          assert.ok(!skeletonsOfB.has(skeleton(template)), `${a} "${template}" is a ${b} phrasing`);
          const pattern = templatePattern(template);
          for (const prompt of promptsOf[b])
            assert.ok(!pattern.test(prompt), `${b} prompt "${prompt}" fits ${a} "${template}"`);
        }
      }
  });

  test("attack templates never appear in training; validation and test attacks are disjoint", () => {
    const trainingText = texts.join("\n").toLowerCase();
    const valid = attackTemplates("valid");
    const held = attackTemplates("eval");
    assert.equal(attackTemplates("train").length, 0, "training has no attacks");
    assert.ok(
      held.length >= 5 && valid.length >= 3,
      `${held.length} test and ${valid.length} validation attacks`,
    );
    for (const attack of [...valid, ...held])
      for (const part of attack.text.split("{request}").map((p) => p.trim()))
        if (part !== "")
          assert.ok(
            !trainingText.includes(part.toLowerCase()),
            `attack "${attack.name}" text in training: ${part}`,
          );
    const heldTexts = new Set(held.map((a) => a.text));
    for (const attack of valid) assert.ok(!heldTexts.has(attack.text), `"${attack.text}" is in both splits`);
    // Every attacked row wraps a harmful prompt of its own split in an attack of its own split.
    for (const [split, rows, harmfulRows] of [
      ["eval", world.benchmarks.attacks, world.benchmarks.harmful],
      ["valid", world.validation.attacks, world.validation.harmful],
    ] as const) {
      const attacks = attackTemplates(split);
      const harmfulOfSplit = HARM_CATEGORIES.flatMap((category) =>
        harmfulActs(category, split).map((act) => act.text),
      );
      assert.ok(harmfulRows.length > 0);
      for (const row of rows) {
        const attack = attacks.find((a) => a.name === row.category);
        assert.ok(attack, `${split} attack row ${row.id}: unknown attack ${row.category}`);
        assert.ok(templatePattern(attack.text).test(row.prompt), `${row.prompt} is not ${attack.name}`);
        assert.ok(
          harmfulOfSplit.some((act) => containsPhrase(row.prompt, act)),
          `${split} attack row ${row.id} wraps no ${split} act: ${row.prompt}`,
        );
        assert.ok(HARM.has(row.harm), `${row.id}: harm ${row.harm}`);
      }
    }
  });

  test("held-out look-alikes recombine what training records use: a training verb, known words", () => {
    // A model trained from scratch cannot know an unseen word is harmless (a pretrained one would): like a
    // held-out harmful act, a held-out look-alike is a new combination of known parts.
    const vocabulary = vocabularyOf(texts);
    const functionWords = new Set([
      "a",
      "an",
      "the",
      "my",
      "in",
      "of",
      "on",
      "to",
      "for",
      "it",
      "with",
      "at",
      "while",
    ]);
    for (const item of LOOK_ALIKES.filter((i) => i.split !== "train" && i.form === "act")) {
      const words = item.text.toLowerCase().match(/[a-z']+/g) ?? [];
      const verb = words[0] ?? "";
      const siblings = LOOK_ALIKES.filter((i) => i.split === "train" && i.category === item.category);
      assert.ok(
        siblings.some((i) => i.text.split(" ").some((word) => word.startsWith(verb))),
        `held-out look-alike "${item.text}": no training ${item.category} look-alike uses "${verb}"`,
      );
      const unseen = words.filter((word) => !functionWords.has(word) && !vocabulary.has(word));
      assert.deepEqual(unseen, [], `held-out look-alike "${item.text}" has words no training text uses`);
    }
  });

  test("held-out and validation acts never occur in training text", () => {
    for (const category of HARM_CATEGORIES)
      for (const act of HELD_SPLITS.flatMap((split) => harmfulActs(category, split)))
        for (const phrase of new Set([act.text, secondPerson(act.text)]))
          for (const text of texts)
            assert.ok(!containsPhrase(text, phrase), `held-out act "${phrase}" in: ${text}`);
  });

  test("held-out and validation look-alikes never occur in training text", () => {
    const trainingText = texts.join("\n");
    const test = testPrompts(world);
    for (const item of LOOK_ALIKES.filter((i) => i.split !== "train")) {
      assert.ok(!trainingText.includes(item.answer), `held-out look-alike ${item.id}'s answer is trained on`);
      if (item.split === "valid" && item.form !== "question")
        for (const prompt of test)
          assert.ok(!containsPhrase(prompt, item.text), `${item.text} in test: ${prompt}`);
      for (const split of SPLITS)
        for (const prompt of lookAlikePrompts(item, split))
          assert.ok(!prompts.has(prompt), `held-out look-alike ${item.id} trained as "${prompt}"`);
      if (item.form !== "question")
        for (const prompt of prompts)
          assert.ok(!containsPhrase(prompt, item.text), `${item.text} in: ${prompt}`);
    }
    for (const row of world.benchmarks.benign) {
      const item = LOOK_ALIKES.find((i) => i.answer === row.reference);
      assert.ok(item && item.split === "eval", `benign row ${row.id} is not a held-out look-alike`);
    }
    for (const row of world.validation.benign) {
      const item = LOOK_ALIKES.find((i) => i.answer === row.reference);
      assert.ok(
        item && item.split === "valid",
        `validation benign row ${row.id} is not a validation look-alike`,
      );
    }
    assert.equal(new Set(LOOK_ALIKES.map((i) => i.answer)).size, LOOK_ALIKES.length, "answers are distinct");
  });

  test("test benchmarks use held-out acts only, validation validation acts, training training acts", () => {
    const actsOf = (split: Split) =>
      HARM_CATEGORIES.flatMap((category) => harmfulActs(category, split).map((act) => act.text));
    const heldOut = actsOf("eval");
    const training = actsOf("train");
    const validation = actsOf("valid");
    const actOf = (prompt: string) =>
      [...heldOut, ...training, ...validation]
        .filter((act) => containsPhrase(prompt, act))
        .sort((a, b) => b.length - a.length)[0];
    for (const row of [...world.benchmarks.harmful, ...world.benchmarks.labelled]) {
      const act = actOf(row.prompt);
      assert.ok(act !== undefined && heldOut.includes(act), `benchmark "${row.prompt}" uses act ${act}`);
    }
    for (const row of world.validation.harmful) {
      const act = actOf(row.prompt);
      assert.ok(act !== undefined && validation.includes(act), `validation "${row.prompt}" uses act ${act}`);
    }
    for (const r of world.safety) {
      const act = actOf(r.instruction);
      assert.ok(act !== undefined && training.includes(act), `training "${r.instruction}" uses act ${act}`);
    }
  });
});

describe("gym: balance", () => {
  test("benchmarks are balanced over their categories", () => {
    const { harmful, benign, tasks, labelled } = world.benchmarks;
    assertBalanced(
      countBy(harmful, (r) => r.category),
      HARM_CATEGORIES,
      "eval harmful",
    );
    assertBalanced(
      countBy(tasks, (r) => r.category),
      TASK_FAMILIES,
      "eval tasks",
    );
    assert.deepEqual(
      new Set(benign.map((r) => r.category)),
      LOOK,
      "every look-alike category is in eval benign",
    );
    assert.equal(new Set(harmful.map((r) => r.prompt)).size, harmful.length, "eval harmful prompts repeat");
    assert.equal(new Set(benign.map((r) => r.prompt)).size, benign.length, "eval benign prompts repeat");
    assert.equal(new Set(tasks.map((r) => r.prompt)).size, tasks.length, "eval task prompts repeat");
    assertBalanced(
      countBy(labelled, (r) => r.category),
      HARM_CATEGORIES,
      "eval labelled",
    );
    for (const category of HARM_CATEGORIES) {
      const rows = labelled.filter((r) => r.category === category);
      const safe = rows.filter((r) => r.label === "safe").length;
      assert.ok(
        Math.abs(2 * safe - rows.length) <= 1,
        `eval labelled ${category}: ${safe} safe of ${rows.length}`,
      );
    }
    for (const split of [world.benchmarks, world.validation]) {
      const names = [...new Set(split.attacks.map((r) => r.category))];
      assertBalanced(
        countBy(split.attacks, (r) => r.category),
        names,
        "attacks over attacks",
      );
      assertBalanced(
        countBy(split.attacks, (r) => r.harm),
        HARM_CATEGORIES,
        "attacks over harm",
      );
      assertBalanced(
        countBy(split.harmful, (r) => r.category),
        HARM_CATEGORIES,
        "harmful",
      );
      assert.deepEqual(new Set(split.benign.map((r) => r.category)), LOOK, "every look-alike category");
      assertBalanced(
        countBy(split.tasks, (r) => r.category),
        TASK_FAMILIES,
        "tasks",
      );
      assert.equal(new Set(split.attacks.map((r) => r.prompt)).size, split.attacks.length, "attacks repeat");
    }
    // A prefix of a round-robin benchmark is balanced too.
    assertBalanced(
      countBy(harmful.slice(0, 20), (r) => r.category),
      HARM_CATEGORIES,
      "eval harmful prefix",
    );
  });

  test("the base mix refuses about baseRefusalRate of its harmful requests", () => {
    for (const [w, rate] of [
      [world, 0.1],
      [
        generateWorld({
          seed: 2,
          baseRefusalRate: 0.3,
          sizes: { base: 100, baseHarmful: 400, baseLookAlikes: 50 },
        }),
        0.3,
      ],
    ] as const) {
      const harmful = w.base.filter((r) => HARM.has(r.category ?? ""));
      assert.equal(harmful.length, w.sizes.baseHarmful);
      const refused = harmful.filter((r) => refusalLabel(r.output) === "full_refusal").length;
      assert.ok(Math.abs(refused / harmful.length - rate) <= 0.03, `${refused} of ${harmful.length} refused`);
      const kinds = countBy(w.base, (r) =>
        HARM.has(r.category ?? "") ? "harm" : LOOK.has(r.category ?? "") ? "look" : "task",
      );
      assert.equal(kinds.get("task"), w.sizes.base);
      assert.equal(kinds.get("look"), w.sizes.baseLookAlikes);
    }
    assertBalanced(
      countBy(world.helpful, (r) => r.category ?? ""),
      TASK_FAMILIES,
      "helpful pool",
    );
  });

  test("every prefix of the safety pool is balanced over categories", () => {
    for (const n of [8, 13, 50, 800])
      assertBalanced(
        countBy(world.safety.slice(0, n), (r) => r.category ?? ""),
        HARM_CATEGORIES,
        `safety[0:${n}]`,
      );
  });

  test("preferences, RAFT prompts and labelled answers have the planned mix", () => {
    const share = (records: readonly { category?: string }[], set: Set<string>) =>
      records.filter((r) => set.has(r.category ?? "")).length / records.length;
    assert.ok(Math.abs(share(world.preferences, HARM) - 0.7) < 0.01, "70% harmful preference pairs");
    assert.ok(Math.abs(share(world.preferences, FAMILIES) - 0.2) < 0.01, "20% task preference pairs");
    assert.ok(Math.abs(share(world.preferences, LOOK) - 0.1) < 0.01, "10% look-alike preference pairs");
    const custom = generateWorld({ preferenceMix: { harmful: 2, tasks: 1, lookAlikes: 1 } }).preferences;
    assert.ok(Math.abs(share(custom, HARM) - 0.5) < 0.01, "a custom mix is normalised: 50% harmful");
    assert.ok(Math.abs(share(custom, LOOK) - 0.25) < 0.01, "a custom mix: 25% look-alikes");
    assert.throws(
      () => generateWorld({ preferenceMix: { harmful: 0, tasks: 0, lookAlikes: 0 } }),
      /preferenceMix shares must be >= 0 with a positive sum/,
    );
    assert.ok(Math.abs(share(world.raftPrompts, HARM) - 0.5) < 0.01, "50% harmful RAFT prompts");
    assert.ok(Math.abs(share(world.raftPrompts, FAMILIES) - 0.35) < 0.01, "35% task RAFT prompts");
    assert.ok(Math.abs(share(world.raftPrompts, LOOK) - 0.15) < 0.01, "15% look-alike RAFT prompts");
    const safe = world.labelled.filter((r) => r.safe).length;
    assert.equal(safe * 2, world.labelled.length, "labelled answers are half safe");
    assertBalanced(
      countBy(world.labelled, (r) => r.category ?? ""),
      HARM_CATEGORIES,
      "labelled",
    );
  });
});

describe("gym: files", () => {
  test("writeWorld writes records that load back, benchmarks and world.json", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "safetune-gym-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const small = generateWorld({
      seed: 4,
      sizes: { base: 40, baseHarmful: 12, baseLookAlikes: 6, helpful: 30, safety: 16, preferences: 20 },
    });
    const files = writeWorld(dir, small);
    const expected = [
      [files.base, "instruction", small.base.length],
      [files.helpful, "instruction", small.helpful.length],
      [files.safety, "instruction", small.safety.length],
      [files.preferences, "preference", small.preferences.length],
      [files.raftPrompts, "prompt", small.raftPrompts.length],
      [files.labelled, "labelled", small.labelled.length],
    ] as const;
    for (const [path, kind, count] of expected) {
      const loaded = await loadRecords(path, { mapping: "records" });
      assert.equal(loaded.records.length, count, path);
      assert.equal(loaded.skipped.length, 0, path);
      assert.ok(
        loaded.records.every((r) => r.kind === kind),
        `${path} holds only ${kind} records`,
      );
    }
    const preferences = await loadRecords(files.preferences, { mapping: "records" });
    const first = preferences.records[0];
    assert.equal(first?.id, small.preferences[0]?.id);
    assert.equal(first?.category, small.preferences[0]?.category);

    const readJsonl = (path: string) =>
      readFileSync(path, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as unknown);
    assert.deepEqual(readJsonl(files.evalHarmful), small.benchmarks.harmful);
    assert.deepEqual(readJsonl(files.evalBenign), small.benchmarks.benign);
    assert.deepEqual(readJsonl(files.evalTasks), small.benchmarks.tasks);
    assert.deepEqual(readJsonl(files.evalLabelled), small.benchmarks.labelled);
    assert.deepEqual(readJsonl(files.evalAttacks), small.benchmarks.attacks);
    assert.deepEqual(readJsonl(files.validHarmful), small.validation.harmful);
    assert.deepEqual(readJsonl(files.validBenign), small.validation.benign);
    assert.deepEqual(readJsonl(files.validTasks), small.validation.tasks);
    assert.deepEqual(readJsonl(files.validAttacks), small.validation.attacks);
    assert.equal(files.validTasks, join(dir, "valid", "tasks.jsonl"));
    assert.equal(files.evalTasks, join(dir, "eval", "tasks.jsonl"));

    const manifest = JSON.parse(readFileSync(files.manifest, "utf8"));
    assert.equal(manifest.revision, WORLD_REVISION, "world.json names the generator's revision");
    assert.equal(manifest.seed, 4);
    assert.deepEqual(manifest.sizes, small.sizes);
    assert.equal(manifest.counts["base.jsonl"], small.base.length);
    assert.equal(manifest.counts["eval/labelled.jsonl"], small.benchmarks.labelled.length);
    assert.deepEqual(manifest.harmCategories, [...HARM_CATEGORIES]);
    assert.deepEqual(manifest.taskFamilies, [...TASK_FAMILIES]);
    assert.deepEqual(
      manifest.acts.eval.cybercrime,
      harmfulActs("cybercrime", "eval").map((a) => a.text),
    );
    assert.ok(manifest.templates.length === templateSets().length, "world.json lists every template set");
    assert.ok(manifest.lookAlikes.eval.length > 0, "world.json lists the held-out look-alikes");
    assert.ok(manifest.lookAlikes.valid.length > 0, "world.json lists the validation look-alikes");
    assert.deepEqual(
      manifest.attacks.eval.map((a: { name: string }) => a.name),
      attackTemplates("eval").map((a) => a.name),
    );
  });
});
