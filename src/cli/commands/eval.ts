// `safetune eval`: a model (local or behind an endpoint) on a suite of benchmarks, judged, with intervals;
// `safetune eval compare A B`: paired differences and McNemar's test between two runs, or between two seed groups.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { EndpointAnswerer } from "../../eval/answer/endpointAnswerer.js";
import { ATTACK_NAMES, findAttack } from "../../eval/attacks/registry.js";
import { BUILTIN_BENCHMARKS } from "../../eval/benchmarks/builtinBenchmarks.js";
import { jailbreakBenchNames } from "../../eval/benchmarks/jailbreakBenchmarks.js";
import { BUILTIN_SUITES, loadSuite, type Suite } from "../../eval/benchmarks/suite.js";
import {
  type AnswererSpec,
  apiKeyFromEnv,
  buildEvaluation,
  type Evaluation,
  type EvaluationSpec,
  GENERATION_DEFAULTS,
  type GenerationChoices,
} from "../../eval/buildEvaluation.js";
import {
  compareGroups,
  compareRuns,
  comparisonMarkdown,
  groupComparisonMarkdown,
} from "../../eval/compare.js";
import { EvalInterrupted, EvaluationError } from "../../eval/errors.js";
import { JUDGE_SPEC_HELP, parseJudgeFlag } from "../../eval/judges/judgeSpec.js";
import { groupBySeed } from "../../eval/metrics/seedGroups.js";
import { evalProgressBars } from "../../eval/progressBars.js";
import { formatEstimate, headlineMetric } from "../../eval/report/headline.js";
import { runEval } from "../../eval/runEval.js";
import { readResults, readSamples } from "../../eval/runFiles.js";
import { readSeedRun } from "../../eval/seedRuns.js";
import { optionalNumber, type ParsedFlags, parseCommandArgs, requireString } from "../args.js";
import { UsageError } from "../errors.js";
import { MODEL_PLACEMENT_FLAGS, MODEL_PLACEMENT_HELP, modelPlacement } from "../modelPlacement.js";
import { checkLocalModel, checkWritableFolder } from "../preflight.js";

export const evalHelp = `safetune eval (--model DIR | --endpoint URL [--endpoint URL2 ...] --api-model NAME) --out DIR [options]
safetune eval compare RUN_A RUN_B [--judge NAME] [--json]
safetune eval compare RUN_A@0 RUN_A@1 ... RUN_B@0 RUN_B@1 ... [--judge NAME] [--json]

Generates answers to every benchmark prompt, judges them, and writes results.json, samples.jsonl, report.md and
report.html to --out. Answers and verdicts are cached in OUT/cache: an interrupted run resumes where it stopped.

Who answers:
  --model DIR             a Hugging Face model folder (local engine, batched)
  --adapter DIR           a PEFT LoRA adapter on top of it
${MODEL_PLACEMENT_HELP}
  --endpoint URL          an OpenAI-compatible base URL (vLLM, Ollama, llama.cpp server, safetune serve), e.g. http://localhost:8000/v1;
                          repeat it for replicas of the same model: each prompt goes to the least busy one, failures
                          are retried on another, and a replica that keeps failing is skipped for 30 s
  --api-model NAME        the model name at the endpoint (the same on every replica)
  --api-key-env VAR       environment variable holding the endpoint's API key (default OPENAI_API_KEY, if set)
  --concurrency N         requests in flight per endpoint (default 8)
  --timeout S             per-request timeout in seconds (default 120); --retries N (default 4; with several
                          endpoints, attempts on other replicas)

What to ask:
  --benchmarks SUITE      a suite YAML file or a built-in suite (${Object.keys(BUILTIN_SUITES).join(", ")}; default paper)
  --benchmark NAME        a built-in benchmark instead of a suite (repeatable); --list-benchmarks lists them
  --data DIR              folder holding the public benchmark files (default: the suite's dataDir, $SAFETUNE_DATA, ./data)
  --limit N               evaluate at most N prompts per benchmark
  --attacks LIST          attack every harmful benchmark's prompts too: comma-separated names or all
                          (${ATTACK_NAMES.join(", ")}); each adds a benchmark NAME+ATTACK
                          and results.json gets attack success rates; --list-attacks describes them.
                          Replayed JailbreakBench attacks are benchmarks: --benchmark jbb:METHOD:TARGET
  --attacker-endpoint URL adaptive (PAIR-style) attack on every harmful benchmark: an attacker model at this
                          OpenAI-compatible URL rewrites each request from the target's answers and the primary
                          judge's verdicts (benchmark NAME+pair; cached, resumable)
  --attacker-model NAME   the attacker's model name at its endpoint (required with --attacker-endpoint)
  --attack-rounds N       attacker rounds per prompt (default 5); --attack-max-queries N target queries per prompt
                          (default: rounds); --attack-max-tokens N estimated tokens (chars/4) per prompt
  --attacker-temperature T (default 1)   --attacker-max-new-tokens N (default 512)

How to answer (recorded in the results):
  --template NAME         chat template: the model's own (default), or alpaca | chatml | llama2 | mistral | llama3;
                          with --endpoint the server applies its own unless a template is named (then /completions)
  --system TEXT           a system message before every prompt
  --max-new-tokens N      (default 256)   --temperature T (default 0, greedy)   --top-p P   --seed S (default 0)
  --batch-size N          prompts decoded together by the local engine (default 8)

Who judges:
  --judge SPEC            repeatable; default the suite's judges, else refusal
                          ${JUDGE_SPEC_HELP.replace(/\n\s*/g, "\n                          ")}
  --primary-judge NAME    the judge that headlines tables and charts (default the first)

Output:
  --out DIR               the run folder (required)
  --name NAME             the run's name in reports (default the folder's name)
  --cache DIR             response/verdict cache (default OUT/cache; share it between runs to reuse answers)
  --compare-with RUN      another run's folder, drawn in the report's safety-vs-helpfulness chart (repeatable)
  --no-perplexity         skip the perplexity of reference answers (local models)

eval compare: two runs prompt by prompt (B − A, paired bootstrap interval, McNemar's test); or, given the run
folders of two seed groups (runs of one name with different seeds, results.json "seed"), B − A of the means over
seeds with a Welch–Satterthwaite t interval (variance of the seeds' spread plus prompt sampling, prompts paired
between the groups) and the t-test p-value.`;

