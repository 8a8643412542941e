// One evaluation assembled from a spec: the suite's benchmarks (limited, attacked), the judges, who answers (a
// local model or replicas of one served model) and the adaptive attacker. `safetune eval` and the pipeline's eval
// stage both build their run here, so a setting one of them supports the other gets too.
import { resolve } from "node:path";
import { EndpointPool, type EndpointPoolOptions } from "../endpoint/endpointPool.js";
import type { DType } from "../engine/dtype.js";
import type { Answerer } from "./answer/answerer.js";
import { EndpointAnswerer } from "./answer/endpointAnswerer.js";
import { LocalAnswerer } from "./answer/localAnswerer.js";
import { applyAttacks } from "./attacks/applyAttacks.js";
import type { PairBudget } from "./attacks/pairAttack.js";
import { parseAttackList } from "./attacks/registry.js";
import { loadBenchmark, resolveBenchmarkSpec } from "./benchmarks/loadBenchmark.js";
import type { Suite } from "./benchmarks/suite.js";
import { EvaluationError } from "./errors.js";
import { createJudges } from "./judges/createJudge.js";
import type { Judge } from "./judges/judge.js";
import type { JudgeSpec } from "./judges/judgeSpec.js";
import type { GenerationSettings } from "./results.js";
import type { Benchmark } from "./types.js";

/** Who answers: a local model folder (plus adapter), or the replicas of one served model. */
export type AnswererSpec =
  | {
      kind: "local";
      model: string;
      adapter?: string;
      dtype?: DType;
      device?: string;
      quantize?: "int8" | "nf4";
    }
  | ({ kind: "endpoint" } & EndpointPoolOptions);

/** The generation settings a user may choose; the rest come from GENERATION_DEFAULTS. */
export type GenerationChoices = Partial<GenerationSettings>;

/** Defaults of the answerers' generation settings (recorded in results.json and in every cache key). */
export const GENERATION_DEFAULTS = {
  /** Longest answer in tokens. */
  maxNewTokens: 256,
  /** 0: greedy decoding. */
  temperature: 0,
  /** The sampling seed of the first prompt (prompt i samples with seed + i). */
  seed: 0,
  /** Prompts decoded together by the local engine (an endpoint answers one prompt per request). */
  batchSize: 8,
} as const;

/** The attacker of the adaptive (PAIR-style) attack: a model behind an OpenAI-compatible endpoint. */
export interface AdaptiveAttackSpec extends PairBudget {
  endpoint: EndpointPoolOptions;
  /** The attacker's sampling (its template is always the server's). */
  maxNewTokens: number;
  temperature: number;
  seed: number;
}

export interface EvaluationSpec {
  suite: Suite;
  /** Folder of the public benchmark files (default: the suite's dataDir, then $SAFETUNE_DATA, then ./data). */
  dataDir?: string;
  /** At most this many prompts per benchmark (a benchmark's own limit wins). */
  limit?: number;
  /** Attack names or "all" (comma-separated lists allowed), replacing the suite's attacks. */
  attacks?: readonly string[];
  /** How the attack list is named in error messages (default "--attacks"). */
  attacksField?: string;
  /** The judges, replacing the suite's (default: the suite's, else the safetune refusal rules). */
  judges?: readonly JudgeSpec[];
  /** The judge that headlines tables and charts (default: the first). */
  primaryJudge?: string;
  answerer: AnswererSpec;
  generation: GenerationChoices;
  adaptive?: AdaptiveAttackSpec;
  /**
   * Checks that must pass before anything slow loads (judges, the model): run after the benchmarks are read and
   * the settings resolved (the CLI's folder and template pre-flight).
   */
  beforeLoading?: (settings: GenerationSettings) => void | Promise<void>;
  /** Aborts the served-model check of an endpoint. */
  signal?: AbortSignal;
}

/** What runEval needs besides where to write, ready to run; dispose() frees the models and connections. */
export interface Evaluation {
  benchmarks: Benchmark[];
  judges: Judge[];
  answerer: Answerer;
  settings: GenerationSettings;
  primaryJudge?: string;
  adaptive?: PairBudget & { attacker: Answerer };
  dispose(): void;
}

/** The judges a suite gets when neither it nor the caller names any. */
export const DEFAULT_JUDGES: readonly JudgeSpec[] = [{ kind: "refusal", rules: "safetune" }];

/**
 * Builds the evaluation in the order that fails cheapest first: benchmarks and settings, the caller's
 * pre-flight, then the judges, the attacker and the answerer (the model or the endpoints' served-model check).
 */
