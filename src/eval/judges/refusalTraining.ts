// How the learned refusal judge is trained and measured: a recipe (features, optimiser, weight of the extra
// data) chosen among a few fixed candidates by leave-one-type-out inside the training rows only, then the
// model trained with it. The outer protocol (crossValidateRefusal) repeats this with each type held out, so
// no held-out answer ever influences the model or the choice of its recipe.
import { DEFAULT_EXTRA_SOURCES, type ExtraAnswer, PKU_SOURCE } from "./refusalExtraData.js";
import {
  DEFAULT_FEATURE_BUCKETS,
  type FeatureOptions,
  refusalFeatures,
  type SparseFeatures,
} from "./refusalFeatures.js";
import { type RefusalModel, refusalLogit } from "./refusalModel.js";
import { type FeaturedExample, type OptimiserSettings, trainRefusalModel } from "./trainRefusalModel.js";
import { typeFolds } from "./typeFolds.js";

/** A human-labelled answer with the prompt type that decides its fold. */
export interface LabelledRefusal {
  request: string;
  answer: string;
  refused: boolean;
  type: string;
}

export interface TrainingRecipe {
  name: string;
  features: FeatureOptions;
  optimiser: OptimiserSettings;
  /** Each extra source's total weight, as a share of the labelled answers' total weight. */
  extraShare: number;
  /** The extra sources it trains on (absent: every loaded source but the opt-in PKU-SafeRLHF answers). */
  extraSources?: readonly string[];
}

/** The extra sources a recipe trains on, to load from the shared data folder. */
export function sourcesOf(recipe: TrainingRecipe): readonly string[] {
  return recipe.extraSources ?? DEFAULT_EXTRA_SOURCES;
}

/** Sources only a recipe that names them trains on. */
const OPT_IN_SOURCES: readonly string[] = [PKU_SOURCE];

/** Whether `recipe` trains on the extra answers of `source`: the ones it names, else any but the opt-in ones. */
export function recipeUsesSource(recipe: TrainingRecipe, source: string): boolean {
  return recipe.extraSources ? recipe.extraSources.includes(source) : !OPT_IN_SOURCES.includes(source);
}

const OPTIMISER: OptimiserSettings = {
  hidden: 0,
  epochs: 10,
  batchSize: 64,
  lr: 0.05,
  weightDecay: 0.01,
  seed: 1,
  threshold: 0.5,
};

function recipe(requestNgrams: boolean, extraShare: number, pku = false): TrainingRecipe {
  return {
    name: `request-ngrams=${requestNgrams},extra-share=${extraShare}${pku ? ",+pku" : ""}`,
    features: { buckets: DEFAULT_FEATURE_BUCKETS, requestNgrams },
    optimiser: OPTIMISER,
    extraShare,
    ...(pku ? { extraSources: [...DEFAULT_EXTRA_SOURCES, PKU_SOURCE] } : {}),
  };
}

/**
 * The candidates: with or without the request's own words (they say what was asked, but their topics may not
 * carry over to a new prompt type), and the extra data at a tenth or at three tenths of the labelled weight per
 * source (the first four, fixed before any measurement); then the first two plus PKU-SafeRLHF's compliant answers
 * on harmful topics (added later, for a reason docs/evaluation.md gives: the other extras' harmful topics are
 * all refusals, so topic words stand for refusal). Measured there: chosen inside three folds, they lowered the
 * held-out figure, so the shipped judge does not use them.
 */
export const RECIPE_CANDIDATES: readonly TrainingRecipe[] = [
  recipe(true, 0.1),
  recipe(false, 0.1),
  recipe(true, 0.3),
  recipe(false, 0.3),
  recipe(true, 0.1, true),
  recipe(false, 0.1, true),
];

/** Every extra source some recipe of `recipes` trains on. */
export function sourcesOfAll(recipes: readonly TrainingRecipe[]): string[] {
  return [...new Set(recipes.flatMap((r) => sourcesOf(r)))];
}

/**
 * Features computed once per feature setting and reused by every fold; and models trained once per (recipe,
 * training rows). Nested leave-one-type-out trains on "every fold but i and j" both when i is held out and j is
 * the inner test fold and the other way round: the same rows in the same order, so the same model, trained once.
 */
export class FeatureTable {
  private readonly cache = new Map<string, { labelled: SparseFeatures[]; extra: SparseFeatures[] }>();
  private readonly models = new Map<string, RefusalModel>();
  /** Models actually trained (cache misses). */
  trainings = 0;
  constructor(
    readonly labelled: readonly LabelledRefusal[],
    readonly extra: readonly ExtraAnswer[],
  ) {}
  /** The model of `recipe` trained on `rows` (plus the extras), trained at the first call only. */
  model(rows: readonly number[], recipe: TrainingRecipe): RefusalModel {
    const key = `${JSON.stringify(recipe)}\u0000${rows.join(",")}`;
    let model = this.models.get(key);
    if (!model) {
      model = trainRefusalModel(trainingExamples(this, rows, recipe), recipe.features, recipe.optimiser);
      this.trainings++;
      this.models.set(key, model);
    }
    return model;
  }
  get(options: FeatureOptions): { labelled: SparseFeatures[]; extra: SparseFeatures[] } {
    const key = JSON.stringify(options);
    let entry = this.cache.get(key);
    if (!entry) {
      entry = {
        labelled: this.labelled.map((x) => refusalFeatures(x.request, x.answer, options)),
        extra: this.extra.map((x) => refusalFeatures(x.request, x.answer, options)),
      };
      this.cache.set(key, entry);
    }
    return entry;
  }
}

