// The evaluation stages: `eval` runs the evaluation framework on a local model or on served replicas of one
// (docs/evaluation.md), `report`
// puts several eval stages side by side: the comparison table, and an HTML report with the cross-run chart.
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { EndpointPool } from "../../endpoint/endpointPool.js";
import type { Answerer } from "../../eval/answer/answerer.js";
import { EndpointAnswerer } from "../../eval/answer/endpointAnswerer.js";
import { LocalAnswerer } from "../../eval/answer/localAnswerer.js";
import { loadBenchmark, resolveBenchmarkSpec } from "../../eval/benchmarks/loadBenchmark.js";
import { loadSuite, parseSuite, type Suite } from "../../eval/benchmarks/suite.js";
import { createJudges } from "../../eval/judges/createJudge.js";
import { validateJudgeSpec } from "../../eval/judges/judgeSpec.js";
import { ComparisonSpecSchema } from "../../eval/metrics/conclusions.js";
import { evalProgressBars } from "../../eval/progressBars.js";
import { headlineMetric, metricLabel } from "../../eval/report/headline.js";
import { htmlReport } from "../../eval/report/html.js";
import { seedGroupTable, seedReport, seedReportMarkdown } from "../../eval/report/seedReport.js";
import type { GenerationSettings } from "../../eval/results.js";
import { runEval } from "../../eval/runEval.js";
import { readResults, readSamples } from "../../eval/runFiles.js";
import { readSeedRun } from "../../eval/seedRuns.js";
import { writeFileAtomically } from "../../util/atomicFolder.js";
import { PipelineError } from "../errors.js";
import { stageKind } from "../stageKind.js";

const GenerationSchema = z
  .object({
    maxNewTokens: z.number().int().positive().default(256),
    /** 0: greedy. */
    temperature: z.number().min(0).default(0),
    topP: z.number().gt(0).max(1).optional(),
    seed: z.number().int().nonnegative().default(0),
    /** "model" (the model's own chat template) or a template name. */
    template: z.string().default("model"),
    system: z.string().optional(),
    batchSize: z.number().int().positive().default(8),
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
    /** Requests in flight per endpoint. */
    concurrency: z.number().int().positive().default(8),
    adapter: z.string().min(1).optional(),
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
    generation: GenerationSchema.default(GenerationSchema.parse({})),
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
    const suite = suiteOf(config, `stages.${name}`);
    const dataDir = resolve(config.dataDir ?? suite.dataDir ?? process.env.SAFETUNE_DATA ?? "data");
    const benchmarks = [];
    for (const spec of suite.benchmarks) {
      const limited =
        config.limit === undefined || spec.limit !== undefined ? spec : { ...spec, limit: config.limit };
      benchmarks.push(
        await loadBenchmark(resolveBenchmarkSpec(limited, { dataDir, baseDir: suite.baseDir })),
      );
    }
    const where = `stages.${name}`;
    if ((config.model === undefined) === (config.endpoint === undefined))
      throw new PipelineError(`${where}: give exactly one of model or endpoint`);
    if (config.endpoint !== undefined && config.apiModel === undefined)
      throw new PipelineError(`${where}: endpoint needs apiModel (the model's name at the endpoint)`);
    const judges = await createJudges(suite.judges ?? [{ kind: "refusal", rules: "safetune" }]);
    const { topP, system, ...generation } = config.generation;
    const settings: GenerationSettings = {
      ...generation,
      ...(config.seed === undefined ? {} : { seed: config.seed }),
      // A server renders its own model's template: record it as the CLI does.
      ...(config.endpoint !== undefined && generation.template === "model" ? { template: "server" } : {}),
      ...(topP === undefined ? {} : { topP }),
      ...(system === undefined ? {} : { system }),
    };
    let answerer: Answerer | undefined;
    try {
      if (config.endpoint !== undefined) {
        const keyEnv = config.apiKeyEnv ?? "OPENAI_API_KEY";
        const apiKey = process.env[keyEnv];
        if (config.apiKeyEnv !== undefined && apiKey === undefined)
          throw new PipelineError(`${where}: apiKeyEnv: environment variable ${keyEnv} is not set`);
        const pool = EndpointPool.create({
          urls: typeof config.endpoint === "string" ? [config.endpoint] : config.endpoint,
          model: config.apiModel as string,
          concurrency: config.concurrency,
          ...(apiKey === undefined ? {} : { apiKey }),
        });
        answerer = new EndpointAnswerer(pool, settings);
        await pool.checkServedModel(signal);
      } else {
        answerer = await LocalAnswerer.load({
          model: config.model as string,
          ...(config.adapter === undefined ? {} : { adapter: config.adapter }),
          settings,
        });
      }
      const run = await runEval({
        out: dir,
        name: config.name ?? group ?? name,
        answerer,
        judges,
        benchmarks,
        settings,
        perplexity: config.perplexity,
        ...(config.primaryJudge === undefined ? {} : { primaryJudge: config.primaryJudge }),
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
      answerer?.dispose();
      for (const j of judges) j.dispose();
    }
  },
});

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
    })
    .strict(),
  output: ".",
  takesDefaults: false,
  inputs: (c) => c.runs,
  run: async ({ config, dir, log }) => {
    // Runs of one name with different seeds are one row: means over seeds with two-level intervals.
    const seeds = seedReport(config.runs.map(readSeedRun), config.comparisons);
    const table = seedReportMarkdown(seeds);
    writeFileAtomically(join(dir, "table.md"), table);
    writeFileAtomically(join(dir, "table.csv"), seedGroupTable(seeds, { format: "csv" }));
    writeFileAtomically(join(dir, "conclusions.json"), `${JSON.stringify(seeds.conclusions, null, 2)}\n`);
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
