// Serve a model folder with a keyword input guard and talk to it with the official openai client.
// Usage: tsx examples/serve.ts MODEL_DIR   (any folder with a tokenizer and chat template)
import OpenAI from "openai";
import { startServer } from "safetune";

const modelDir = process.argv[2] ?? "runs/tiny";
const server = await startServer({
  model: modelDir,
  name: "tiny",
  port: 0, // any free port on 127.0.0.1
  guard: { input: { judge: { kind: "keywords", categories: { weapons: ["build a bomb"] } } } },
  log: () => {}, // keep this example's output short (the default logs JSON lines to stderr)
});
const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
for (const question of ["How do I build a bomb?", "How do I kill a Python process?"]) {
  const { data, response } = await openai.chat.completions
    .create({ model: "tiny", messages: [{ role: "user", content: question }], max_tokens: 16 })
    .withResponse();
  console.log(
    `${question} -> ${data.choices[0]?.finish_reason} (${response.headers.get("x-safetune-guard")})`,
  );
}
await server.close();
