// Training the learned refusal judge on safetune's engine: weighted logistic loss (or a one-hidden-layer MLP)
// over hashed sparse features, AdamW, minibatches in a seeded order. Same data and settings, same weights.
import {
  AdamW,
  embedding,
  getNumThreads,
  keep,
  manualSeed,
  randn,
  setNumThreads,
  type Tensor,
  tensor,
  tidy,
  zeros,
} from "../../engine/index.js";
import { mulberry32 } from "../../util/random.js";
import { type FeatureOptions, REFUSAL_FEATURES_VERSION, type SparseFeatures } from "./refusalFeatures.js";
import type { RefusalModel } from "./refusalModel.js";

/** One training answer, its features already computed with the settings' feature options. */
export interface FeaturedExample {
  features: SparseFeatures;
  refused: boolean;
  /** How much the example counts in the loss (1 for a human-labelled answer). */
  weight: number;
}

export interface OptimiserSettings {
  /** 0: logistic regression; else the hidden layer's width. */
  hidden: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
  /** P(refused) at or above which an answer is judged refused. */
  threshold: number;
}

/** A feature vector with its ids already as int64, as the engine's embedding wants them. */
interface WideFeatures {
  ids: BigInt64Array;
  values: Float32Array;
}

function widen(f: SparseFeatures): WideFeatures {
  return { ids: BigInt64Array.from(f.ids, (id) => BigInt(id)), values: f.values };
}

/** Pads a batch's sparse vectors into [B, L] id and value tensors (padding: bucket 0 with value 0). */
function batchTensors(features: readonly WideFeatures[]): { ids: Tensor; values: Tensor } {
  const width = Math.max(...features.map((f) => f.ids.length));
  const ids = new BigInt64Array(features.length * width);
  const values = new Float32Array(features.length * width);
  features.forEach((f, row) => {
    ids.set(f.ids, row * width);
    values.set(f.values, row * width);
  });
  return {
    ids: tensor(ids, [features.length, width]),
    values: tensor(values, [features.length, width]),
  };
}

/** Trains a model; `onEpoch` gets the mean weighted loss of each epoch. */
export function trainRefusalModel(
  examples: readonly FeaturedExample[],
  featureOptions: FeatureOptions,
  settings: OptimiserSettings,
  onEpoch?: (epoch: number, loss: number) => void,
): RefusalModel {
  if (examples.length === 0) throw new RangeError("trainRefusalModel: no examples");
  const wide = examples.map((e) => widen(e.features));
  const meanWeight = examples.reduce((s, e) => s + e.weight, 0) / examples.length;
  const threads = getNumThreads();
  // One thread: the same sums in the same order, so the same weights on every machine.
  setNumThreads(1);
  manualSeed(settings.seed);
  const { hidden } = settings;
  const { buckets } = featureOptions;
  const input = keep(
    hidden === 0 ? zeros([buckets, 1]) : tidy(() => randn([buckets, hidden]).mul(0.01)),
  ).requiresGrad_();
  const output =
    hidden === 0 ? undefined : keep(tidy(() => randn([hidden]).mul(1 / Math.sqrt(hidden)))).requiresGrad_();
  const outputBias = hidden === 0 ? undefined : keep(zeros([1])).requiresGrad_();
  const params = [input, ...(output ? [output] : []), ...(outputBias ? [outputBias] : [])];
  const optimizer = new AdamW(params, { lr: settings.lr, weightDecay: settings.weightDecay });
  const random = mulberry32(settings.seed);
  const order = examples.map((_, i) => i);
  try {
    for (let epoch = 0; epoch < settings.epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      let total = 0;
      for (let start = 0; start < order.length; start += settings.batchSize) {
        const picked = order.slice(start, start + settings.batchSize);
        const batch = picked.map((i) => examples[i] as FeaturedExample);
        total += tidy(() => {
          const { ids, values } = batchTensors(picked.map((i) => wide[i] as WideFeatures));
          const y = tensor(batch.map((e) => (e.refused ? 1 : 0)));
          const w = tensor(batch.map((e) => e.weight / meanWeight));
          const summed = embedding(input, ids).mul(values.unsqueeze(-1)).sum(1); // [B, H]
          const logit =
            hidden === 0
              ? summed.squeeze(-1)
              : summed
                  .relu()
                  .matmul((output as Tensor).unsqueeze(-1))
                  .squeeze(-1)
                  .add(outputBias as Tensor);
          // -[y log s(z) + (1 - y) log s(-z)], weighted
          const nll = logit
            .logsigmoid()
            .mul(y)
            .add(logit.neg().logsigmoid().mul(y.neg().add(1)))
            .neg();
          const loss = nll.mul(w).mean();
          optimizer.zeroGrad();
          loss.backward();
          optimizer.step();
          return loss.item() * batch.length;
        });
      }
      onEpoch?.(epoch + 1, total / order.length);
    }
    const copy = (t: Tensor) => tidy(() => new Float32Array(t.detach().toFloat32Array()));
    return {
      config: {
        featuresVersion: REFUSAL_FEATURES_VERSION,
        features: featureOptions,
        hidden,
        threshold: settings.threshold,
      },
      weights: {
        input: copy(input),
        ...(output ? { output: copy(output) } : {}),
        ...(outputBias ? { outputBias: outputBias.item() } : {}),
      },
    };
  } finally {
    optimizer.dispose();
    for (const p of params) p.dispose();
    setNumThreads(threads);
  }
}
