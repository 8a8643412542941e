// The paper's recipe shape on this machine: a random-weight model with LLaMA-7B's shape built directly in
// quantised form (each weight drawn in float32 and packed at once: no 7B float copy, nothing on disk), LoRA r 8
// alpha 32 on q/k/v, and ONE DPO step on one pair at sequence length 512 (reference log-probs, policy forward,
// backward, AdamW). Prints one JSON line: build, reference, step and total wall time, packed bytes, peak RSS.
//
// Usage: npx tsx bench/qloraRecipeBench.ts [--shape llama-7b|small] [--layers N] [--length 512] [--quantize nf4|int8]
//                                          [--checkpointing] [--threads N]
// --layers N builds the first N of the shape's layers (the rest of the shape unchanged): a shorter run whose
// per-layer figures extrapolate to the full depth (the JSON says which depth ran).
import { parseArgs } from "node:util";
import { AdamW, getNumThreads, type QuantizeKind, setNumThreads, tidy } from "../src/engine/index.js";
import { createModel } from "../src/model/createModel.js";
import { attachAdapter, createLora } from "../src/model/lora.js";
import { quantizedFootprint } from "../src/model/quantizeModel.js";
import { computeReferenceLogProbs, dpoTask, type TokenizedPair } from "../src/train/dpo.js";
import { preferenceLossSettings } from "../src/train/preferenceLoss.js";
import { intFlag } from "./measure.js";

/** LLaMA-7B (Touvron et al. 2023): d 4096, 32 layers, 32 heads, SwiGLU 11008, vocabulary 32000. */
const SHAPES: Record<string, Record<string, unknown>> = {
  "llama-7b": {
    model_type: "llama",
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    vocab_size: 32000,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
  },
  small: {
    model_type: "llama",
    hidden_size: 256,
    intermediate_size: 688,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    num_key_value_heads: 4,
    vocab_size: 1000,
    max_position_embeddings: 2048,
    tie_word_embeddings: false,
  },
};

function peakRssGiB(): number {
  return process.resourceUsage().maxRSS / 2 ** 20; // maxRSS is in KiB
}

function main(): void {
  const { values } = parseArgs({
    options: {
      shape: { type: "string", default: "llama-7b" },
      layers: { type: "string" },
      length: { type: "string", default: "512" },
      quantize: { type: "string", default: "nf4" },
      checkpointing: { type: "boolean", default: false },
      threads: { type: "string" },
    },
    strict: true,
  });
  const shape = SHAPES[values.shape];
  if (!shape) throw new RangeError(`--shape must be one of ${Object.keys(SHAPES).join(", ")}`);
  if (values.quantize !== "nf4" && values.quantize !== "int8")
    throw new RangeError(`--quantize must be nf4 or int8, got ${values.quantize}`);
  const kind: QuantizeKind = values.quantize;
  const fullLayers = shape.num_hidden_layers as number;
  const layers = values.layers === undefined ? fullLayers : intFlag("layers", values.layers, 1, fullLayers);
  const length = intFlag("length", values.length, 8, 2048);
  if (values.threads) setNumThreads(intFlag("threads", values.threads, 1));
  const log = (m: string) => process.stderr.write(`${m}\n`);

  const t0 = performance.now();
  const model = createModel({ ...shape, num_hidden_layers: layers }, { seed: 0, quantize: kind });
  const buildSeconds = (performance.now() - t0) / 1000;
  const footprint = quantizedFootprint(model);
  const rssAfterBuild = peakRssGiB();
  log(
    `built ${layers}/${fullLayers} layers in ${buildSeconds.toFixed(1)} s; peak RSS ${rssAfterBuild.toFixed(2)} GiB`,
  );
  const checkpointing = values.checkpointing;
  if (checkpointing) {
    if (!("gradientCheckpointing" in model)) throw new Error("this checkout has no gradient checkpointing");
    (model as { gradientCheckpointing: boolean }).gradientCheckpointing = true;
  }

  const adapter = createLora(model, { r: 8, alpha: 32, targetModules: ["q_proj", "k_proj", "v_proj"] });
  attachAdapter(model, adapter);
  adapter.training = true;
  // One pair, each sequence `length` tokens: a prompt of half the length, then the answer.
  const vocab = shape.vocab_size as number;
  let state = 12345;
  const token = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return 3 + (state % (vocab - 3));
  };
  const sequence = () => {
    const ids = Array.from({ length }, token);
    return { inputIds: ids, labels: ids.map((id, i) => (i < length / 2 ? -100 : id)) };
  };
  const pairs: TokenizedPair[] = [{ chosen: sequence(), rejected: sequence() }];
  // DPO's defaults (sigmoid loss, beta 0.1), no SFT term.
  const options = { ...preferenceLossSettings({}), sftWeight: 0, padTokenId: 0 };

  const t1 = performance.now();
  const reference = computeReferenceLogProbs(model, pairs, { padTokenId: 0, batchSize: 1 });
  const referenceSeconds = (performance.now() - t1) / 1000;
  log(`reference log-probs in ${referenceSeconds.toFixed(1)} s; peak RSS ${peakRssGiB().toFixed(2)} GiB`);

  const task = dpoTask(model, pairs, reference, options);
  const optimizer = new AdamW(adapter.parameters(), { lr: 1e-4 });
  const t2 = performance.now();
  let loss = 0;
  let forwardSeconds = 0;
  tidy(() => {
    const result = task.step([0]);
    forwardSeconds = (performance.now() - t2) / 1000;
    loss = result.loss.item();
    result.loss.backward();
  });
  optimizer.step();
  const stepSeconds = (performance.now() - t2) / 1000;
  log(`DPO step in ${stepSeconds.toFixed(1)} s (forward ${forwardSeconds.toFixed(1)} s); loss ${loss}`);

  const result = {
    shape: values.shape,
    layers,
    fullLayers,
    length,
    quantize: kind,
    checkpointing,
    threads: getNumThreads(),
    parameters: model.numParameters,
    packedBytes: footprint.packedBytes,
    packedParameters: footprint.packedParameters,
    bytesPerPackedWeight: footprint.packedBytes / footprint.packedParameters,
    floatBytes: footprint.floatBytes,
    loraParameters: adapter.parameters().reduce((n, p) => n + p.numel, 0),
    buildSeconds,
    referenceSeconds,
    forwardSeconds,
    stepSeconds,
    loss,
    rssAfterBuildGiB: rssAfterBuild,
    peakRssGiB: peakRssGiB(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