export async function buildEvaluation(spec: EvaluationSpec): Promise<Evaluation> {
  const benchmarks = await loadSuiteBenchmarks(spec);
  const judgeSpecs = spec.judges ?? spec.suite.judges ?? DEFAULT_JUDGES;
  const settings = generationSettings(spec.generation, spec.answerer.kind);
  await spec.beforeLoading?.(settings);

  const loaded: { dispose(): void }[] = [];
  const disposeAll = () => {
    for (const thing of loaded.reverse()) thing.dispose();
  };
  try {
    const judges = await createJudges(judgeSpecs);
    loaded.push(...judges);
    checkPrimaryJudge(spec.primaryJudge, judges);
    const adaptive = spec.adaptive && adaptiveAttacker(spec.adaptive);
    if (adaptive) loaded.push(adaptive.attacker);
    const answerer = await loadAnswerer(spec.answerer, settings, spec.signal);
    loaded.push(answerer);
    return {
      benchmarks,
      judges,
      answerer,
      settings,
      ...(spec.primaryJudge === undefined ? {} : { primaryJudge: spec.primaryJudge }),
      ...(adaptive === undefined ? {} : { adaptive }),
      dispose: disposeAll,
    };
  } catch (err) {
    disposeAll();
    throw err;
  }
}

/** The suite's benchmarks read from disk, each limited to `limit` prompts, then the attacked copies appended. */
async function loadSuiteBenchmarks(spec: EvaluationSpec): Promise<Benchmark[]> {
  const { suite, limit } = spec;
  const dataDir = resolve(spec.dataDir ?? suite.dataDir ?? process.env.SAFETUNE_DATA ?? "data");
  const benchmarks: Benchmark[] = [];
  for (const benchmark of suite.benchmarks) {
    const limited =
      limit === undefined || benchmark.limit !== undefined ? benchmark : { ...benchmark, limit };
    benchmarks.push(await loadBenchmark(resolveBenchmarkSpec(limited, { dataDir, baseDir: suite.baseDir })));
  }
  const attackList = spec.attacks ?? suite.attacks;
  if (attackList === undefined) return benchmarks;
  return applyAttacks(benchmarks, parseAttackList(attackList, spec.attacksField));
}

/**
 * The full generation settings from the user's choices: GENERATION_DEFAULTS, the model's own template for a
 * local model and the server's for an endpoint, and one prompt per request to an endpoint.
 */
export function generationSettings(
  choices: GenerationChoices,
  answerer: AnswererSpec["kind"],
): GenerationSettings {
  const local = answerer === "local";
  const template = choices.template ?? "model";
  return {
    maxNewTokens: choices.maxNewTokens ?? GENERATION_DEFAULTS.maxNewTokens,
    temperature: choices.temperature ?? GENERATION_DEFAULTS.temperature,
    seed: choices.seed ?? GENERATION_DEFAULTS.seed,
    // A server renders its own model's template: recorded as "server".
    template: !local && template === "model" ? "server" : template,
    batchSize: local ? (choices.batchSize ?? GENERATION_DEFAULTS.batchSize) : 1,
    ...(choices.topP === undefined ? {} : { topP: choices.topP }),
    ...(choices.system === undefined ? {} : { system: choices.system }),
  };
}

function checkPrimaryJudge(name: string | undefined, judges: readonly Judge[]): void {
  if (name === undefined || judges.some((j) => j.identity.name === name)) return;
  throw new EvaluationError(
    `primary judge: no judge is named "${name}" (judges: ${judges.map((j) => j.identity.name).join(", ")})`,
  );
}

function adaptiveAttacker(spec: AdaptiveAttackSpec): PairBudget & { attacker: Answerer } {
  const { endpoint, maxNewTokens, temperature, seed, ...budget } = spec;
  const settings: GenerationSettings = { maxNewTokens, temperature, seed, template: "server", batchSize: 1 };
  return { attacker: new EndpointAnswerer(EndpointPool.create(endpoint), settings), ...budget };
}

async function loadAnswerer(
  spec: AnswererSpec,
  settings: GenerationSettings,
  signal: AbortSignal | undefined,
): Promise<Answerer> {
  if (spec.kind === "local") {
    return LocalAnswerer.load({
      model: spec.model,
      ...(spec.adapter === undefined ? {} : { adapter: spec.adapter }),
      ...(spec.dtype === undefined ? {} : { dtype: spec.dtype }),
      ...(spec.device === undefined ? {} : { device: spec.device }),
      ...(spec.quantize === undefined ? {} : { quantize: spec.quantize }),
      settings,
    });
  }
  const { kind: _, ...poolOptions } = spec;
  const pool = EndpointPool.create(poolOptions);
  const answerer = new EndpointAnswerer(pool, settings);
  try {
    await pool.checkServedModel(signal);
  } catch (err) {
    answerer.dispose();
    throw err;
  }
  return answerer;
}

/** The API key named by `envName` (default OPENAI_API_KEY, when set); a named variable that is unset is an error. */
export function apiKeyFromEnv(envName: string | undefined, field = "--api-key-env"): string | undefined {
  const key = process.env[envName ?? "OPENAI_API_KEY"];
  if (envName !== undefined && key === undefined)
    throw new EvaluationError(`${field}: environment variable ${envName} is not set`);
  return key;
}