const FLAGS = {
  model: { type: "string" },
  adapter: { type: "string" },
  ...MODEL_PLACEMENT_FLAGS,
  endpoint: { type: "string", multiple: true },
  "api-model": { type: "string" },
  "api-key-env": { type: "string" },
  concurrency: { type: "string" },
  timeout: { type: "string" },
  retries: { type: "string" },
  benchmarks: { type: "string" },
  benchmark: { type: "string", multiple: true },
  "list-benchmarks": { type: "boolean" },
  attacks: { type: "string", multiple: true },
  "list-attacks": { type: "boolean" },
  "attacker-endpoint": { type: "string" },
  "attacker-model": { type: "string" },
  "attack-rounds": { type: "string" },
  "attack-max-queries": { type: "string" },
  "attack-max-tokens": { type: "string" },
  "attacker-temperature": { type: "string" },
  "attacker-max-new-tokens": { type: "string" },
  data: { type: "string" },
  limit: { type: "string" },
  template: { type: "string" },
  system: { type: "string" },
  "max-new-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  seed: { type: "string" },
  "batch-size": { type: "string" },
  judge: { type: "string", multiple: true },
  "primary-judge": { type: "string" },
  out: { type: "string" },
  name: { type: "string" },
  cache: { type: "string" },
  "compare-with": { type: "string", multiple: true },
  "no-perplexity": { type: "boolean" },
} as const;

export async function evalCommand(argv: string[]): Promise<void> {
  if (argv[0] === "compare") return compareCommand(argv.slice(1));
  const { values } = parseCommandArgs(argv, FLAGS, "eval");
  if (printedListing(values)) return;
  const out = checkEvalFlags(values);
  const controller = new AbortController();
  const onSigint = () => controller.abort(new EvalInterrupted("interrupted"));
  process.once("SIGINT", onSigint);
  let evaluation: Evaluation | undefined;
  try {
    evaluation = await buildEvaluation({
      ...evaluationSpec(values),
      // The model's folder, adapter and template, the output folders and --compare-with runs before the judges
      // or the model load (tens of seconds at real sizes).
      beforeLoading: (settings) => preflightEval(values, settings.template),
      signal: controller.signal,
    });
    const compareWith = (values["compare-with"] ?? []).map((run) => readResults(run));
    const { dispose: _, ...built } = evaluation;
    const run = await runEval({
      ...built,
      out,
      ...(values.name === undefined ? {} : { name: values.name }),
      ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
      ...(values["no-perplexity"] ? { perplexity: false } : {}),
      compareWith,
      onProgress: evalProgressBars(),
      signal: controller.signal,
    });
    printEvalSummary(run);
    const { answerer } = evaluation;
    if (answerer instanceof EndpointAnswerer && answerer.pool.urls.length > 1)
      console.error(`endpoints: ${answerer.pool.summary()}`);
  } catch (err) {
    if (controller.signal.aborted)
      throw new EvalInterrupted(
        `eval interrupted: answers and verdicts so far are cached; rerun the same command to resume`,
      );
    throw err;
  } finally {
    process.removeListener("SIGINT", onSigint);
    evaluation?.dispose();
  }
}

