// One evaluation run: for each benchmark, answers (cached on disk), each judge's verdicts (cached), metrics
// with intervals, then results.json, samples.jsonl and the reports. An interrupted run resumes from its caches.
import { mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { lastUserText } from "../data/text.js";
import { writeFileAtomically } from "../util/atomicFolder.js";
import { SAFETUNE_VERSION } from "../version.js";
import type { Answer, Answerer } from "./answer/answerer.js";
import { LocalAnswerer, templateOption } from "./answer/localAnswerer.js";
import { attackSummary } from "./attacks/attackMetrics.js";
import { judgedText } from "./attacks/judgedText.js";
import { PAIR, type PairBudget, runPairAttack } from "./attacks/pairAttack.js";
import { cacheKey, JsonlCache } from "./cache.js";
import { EvaluationError } from "./errors.js";
import type { Judge, JudgeInput } from "./judges/judge.js";
import { benchmarkMetrics, judgeAgreements, pairMetrics } from "./metrics/benchmarkMetrics.js";
import { bootstrapStatistic } from "./metrics/bootstrap.js";
import { htmlReport } from "./report/html.js";
import { markdownSummary } from "./report/markdown.js";
import {
  type BenchmarkResult,
  type EvalResults,
  type GenerationSettings,
  type MetricResult,
  RESULTS_SCHEMA_VERSION,
  type SampleRecord,
} from "./results.js";
import { answerLogProbs } from "./scoring/answerLogProbs.js";
import type { Benchmark, Verdict } from "./types.js";

/** What a run reports as it goes (the CLI draws a progress bar from it). */
export interface EvalProgress {
  benchmark: string;
  phase: "generate" | "judge" | "score";
  /** The judge, in the judge phase. */
  judge?: string;
  done: number;
  total: number;
}

export interface EvalOptions {
  /** The run folder: results.json, samples.jsonl, report.md, report.html, cache/. */
  out: string;
  /** The run's name in reports (default: the folder's name). */
  name?: string;
  answerer: Answerer;
  judges: readonly Judge[];
  benchmarks: readonly Benchmark[];
  settings: GenerationSettings;
  /** The judge headlining tables and charts (default: the first judge). */
  primaryJudge?: string;
  /** Response and verdict caches (default out/cache); share one between runs to reuse answers. */
  cacheDir?: string;
  /** Perplexity of reference answers under a local model (default true when the answerer is local). */
  perplexity?: boolean;
  /** Other runs' results, for the cross-run chart of the HTML report. */
  compareWith?: readonly EvalResults[];
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Judge calls per cache flush (default 32): an interruption loses at most this many verdicts per judge. */
  judgeChunk?: number;
  onProgress?: (event: EvalProgress) => void;
  signal?: AbortSignal;
  /** A PAIR-style adaptive attack on every harmful benchmark, judged by the primary judge (see attacks/pairAttack). */
  adaptive?: PairBudget & { attacker: Answerer };
}

export interface EvalRun {
  results: EvalResults;
  samples: SampleRecord[];
  /** Where the files are. */
  files: { results: string; samples: string; markdown: string; html: string };
}

export async function runEval(options: EvalOptions): Promise<EvalRun> {
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const cacheDir = options.cacheDir ?? join(out, "cache");
  const responses = new JsonlCache<Answer>(join(cacheDir, "responses.jsonl"));
  const verdicts = new JsonlCache<Verdict>(join(cacheDir, "verdicts.jsonl"));
  const { answerer, judges, settings } = options;
  const bootstrap = { resamples: options.resamples ?? 2000 };
  const judgeNames = judges.map((j) => j.identity.name);
  const timing = { generationSeconds: 0, judgeSeconds: 0, generated: 0, cached: 0 };
  const benchmarkResults: BenchmarkResult[] = [];
  const allSamples: SampleRecord[] = [];
  const perRun: { benchmark: BenchmarkResult; samples: SampleRecord[] }[] = [];
  const progress = options.onProgress ?? (() => {});
  const perplexity = options.perplexity ?? answerer instanceof LocalAnswerer;

  for (const benchmark of options.benchmarks) {
    options.signal?.throwIfAborted();
    if (benchmark.kind === "pairs") {
      const result = await scorePairsBenchmark(benchmark, answerer, judges, settings, bootstrap, progress);
      benchmarkResults.push(result.benchmark);
      perRun.push(result);
      allSamples.push(...result.samples);
      continue;
    }
    // 1. Answers: cached ones reused, the rest generated and cached as they arrive.
    const keyMaterial = { answerer: answerer.identity, fingerprint: answerer.fingerprint, settings };
    const keys = benchmark.items.map((item, index) =>
      cacheKey({ ...keyMaterial, prompt: item.prompt, seed: settings.seed + index }),
    );
    const answers: (Answer | undefined)[] = keys.map((k) => responses.get(k));
    const pending = answers.flatMap((a, index) => (a === undefined ? [index] : []));
    timing.cached += answers.length - pending.length;
    let done = answers.length - pending.length;
    progress({ benchmark: benchmark.name, phase: "generate", done, total: answers.length });
    const started = performance.now();
    await answerer.answerAll(
      pending.map((index) => ({ prompt: benchmark.items[index]?.prompt ?? [], seed: settings.seed + index })),
      (j, answer) => {
        const index = pending[j] as number;
        answers[index] = answer;
        responses.set(keys[index] as string, answer);
        timing.generated++;
        progress({ benchmark: benchmark.name, phase: "generate", done: ++done, total: answers.length });
      },
      options.signal,
    );
    timing.generationSeconds += (performance.now() - started) / 1000;

    // 2. Verdicts of every judge, cached per (judge, prompt, answer, reference).
    // Encoding attacks' answers are decoded before judging (the raw answer is kept beside it).
    const judgedTexts = benchmark.items.map((item, i) =>
      judgedText(item.attack, (answers[i] as Answer).text),
    );
    const samples: SampleRecord[] = benchmark.items.map((item, i) => {
      const answer = answers[i] as Answer;
      const text = judgedTexts[i] as string;
      return {
        benchmark: benchmark.name,
        id: item.id,
        ...(item.category === undefined ? {} : { category: item.category }),
        prompt: lastUserText(item.prompt),
        response: text,
        ...(text === answer.text ? {} : { rawResponse: answer.text }),
        finishReason: answer.finishReason,
        ...(item.reference === undefined ? {} : { reference: item.reference }),
        ...(item.answer === undefined ? {} : { answer: item.answer }),
        ...(item.attack === undefined ? {} : { attack: item.attack }),
        ...(item.attackedBenchmark === undefined ? {} : { attackedBenchmark: item.attackedBenchmark }),
        verdicts: {},
      };
    });
    const judgeStarted = performance.now();
    for (const judge of judges) {
      const inputs: JudgeInput[] = benchmark.items.map((item, i) => ({
        kind: benchmark.kind,
        prompt: item.prompt,
        response: judgedTexts[i] as string,
        ...(item.reference === undefined ? {} : { reference: item.reference }),
        ...(item.answer === undefined ? {} : { answer: item.answer }),
      }));
      const vKeys = inputs.map((input) =>
        cacheKey({
          judge: judge.identity,
          fingerprint: judge.fingerprint,
          prompt: input.prompt,
          response: input.response,
          reference: input.reference,
          answer: input.answer,
          kind: input.kind,
        }),
      );
      const todo = vKeys.flatMap((k, i) => (verdicts.has(k) ? [] : [i]));
      const chunk = options.judgeChunk ?? 32;
      const failed = new Map<number, Verdict>();
      let judged = inputs.length - todo.length;
      progress({
        benchmark: benchmark.name,
        phase: "judge",
        judge: judge.identity.name,
        done: judged,
        total: inputs.length,
      });
      for (let start = 0; start < todo.length; start += chunk) {
        options.signal?.throwIfAborted();
        const batch = todo.slice(start, start + chunk);
        const got = await judge.judge(
          batch.map((i) => inputs[i] as JudgeInput),
          options.signal,
        );
        batch.forEach((i, j) => {
          const verdict = got[j] as Verdict;
          // Unparseable verdicts are kept for this run but not cached: a rerun asks the judge again.
          if (verdict.error === undefined) verdicts.set(vKeys[i] as string, verdict);
          else failed.set(i, verdict);
        });
        judged += batch.length;
        progress({
          benchmark: benchmark.name,
          phase: "judge",
          judge: judge.identity.name,
          done: judged,
          total: inputs.length,
        });
      }
      samples.forEach((s, i) => {
        s.verdicts[judge.identity.name] = failed.get(i) ?? (verdicts.get(vKeys[i] as string) as Verdict);
      });
      if (failed.size === inputs.length) {
        const first = failed.values().next().value as Verdict;
        throw new EvaluationError(
          `judge ${judge.identity.name}: no usable verdict on benchmark "${benchmark.name}" (${failed.size} of ${inputs.length} replies unparseable; first: ${first.error}${first.raw === undefined ? "" : `, reply ${JSON.stringify(first.raw.slice(0, 80))}`}); answers are cached, fix the judge and rerun`,
        );
      }
    }
    timing.judgeSeconds += (performance.now() - judgeStarted) / 1000;

    // 3. Metrics.
    const metrics = benchmarkMetrics(benchmark, samples, judgeNames, bootstrap);
    if (benchmark.kind === "reference" && perplexity && answerer instanceof LocalAnswerer) {
      progress({ benchmark: benchmark.name, phase: "score", done: 0, total: benchmark.items.length });
      metrics.push(referencePerplexity(benchmark, answerer, settings, bootstrap, progress));
    }
    const result: BenchmarkResult = {
      name: benchmark.name,
      kind: benchmark.kind,
      source: benchmark.source,
      n: benchmark.items.length,
      metrics,
    };
    benchmarkResults.push(result);
    perRun.push({ benchmark: result, samples });
    allSamples.push(...samples);
  }

  const primaryJudge = options.primaryJudge ?? judgeNames[0];
  if (options.adaptive) {
    const judge = judges.find((j) => j.identity.name === primaryJudge);
    if (!judge)
      throw new EvaluationError("the adaptive attack needs a judge (the primary judge reads its answers)");
    for (const benchmark of options.benchmarks) {
      if (benchmark.kind !== "harmful" || benchmark.items.some((i) => i.attack !== undefined)) continue;
      const name = `${benchmark.name}+${PAIR}`;
      const samples = await runPairAttack(benchmark, {
        ...options.adaptive,
        target: answerer,
        judge,
        settings,
        cachePath: join(cacheDir, "pair.jsonl"),
        ...(options.signal ? { signal: options.signal } : {}),
        onRound: (round, active) =>
          progress({
            benchmark: name,
            phase: "generate",
            done: round,
            total: options.adaptive?.rounds ?? active,
          }),
      });
      const result: BenchmarkResult = {
        name,
        kind: "harmful",
        source: `${benchmark.source}, adaptive attack ${PAIR} (attacker ${JSON.stringify(options.adaptive.attacker.identity)})`,
        n: samples.length,
        metrics: benchmarkMetrics({ ...benchmark, name }, samples, [judge.identity.name], bootstrap),
      };
      benchmarkResults.push(result);
      perRun.push({ benchmark: result, samples });
      allSamples.push(...samples);
    }
  }
  const attacks = primaryJudge === undefined ? undefined : attackSummary(allSamples, primaryJudge, bootstrap);
  const results: EvalResults = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    safetuneVersion: SAFETUNE_VERSION,
    createdAt: new Date().toISOString(),
    name: options.name ?? basename(out),
    answerer: answerer.identity,
    generation: settings,
    judges: judges.map((j) => j.identity),
    ...(primaryJudge === undefined ? {} : { primaryJudge }),
    benchmarks: benchmarkResults,
    agreements: judgeAgreements(perRun, judgeNames),
    ...(attacks === undefined ? {} : { attacks }),
    timing,
  };
  const files = writeRunFiles(out, results, allSamples, options.compareWith ?? []);
  return { results, samples: allSamples, files: await files };
}