/** The weighted training set: the labelled rows at weight 1, each extra source at `extraShare` of their weight. */
export function trainingExamples(
  table: FeatureTable,
  rows: readonly number[],
  recipe: TrainingRecipe,
): FeaturedExample[] {
  const features = table.get(recipe.features);
  const out: FeaturedExample[] = rows.map((i) => ({
    features: features.labelled[i] as SparseFeatures,
    refused: (table.labelled[i] as LabelledRefusal).refused,
    weight: 1,
  }));
  const perSource = new Map<string, number>();
  for (const x of table.extra) perSource.set(x.source, (perSource.get(x.source) ?? 0) + 1);
  for (const s of recipe.extraSources ?? [])
    if (table.extra.length > 0 && !perSource.has(s))
      throw new RangeError(`recipe ${recipe.name}: its extra source '${s}' was not loaded`);
  table.extra.forEach((x, i) => {
    if (!recipeUsesSource(recipe, x.source)) return;
    out.push({
      features: features.extra[i] as SparseFeatures,
      refused: x.refused,
      weight: (recipe.extraShare * rows.length) / (perSource.get(x.source) as number),
    });
  });
  return out;
}

/** The model's refused/answered reading of labelled rows. */
export function predictRows(model: RefusalModel, table: FeatureTable, rows: readonly number[]): boolean[] {
  const features = table.get(model.config.features).labelled;
  const threshold = Math.log(model.config.threshold / (1 - model.config.threshold));
  return rows.map((i) => refusalLogit(model, features[i] as SparseFeatures) >= threshold);
}

export interface RecipeScore {
  recipe: string;
  /** Pooled accuracy over the inner leave-one-type-out folds. */
  accuracy: number;
}

export interface TrainedRefusalJudge {
  model: RefusalModel;
  recipe: TrainingRecipe;
  /** How each candidate scored in the inner leave-one-type-out (empty when there was one candidate). */
  selection: RecipeScore[];
}

/**
 * Chooses the recipe by leave-one-type-out among `rows` alone (ties: the earlier candidate), then trains on
 * all of `rows` with it.
 */
export function trainRefusalJudge(
  table: FeatureTable,
  rows: readonly number[],
  candidates: readonly TrainingRecipe[] = RECIPE_CANDIDATES,
  onStep?: (message: string) => void,
): TrainedRefusalJudge {
  const first = candidates[0];
  if (!first) throw new RangeError("trainRefusalJudge: no candidate recipes");
  let chosen = first;
  const selection: RecipeScore[] = [];
  if (candidates.length > 1) {
    const folds = typeFolds(rows.map((i) => (table.labelled[i] as LabelledRefusal).type));
    let best = -1;
    for (const candidate of candidates) {
      let correct = 0;
      for (const fold of folds) {
        const train = fold.train.map((k) => rows[k] as number);
        const test = fold.test.map((k) => rows[k] as number);
        const model = table.model(train, candidate);
        predictRows(model, table, test).forEach((p, k) => {
          if (p === (table.labelled[test[k] as number] as LabelledRefusal).refused) correct++;
        });
      }
      const accuracy = correct / rows.length;
      selection.push({ recipe: candidate.name, accuracy });
      onStep?.(`  inner leave-one-type-out ${candidate.name}: ${(100 * accuracy).toFixed(1)}%`);
      if (accuracy > best) {
        best = accuracy;
        chosen = candidate;
      }
    }
  }
  return { model: table.model(rows, chosen), recipe: chosen, selection };
}

export interface HeldOutFold {
  name: string;
  recipe: string;
  selection: RecipeScore[];
  test: number[];
}

/** Leave-one-type-out: each fold's judge is chosen and trained on the other folds; every row is predicted once. */
export function crossValidateRefusal(
  table: FeatureTable,
  candidates: readonly TrainingRecipe[] = RECIPE_CANDIDATES,
  onStep?: (message: string) => void,
): { predicted: boolean[]; folds: HeldOutFold[] } {
  const predicted = new Array<boolean>(table.labelled.length).fill(false);
  const folds: HeldOutFold[] = [];
  for (const fold of typeFolds(table.labelled.map((x) => x.type))) {
    onStep?.(
      `fold ${fold.name}: training on ${fold.train.length} labelled answers (+ ${table.extra.length} extra)`,
    );
    const trained = trainRefusalJudge(table, fold.train, candidates, onStep);
    predictRows(trained.model, table, fold.test).forEach((p, k) => {
      predicted[fold.test[k] as number] = p;
    });
    folds.push({
      name: fold.name,
      recipe: trained.recipe.name,
      selection: trained.selection,
      test: fold.test,
    });
  }
  return { predicted, folds };
}
