// A model from scratch: a byte-level BPE tokenizer trained on a corpus, a preset config, random weights,
// saved as a Hugging Face folder that every command (and transformers) can load.
import { saveTokenizerFolder, trainBpeTokenizer } from "../tokenize/bpeTrainer.js";
import { PLAIN_TEMPLATES } from "../tokenize/chatTemplate.js";
import { starterCorpus } from "../tokenize/starterCorpus.js";
import { createModel } from "./createModel.js";
import { type PresetName, presetConfig } from "./presets.js";
import { saveModel } from "./saveModel.js";
import type { TransformerModel } from "./transformer.js";

export const SCRATCH_SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"];

export interface ScratchModelOptions {
  preset?: PresetName;
  /** Vocabulary size of the trained tokenizer (default 4096). */
  vocabSize?: number;
  /** Text to train the tokenizer on (default: the built-in starter corpus). */
  corpus?: Iterable<string>;
  seed?: number;
}

/** Trains a tokenizer, builds a model of `preset` with random weights, and saves both to `dir`. */
export function createScratchModel(dir: string, options: ScratchModelOptions = {}): TransformerModel {
  const tokenizerJson = trainBpeTokenizer(options.corpus ?? starterCorpus(), {
    vocabSize: options.vocabSize ?? 4096,
    specialTokens: SCRATCH_SPECIAL_TOKENS,
  });
  const ids = [...Object.values(tokenizerJson.model.vocab), ...tokenizerJson.added_tokens.map((t) => t.id)];
  const vocabSize = Math.max(...ids) + 1;
  const config = presetConfig(options.preset ?? "llama-tiny", vocabSize, { pad: 0, bos: 1, eos: 2 });
  const model = createModel(config, { seed: options.seed ?? 0 });
  saveModel(model, dir);
  saveTokenizerFolder(dir, tokenizerJson, {
    padToken: "<|pad|>",
    bosToken: "<|bos|>",
    eosToken: "<|endoftext|>",
    chatTemplate: PLAIN_TEMPLATES.chatml,
  });
  return model;
}
