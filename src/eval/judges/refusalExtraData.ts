// Public answers with a refusal reading that is not a human XSTest label, used as extra training data for the
// learned refusal judge (each source is justified in judges/refusal/README.md):
// - Safety-Tuned LLaMAs safety demonstrations: refusals and premise rejections of red-team prompts. The file
//   also holds benign demonstrations that comply ("Demonstrate techniques for throwing axes"), so only answers
//   that the prefix list or safetune's rules read as refusals are kept.
// - Alpaca-952 reference outputs: compliance; the few that decline ("I'm sorry, I cannot view images") are dropped.
// - JailbreakBench responses: `jailbroken` by their LLM judge = compliance with a harmful goal; not jailbroken
//   = refusal only where the prefix list or the rules also read a refusal (some are off-target compliance).
// - PKU-SafeRLHF eval pairs' less safe answers (`rejected`) that neither the prefix list nor the rules read as a
//   refusal: compliance on harmful topics, which the other sources lack (their harmful-topic answers are all
//   refusals). Prompts that the test file shares are left out. Only recipes that name it use it.
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
  /** Llama Guard 1's reading of the same response (`jailbroken_llama_guard1`), where the artifact has one. */
  llamaGuard1?: boolean;
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
        ...(typeof row.jailbroken_llama_guard1 === "boolean"
          ? { llamaGuard1: row.jailbroken_llama_guard1 }
          : {}),
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

function readPairs(path: string): { prompt: string; rejected: string }[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new EvaluationError(`${path}: cannot read (${(err as Error).message})`);
  }
  return text
    .split("\n")
    .flatMap((line, i) => (line.trim() === "" ? [] : [{ line, i }]))
    .map(({ line, i }) => {
      let row: { prompt?: unknown; rejected?: unknown };
      try {
        row = JSON.parse(line);
      } catch (err) {
        throw new EvaluationError(`${path}:${i + 1}: not JSON (${(err as Error).message})`);
      }
      if (typeof row.prompt !== "string" || typeof row.rejected !== "string")
        throw new EvaluationError(`${path}:${i + 1}: expected prompt and rejected text`);
      return { prompt: row.prompt, rejected: row.rejected };
    });
}

/**
 * PKU-SafeRLHF's less safe answers in `evalPath` that no rule reads as a refusal, as compliance; pairs whose
 * prompt occurs in `testPath` are left out, and each answer is kept once.
 */
export function readPkuCompliance(evalPath: string, testPath: string): ExtraAnswer[] {
  const testPrompts = new Set(readPairs(testPath).map((r) => r.prompt));
  const seen = new Set<string>();
  return readPairs(evalPath).flatMap((r): ExtraAnswer[] => {
    if (testPrompts.has(r.prompt) || seen.has(r.rejected)) return [];
    seen.add(r.rejected);
    return rulesRefuse(r.rejected)
      ? []
      : [{ request: r.prompt, answer: r.rejected, refused: false, source: PKU_SOURCE }];
  });
}

/** The source name of the PKU-SafeRLHF compliance answers (used only by recipes that name it). */
export const PKU_SOURCE = "pku-saferlhf";

/** The sources every recipe uses unless it names its own. */
export const DEFAULT_EXTRA_SOURCES: readonly string[] = ["safety-tuned-llamas", "alpaca", "jailbreakbench"];

/** Where the extra sources live under a shared data folder (../shared/data in this project). */
export function extraSourcePaths(dataDir: string): {
  safety: string;
  alpaca: string;
  jailbreakbench: string;
  pkuEval: string;
  pkuTest: string;
} {
  return {
    safety: join(dataDir, "safety-tuned-llamas", "training", "safety_only_data_Instructions.json"),
    alpaca: join(dataDir, "alpaca", "alpaca_test_952_safe_to_serve.json"),
    jailbreakbench: join(dataDir, "jailbreakbench", "attack-artifacts"),
    pkuEval: join(dataDir, "pku-saferlhf", "DPO_safe_rlhf_eval_data.jsonl"),
    pkuTest: join(dataDir, "pku-saferlhf", "DPO_safe_rlhf_test_data.jsonl"),
  };
}

/** The extra answers of `sources` under `dataDir` (default: the three every recipe uses). */
export function readExtraRefusalAnswers(
  dataDir: string,
  sources: readonly string[] = DEFAULT_EXTRA_SOURCES,
): ExtraAnswer[] {
  const paths = extraSourcePaths(dataDir);
  const want = new Set(sources);
  for (const s of want)
    if (!DEFAULT_EXTRA_SOURCES.includes(s) && s !== PKU_SOURCE)
      throw new EvaluationError(`unknown extra source '${s}'`);
  return [
    ...(want.has("safety-tuned-llamas") ? readSafetyDemonstrations(paths.safety) : []),
    ...(want.has("alpaca") ? readAlpacaReferences(paths.alpaca) : []),
    ...(want.has("jailbreakbench")
      ? jailbreakRefusalAnswers(readJailbreakArtifacts(paths.jailbreakbench))
      : []),
    ...(want.has(PKU_SOURCE) ? readPkuCompliance(paths.pkuEval, paths.pkuTest) : []),
  ];
}
