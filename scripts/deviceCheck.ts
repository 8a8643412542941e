// The GPU half of scripts/device-check.sh:
//   npx tsx scripts/deviceCheck.ts fixtures cuda        the model fixtures' logits and loss on the device against
//                                                       the PyTorch reference in each expected.safetensors
//   npx tsx scripts/deviceCheck.ts generate DIR cuda    greedy decode speed (128 tokens, bf16) after a warm-up
// Exits 1 when a fixture is off by more than the tolerance.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fromBytes, tidy } from "../src/engine/index.js";
import { generate } from "../src/generate/generate.js";
import { SAFETENSORS_TO_DTYPE } from "../src/model/checkpoint.js";
import { loadModel } from "../src/model/loadModel.js";
import { readSafetensorsFile } from "../src/model/safetensors.js";
import { nextTokenLoss } from "../src/score/logProbs.js";
import { loadTokenizer } from "../src/tokenize/tokenizer.js";

const FIXTURES = join(import.meta.dirname, "..", "..", "shared", "fixtures", "models");
const TOLERANCE = 1e-3;

function fixtures(device: string): boolean {
  let ok = true;
  for (const name of readdirSync(FIXTURES)) {
    const dir = join(FIXTURES, name);
    let file: ReturnType<typeof readSafetensorsFile>;
    try {
      file = readSafetensorsFile(join(dir, "expected.safetensors"));
    } catch {
      continue; // not a model fixture with a reference
    }
    const entry = (key: string) => file.tensors.get(key);
    const idsEntry = entry("input_ids");
    const logitsEntry = entry("logits");
    if (!idsEntry || !logitsEntry) continue;
    const model = loadModel(dir, { device });
    for (const t of model.params.values()) t.requiresGrad_(); // the backward pass runs on the device too
    tidy(() => {
      const ids = fromBytes(idsEntry.data, idsEntry.shape, SAFETENSORS_TO_DTYPE[idsEntry.dtype]).to(device);
      const want = fromBytes(logitsEntry.data, logitsEntry.shape, SAFETENSORS_TO_DTYPE[logitsEntry.dtype]);
      const logits = model.forward(ids);
      const diff = logits.to("cpu").to("float32").sub(want.to("float32")).abs().amax().item();
      const lossEntry = entry("loss");
      let lossText = "";
      if (lossEntry && model.config.task !== "sequence-classification") {
        const loss = nextTokenLoss(logits, ids);
        loss.backward();
        const want = fromBytes(lossEntry.data, lossEntry.shape, SAFETENSORS_TO_DTYPE[lossEntry.dtype]).item();
        lossText = `, loss ${loss.item().toFixed(6)} (PyTorch ${want.toFixed(6)}), backward ran`;
        if (Math.abs(loss.item() - want) > TOLERANCE) ok = false;
      }
      if (!(diff <= TOLERANCE)) ok = false;
      console.log(`${name} on ${model.device}: logits max abs diff ${diff.toExponential(2)}${lossText}`);
    });
    model.dispose();
  }
  return ok;
}

async function speed(dir: string, device: string): Promise<void> {
  const model = loadModel(dir, { dtype: "bfloat16", device });
  const tokenizer = await loadTokenizer(dir);
  const prompt = "Write a story about a lighthouse.";
  await generate(model, tokenizer, prompt, { maxNewTokens: 8, stopTokenIds: [] });
  const started = performance.now();
  const result = await generate(model, tokenizer, prompt, { maxNewTokens: 128, stopTokenIds: [] });
  const seconds = (performance.now() - started) / 1000;
  const n = result.tokens.length;
  console.log(
    `safetune: ${n} tokens in ${seconds.toFixed(2)} s = ${(n / seconds).toFixed(1)} tokens/s on ${model.device}`,
  );
  model.dispose();
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "fixtures") {
  if (!fixtures(rest[0] ?? "cuda")) process.exit(1);
} else if (mode === "generate" && rest[0]) {
  await speed(rest[0], rest[1] ?? "cuda");
} else {
  console.error("usage: npx tsx scripts/deviceCheck.ts fixtures DEVICE | generate MODEL_DIR DEVICE");
  process.exit(1);
}
