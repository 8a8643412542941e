// Reward and cost models: a causal LM's backbone under a fresh one-output score head
// (*ForSequenceClassification, num_labels 1), or a classifier folder loaded as it is.
import { keep, manualSeed, noGrad, randn, type Tensor, tidy } from "../engine/index.js";
import { buildModel } from "./buildModel.js";
import { architectureName, parseConfig } from "./config.js";
import { ModelError } from "./errors.js";
import { type LoadModelOptions, loadModel, readModelConfig } from "./loadModel.js";
import type { TransformerModel } from "./transformer.js";

export interface RewardModelOptions extends LoadModelOptions {
  /** Seed of the new score head's init (default 0). */
  seed?: number;
  /** pad_token_id written into the classifier's config when the folder's config has none (the tokenizer's). */
  padTokenId?: number;
}

/**
 * A reward (or cost) model from `dir`. A causal-LM folder gives its backbone (every weight loaded and checked by
 * loadModel) with `lm_head.weight` dropped and a new `score.weight` [1, hidden] drawn from N(0, 1/√hidden): the
 * final norm's outputs have unit RMS, so initial scores are O(1) and differ between answers (pair accuracy starts
 * near chance, not at 0 as with a zero head, and the backbone gets gradients from the first step). A folder that
 * already holds a *ForSequenceClassification model with one label is loaded as it is.
 */
export function rewardModelFrom(dir: string, options: RewardModelOptions = {}): TransformerModel {
  const config = readModelConfig(dir);
  if (config.task === "sequence-classification") {
    if (config.numLabels !== 1)
      throw new ModelError(
        `${dir}: a reward model has one output, this classifier has num_labels ${config.numLabels}`,
      );
    return loadModel(dir, options);
  }
  const { id2label: _i, label2id: _l, ...rest } = config.raw;
  const raw: Record<string, unknown> = {
    ...rest,
    architectures: [architectureName({ ...config, task: "sequence-classification" })],
    num_labels: 1,
  };
  if (raw.pad_token_id === undefined || raw.pad_token_id === null) {
    if (options.padTokenId !== undefined) raw.pad_token_id = options.padTokenId;
  }
  const classifier = parseConfig(raw, `${dir}/config.json (as a classifier)`);
  const lm = loadModel(dir, options);
  const params = new Map<string, Tensor>();
  for (const [name, t] of lm.params) {
    if (name === "lm_head.weight") t.dispose();
    else params.set(name, t);
  }
  const like = params.values().next().value as Tensor;
  manualSeed(options.seed ?? 0);
  const hidden = classifier.hiddenSize;
  const score = noGrad(() =>
    keep(
      tidy(() =>
        randn([1, hidden])
          .mul(1 / Math.sqrt(hidden))
          .to(like.dtype)
          .to(like.device),
      ),
    ),
  );
  params.set("score.weight", score);
  const model = buildModel(classifier, params);
  // A quantised base keeps its packed weights (the new score head stays float: it trains in full).
  for (const [name, w] of lm.quantized) {
    if (name !== "lm_head.weight") model.quantized.set(name, w);
    else for (const t of [w.data, w.scales]) t.dispose();
  }
  return model;
}
