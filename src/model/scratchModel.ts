// A model from scratch: a byte-level BPE tokenizer trained on a corpus, a preset config, random weights,
// saved as a Hugging Face folder that every command (and transformers) can load.
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type BpeTokenizerJson, saveTokenizerFolder, trainBpeTokenizer } from "../tokenize/bpeTrainer.js";
import { PLAIN_TEMPLATES } from "../tokenize/chatTemplate.js";
import { starterCorpus } from "../tokenize/starterCorpus.js";
import { createModel } from "./createModel.js";
import { type PresetName, presetConfig } from "./presets.js";
import { saveModel, TOKENIZER_FILES } from "./saveModel.js";
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

/** A byte-level BPE tokenizer trained on `corpus` with the scratch special tokens (pad 0, bos 1, eos 2). */
function trainScratchTokenizer(corpus: Iterable<string>, vocabSize: number): BpeTokenizerJson {
  return trainBpeTokenizer(corpus, { vocabSize, specialTokens: SCRATCH_SPECIAL_TOKENS });
}

/** Writes a scratch tokenizer to `dir` with its special tokens and the ChatML template. */
function writeScratchTokenizer(dir: string, tokenizerJson: BpeTokenizerJson): void {
  saveTokenizerFolder(dir, tokenizerJson, {
    padToken: "<|pad|>",
    bosToken: "<|bos|>",
    eosToken: "<|endoftext|>",
    chatTemplate: PLAIN_TEMPLATES.chatml,
  });
}

/** Trains a scratch tokenizer on `corpus` and saves it to `dir` (a tokenizer folder without weights). */
export function saveScratchTokenizer(
  dir: string,
  corpus: Iterable<string>,
  vocabSize: number,
): BpeTokenizerJson {
  const tokenizerJson = trainScratchTokenizer(corpus, vocabSize);
  writeScratchTokenizer(dir, tokenizerJson);
  return tokenizerJson;
}

/** The number of ids a tokenizer.json uses (vocabulary and added tokens). */
function tokenizerVocabSize(tokenizerJson: BpeTokenizerJson): number {
  const ids = [...Object.values(tokenizerJson.model.vocab), ...tokenizerJson.added_tokens.map((t) => t.id)];
  return Math.max(...ids) + 1;
}

function scratchModel(dir: string, tokenizerJson: BpeTokenizerJson, preset: PresetName, seed: number) {
  const config = presetConfig(preset, tokenizerVocabSize(tokenizerJson), { pad: 0, bos: 1, eos: 2 });
  const model = createModel(config, { seed });
  saveModel(model, dir);
  return model;
}

/** Trains a tokenizer, builds a model of `preset` with random weights, and saves both to `dir`. */
export function createScratchModel(dir: string, options: ScratchModelOptions = {}): TransformerModel {
  const tokenizerJson = trainScratchTokenizer(options.corpus ?? starterCorpus(), options.vocabSize ?? 4096);
  // The weights first: saving a model writes its folder anew.
  const model = scratchModel(dir, tokenizerJson, options.preset ?? "llama-tiny", options.seed ?? 0);
  writeScratchTokenizer(dir, tokenizerJson);
  return model;
}

/**
 * A model of `preset` with random weights for the scratch tokenizer saved in `tokenizerDir`, saved to `dir`
 * with a copy of the tokenizer files.
 */
export function createModelForTokenizer(
  dir: string,
  tokenizerDir: string,
  options: { preset?: PresetName; seed?: number } = {},
): TransformerModel {
  const tokenizerJson = JSON.parse(
    readFileSync(join(tokenizerDir, "tokenizer.json"), "utf8"),
  ) as BpeTokenizerJson;
  const model = scratchModel(dir, tokenizerJson, options.preset ?? "llama-tiny", options.seed ?? 0);
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(tokenizerDir, f))) copyFileSync(join(tokenizerDir, f), join(dir, f));
  }
  return model;
}