/** --help, --list-benchmarks and --list-attacks print and end the command; true when one of them did. */
function printedListing(values: ParsedFlags<typeof FLAGS>): boolean {
  if (values.help) {
    console.log(evalHelp);
    return true;
  }
  if (values["list-benchmarks"]) {
    for (const b of BUILTIN_BENCHMARKS) console.log(`${b.name.padEnd(24)}${b.kind.padEnd(10)}${b.about}`);
    const dataDir = resolve(values.data ?? process.env.SAFETUNE_DATA ?? "data");
    for (const name of jailbreakBenchNames(dataDir))
      console.log(`${name.padEnd(24)} harmful   JailbreakBench attack prompts (replayed attack)`);
    return true;
  }
  if (values["list-attacks"]) {
    for (const name of ATTACK_NAMES) console.log(`${name.padEnd(22)}${findAttack(name)?.about ?? ""}`);
    return true;
  }
  return false;
}

/** The flags that must go together, checked before anything loads; returns --out. */
function checkEvalFlags(values: ParsedFlags<typeof FLAGS>): string {
  const out = requireString(values.out, "out", "eval");
  if ((values.model === undefined) === (values.endpoint === undefined))
    throw new UsageError(
      "eval: give exactly one of --model DIR or --endpoint URL (see safetune eval --help)",
    );
  if (values.endpoint !== undefined && values["api-model"] === undefined)
    throw new UsageError("eval: --endpoint needs --api-model NAME (the model's name at the endpoint)");
  if (values["attacker-endpoint"] !== undefined && values["attacker-model"] === undefined)
    throw new UsageError("--attacker-endpoint needs --attacker-model NAME");
  modelPlacement(values);
  return out;
}

/** Each benchmark's headline figure, the run's timing and the files it wrote. */
function printEvalSummary(run: Awaited<ReturnType<typeof runEval>>): void {
  for (const b of run.results.benchmarks) {
    const m = headlineMetric(b, run.results.primaryJudge);
    console.log(
      `${b.name.padEnd(26)}${m ? `${m.metric.padEnd(22)}${formatEstimate(m)}` : "(no headline metric)"}`,
    );
  }
  const t = run.results.timing;
  console.log(
    `${t.generated} answers generated (${t.cached} from cache) in ${t.generationSeconds.toFixed(1)} s; judged in ${t.judgeSeconds.toFixed(1)} s`,
  );
  console.log(`wrote ${run.files.results}, ${run.files.samples}, ${run.files.markdown}, ${run.files.html}`);
}

/** The evaluation the flags describe (flag syntax checked here; files and models are read by buildEvaluation). */
function evaluationSpec(values: ParsedFlags<typeof FLAGS>): Omit<EvaluationSpec, "beforeLoading" | "signal"> {
  const num = (flag: keyof typeof FLAGS, opts: { integer?: boolean; min?: number; max?: number }) =>
    optionalNumber(values[flag] as string | undefined, flag, opts);
  const suite: Suite = values.benchmark
    ? {
        source: "command line",
        baseDir: process.cwd(),
        benchmarks: values.benchmark.map((b) => ({ builtin: b })),
      }
    : loadSuite(values.benchmarks ?? "paper");
  const limit = num("limit", { integer: true, min: 1 });
  const generation: GenerationChoices = {
    maxNewTokens: num("max-new-tokens", { integer: true, min: 1 }),
    temperature: num("temperature", { min: 0 }),
    topP: num("top-p", { min: 0, max: 1 }),
    seed: num("seed", { integer: true, min: 0 }),
    template: values.template,
    system: values.system,
    batchSize: num("batch-size", { integer: true, min: 1 }),
  };
  const remote = values.endpoint !== undefined || values["attacker-endpoint"] !== undefined;
  const apiKey = remote ? apiKeyFromEnv(values["api-key-env"]) : undefined;
  const timeout = num("timeout", { min: 0.001 });
  // Unset values take the endpoint pool's defaults (8 requests in flight, 120 s, 4 retries).
  const connection: EndpointConnection = {
    apiKey,
    concurrency: num("concurrency", { integer: true, min: 1 }),
    timeoutMs: timeout === undefined ? undefined : 1000 * timeout,
    retries: num("retries", { integer: true, min: 0 }),
  };
  const answerer: AnswererSpec =
    values.model !== undefined
      ? {
          kind: "local",
          model: values.model,
          ...(values.adapter === undefined ? {} : { adapter: values.adapter }),
          ...modelPlacement(values),
        }
      : {
          kind: "endpoint",
          urls: values.endpoint ?? [],
          model: values["api-model"] as string,
          ...connection,
        };
  return {
    suite,
    dataDir: values.data,
    limit,
    attacks: values.attacks,
    judges: values.judge?.map(parseJudgeFlag),
    primaryJudge: values["primary-judge"],
    answerer,
    generation,
    adaptive: adaptiveSpec(values, connection, generation.seed ?? GENERATION_DEFAULTS.seed),
  };
}

