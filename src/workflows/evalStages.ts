// The evaluation stages: `eval` runs the evaluation framework on a local model or on served replicas of one
// (docs/evaluation.md), `report`
// puts several eval stages side by side: the comparison table, and an HTML report with the cross-run chart.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { loadSuite, parseSuite, type Suite } from "../eval/benchmarks/suite.js";
import { type AnswererSpec, apiKeyFromEnv, buildEvaluation } from "../eval/buildEvaluation.js";
import { validateJudgeSpec } from "../eval/judges/judgeSpec.js";
import { ComparisonSpecSchema } from "../eval/metrics/conclusions.js";
import { TargetSpecSchema } from "../eval/metrics/targets.js";
import { evalProgressBars } from "../eval/progressBars.js";
import { headlineMetric, metricLabel } from "../eval/report/headline.js";
import { htmlReport } from "../eval/report/html.js";
import { seedGroupTable, seedReport, seedReportMarkdown } from "../eval/report/seedReport.js";
import { runEval } from "../eval/runEval.js";
import { readResults, readSamples } from "../eval/runFiles.js";
import { readSeedRun } from "../eval/seedRuns.js";
import { PipelineError } from "../pipeline/errors.js";
import { stageKind } from "../pipeline/stageKind.js";
import { writeFileAtomically } from "../util/atomicFolder.js";

/** Unset settings take buildEvaluation's GENERATION_DEFAULTS, as on the command line. */
const GenerationSchema = z
  .object({
    maxNewTokens: z.number().int().positive().optional(),
    /** 0: greedy. */
    temperature: z.number().min(0).optional(),
    topP: z.number().gt(0).max(1).optional(),
    seed: z.number().int().nonnegative().optional(),
    /** "model" (the model's own chat template, the default) or a template name. */
    template: z.string().optional(),
    system: z.string().optional(),
    /** Prompts decoded together by the local engine. */
    batchSize: z.number().int().positive().optional(),
  })
  .strict();

const EvalStageSchema = z
  .object({
    /** The model folder to evaluate (usually `${stage}` of a training stage); or give `endpoint`. */
    model: z.string().min(1).optional(),
    /** An OpenAI-compatible base URL, or a list of replicas of the same model (instead of `model`). */
    endpoint: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** The model's name at the endpoint(s); required with `endpoint`. */
    apiModel: z.string().min(1).optional(),
    /** Environment variable holding the endpoints' API key (default OPENAI_API_KEY when set). */
    apiKeyEnv: z.string().min(1).optional(),
    /** Requests in flight per endpoint (default 8). */
    concurrency: z.number().int().positive().optional(),
    /** Per-request timeout in seconds with an endpoint (default 120). */
    timeout: z.number().positive().optional(),
    /** Retries of a failed request (default 4; with several endpoints, attempts on other replicas). */
    retries: z.number().int().nonnegative().optional(),
    adapter: z.string().min(1).optional(),
    /** The local model's weights in memory: float32 (default) or bfloat16. */
    dtype: z.enum(["float32", "bfloat16"]).optional(),
    /** The run's name in tables and charts (default: the stage's name as written, without `@seed`). */
    name: z.string().min(1).optional(),
    /**
     * The experiment seed (a seeded stage's `seeds:` sets it): recorded in results.json, where reports group a
     * run's seeds by name, and the sampling seed (it replaces generation.seed).
     */
    seed: z.number().int().nonnegative().optional(),
    /** A built-in suite name or a suite file; or give `benchmarks` (and `judges`) inline, as in a suite file. */
    suite: z.string().min(1).optional(),
    benchmarks: z.array(z.unknown()).min(1).optional(),
    judges: z.array(z.unknown()).optional(),
    /** The folder of the public benchmark files, for built-in benchmarks. */
    dataDir: z.string().min(1).optional(),
    /** The judge that headlines tables (default: the first). */
    primaryJudge: z.string().optional(),
    /** At most this many prompts per benchmark. */
    limit: z.number().int().positive().optional(),
    /**
     * Attacks on every harmful benchmark: names or "all" (docs/evaluation.md), replacing the suite's; each adds a
     * benchmark NAME+ATTACK and results.json gets attack success rates; [] turns the suite's attacks off.
     */
    attacks: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    generation: GenerationSchema.default({}),
    /** Perplexity of reference answers (default true). */
    perplexity: z.boolean().default(true),
  })
  .strict();

function suiteOf(config: z.infer<typeof EvalStageSchema>, where: string): Suite {
  if ((config.suite === undefined) === (config.benchmarks === undefined))
    throw new PipelineError(`${where}: give exactly one of suite or benchmarks`);
  const suite = config.suite
    ? loadSuite(config.suite)
    : parseSuite(
        {
          benchmarks: config.benchmarks,
          ...(config.judges === undefined ? {} : { judges: config.judges }),
          ...(config.dataDir === undefined ? {} : { dataDir: config.dataDir }),
        },
        // Relative paths in a pipeline are relative to the directory it runs in.
        join(process.cwd(), where),
      );
  if (config.suite && config.judges)
    suite.judges = config.judges.map((j, i) => validateJudgeSpec(j, `${where}: judges.${i}`));
  return suite;
}

