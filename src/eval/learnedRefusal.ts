// Building and measuring learned refusal judges from human-labelled files: `safetune judge train` and
// `safetune judge calibrate --cross-validate type`. The measurement is leave-one-type-out (a type and its
// contrast type are one fold), with the same recipe as the judge it describes.
import { existsSync } from "node:fs";
import {
  type CalibrationReport,
  calibrationReport,
  type LabelledAnswer,
  type LabelledSet,
} from "./calibrate.js";
import { EvaluationError } from "./errors.js";
import { type ExtraAnswer, readExtraRefusalAnswers } from "./judges/refusalExtraData.js";
import { type RefusalJudgeCard, saveRefusalJudge } from "./judges/refusalJudgeFolder.js";
import {
  crossValidateRefusal,
  FeatureTable,
  type LabelledRefusal,
  RECIPE_CANDIDATES,
  recipeUsesSource,
  sourcesOf,
  type TrainingRecipe,
  trainRefusalJudge,
} from "./judges/refusalTraining.js";
import { foldOfType } from "./judges/typeFolds.js";
import type { JudgeIdentity } from "./results.js";

/** The recipe the shipped judge uses, fixed before measuring (see judges/refusal/README.md). */
export const DEFAULT_RECIPE: TrainingRecipe = RECIPE_CANDIDATES[0] as TrainingRecipe;

function toLabelled(set: LabelledSet, file: string): LabelledRefusal[] {
  if (set.on !== "refused")
    throw new EvaluationError(
      `${file}: a refusal judge trains on refusal labels (full_compliance / full_refusal / partial_refusal), not safe/unsafe`,
    );
  return set.items.map((x) => ({
    request: x.prompt,
    answer: x.response,
    refused: x.positive,
    type: x.fields.type ?? "",
  }));
}

/** Extra answers of `sources` (default: the three every recipe uses) from a shared data folder, or none when `dir` is undefined. */
export function extraAnswers(dir: string | undefined, sources?: readonly string[]): ExtraAnswer[] {
  if (dir === undefined) return [];
  if (!existsSync(dir))
    throw new EvaluationError(
      `--extra-data ${dir}: no such folder (expected the shared data folder holding safety-tuned-llamas/, alpaca/, jailbreakbench/)`,
    );
  return readExtraRefusalAnswers(dir, sources);
}

function requireTypes(items: readonly LabelledAnswer[], file: string): void {
  const missing = items.find((x) => x.fields.type === undefined);
  if (missing)
    throw new EvaluationError(
      `${missing.where}: leave-one-type-out needs each row's prompt type: a "type" field, or a note "TYPE/MODEL" as XSTest's`,
    );
  const folds = new Set(items.map((x) => foldOfType(x.fields.type as string)));
  if (folds.size < 2)
    throw new EvaluationError(
      `${file}: leave-one-type-out needs at least two prompt types, found ${[...folds].join(", ")}`,
    );
}

/**
 * Leave-one-type-out: for every fold, a judge trained with `recipe` on the other folds (plus the extras)
 * judges the held-out fold; the pooled predictions are scored as one calibration report. With `candidates`
 * (nested selection), each fold's recipe is instead chosen among them by leave-one-type-out inside that
 * fold's training rows, so the held-out fold informs neither the weights nor the recipe.
 */
export function crossValidateLearnedRefusal(
  set: LabelledSet,
  file: string,
  options: {
    recipe: TrainingRecipe;
    candidates?: readonly TrainingRecipe[];
    extra: readonly ExtraAnswer[];
    identity: JudgeIdentity;
    groupBy?: readonly string[];
    onStep?: (message: string) => void;
  },
): CalibrationReport {
  requireTypes(set.items, file);
  const table = new FeatureTable(toLabelled(set, file), options.extra);
  const nested = options.candidates !== undefined && options.candidates.length > 1;
  const { predicted, folds } = crossValidateRefusal(
    table,
    nested ? (options.candidates as readonly TrainingRecipe[]) : [options.recipe],
    options.onStep,
  );
  const report = calibrationReport(
    options.identity,
    set.on,
    file,
    set.items,
    predicted,
    0,
    options.groupBy ?? [],
  );
  return {
    ...report,
    protocol: {
      name: nested ? "leave-one-type-out, nested recipe selection" : "leave-one-type-out",
      recipe: nested ? "chosen per fold" : options.recipe.name,
      ...(nested ? { candidates: (options.candidates as readonly TrainingRecipe[]).map((r) => r.name) } : {}),
      folds: folds.map((f) => ({
        heldOut: [f.name, `contrast_${f.name}`],
        answers: f.test.length,
        ...(nested ? { recipe: f.recipe, selection: f.selection } : {}),
      })),
      extraAnswers: options.extra.length,
    },
  };
}

