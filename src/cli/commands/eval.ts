// `safetune eval`: a model (local or behind an endpoint) on a suite of benchmarks, judged, with intervals;
// `safetune eval compare A B`: paired differences and McNemar's test between two runs, or between two seed groups.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { EndpointPool } from "../../endpoint/endpointPool.js";
import { parseDtype } from "../../engine/dtype.js";
import type { Answerer } from "../../eval/answer/answerer.js";
import { EndpointAnswerer } from "../../eval/answer/endpointAnswerer.js";
import { LocalAnswerer } from "../../eval/answer/localAnswerer.js";
import { applyAttacks } from "../../eval/attacks/applyAttacks.js";
import type { PairBudget } from "../../eval/attacks/pairAttack.js";
import { ATTACK_NAMES, findAttack, parseAttackList } from "../../eval/attacks/registry.js";
import { BUILTIN_BENCHMARKS } from "../../eval/benchmarks/builtinBenchmarks.js";
import { jailbreakBenchNames } from "../../eval/benchmarks/jailbreakBenchmarks.js";
import { loadBenchmark, resolveBenchmarkSpec } from "../../eval/benchmarks/loadBenchmark.js";
import { BUILTIN_SUITES, loadSuite, type Suite } from "../../eval/benchmarks/suite.js";
import {
  compareGroups,
  compareRuns,
  comparisonMarkdown,
  groupComparisonMarkdown,
} from "../../eval/compare.js";
import { EvalInterrupted, EvaluationError } from "../../eval/errors.js";
import { createJudges } from "../../eval/judges/createJudge.js";
import { JUDGE_SPEC_HELP, type JudgeSpec, parseJudgeFlag } from "../../eval/judges/judgeSpec.js";
import { groupBySeed } from "../../eval/metrics/seedGroups.js";
import { evalProgressBars } from "../../eval/progressBars.js";
import { formatEstimate, headlineMetric } from "../../eval/report/headline.js";
import type { GenerationSettings } from "../../eval/results.js";
import { runEval } from "../../eval/runEval.js";
import { readResults, readSamples } from "../../eval/runFiles.js";
import { readSeedRun } from "../../eval/seedRuns.js";
import { optionalNumber, type ParsedFlags, parseCommandArgs, requireString } from "../args.js";
import { UsageError } from "../errors.js";
import { checkDtype, checkLocalModel, checkWritableFolder } from "../preflight.js";

