import { existsSync } from "node:fs";
import { join } from "node:path";
import { generate } from "../../generate/generate.js";
import { loadModel } from "../../model/loadModel.js";
import { attachAdapter } from "../../model/lora.js";
import { loadAdapter } from "../../model/loraFiles.js";
import { loadTokenizer } from "../../tokenize/tokenizer.js";
import { optionalNumber, parseCommandArgs, parseIdList, requireString } from "../args.js";
import { UsageError } from "../errors.js";
import { MODEL_PLACEMENT_FLAGS, MODEL_PLACEMENT_HELP, modelPlacement } from "../modelPlacement.js";
import { checkLocalModel } from "../preflight.js";

export const generateHelp = `safetune generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3) [options]

Generates a continuation (or a chat reply with --chat) with the model in DIR.

  --model DIR             Hugging Face model folder (config.json, model.safetensors, tokenizer.json)
  --adapter DIR           PEFT LoRA adapter to apply
  --prompt TEXT           text prompt (needs the folder's tokenizer)
  --prompt-ids IDS        comma-separated token ids (no tokenizer needed)
  --chat                  render the prompt as a user message through the chat template
  --template NAME         chat template to use: the tokenizer's, or alpaca | chatml | llama2 | mistral | llama3
  --system TEXT           system message (with --chat)
  --max-new-tokens N      most tokens to generate (default 64)
  --temperature T         0 = greedy (default); > 0 samples
  --top-k K               sample among the K most likely tokens
  --top-p P               nucleus sampling threshold in (0, 1]
  --repetition-penalty R  > 1 discourages repeats
  --stop TEXT             stop when TEXT appears (repeatable)
  --ignore-eos            keep going past end-of-sequence tokens
  --seed S                sampling seed
${MODEL_PLACEMENT_HELP}
  --json                  print {"tokens": [...], "text": "..."} instead of streaming text
  --verbose               show stack traces on errors`;

export async function generateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    {
      model: { type: "string" },
      adapter: { type: "string" },
      prompt: { type: "string" },
      "prompt-ids": { type: "string" },
      chat: { type: "boolean" },
      template: { type: "string" },
      system: { type: "string" },
      "max-new-tokens": { type: "string" },
      temperature: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      "repetition-penalty": { type: "string" },
      stop: { type: "string", multiple: true },
      "ignore-eos": { type: "boolean" },
      seed: { type: "string" },
      ...MODEL_PLACEMENT_FLAGS,
      json: { type: "boolean" },
    },
    "generate",
  );
  if (values.help) {
    console.log(generateHelp);
    return;
  }
  const modelDir = requireString(values.model, "model", "generate");
  if ((values.prompt === undefined) === (values["prompt-ids"] === undefined)) {
    throw new UsageError("generate: give exactly one of --prompt TEXT or --prompt-ids 1,2,3");
  }
  const placement = modelPlacement(values);
  const options = {
    maxNewTokens: optionalNumber(values["max-new-tokens"], "max-new-tokens", { integer: true, min: 0 }) ?? 64,
    temperature: optionalNumber(values.temperature, "temperature", { min: 0 }) ?? 0,
    topK: optionalNumber(values["top-k"], "top-k", { integer: true, min: 0 }),
    topP: optionalNumber(values["top-p"], "top-p", { min: 0, max: 1 }),
    repetitionPenalty: optionalNumber(values["repetition-penalty"], "repetition-penalty", { min: 0 }),
    seed: optionalNumber(values.seed, "seed", { integer: true, min: 0 }),
    stopStrings: values.stop,
    stopTokenIds: values["ignore-eos"] ? [] : undefined,
    chat: values.chat === true,
    template: values.template,
    system: values.system,
  };
  const promptIds =
    values["prompt-ids"] === undefined ? undefined : parseIdList(values["prompt-ids"], "prompt-ids");
  // The folders and the chat template before the model loads (tens of seconds at real sizes).
  await checkLocalModel({ model: modelDir, adapter: values.adapter });
  const hasTokenizer = existsSync(join(modelDir, "tokenizer.json"));
  if (!promptIds && !hasTokenizer)
    throw new UsageError(
      `generate: ${join(modelDir, "tokenizer.json")} is missing; use --prompt-ids to generate without a tokenizer`,
    );
  if (options.chat && hasTokenizer)
    await checkLocalModel({ model: modelDir, template: options.template ?? null });

  // The tokenizer before the weights: parsing a large tokenizer.json leaves garbage on the JS heap that the
  // collector can take back before the weights arrive, instead of adding to the peak on top of them.
  const tokenizer = hasTokenizer ? await loadTokenizer(modelDir) : undefined;
  const model = loadModel(modelDir, placement);
  if (values.adapter) attachAdapter(model, loadAdapter(values.adapter, model));
  const stream = !values.json && tokenizer !== undefined;
  const result = await generate(model, tokenizer, promptIds ?? (values.prompt as string), {
    ...options,
    onToken: stream ? (e) => process.stdout.write(e.text) : undefined,
  });
  if (values.json) {
    console.log(
      JSON.stringify({ tokens: result.tokens, text: result.text, finish_reason: result.finishReason }),
    );
  } else if (stream) {
    process.stdout.write("\n");
  } else {
    console.log(result.tokens.join(","));
  }
  model.dispose();
}
