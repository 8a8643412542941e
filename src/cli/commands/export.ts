import { statSync } from "node:fs";
import { exportGguf } from "../../export/exportGguf.js";
import type { GgufWeightType } from "../../export/ggufTensors.js";
import { parseCommandArgs, requireString } from "../args.js";
import { UsageError } from "../errors.js";
import { modelPlacement } from "../modelPlacement.js";
import { checkAdapterFolder, checkWritableFile } from "../preflight.js";

export const exportHelp = `safetune export gguf --model DIR --out FILE.gguf [options]

Writes a Hugging Face model folder (Llama, Qwen2 or GPT-2 with a byte-level BPE tokenizer.json) as one
GGUF v3 file for llama.cpp, Ollama and LM Studio: weights under llama.cpp's tensor names, the
hyperparameters, the tokenizer and the chat template.

  --model DIR      Hugging Face model folder (config.json, model.safetensors, tokenizer.json)
  --adapter DIR    PEFT LoRA adapter to merge into the weights before writing
  --out FILE       the .gguf file to write (replaced atomically)
  --dtype T        f32 (default, exact), f16 (2-D weight matrices in half precision; norms and biases stay f32)
                   or q8_0 (llama.cpp's 8-bit blocks of 32 with an f16 scale, rows not a multiple of 32 stay f16)
  --name NAME      general.name in the file (default: the model folder's name)
  --device D       where the weights are loaded and an adapter merged: cpu (default), cuda or cuda:N
  --verbose        show stack traces on errors

Ollama: a Modelfile with the line "FROM ./FILE.gguf", then "ollama create NAME -f Modelfile".`;

const FORMATS = ["gguf"];

export async function exportCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      model: { type: "string" },
      adapter: { type: "string" },
      out: { type: "string" },
      dtype: { type: "string" },
      name: { type: "string" },
      device: { type: "string" },
    },
    "export",
    { positionals: true },
  );
  if (values.help) {
    console.log(exportHelp);
    return;
  }
  const [format, ...extra] = positionals;
  if (format === undefined || !FORMATS.includes(format) || extra.length > 0)
    throw new UsageError(
      `export: expected a format (${FORMATS.join(", ")}), got '${positionals.join(" ")}' (see safetune export --help)`,
    );
  const model = requireString(values.model, "model", "export");
  const out = requireString(values.out, "out", "export");
  const dtype = values.dtype ?? "f32";
  if (dtype !== "f32" && dtype !== "f16" && dtype !== "q8_0")
    throw new UsageError(`--dtype: expected f32, f16 or q8_0, got '${dtype}' (see safetune export --help)`);
  const { device } = modelPlacement({ device: values.device });
  // The output path and the adapter before the weights are read (exportGguf checks the model folder first too).
  checkWritableFile(out);
  if (values.adapter !== undefined) checkAdapterFolder(values.adapter);
  const result = exportGguf(model, out, {
    adapter: values.adapter,
    dtype: dtype as GgufWeightType,
    name: values.name,
    ...(device === undefined ? {} : { device }),
  });
  for (const warning of result.warnings) console.error(`safetune: warning: ${warning}`);
  const megabytes = (statSync(result.path).size / 1e6).toFixed(1);
  console.log(
    `wrote ${result.path} (${result.architecture}, ${result.tensors} tensors, ${dtype}, ${megabytes} MB)`,
  );
}