export const evalHelp = `safetune eval (--model DIR | --endpoint URL [--endpoint URL2 ...] --api-model NAME) --out DIR [options]
safetune eval compare RUN_A RUN_B [--judge NAME] [--json]
safetune eval compare RUN_A@0 RUN_A@1 ... RUN_B@0 RUN_B@1 ... [--judge NAME] [--json]

Generates answers to every benchmark prompt, judges them, and writes results.json, samples.jsonl, report.md and
report.html to --out. Answers and verdicts are cached in OUT/cache: an interrupted run resumes where it stopped.

Who answers:
  --model DIR             a Hugging Face model folder (local engine, batched)
  --adapter DIR           a PEFT LoRA adapter on top of it
  --dtype D               float32 (default) or bfloat16
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
  dtype: { type: "string" },
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
  if (values.help) {
    console.log(evalHelp);
    return;
  }
  if (values["list-benchmarks"]) {
    for (const b of BUILTIN_BENCHMARKS) console.log(`${b.name.padEnd(24)}${b.kind.padEnd(10)}${b.about}`);
    const dataDir = resolve(values.data ?? process.env.SAFETUNE_DATA ?? "data");
    for (const name of jailbreakBenchNames(dataDir))
      console.log(`${name.padEnd(24)} harmful   JailbreakBench attack prompts (replayed attack)`);
    return;
  }
  if (values["list-attacks"]) {
    for (const name of ATTACK_NAMES) console.log(`${name.padEnd(22)}${findAttack(name)?.about ?? ""}`);
    return;
  }
  const out = requireString(values.out, "out", "eval");
  if ((values.model === undefined) === (values.endpoint === undefined))
    throw new UsageError(
      "eval: give exactly one of --model DIR or --endpoint URL (see safetune eval --help)",
    );
  if (values.endpoint !== undefined && values["api-model"] === undefined)
    throw new UsageError("eval: --endpoint needs --api-model NAME (the model's name at the endpoint)");

  // Benchmarks and judges first: a typo should fail before a model loads.
  const suite: Suite = values.benchmark
    ? {
        source: "command line",
        baseDir: process.cwd(),
        benchmarks: values.benchmark.map((b) => ({ builtin: b })),
      }
    : loadSuite(values.benchmarks ?? "paper");
  const dataDir = resolve(values.data ?? suite.dataDir ?? process.env.SAFETUNE_DATA ?? "data");
  const limit = optionalNumber(values.limit, "limit", { integer: true, min: 1 });
  const benchmarks = [];
  for (const spec of suite.benchmarks) {
    const resolved = resolveBenchmarkSpec(
      limit === undefined || spec.limit !== undefined ? spec : { ...spec, limit },
      {
        dataDir,
        baseDir: suite.baseDir,
      },
    );
    benchmarks.push(await loadBenchmark(resolved));
  }
  if (values["attacker-endpoint"] !== undefined && values["attacker-model"] === undefined)
    throw new UsageError("--attacker-endpoint needs --attacker-model NAME");
  const attackList = values.attacks ?? suite.attacks;
  if (attackList !== undefined) {
    const attacked = applyAttacks(benchmarks, parseAttackList(attackList));
    benchmarks.splice(0, benchmarks.length, ...attacked);
  }
  const judgeSpecs: JudgeSpec[] = values.judge?.map(parseJudgeFlag) ??
    suite.judges ?? [{ kind: "refusal", rules: "safetune" }];

  const local = values.model !== undefined;
  const settings: GenerationSettings = {
    maxNewTokens:
      optionalNumber(values["max-new-tokens"], "max-new-tokens", { integer: true, min: 1 }) ?? 256,
    temperature: optionalNumber(values.temperature, "temperature", { min: 0 }) ?? 0,
    seed: optionalNumber(values.seed, "seed", { integer: true, min: 0 }) ?? 0,
    template: values.template ?? (local ? "model" : "server"),
    batchSize: local
      ? (optionalNumber(values["batch-size"], "batch-size", { integer: true, min: 1 }) ?? 8)
      : 1,
  };
  const topP = optionalNumber(values["top-p"], "top-p", { min: 0, max: 1 });
  if (topP !== undefined) settings.topP = topP;
  if (values.system !== undefined) settings.system = values.system;
  // The model's folder, adapter and template, the output folders and --compare-with runs before the judges or
  // the model load (tens of seconds at real sizes).
  await preflightEval(values, settings.template);

  const judges = await createJudges(judgeSpecs);
  const primaryJudge = values["primary-judge"];
  if (primaryJudge !== undefined && !judges.some((j) => j.identity.name === primaryJudge))
    throw new UsageError(
      `--primary-judge: no judge is named "${primaryJudge}" (judges: ${judges.map((j) => j.identity.name).join(", ")})`,
    );
  let answerer: Answerer | undefined;
  let attacker: Answerer | undefined;
  const controller = new AbortController();
  const onSigint = () => controller.abort(new EvalInterrupted("interrupted"));
  process.once("SIGINT", onSigint);
  try {
    // The attacker first: a flag mistake should fail before a model loads.
    const adaptive = adaptiveAttack(values, process.env[values["api-key-env"] ?? "OPENAI_API_KEY"]);
    if (adaptive) attacker = adaptive.attacker;
    if (local) {
      const dtype = values.dtype === undefined ? undefined : parseDtype(values.dtype);
      if (values.dtype !== undefined && dtype !== "float32" && dtype !== "bfloat16")
        throw new UsageError(`--dtype: expected float32 or bfloat16, got '${values.dtype}'`);
      answerer = await LocalAnswerer.load({
        model: values.model as string,
        ...(values.adapter === undefined ? {} : { adapter: values.adapter }),
        ...(dtype === undefined ? {} : { dtype }),
        settings,
      });
    } else {
      const keyEnv = values["api-key-env"] ?? "OPENAI_API_KEY";
      const apiKey = process.env[keyEnv];
      if (values["api-key-env"] !== undefined && apiKey === undefined)
        throw new UsageError(`--api-key-env: environment variable ${keyEnv} is not set`);
      const pool = EndpointPool.create({
        urls: values.endpoint as string[],
        model: values["api-model"] as string,
        ...(apiKey === undefined ? {} : { apiKey }),
        concurrency: optionalNumber(values.concurrency, "concurrency", { integer: true, min: 1 }) ?? 8,
        timeoutMs: 1000 * (optionalNumber(values.timeout, "timeout", { min: 0.001 }) ?? 120),
        retries: optionalNumber(values.retries, "retries", { integer: true, min: 0 }) ?? 4,
      });
      answerer = new EndpointAnswerer(pool, settings);
      await pool.checkServedModel(controller.signal);
    }
    const compareWith = (values["compare-with"] ?? []).map((run) => readResults(run));
    const run = await runEval({
      out,
      ...(values.name === undefined ? {} : { name: values.name }),
      answerer,
      judges,
      benchmarks,
      settings,
      ...(primaryJudge === undefined ? {} : { primaryJudge }),
      ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
      ...(values["no-perplexity"] ? { perplexity: false } : {}),
      compareWith,
      onProgress: evalProgressBars(),
      signal: controller.signal,
      ...(adaptive ? { adaptive } : {}),
    });
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
    answerer?.dispose();
    attacker?.dispose();
    for (const j of judges) j.dispose();
  }
}

/** The adaptive attack's attacker and budget from the --attacker-* flags, or undefined without an endpoint. */
function adaptiveAttack(
  values: Record<string, unknown>,
  apiKey: string | undefined,
): (PairBudget & { attacker: Answerer }) | undefined {
  const url = values["attacker-endpoint"] as string | undefined;
  if (url === undefined) return undefined;
  const model = values["attacker-model"] as string | undefined;
  if (model === undefined) throw new UsageError("--attacker-endpoint needs --attacker-model NAME");
  const num = (flag: string, opts: { integer?: boolean; min?: number }) =>
    optionalNumber(values[flag] as string | undefined, flag, opts);
  const rounds = num("attack-rounds", { integer: true, min: 1 }) ?? 5;
  const maxQueries = num("attack-max-queries", { integer: true, min: 1 });
  const maxTokens = num("attack-max-tokens", { integer: true, min: 1 });
  const settings: GenerationSettings = {
    maxNewTokens: num("attacker-max-new-tokens", { integer: true, min: 1 }) ?? 512,
    temperature: num("attacker-temperature", { min: 0 }) ?? 1,
    seed: num("seed", { integer: true, min: 0 }) ?? 0,
    template: "server",
    batchSize: 1,
  };
  const pool = EndpointPool.create({
    urls: [url],
    model,
    ...(apiKey === undefined ? {} : { apiKey }),
    concurrency: num("concurrency", { integer: true, min: 1 }) ?? 8,
    timeoutMs: 1000 * (num("timeout", { min: 0.001 }) ?? 120),
    retries: num("retries", { integer: true, min: 0 }) ?? 4,
  });
  return {
    attacker: new EndpointAnswerer(pool, settings),
    rounds,
    ...(maxQueries === undefined ? {} : { maxQueries }),
    ...(maxTokens === undefined ? {} : { maxTokens }),
  };
}

async function preflightEval(values: ParsedFlags<typeof FLAGS>, template: string): Promise<void> {
  checkWritableFolder(values.out as string);
  if (values.cache !== undefined) checkWritableFolder(values.cache, "--cache");
  for (const run of values["compare-with"] ?? []) readResults(run);
  if (values.model === undefined) return;
  checkDtype(values.dtype, ["float32", "bfloat16"]);
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