/** results.json, samples.jsonl, report.md and report.html, each written atomically. */
export async function writeRunFiles(
  out: string,
  results: EvalResults,
  samples: readonly SampleRecord[],
  compareWith: readonly EvalResults[],
): Promise<EvalRun["files"]> {
  const files = {
    results: join(out, "results.json"),
    samples: join(out, "samples.jsonl"),
    markdown: join(out, "report.md"),
    html: join(out, "report.html"),
  };
  writeFileAtomically(files.samples, samples.map((s) => `${JSON.stringify(s)}\n`).join(""));
  writeFileAtomically(files.markdown, markdownSummary(results, samples));
  writeFileAtomically(
    files.html,
    await htmlReport({ results, samples: [...samples], runs: [...compareWith] }),
  );
  // results.json last: its presence marks a finished run.
  writeFileAtomically(files.results, `${JSON.stringify(results, null, 2)}\n`);
  return files;
}

/** Perplexity of the reference answers: exp of the token-weighted mean negative log-likelihood. */
function referencePerplexity(
  benchmark: Benchmark,
  answerer: LocalAnswerer,
  settings: GenerationSettings,
  bootstrap: { resamples: number },
  progress: (event: EvalProgress) => void,
): MetricResult {
  const scored = answerLogProbs(
    answerer.model,
    answerer.tokenizer,
    benchmark.items.map((item) => ({ prompt: item.prompt, answer: item.reference ?? "" })),
    {
      ...templateOption(settings.template),
      ...(settings.system === undefined ? {} : { system: settings.system }),
      onProgress: (done) =>
        progress({ benchmark: benchmark.name, phase: "score", done, total: benchmark.items.length }),
    },
  );
  const nll = Float64Array.from(scored, (s) => -s.sum);
  const tokens = Float64Array.from(scored, (s) => s.tokens);
  const estimate = bootstrapStatistic(
    scored.length,
    (indices) => {
      let a = 0;
      let b = 0;
      for (const i of indices) {
        a += nll[i] as number;
        b += tokens[i] as number;
      }
      return Math.exp(a / Math.max(1, b));
    },
    bootstrap,
  );
  return { metric: "perplexity", estimate };
}