/** How the answerer's and the attacker's endpoint pools connect (unset: the pool's defaults). */
interface EndpointConnection {
  apiKey: string | undefined;
  concurrency: number | undefined;
  timeoutMs: number | undefined;
  retries: number | undefined;
}

/** The PAIR-style attack the --attacker-* flags describe (none without --attacker-endpoint). */
function adaptiveSpec(
  values: ParsedFlags<typeof FLAGS>,
  connection: EndpointConnection,
  seed: number,
): EvaluationSpec["adaptive"] {
  const num = (flag: keyof typeof FLAGS, opts: { integer?: boolean; min?: number; max?: number }) =>
    optionalNumber(values[flag] as string | undefined, flag, opts);
  // Checked with or without an attacker, as every numeric flag is.
  const maxQueries = num("attack-max-queries", { integer: true, min: 1 });
  const maxTokens = num("attack-max-tokens", { integer: true, min: 1 });
  const attackerUrl = values["attacker-endpoint"];
  if (attackerUrl === undefined) return undefined;
  return {
    endpoint: { urls: [attackerUrl], model: values["attacker-model"] as string, ...connection },
    rounds: num("attack-rounds", { integer: true, min: 1 }) ?? 5,
    ...(maxQueries === undefined ? {} : { maxQueries }),
    ...(maxTokens === undefined ? {} : { maxTokens }),
    maxNewTokens: num("attacker-max-new-tokens", { integer: true, min: 1 }) ?? 512,
    temperature: num("attacker-temperature", { min: 0 }) ?? 1,
    seed,
  };
}

async function preflightEval(values: ParsedFlags<typeof FLAGS>, template: string): Promise<void> {
  checkWritableFolder(values.out as string);
  if (values.cache !== undefined) checkWritableFolder(values.cache, "--cache");
  for (const run of values["compare-with"] ?? []) readResults(run);
  if (values.model === undefined) return;
  await checkLocalModel({
    model: values.model,
    adapter: values.adapter,
    template: template === "model" ? null : template,
  });
}

async function compareCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { judge: { type: "string" }, json: { type: "boolean" }, out: { type: "string" } },
    "eval compare",
    { positionals: true },
  );
  if (values.help) {
    console.log(evalHelp);
    return;
  }
  if (positionals.length < 2)
    throw new UsageError(
      `eval compare: expected two run folders, got ${positionals.length} (safetune eval compare RUN_A RUN_B, or the runs of two seed groups)`,
    );
  if (positionals.length > 2) {
    // Runs with the same name and a seed are one group: compare the two groups over their seeds.
    const groups = groupBySeed(positionals.map(readSeedRun));
    if (groups.length !== 2)
      throw new UsageError(
        `eval compare: the runs form ${groups.length} groups (${groups.map((g) => g.name).join(", ")}); expected two (runs of one name with different seeds are one group)`,
      );
    const [ga, gb] = groups as [(typeof groups)[0], (typeof groups)[0]];
    const grouped = compareGroups(ga, gb, values.judge === undefined ? {} : { judge: values.judge });
    if (grouped.comparisons.length === 0)
      throw new EvaluationError(`eval compare: ${ga.name} and ${gb.name} share no judged benchmark`);
    const text = values.json ? `${JSON.stringify(grouped, null, 2)}\n` : groupComparisonMarkdown(grouped);
    if (values.out) writeFileSync(values.out, text);
    process.stdout.write(text);
    return;
  }
  const [a, b] = positionals as [string, string];
  const comparison = compareRuns(
    { results: readResults(a), samples: readSamples(a) },
    { results: readResults(b), samples: readSamples(b) },
    values.judge === undefined ? {} : { judge: values.judge },
  );
  if (comparison.comparisons.length === 0)
    throw new EvaluationError(`eval compare: ${a} and ${b} share no judged benchmark`);
  const text = values.json ? `${JSON.stringify(comparison, null, 2)}\n` : comparisonMarkdown(comparison);
  if (values.out) writeFileSync(values.out, text);
  process.stdout.write(text);
}
