// Load a Hugging Face model folder and chat with it: `npx tsx examples/quickstart.ts runs/tiny`
import { generate, loadModel, loadTokenizer } from "../src/index.js";

const dir = process.argv[2] ?? "runs/tiny";
const model = loadModel(dir);
const tokenizer = await loadTokenizer(dir);
const result = await generate(model, tokenizer, "Hello", {
  chat: true,
  maxNewTokens: 8,
  temperature: 0.7,
  seed: 1,
});
console.log(
  `${result.tokens.length} tokens, finish: ${result.finishReason}, prompt: ${result.promptTokens} tokens`,
);
model.dispose();