/** The card's record of what the judge was trained on and with. */
function trainingRecord(
  files: readonly string[],
  set: LabelledSet,
  extraDir: string | undefined,
  extra: readonly ExtraAnswer[],
  recipe: TrainingRecipe,
) {
  const bySource: Record<string, { refused: number; answered: number }> = {};
  for (const x of extra) {
    if (!recipeUsesSource(recipe, x.source)) continue;
    const s = bySource[x.source] ?? { refused: 0, answered: 0 };
    bySource[x.source] = s;
    if (x.refused) s.refused++;
    else s.answered++;
  }
  return {
    labelled: { files, answers: set.items.length, refused: set.items.filter((x) => x.positive).length },
    extraData: extraDir === undefined ? null : { dir: extraDir, sources: bySource },
    recipe,
  };
}

export interface TrainOptions {
  files: readonly string[];
  set: LabelledSet;
  out: string;
  extraDir?: string;
  recipe?: TrainingRecipe;
  /** Measure leave-one-type-out before training on everything (default: when every row has a type). */
  crossValidate?: boolean;
  command: string;
  readme: (card: RefusalJudgeCard) => string;
  onStep?: (message: string) => void;
}

/** Trains a judge on all labelled answers (plus extras), measures it leave-one-type-out, and writes its folder. */
export function buildRefusalJudge(options: TrainOptions): {
  card: RefusalJudgeCard;
  measured?: CalibrationReport;
} {
  const file = options.files.join(", ");
  const recipe = options.recipe ?? DEFAULT_RECIPE;
  const extra = extraAnswers(options.extraDir, sourcesOf(recipe));
  const canMeasure = options.set.items.every((x) => x.fields.type !== undefined);
  const crossValidate = options.crossValidate ?? canMeasure;
  let measured: CalibrationReport | undefined;
  if (crossValidate) {
    const groupBy = [
      "type",
      ...(options.set.items.every((x) => x.fields.model !== undefined) ? ["model"] : []),
    ];
    measured = crossValidateLearnedRefusal(options.set, file, {
      recipe,
      extra,
      identity: { name: "refusal", kind: "refusal", detail: { model: options.out } },
      groupBy,
      ...(options.onStep ? { onStep: options.onStep } : {}),
    });
  }
  options.onStep?.(`training on all ${options.set.items.length} labelled answers (+ ${extra.length} extra)`);
  const table = new FeatureTable(toLabelled(options.set, file), extra);
  const trained = trainRefusalJudge(
    table,
    options.set.items.map((_, i) => i),
    [recipe],
  );
  const card = saveRefusalJudge(
    options.out,
    trained.model,
    {
      training: {
        command: options.command,
        ...trainingRecord(options.files, options.set, options.extraDir, extra, recipe),
      },
      ...(measured
        ? { measured: { protocol: measured.protocol, report: measured.report, grouped: measured.grouped } }
        : {}),
    },
    options.readme,
  );
  return { card, ...(measured ? { measured } : {}) };
}

/** The recipe a judge folder was trained with (to measure it leave-one-type-out with the same settings). */
export function recipeOfCard(card: RefusalJudgeCard, where: string): TrainingRecipe {
  const recipe = (card.training as { recipe?: TrainingRecipe }).recipe;
  if (!recipe || typeof recipe.name !== "string" || !recipe.optimiser || !recipe.features)
    throw new EvaluationError(`${where}: training.recipe is missing or incomplete`);
  return recipe;
}

/** The extra-data folder a card was trained with (null when none). */
export function extraDirOfCard(card: RefusalJudgeCard): string | undefined {
  const extra = (card.training as { extraData?: { dir?: string } | null }).extraData;
  return extra?.dir ?? undefined;
}