/** A pairs benchmark: nothing is generated; the policy's log-prob margin and each scoring judge's margin. */
async function scorePairsBenchmark(
  benchmark: Benchmark,
  answerer: Answerer,
  judges: readonly Judge[],
  settings: GenerationSettings,
  bootstrap: { resamples: number },
  progress: (event: EvalProgress) => void,
): Promise<{ benchmark: BenchmarkResult; samples: SampleRecord[] }> {
  const pairs = benchmark.items.map((item) => ({
    prompt: item.prompt,
    chosen: item.chosen ?? "",
    rejected: item.rejected ?? "",
    ...(item.category === undefined ? {} : { category: item.category }),
  }));
  const samples: SampleRecord[] = benchmark.items.map((item) => ({
    benchmark: benchmark.name,
    id: item.id,
    ...(item.category === undefined ? {} : { category: item.category }),
    prompt: lastUserText(item.prompt),
    response: item.chosen ?? "",
    reference: item.rejected ?? "",
    verdicts: {},
  }));
  const metrics: MetricResult[] = [];
  const record = (name: string, scores: { chosen: number; rejected: number }[]) => {
    scores.forEach((s, i) => {
      const margin = s.chosen - s.rejected;
      (samples[i] as SampleRecord).verdicts[name] = {
        score: margin,
        label: margin > 0 ? "prefers_chosen" : margin < 0 ? "prefers_rejected" : "tie",
      };
    });
    metrics.push(
      ...pairMetrics(
        scores.map((s, i) => ({
          ...s,
          ...(pairs[i]?.category === undefined ? {} : { category: pairs[i]?.category }),
        })),
        name,
        bootstrap,
      ),
    );
  };
  if (answerer instanceof LocalAnswerer) {
    progress({ benchmark: benchmark.name, phase: "score", done: 0, total: pairs.length * 2 });
    const flat = pairs.flatMap((p) => [
      { prompt: p.prompt, answer: p.chosen },
      { prompt: p.prompt, answer: p.rejected },
    ]);
    // Prompts rendered as the answerer renders them (its template and system message), as for perplexity.
    const logps = answerLogProbs(answerer.model, answerer.tokenizer, flat, {
      ...templateOption(settings.template),
      ...(settings.system === undefined ? {} : { system: settings.system }),
      onProgress: (done) => progress({ benchmark: benchmark.name, phase: "score", done, total: flat.length }),
    });
    record(
      "policy",
      pairs.map((_, i) => ({ chosen: logps[2 * i]?.sum ?? 0, rejected: logps[2 * i + 1]?.sum ?? 0 })),
    );
  }
  for (const judge of judges) {
    if (!judge.scorePairs) continue;
    progress({
      benchmark: benchmark.name,
      phase: "judge",
      judge: judge.identity.name,
      done: 0,
      total: pairs.length,
    });
    record(judge.identity.name, await judge.scorePairs(pairs));
    progress({
      benchmark: benchmark.name,
      phase: "judge",
      judge: judge.identity.name,
      done: pairs.length,
      total: pairs.length,
    });
  }
  return {
    benchmark: { name: benchmark.name, kind: "pairs", source: benchmark.source, n: pairs.length, metrics },
    samples,
  };
}
