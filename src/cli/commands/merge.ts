// `safetune merge`: a PEFT LoRA adapter folded into its base model's weights, saved as a Hugging Face folder.
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "../../model/loadModel.js";
import { mergeAdapter } from "../../model/lora.js";
import { adapterBaseModel, loadAdapter } from "../../model/loraFiles.js";
import { saveModel, TOKENIZER_FILES } from "../../model/saveModel.js";
import { parseCommandArgs, requireString } from "../args.js";
import { checkAdapterFolder, checkModelFolder, checkWritableFolder } from "../preflight.js";

export const mergeHelp = `safetune merge --adapter DIR --out DIR [--model DIR]

Folds a PEFT LoRA adapter into its base model (W += scale · B A on every adapted layer, with PEFT's alpha_pattern
and rank_pattern) and writes a plain Hugging Face folder: config.json, model.safetensors in the base model's dtype,
and the tokenizer files (the adapter folder's when it has them). transformers, safetune and export load it
without PEFT.

  --adapter DIR   the PEFT adapter folder (adapter_config.json, adapter_model.safetensors)
  --model DIR     the base model (default: the adapter's base_model_name_or_path)
  --out DIR       the merged model folder (written atomically)
  --verbose       show stack traces on errors`;

export async function mergeCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    { model: { type: "string" }, adapter: { type: "string" }, out: { type: "string" } },
    "merge",
  );
  if (values.help) {
    console.log(mergeHelp);
    return;
  }
  const adapterDir = requireString(values.adapter, "adapter", "merge");
  const out = requireString(values.out, "out", "merge");
  // The adapter, the base model's folder and the output folder before the base's weights are read.
  checkAdapterFolder(adapterDir);
  const base = values.model ?? adapterBaseModel(adapterDir);
  checkModelFolder(base, { what: "--model" });
  checkWritableFolder(out);
  const model = loadModel(base);
  try {
    const adapter = loadAdapter(adapterDir, model);
    mergeAdapter(model, adapter);
    adapter.dispose();
    saveModel(model, out);
  } finally {
    model.dispose();
  }
  // A fine-tuned adapter may carry its own chat template or tokenizer settings: those win over the base's.
  for (const f of TOKENIZER_FILES)
    if (existsSync(join(adapterDir, f))) copyFileSync(join(adapterDir, f), join(out, f));
  console.log(`merge: ${adapterDir} folded into ${base}; model written to ${out}`);
}
