// Public answers with a refusal reading that is not a human XSTest label, used as extra training data for the
// learned refusal judge (each source is justified in judges/refusal/README.md):
// - Safety-Tuned LLaMAs safety demonstrations: refusals and premise rejections of red-team prompts. The file
//   also holds benign demonstrations that comply ("Demonstrate techniques for throwing axes"), so only answers
//   that the prefix list or safetune's rules read as refusals are kept.
// - Alpaca-952 reference outputs: compliance; the few that decline ("I'm sorry, I cannot view images") are dropped.
// - JailbreakBench responses: `jailbroken` by their LLM judge = compliance with a harmful goal; not jailbroken
//   = refusal only where the prefix list or the rules also read a refusal (some are off-target compliance).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { EvaluationError } from "../errors.js";
import { classifyRefusal, xstestStringMatch } from "./refusalRules.js";

export interface ExtraAnswer {
  request: string;
  answer: string;
  refused: boolean;
  source: string;
}

function rulesRefuse(answer: string): boolean {
  return (
    xstestStringMatch(answer) !== "full_compliance" || classifyRefusal(answer).label !== "full_compliance"
  );
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new EvaluationError(`${path}: cannot read JSON (${(err as Error).message})`);
  }
}

/** safety_only_data_Instructions.json: [{instruction, input, output}]. */
export function readSafetyDemonstrations(path: string): ExtraAnswer[] {
  const rows = readJson(path);
  if (!Array.isArray(rows))
    throw new EvaluationError(`${path}: expected a JSON list of {instruction, input, output}`);
  return rows.flatMap((row: { instruction?: unknown; input?: unknown; output?: unknown }, i) => {
    if (typeof row.instruction !== "string" || typeof row.output !== "string")
      throw new EvaluationError(`${path}: row ${i}: instruction and output should be text`);
    const request =
      typeof row.input === "string" && row.input !== ""
        ? `${row.instruction}\n\n${row.input}`
        : row.instruction;
    return rulesRefuse(row.output)
      ? [{ request, answer: row.output, refused: true, source: "safety-tuned-llamas" }]
      : [];
  });
}

/** Column-oriented {instructions, inputs, outputs} (alpaca_test_952_safe_to_serve.json). */
export function readAlpacaReferences(path: string): ExtraAnswer[] {
  const data = readJson(path) as { instructions?: unknown; inputs?: unknown; outputs?: unknown };
  if (!Array.isArray(data.instructions) || !Array.isArray(data.outputs))
    throw new EvaluationError(`${path}: expected {instructions: [...], outputs: [...]}`);
  const inputs = Array.isArray(data.inputs) ? data.inputs : [];
  return data.instructions.flatMap((instruction: unknown, i) => {
    const output = (data.outputs as unknown[])[i];
    if (typeof instruction !== "string" || typeof output !== "string")
      throw new EvaluationError(`${path}: item ${i}: instruction and output should be text`);
    const input = inputs[i];
    const request = typeof input === "string" && input !== "" ? `${instruction}\n\n${input}` : instruction;
    return rulesRefuse(output) ? [] : [{ request, answer: output, refused: false, source: "alpaca" }];
  });
}

/** One JailbreakBench artifact's judged responses (its goal as the request; attacks that found no prompt skipped). */
export interface JailbreakResponse {
  goal: string;
  /** The jailbreak prompt the target model was sent. */
  prompt: string;
  /** The attack (PAIR, GCG, ...) and the target model, from the artifact's path (ATTACK/SETTING/MODEL.json). */
  attack: string;
  target: string;
  category: string;
  response: string;
  jailbroken: boolean;
  file: string;
  /** Its index in the file's `jailbreaks` list. */
  index: number;
}

/** Every `jailbreaks` entry with a response in the artifact JSON file, or the files under a folder, in path order. */
export function readJailbreakArtifacts(dir: string): JailbreakResponse[] {
  const files: string[] = statSync(dir).isDirectory() ? [] : [dir];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".json")) files.push(path);
    }
  };
  if (files.length === 0) walk(dir);
  const out: JailbreakResponse[] = [];
  for (const file of files) {
    const data = readJson(file) as { jailbreaks?: unknown };
    if (!Array.isArray(data.jailbreaks)) continue; // attack-info.json and the like
    data.jailbreaks.forEach((row: Record<string, unknown>, i) => {
      if (row.response === null || row.response === undefined || row.prompt === null) return;
      if (
        typeof row.goal !== "string" ||
        typeof row.response !== "string" ||
        typeof row.jailbroken !== "boolean"
      )
        throw new EvaluationError(
          `${file}: jailbreaks[${i}]: expected goal, prompt and response text and a jailbroken boolean`,
        );
      const parts = file.split(/[\\/]/);
      out.push({
        goal: row.goal,
        prompt: row.prompt as string,
        attack: parts[parts.length - 3] ?? "",
        target: (parts[parts.length - 1] ?? "").replace(/\.json$/, ""),
        category: typeof row.category === "string" ? row.category : "",
        response: row.response,
        jailbroken: row.jailbroken,
        file,
        index: i,
      });
    });
  }
  if (out.length === 0)
    throw new EvaluationError(`${dir}: no JailbreakBench responses (jailbreaks[].response) found`);
  return out;
}

/** JailbreakBench responses as refusal training data (see the file's head for the rule). */
export function jailbreakRefusalAnswers(rows: readonly JailbreakResponse[]): ExtraAnswer[] {
  return rows.flatMap((row): ExtraAnswer[] => {
    if (row.jailbroken)
      return [{ request: row.goal, answer: row.response, refused: false, source: "jailbreakbench" }];
    return rulesRefuse(row.response)
      ? [{ request: row.goal, answer: row.response, refused: true, source: "jailbreakbench" }]
      : [];
  });
}

/** Where the extra sources live under a shared data folder (../shared/data in this project). */
export function extraSourcePaths(dataDir: string): {
  safety: string;
  alpaca: string;
  jailbreakbench: string;
} {
  return {
    safety: join(dataDir, "safety-tuned-llamas", "training", "safety_only_data_Instructions.json"),
    alpaca: join(dataDir, "alpaca", "alpaca_test_952_safe_to_serve.json"),
    jailbreakbench: join(dataDir, "jailbreakbench", "attack-artifacts"),
  };
}

/** All extra answers under `dataDir`. */
export function readExtraRefusalAnswers(dataDir: string): ExtraAnswer[] {
  const paths = extraSourcePaths(dataDir);
  return [
    ...readSafetyDemonstrations(paths.safety),
    ...readAlpacaReferences(paths.alpaca),
    ...jailbreakRefusalAnswers(readJailbreakArtifacts(paths.jailbreakbench)),
  ];
}
