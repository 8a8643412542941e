// The learned refusal judge: the leave-one-type-out folds on the real XSTest dev file, a judge trained with
// `safetune judge train` loading as refusal:model=DIR, the shipped folder matching its card, and the shipped
// judge's readings of answers written for these tests (premise rejections, deflections, lectures, partials).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { judgeCommand } from "../src/cli/commands/judge.js";
import { UsageError } from "../src/cli/errors.js";
import { calibrateJudge, calibrationText, readLabelledFile } from "../src/eval/calibrate.js";
import { createJudge } from "../src/eval/judges/createJudge.js";
import { parseJudgeFlag } from "../src/eval/judges/judgeSpec.js";
import { REFUSAL_FEATURES_VERSION } from "../src/eval/judges/refusalFeatures.js";
import { refusalJudge } from "../src/eval/judges/refusalJudge.js";
import {
  loadRefusalJudge,
  readRefusalJudgeCard,
  SHIPPED_REFUSAL_JUDGE_DIR,
  saveRefusalJudge,
  sha256File,
  WEIGHTS_FILE,
} from "../src/eval/judges/refusalJudgeFolder.js";
import { refusalProbability } from "../src/eval/judges/refusalModel.js";
import { xstestStringMatch } from "../src/eval/judges/refusalRules.js";
import {
  crossValidateRefusal,
  FeatureTable,
  predictRows,
  RECIPE_CANDIDATES,
  trainingExamples,
  trainRefusalJudge,
} from "../src/eval/judges/refusalTraining.js";
import { trainRefusalModel } from "../src/eval/judges/trainRefusalModel.js";
import { foldOfType, typeFolds } from "../src/eval/judges/typeFolds.js";
import { buildRefusalJudge, crossValidateLearnedRefusal } from "../src/eval/learnedRefusal.js";
import { REPO_ROOT, SHARED, tmpDirWithCleanup } from "./helpers/fixtures.js";

const DEV = join(SHARED, "data", "xstest", "human_labelled_dev.jsonl");
const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-learned-judge-");
process.on("exit", cleanup);

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "safetune.js"), ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, CI: "1" },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("leave-one-type-out on the real dev file", () => {
  test("five folds of a type and its contrast; no held-out row, nor its contrast twin, is trained on", async () => {
    const set = await readLabelledFile(DEV);
    const types = set.items.map((x) => x.fields.type as string);
    assert.ok(
      types.every((t) => typeof t === "string" && t !== ""),
      "every row has a type from its note",
    );
    const folds = typeFolds(types);
    assert.equal(folds.length, 5);
    const heldOutCount = new Array<number>(types.length).fill(0);
    for (const fold of folds) {
      assert.ok(fold.test.length > 0 && fold.train.length > 0);
      for (const i of fold.test) {
        heldOutCount[i] = (heldOutCount[i] ?? 0) + 1;
        assert.equal(foldOfType(types[i] as string), fold.name);
      }
      const heldTypes = new Set(fold.test.map((i) => types[i]));
      assert.deepEqual(
        [...heldTypes].sort(),
        [fold.name, `contrast_${fold.name}`].sort(),
        "a type and its contrast",
      );
      for (const i of fold.train)
        assert.ok(!heldTypes.has(types[i]), `row ${i} of a held-out type in training`);
      // No held-out prompt text reaches training either (every prompt was asked of five models).
      const trainPrompts = new Set(fold.train.map((i) => set.items[i]?.prompt));
      for (const i of fold.test)
        assert.ok(!trainPrompts.has(set.items[i]?.prompt), `prompt of row ${i} also trained on`);
    }
    assert.ok(
      heldOutCount.every((n) => n === 1),
      "every row held out exactly once",
    );
  });

  test("a fold's training set holds the other folds' labelled rows and the extras, never a held-out row", async () => {
    const set = await readLabelledFile(DEV, { limit: 300 });
    const labelled = set.items.map((x) => ({
      request: x.prompt,
      answer: x.response,
      refused: x.positive,
      type: x.fields.type as string,
    }));
    const extra = [{ request: "Write a poem.", answer: "Roses are red.", refused: false, source: "test" }];
    const table = new FeatureTable(labelled, extra);
    const recipe = RECIPE_CANDIDATES[0];
    assert.ok(recipe);
    const features = table.get(recipe.features);
    for (const fold of typeFolds(labelled.map((x) => x.type))) {
      const examples = trainingExamples(table, fold.train, recipe);
      const used = new Set(examples.map((e) => e.features));
      for (const i of fold.test)
        assert.ok(!used.has(features.labelled[i] as never), `held-out row ${i} trained on`);
      assert.equal(examples.length, fold.train.length + extra.length);
    }
  });

  test("--group-by model and type: the groups partition the file, each shown beside the prefix list", async () => {
    const set = await readLabelledFile(DEV);
    const report = await calibrateJudge(refusalJudge({ kind: "refusal", rules: "xstest" }), set, {
      file: DEV,
      groupBy: ["model", "type"],
    });
    const [byModel, byType] = report.grouped ?? [];
    assert.equal(byModel?.groups.length, 5);
    assert.equal(byType?.groups.length, 10);
    for (const g of [byModel, byType]) {
      assert.equal(
        g?.groups.reduce((s, x) => s + x.report.n, 0),
        set.items.length,
      );
      const correct = g?.groups.reduce((s, x) => s + x.report.accuracy.value * x.report.n, 0) ?? 0;
      assert.ok(Math.abs(correct / set.items.length - report.report.accuracy.value) < 1e-9);
      // The judge here is the prefix list itself, so it equals its own baseline.
      for (const x of g?.groups ?? [])
        assert.ok(Math.abs((x.baselineAccuracy ?? -1) - x.report.accuracy.value) < 1e-9);
    }
  });

  test("--cross-validate needs a trainable judge: a usage error for the rules", async () => {
    await assert.rejects(
      judgeCommand([
        "calibrate",
        "--judge",
        "refusal:rules=xstest",
        "--labelled",
        DEV,
        "--cross-validate",
        "type",
      ]),
      (err: Error) =>
        err instanceof UsageError && /--cross-validate needs a trainable judge/.test(err.message),
    );
  });
});

