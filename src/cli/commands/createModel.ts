import { readFileSync } from "node:fs";
import { PRESET_NAMES, type PresetName } from "../../model/presets.js";
import { createScratchModel } from "../../model/scratchModel.js";
import { optionalNumber, parseCommandArgs, requireString } from "../args.js";
import { UsageError } from "../errors.js";

export const createModelHelp = `safetune create-model --out DIR [--preset NAME] [--vocab-size N] [--corpus FILE] [--seed S]

Builds a model from scratch: trains a byte-level BPE tokenizer (on FILE, one text per line, or the built-in
starter corpus), creates a model of the preset with random weights, and saves both as a Hugging Face folder.

  --preset NAME     ${PRESET_NAMES.join(" | ")} (default llama-tiny)
  --vocab-size N    largest tokenizer vocabulary (default 4096; a small corpus gives fewer)
  --corpus FILE     text to train the tokenizer on
  --seed S          weight-initialisation seed (default 0)`;

export async function createModelCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    {
      out: { type: "string" },
      preset: { type: "string" },
      "vocab-size": { type: "string" },
      corpus: { type: "string" },
      seed: { type: "string" },
    },
    "create-model",
  );
  if (values.help) {
    console.log(createModelHelp);
    return;
  }
  const out = requireString(values.out, "out", "create-model");
  const preset = (values.preset ?? "llama-tiny") as PresetName;
  if (!PRESET_NAMES.includes(preset))
    throw new UsageError(`--preset: expected one of ${PRESET_NAMES.join(", ")}, got '${values.preset}'`);
  const corpus = values.corpus
    ? readFileSync(values.corpus, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
    : undefined;
  const model = createScratchModel(out, {
    preset,
    vocabSize: optionalNumber(values["vocab-size"], "vocab-size", { integer: true, min: 300 }),
    seed: optionalNumber(values.seed, "seed", { integer: true, min: 0 }),
    corpus,
  });
  console.log(
    `created ${out}: ${preset}, ${model.numParameters.toLocaleString("en-US")} parameters, vocabulary ${model.config.vocabSize}`,
  );
  model.dispose();
}
