// The learned refusal judge's model: a logistic regression over hashed features (refusalFeatures.ts), or with
// `hidden` > 0 a one-hidden-layer MLP. Weights are plain Float32Arrays, so judging needs no native engine.
import { type FeatureOptions, refusalFeatures, type SparseFeatures } from "./refusalFeatures.js";
import type { RefusalReading } from "./refusalRules.js";

export interface RefusalModelConfig {
  /** The feature extractor's version (REFUSAL_FEATURES_VERSION) the weights were trained with. */
  featuresVersion: string;
  /** How the features are computed (their hash buckets, which parts). */
  features: FeatureOptions;
  /** 0: logistic regression; else the hidden layer's width. */
  hidden: number;
  /** The answer is judged refused when P(refused) >= threshold. */
  threshold: number;
}

export interface RefusalModelWeights {
  /** [buckets] for logistic regression (bucket 0 is the bias); [buckets, hidden] row-major for the MLP. */
  input: Float32Array;
  /** MLP only: the output layer [hidden] and its bias [1] (the hidden bias is bucket 0's row of `input`). */
  output?: Float32Array;
  outputBias?: number;
}

export interface RefusalModel {
  config: RefusalModelConfig;
  weights: RefusalModelWeights;
}

/** The model's logit of "refused" for one feature vector. */
export function refusalLogit(model: RefusalModel, features: SparseFeatures): number {
  const { ids, values } = features;
  const { input, output, outputBias } = model.weights;
  const hidden = model.config.hidden;
  if (hidden === 0) {
    let z = 0;
    for (let i = 0; i < ids.length; i++) z += (input[ids[i] as number] as number) * (values[i] as number);
    return z;
  }
  const h = new Float64Array(hidden);
  for (let i = 0; i < ids.length; i++) {
    const row = (ids[i] as number) * hidden;
    const v = values[i] as number;
    for (let j = 0; j < hidden; j++) h[j] = (h[j] as number) + (input[row + j] as number) * v;
  }
  let z = outputBias ?? 0;
  for (let j = 0; j < hidden; j++) z += Math.max(0, h[j] as number) * ((output as Float32Array)[j] as number);
  return z;
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** P(refused) for a (request, answer) pair (`rules`: safetune's rules' reading of the answer, if at hand). */
export function refusalProbability(
  model: RefusalModel,
  request: string,
  answer: string,
  rules?: RefusalReading,
): number {
  return sigmoid(refusalLogit(model, refusalFeatures(request, answer, model.config.features, rules)));
}