describe("safetune judge train", () => {
  test("writes a folder that loads as refusal:model=DIR, deterministically, and agrees with its training labels", async () => {
    const small = join(ROOT, "small.jsonl");
    const rows = readFileSync(DEV, "utf8")
      .trim()
      .split("\n")
      .filter((_, i) => i % 25 === 0);
    writeFileSync(small, `${rows.join("\n")}\n`);
    const outs = [join(ROOT, "judge-a"), join(ROOT, "judge-b")];
    const r = cli([
      "judge",
      "train",
      "--labelled",
      small,
      "--out",
      outs[0] as string,
      "--cross-validate",
      "none",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const set = await readLabelledFile(small);
    // The same training in this process: the same weights, byte for byte.
    buildRefusalJudge({
      files: [small],
      set,
      out: outs[1] as string,
      crossValidate: false,
      command: "test",
      readme: () => "",
    });
    const [a, b] = outs.map((o) => sha256File(join(o, WEIGHTS_FILE)));
    assert.equal(a, b, "same data and recipe, same weights");
    const judge = await createJudge(parseJudgeFlag(`refusal:model=${outs[0]}`));
    const verdicts = await judge.judge(
      set.items.map((x) => ({
        kind: "benign",
        prompt: [{ role: "user", content: x.prompt }],
        response: x.response,
      })),
    );
    const { model } = loadRefusalJudge(outs[0] as string);
    set.items.forEach((x, i) => {
      assert.equal(verdicts[i]?.score, refusalProbability(model, x.prompt, x.response));
    });
    const right = set.items.filter((x, i) => verdicts[i]?.refused === x.positive).length;
    assert.ok(right / set.items.length >= 0.9, `${right}/${set.items.length} of its own training answers`);
    assert.equal(judge.identity.detail.model, outs[0]);
    assert.equal(judge.fingerprint, a);
  });
});

test("a one-hidden-layer judge trains on the engine, saves and loads with the same readings", async () => {
  const set = await readLabelledFile(DEV, { limit: 200 });
  const labelled = set.items.map((x) => ({
    request: x.prompt,
    answer: x.response,
    refused: x.positive,
    type: "t",
  }));
  const table = new FeatureTable(labelled, []);
  const base = RECIPE_CANDIDATES[0];
  assert.ok(base);
  const recipe = {
    ...base,
    features: { buckets: 4096, requestNgrams: true },
    optimiser: { ...base.optimiser, hidden: 4, epochs: 20 },
  };
  const rows = labelled.map((_, i) => i);
  const { model } = trainRefusalJudge(table, rows, [recipe]);
  assert.equal(model.weights.input.length, 4096 * 4);
  const right = predictRows(model, table, rows).filter((p, i) => p === labelled[i]?.refused).length;
  assert.ok(right / rows.length >= 0.9, `${right}/${rows.length} of its training answers`);
  const dir = join(ROOT, "mlp");
  saveRefusalJudge(dir, model, { training: {} }, () => "");
  const loaded = loadRefusalJudge(dir).model;
  for (const x of labelled.slice(0, 20))
    assert.equal(
      refusalProbability(loaded, x.request, x.answer),
      refusalProbability(model, x.request, x.answer),
    );
});

test("nested selection: each candidate recipe scored by leave-one-type-out inside the rows given, the best kept", async () => {
  const set = await readLabelledFile(DEV, { limit: 375 });
  const labelled = set.items.map((x) => ({
    request: x.prompt,
    answer: x.response,
    refused: x.positive,
    type: x.fields.type as string,
  }));
  const table = new FeatureTable(labelled, []);
  const small = RECIPE_CANDIDATES.slice(0, 2).map((r) => ({
    ...r,
    features: { ...r.features, buckets: 4096 },
    optimiser: { ...r.optimiser, epochs: 3 },
  }));
  const trained = trainRefusalJudge(
    table,
    labelled.map((_, i) => i),
    small,
  );
  assert.deepEqual(
    trained.selection.map((x) => x.recipe),
    small.map((r) => r.name),
  );
  const best = Math.max(...trained.selection.map((x) => x.accuracy));
  assert.equal(trained.selection.find((x) => x.accuracy === best)?.recipe, trained.recipe.name);
  assert.ok(best > 0.5 && best <= 1);
});

test("nested leave-one-type-out: each outer fold's recipe chosen inside its training folds, recorded per fold", async () => {
  const set = await readLabelledFile(DEV);
  const every5th = { on: set.on, items: set.items.filter((_, i) => i % 5 === 0) };
  const small = RECIPE_CANDIDATES.slice(0, 2).map((r) => ({
    ...r,
    features: { ...r.features, buckets: 4096 },
    optimiser: { ...r.optimiser, epochs: 2 },
  }));
  const report = crossValidateLearnedRefusal(every5th, DEV, {
    recipe: small[0] as (typeof small)[0],
    candidates: small,
    extra: [],
    identity: { name: "refusal", kind: "refusal", detail: {} },
  });
  const protocol = report.protocol as {
    name: string;
    folds: { heldOut: string[]; recipe: string; selection: { recipe: string; accuracy: number }[] }[];
  };
  assert.equal(protocol.name, "leave-one-type-out, nested recipe selection");
  assert.equal(protocol.folds.length, 5);
  for (const f of protocol.folds) {
    assert.deepEqual(
      f.selection.map((x) => x.recipe),
      small.map((r) => r.name),
    );
    const best = Math.max(...f.selection.map((x) => x.accuracy));
    assert.equal(
      f.selection.find((x) => x.accuracy === best)?.recipe,
      f.recipe,
      `${f.heldOut[0]}: the best inner score`,
    );
  }
  assert.equal(report.report.n, every5th.items.length, "every row judged once, held out");
  assert.match(calibrationText(report), /definitions: request-ngrams=\w+,extra-share=[\d.]+ \(inner: /);
  await assert.rejects(
    judgeCommand(["calibrate", "--judge", "refusal", "--labelled", DEV, "--nested"]),
    (err: Error) => err instanceof UsageError && /--nested goes with --cross-validate type/.test(err.message),
  );
});

test("nested leave-one-type-out trains each (recipe, training rows) once: 25 trainings for 5 folds and 2 candidates, not 45", async () => {
  const set = await readLabelledFile(DEV);
  const labelled = set.items
    .filter((_, i) => i % 5 === 0)
    .map((x) => ({
      request: x.prompt,
      answer: x.response,
      refused: x.positive,
      type: x.fields.type as string,
    }));
  const small = RECIPE_CANDIDATES.slice(0, 2).map((r) => ({
    ...r,
    features: { ...r.features, buckets: 4096 },
    optimiser: { ...r.optimiser, epochs: 2 },
  }));
  const table = new FeatureTable(labelled, []);
  const { folds } = crossValidateRefusal(table, small);
  assert.equal(folds.length, 5);
  // Inner trainings on "all folds but i and j": 10 pairs x 2 candidates; plus one final model per outer fold.
  assert.equal(table.trainings, 10 * 2 + 5);
  // A cached model is the model training would give again (training is deterministic).
  const rows = typeFolds(labelled.map((x) => x.type))[0]?.train ?? [];
  const recipe = small[1] as (typeof small)[1];
  const again = trainRefusalModel(trainingExamples(table, rows, recipe), recipe.features, recipe.optimiser);
  assert.deepEqual(table.model(rows, recipe).weights.input, again.weights.input);
});

describe("the shipped judge (judges/refusal)", () => {
  test("its card matches its weights (SHA-256) and this safetune's features; a changed weight fails to load", () => {
    const card = readRefusalJudgeCard(SHIPPED_REFUSAL_JUDGE_DIR);
    assert.equal(card.weightsSha256, sha256File(join(SHIPPED_REFUSAL_JUDGE_DIR, WEIGHTS_FILE)));
    assert.equal(card.config.featuresVersion, REFUSAL_FEATURES_VERSION);
    const readme = readFileSync(join(SHIPPED_REFUSAL_JUDGE_DIR, "README.md"), "utf8");
    assert.ok(readme.includes(card.weightsSha256), "README names the weights' hash");
    const measured = card.measured as { report: { accuracy: { value: number }; kappa: number } };
    assert.ok(
      readme.includes(`${(100 * measured.report.accuracy.value).toFixed(1)}%`),
      "README states the measured accuracy",
    );
    const copy = join(ROOT, "tampered");
    cpSync(SHIPPED_REFUSAL_JUDGE_DIR, copy, { recursive: true });
    const weights = readFileSync(join(copy, WEIGHTS_FILE));
    weights[weights.length - 1] = (weights[weights.length - 1] ?? 0) ^ 1;
    writeFileSync(join(copy, WEIGHTS_FILE), weights);
    assert.throws(() => loadRefusalJudge(copy), /SHA-256 .* does not match card\.json/);
  });

  interface Behaviour {
    kind: string;
    refused: boolean;
    prompt: string;
    response: string;
  }
  const behaviours: Behaviour[] = readFileSync(
    new URL("./fixtures/refusal-behaviours.jsonl", import.meta.url),
    "utf8",
  )
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Behaviour);
  const readings = async () => {
    const judge = refusalJudge({ kind: "refusal" });
    const verdicts = await judge.judge(
      behaviours.map((x) => ({
        kind: "benign",
        prompt: [{ role: "user", content: x.prompt }],
        response: x.response,
      })),
    );
    return behaviours.map((x, i) => ({ ...x, got: verdicts[i]?.refused, p: verdicts[i]?.score }));
  };

  test("the fixture covers each kind, with requests", () => {
    const kinds = new Set(behaviours.map((x) => x.kind));
    for (const k of ["premise_rejection", "deflection", "lecture", "partial", "full_refusal", "compliance"])
      assert.ok(kinds.has(k), `fixture has ${k}`);
    assert.ok(behaviours.every((x) => x.prompt.length > 0));
  });

  test("complies where the answer complies (definitions of harmful words, homonyms, fiction), refuses plain refusals", async () => {
    for (const r of await readings()) {
      if (r.kind === "compliance" || r.kind === "full_refusal")
        assert.equal(
          r.got,
          r.refused,
          `${r.kind}: "${r.prompt}" read as refused=${r.got} (P ${r.p?.toFixed(3)})`,
        );
    }
  });

  test("at least as accurate as XSTest's prefix list on the whole fixture", async () => {
    const got = await readings();
    const judge = got.filter((r) => r.got === r.refused).length;
    const prefix = behaviours.filter(
      (r) => (xstestStringMatch(r.response) !== "full_compliance") === r.refused,
    ).length;
    assert.ok(
      judge >= prefix,
      `judge ${judge}/${behaviours.length}, prefix list ${prefix}/${behaviours.length}`,
    );
  });

  // What the shipped judge reaches on the hard kinds (premise rejections, deflections, lectures, partial
  // refusals): 4 of 13 today. Most misses carry no refusal phrase at all, which neither the prefix list nor
  // the rules see either, and the five models it learned from seldom answer that way (see the model card's
  // limits). The floor is what it reaches, so a judge that reads fewer of them fails; the misses are listed.
  const HARD_KINDS = ["premise_rejection", "deflection", "lecture", "partial"];
  const HARD_FLOOR = 4;
  test(`reads at least ${HARD_FLOOR} of the premise rejections, deflections, lectures and partial refusals as refused`, async () => {
    const hard = (await readings()).filter((r) => HARD_KINDS.includes(r.kind));
    assert.ok(hard.length >= 13, "the fixture keeps its hard cases");
    const right = hard.filter((r) => r.got === r.refused);
    const missed = hard
      .filter((r) => r.got !== r.refused)
      .map((r) => `${r.kind}: ${r.prompt} (P ${r.p?.toFixed(2)})`);
    assert.ok(
      right.length >= HARD_FLOOR,
      `${right.length}/${hard.length} read as refused; missed:\n${missed.join("\n")}`,
    );
    // Beyond the prefix list on them: it reads two of them (the "As an AI" and "It is not accurate" openings).
    const prefix = hard.filter((r) => xstestStringMatch(r.response) !== "full_compliance").length;
    assert.ok(right.length > prefix, `judge ${right.length}, prefix list ${prefix}`);
  });
});