export const evalStage = stageKind({
  kind: "eval",
  about: "evaluate a model on benchmarks with judges (safe-response rate, over-refusal, task accuracy, ...)",
  schema: EvalStageSchema,
  output: ".",
  takesDefaults: false,
  inputs: (c) => [c.model, c.adapter, c.dataDir, c.suite?.endsWith(".yaml") ? c.suite : undefined],
  seedField: "seed",
  run: async ({ name, group, config, dir, label, signal }) => {
    const where = `stages.${name}`;
    if ((config.model === undefined) === (config.endpoint === undefined))
      throw new PipelineError(`${where}: give exactly one of model or endpoint`);
    if (config.endpoint !== undefined && config.apiModel === undefined)
      throw new PipelineError(`${where}: endpoint needs apiModel (the model's name at the endpoint)`);
    const evaluation = await buildEvaluation({
      suite: suiteOf(config, where),
      dataDir: config.dataDir,
      limit: config.limit,
      attacks: typeof config.attacks === "string" ? [config.attacks] : config.attacks,
      attacksField: `${where}: attacks`,
      primaryJudge: config.primaryJudge,
      answerer: answererSpec(config, where),
      // The experiment seed replaces the sampling seed.
      generation: { ...config.generation, ...(config.seed === undefined ? {} : { seed: config.seed }) },
      signal,
    });
    try {
      const { dispose: _, ...built } = evaluation;
      const run = await runEval({
        ...built,
        out: dir,
        name: config.name ?? group ?? name,
        perplexity: config.perplexity,
        onProgress: evalProgressBars(`${label} `),
        signal,
      });
      if (config.seed !== undefined) {
        // The run's group is its name; the seed tells its members apart (results.json is rewritten whole).
        run.results.seed = config.seed;
        writeFileAtomically(join(dir, "results.json"), `${JSON.stringify(run.results, null, 2)}\n`);
      }
      const figures: Record<string, number> = {};
      const parts: string[] = [];
      for (const b of run.results.benchmarks) {
        const m = headlineMetric(b, run.results.primaryJudge);
        if (!m) continue;
        figures[`${b.name}.${m.metric}`] = m.estimate.value;
        const value = metricLabel(m.metric).endsWith("%")
          ? `${(m.estimate.value * 100).toFixed(1)}%`
          : m.estimate.value.toFixed(3);
        parts.push(`${b.name} ${metricLabel(m.metric).replace(/ %$/, "")} ${value}`);
      }
      return { summary: parts.join(", "), figures };
    } finally {
      evaluation.dispose();
    }
  },
});

/** Who answers, from the stage's model or endpoint fields. */
function answererSpec(config: z.infer<typeof EvalStageSchema>, where: string): AnswererSpec {
  if (config.model !== undefined)
    return { kind: "local", model: config.model, adapter: config.adapter, dtype: config.dtype };
  return {
    kind: "endpoint",
    urls: typeof config.endpoint === "string" ? [config.endpoint] : (config.endpoint ?? []),
    model: config.apiModel as string,
    apiKey: apiKeyFromEnv(config.apiKeyEnv, `${where}: apiKeyEnv`),
    concurrency: config.concurrency,
    timeoutMs: config.timeout === undefined ? undefined : 1000 * config.timeout,
    retries: config.retries,
  };
}

export const reportStage = stageKind({
  kind: "report",
  about: "the comparison table of eval stages (Markdown, CSV) and an HTML report with the cross-run charts",
  schema: z
    .object({
      /** Eval stage outputs (`${eval-base}`, ...), in the order of the table's rows. */
      runs: z.array(z.string().min(1)).min(1),
      /** The run whose samples and per-category charts the HTML report shows (default: the last). */
      focus: z.string().min(1).optional(),
      /**
       * Computed conclusions: `{a: "DPO", b: "RAFT", benchmark: "harmful", metric?: "safe_response_rate",
       * judge?}` states a − b over seeds with its interval and significance (docs/evaluation.md).
       */
      comparisons: z.array(ComparisonSpecSchema).default([]),
      /**
       * Quality targets on each run's mean over seeds: `{benchmark: "harmful", metric: "safe_response_rate",
       * atLeast: 0.97}`, or relative to a run (`relativeTo: "base", atLeast: -0.02`); the report says which runs
       * meet them all.
       */
      targets: z.array(TargetSpecSchema).default([]),
    })
    .strict(),
  output: ".",
  takesDefaults: false,
  inputs: (c) => c.runs,
  run: async ({ config, dir, log }) => {
    // Runs of one name with different seeds are one row: means over seeds with two-level intervals.
    const seeds = seedReport(config.runs.map(readSeedRun), config.comparisons, {}, config.targets);
    const table = seedReportMarkdown(seeds);
    writeFileAtomically(join(dir, "table.md"), table);
    writeFileAtomically(join(dir, "table.csv"), seedGroupTable(seeds, { format: "csv" }));
    writeFileAtomically(join(dir, "conclusions.json"), `${JSON.stringify(seeds.conclusions, null, 2)}\n`);
    if (seeds.targets.length > 0)
      writeFileAtomically(join(dir, "targets.json"), `${JSON.stringify(seeds.targets, null, 2)}\n`);
    const focus = config.focus ?? (config.runs[config.runs.length - 1] as string);
    const focusResults = readResults(focus);
    const html = await htmlReport({
      results: focusResults,
      samples: readSamples(focus),
      runs: seeds.summaries.filter((s) => s.name !== focusResults.name).map((s) => s.results),
      seeds,
    });
    writeFileSync(join(dir, "report.html"), html);
    log(`\n${table}`);
    const groups = seeds.summaries.length;
    return {
      summary: `${config.runs.length} runs in ${groups} groups compared: ${join(dir, "table.md")}, ${join(dir, "report.html")}`,
    };
  },
});
