import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkpointFiles } from "../../model/checkpoint.js";
import { architectureName } from "../../model/config.js";
import { readModelConfig } from "../../model/loadModel.js";
import { checkWeightsMatchConfig, readWeightHeaders } from "../../model/weightsMatchConfig.js";
import { loadTokenizer } from "../../tokenize/tokenizer.js";
import { parseCommandArgs, requireString } from "../args.js";

export const inspectHelp = `safetune inspect --model DIR [--json]

Prints a model folder's architecture, parameter count, dtypes on disk and the chat template found,
reading only the safetensors headers (fast on large models; no engine needed).`;

export interface ModelSummary {
  architecture: string;
  modelType: string;
  task: string;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  parameters: number;
  dtypes: Record<string, number>;
  files: string[];
  tokenizer: boolean;
  chatTemplate: string | undefined;
}

export async function summariseModel(dir: string): Promise<ModelSummary> {
  const config = readModelConfig(dir);
  const headers = readWeightHeaders(dir);
  checkWeightsMatchConfig(dir, config, headers);
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  for (const entry of headers.values()) {
    const n = entry.shape.reduce((a, b) => a * b, 1);
    parameters += n;
    dtypes[entry.dtype] = (dtypes[entry.dtype] ?? 0) + n;
  }
  const files = checkpointFiles(dir);
  const hasTokenizer = existsSync(join(dir, "tokenizer.json"));
  let chatTemplate: string | undefined;
  if (hasTokenizer) chatTemplate = (await loadTokenizer(dir)).chatTemplate;
  else if (existsSync(join(dir, "chat_template.jinja")))
    chatTemplate = readFileSync(join(dir, "chat_template.jinja"), "utf8");
  return {
    architecture: architectureName(config),
    modelType: config.modelType,
    task: config.task,
    layers: config.numLayers,
    hiddenSize: config.hiddenSize,
    heads: config.numHeads,
    kvHeads: config.family === "llama" ? config.numKvHeads : config.numHeads,
    vocabSize: config.vocabSize,
    parameters,
    dtypes,
    files: files.map((f) => f.slice(dir.length).replace(/^\//, "")),
    tokenizer: hasTokenizer,
    chatTemplate,
  };
}

export async function inspectCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    { model: { type: "string" }, json: { type: "boolean" } },
    "inspect",
  );
  if (values.help) {
    console.log(inspectHelp);
    return;
  }
  const dir = requireString(values.model, "model", "inspect");
  const s = await summariseModel(dir);
  if (values.json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  const dtypeText = Object.entries(s.dtypes)
    .map(([d, n]) => `${d} (${formatCount(n)})`)
    .join(", ");
  console.log(`architecture   ${s.architecture} (${s.modelType}, ${s.task})`);
  console.log(
    `layers         ${s.layers} x hidden ${s.hiddenSize}, ${s.heads} heads (${s.kvHeads} key/value)`,
  );
  console.log(`vocabulary     ${s.vocabSize}`);
  console.log(`parameters     ${formatCount(s.parameters)} (${s.parameters})`);
  console.log(`dtypes         ${dtypeText}`);
  console.log(`weights        ${s.files.join(", ")}`);
  console.log(`tokenizer      ${s.tokenizer ? "tokenizer.json" : "none"}`);
  if (s.chatTemplate) {
    console.log("chat template:");
    console.log(s.chatTemplate.trimEnd().replace(/^/gm, "  "));
  } else {
    console.log("chat template  none (use --template alpaca|chatml|... when chatting)");
  }
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
