// One evaluation run: for each benchmark, answers (cached on disk), each judge's verdicts (cached), metrics
// with intervals, then results.json, samples.jsonl and the reports. An interrupted run resumes from its caches.
import { mkdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { lastUserText } from "../data/text.js";
import { writeFileAtomically } from "../util/atomicFolder.js";
import { SAFETUNE_VERSION } from "../version.js";
import type { Answer, Answerer } from "./answer/answerer.js";
import { attackSummary } from "./attacks/attackMetrics.js";
import { judgedText } from "./attacks/judgedText.js";
import { PAIR, type PairBudget, runPairAttack } from "./attacks/pairAttack.js";
import { cacheKey, JsonlCache } from "./cache.js";
import { EvaluationError } from "./errors.js";
import type { Judge, JudgeInput, PairInput, PairScores } from "./judges/judge.js";
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
import type { AnswerLogProb } from "./scoring/answerLogProbs.js";
import type { Benchmark, BenchmarkItem, Verdict } from "./types.js";

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

/**
 * The run's state shared by its steps: the caches, the timing, and where progress goes. Built once by runEval.
 */
interface RunState {
  options: EvalOptions;
  cacheDir: string;
  responses: JsonlCache<Answer>;
  verdicts: JsonlCache<Verdict>;
  bootstrap: { resamples: number };
  timing: EvalResults["timing"];
  progress: (event: EvalProgress) => void;
  /** Whether reference benchmarks get the perplexity of their reference answers. */
  perplexity: boolean;
}

/** One benchmark's result and the samples it was computed from. */
interface BenchmarkRun {
  benchmark: BenchmarkResult;
  samples: SampleRecord[];
}

/**
 * The whole run, top to bottom: every benchmark answered, judged and measured; the adaptive attack's benchmarks;
 * then results.json, samples.jsonl and the reports.
 */
export async function runEval(options: EvalOptions): Promise<EvalRun> {
  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const state = openRun(options, out);

  const runs: BenchmarkRun[] = [];
  for (const benchmark of options.benchmarks) {
    options.signal?.throwIfAborted();
    runs.push(
      benchmark.kind === "pairs"
        ? await scorePairsBenchmark(benchmark, state)
        : await evaluateBenchmark(benchmark, state),
    );
  }
  const primaryJudge = options.primaryJudge ?? options.judges[0]?.identity.name;
  if (options.adaptive) runs.push(...(await adaptiveAttackBenchmarks(options.adaptive, primaryJudge, state)));

  const results = runResults(options, out, runs, primaryJudge, state);
  const samples = runs.flatMap((r) => r.samples);
  const files = await writeRunFiles(out, results, samples, options.compareWith ?? []);
  return { results, samples, files };
}

function openRun(options: EvalOptions, out: string): RunState {
  const cacheDir = options.cacheDir ?? join(out, "cache");
  return {
    options,
    cacheDir,
    responses: new JsonlCache<Answer>(join(cacheDir, "responses.jsonl")),
    verdicts: new JsonlCache<Verdict>(join(cacheDir, "verdicts.jsonl")),
    bootstrap: { resamples: options.resamples ?? 2000 },
    timing: { generationSeconds: 0, judgeSeconds: 0, generated: 0, cached: 0 },
    progress: options.onProgress ?? (() => {}),
    perplexity: options.perplexity ?? options.answerer.scoreAnswers !== undefined,
  };
}

/** A benchmark of prompts: answers, every judge's verdicts, then the metrics. */
async function evaluateBenchmark(benchmark: Benchmark, state: RunState): Promise<BenchmarkRun> {
  const answers = await answerPrompts(benchmark, state);
  const samples = sampleRecords(benchmark, answers);
  const judgeStarted = performance.now();
  for (const judge of state.options.judges) await judgeSamples(benchmark, samples, judge, state);
  state.timing.judgeSeconds += (performance.now() - judgeStarted) / 1000;

  const judgeNames = state.options.judges.map((j) => j.identity.name);
  const metrics = benchmarkMetrics(benchmark, samples, judgeNames, state.bootstrap);
  const { answerer } = state.options;
  if (benchmark.kind === "reference" && state.perplexity && answerer.scoreAnswers) {
    const progress = (done: number) =>
      state.progress({ benchmark: benchmark.name, phase: "score", done, total: benchmark.items.length });
    progress(0);
    const scored = answerer.scoreAnswers(
      benchmark.items.map((item) => ({ prompt: item.prompt, answer: item.reference ?? "" })),
      progress,
    );
    metrics.push({ metric: "perplexity", estimate: perplexityEstimate(scored, state.bootstrap) });
  }
  return {
    benchmark: {
      name: benchmark.name,
      kind: benchmark.kind,
      source: benchmark.source,
      n: benchmark.items.length,
      metrics,
    },
    samples,
  };
}

/** Every prompt's answer: cached ones reused, the rest generated and cached as they arrive. */
async function answerPrompts(benchmark: Benchmark, state: RunState): Promise<Answer[]> {
  const { answerer, settings, signal } = state.options;
  const { responses, timing } = state;
  const keyMaterial = { answerer: answerer.identity, fingerprint: answerer.fingerprint, settings };
  const keys = benchmark.items.map((item, index) =>
    cacheKey({ ...keyMaterial, prompt: item.prompt, seed: settings.seed + index }),
  );
  const answers: (Answer | undefined)[] = keys.map((k) => responses.get(k));
  const pending = answers.flatMap((a, index) => (a === undefined ? [index] : []));
  timing.cached += answers.length - pending.length;
  let done = answers.length - pending.length;
  const progress = () =>
    state.progress({ benchmark: benchmark.name, phase: "generate", done, total: answers.length });
  progress();
  const started = performance.now();
  await answerer.answerAll(
    pending.map((index) => ({
      prompt: (benchmark.items[index] as BenchmarkItem).prompt,
      seed: settings.seed + index,
    })),
    (j, answer) => {
      const index = pending[j] as number;
      answers[index] = answer;
      responses.set(keys[index] as string, answer);
      timing.generated++;
      done++;
      progress();
    },
    signal,
  );
  timing.generationSeconds += (performance.now() - started) / 1000;
  return answers.map((answer, i) => {
    if (answer === undefined)
      throw new EvaluationError(`${benchmark.name}: the answerer returned no answer for prompt ${i}`);
    return answer;
  });
}

/**
 * One sample per prompt, verdicts still empty. An encoding attack's answer is decoded before judging: the
 * decoded text is the response, the raw answer is kept beside it when they differ.
 */
export function sampleRecords(benchmark: Benchmark, answers: readonly Answer[]): SampleRecord[] {
  return benchmark.items.map((item, i) => {
    const answer = answers[i];
    if (answer === undefined) throw new EvaluationError(`${benchmark.name}: no answer for prompt ${i}`);
    const text = judgedText(item.attack, answer.text);
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
}

/**
 * One judge's verdict on every sample, cached per (judge, prompt, answer, reference) and asked in chunks so an
 * interruption loses at most one chunk. Unparseable verdicts are kept for this run but not cached.
 */
async function judgeSamples(
  benchmark: Benchmark,
  samples: SampleRecord[],
  judge: Judge,
  state: RunState,
): Promise<void> {
  const { verdicts } = state;
  const { signal } = state.options;
  const name = judge.identity.name;
  const inputs: JudgeInput[] = benchmark.items.map((item, i) => ({
    kind: benchmark.kind,
    // An attacked item is judged against the request it carries, not the wrapped or encoded prompt the model saw.
    prompt: item.request ?? item.prompt,
    response: (samples[i] as SampleRecord).response,
    ...(item.reference === undefined ? {} : { reference: item.reference }),
    ...(item.answer === undefined ? {} : { answer: item.answer }),
  }));
  const keys = inputs.map((input) =>
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
  const todo = keys.flatMap((k, i) => (verdicts.has(k) ? [] : [i]));
  const chunk = state.options.judgeChunk ?? 32;
  const failed = new Map<number, Verdict>();
  let done = inputs.length - todo.length;
  const progress = () =>
    state.progress({ benchmark: benchmark.name, phase: "judge", judge: name, done, total: inputs.length });
  progress();
  for (let start = 0; start < todo.length; start += chunk) {
    signal?.throwIfAborted();
    const batch = todo.slice(start, start + chunk);
    const got = await judge.judge(
      batch.map((i) => inputs[i] as JudgeInput),
      signal,
    );
    batch.forEach((i, j) => {
      const verdict = got[j] as Verdict;
      if (verdict.error === undefined) verdicts.set(keys[i] as string, verdict);
      else failed.set(i, verdict);
    });
    done += batch.length;
    progress();
  }
  samples.forEach((s, i) => {
    s.verdicts[name] = failed.get(i) ?? (verdicts.get(keys[i] as string) as Verdict);
  });
  if (failed.size === inputs.length) {
    const first = failed.values().next().value as Verdict;
    throw new EvaluationError(
      `judge ${name}: no usable verdict on benchmark "${benchmark.name}" (${failed.size} of ${inputs.length} replies unparseable; first: ${first.error}${first.raw === undefined ? "" : `, reply ${JSON.stringify(first.raw.slice(0, 80))}`}); answers are cached, fix the judge and rerun`,
    );
  }
}

/** The PAIR-style adaptive attack on every unattacked harmful benchmark, judged by the primary judge. */
async function adaptiveAttackBenchmarks(
  adaptive: NonNullable<EvalOptions["adaptive"]>,
  primaryJudge: string | undefined,
  state: RunState,
): Promise<BenchmarkRun[]> {
  const { answerer, settings, signal } = state.options;
  const judge = state.options.judges.find((j) => j.identity.name === primaryJudge);
  if (!judge)
    throw new EvaluationError("the adaptive attack needs a judge (the primary judge reads its answers)");
  const runs: BenchmarkRun[] = [];
  for (const benchmark of state.options.benchmarks) {
    if (benchmark.kind !== "harmful" || benchmark.items.some((i) => i.attack !== undefined)) continue;
    const name = `${benchmark.name}+${PAIR}`;
    const samples = await runPairAttack(benchmark, {
      ...adaptive,
      target: answerer,
      judge,
      settings,
      cachePath: join(state.cacheDir, "pair.jsonl"),
      ...(signal ? { signal } : {}),
      onRound: (round, active) =>
        state.progress({ benchmark: name, phase: "generate", done: round, total: adaptive.rounds ?? active }),
    });
    runs.push({
      benchmark: {
        name,
        kind: "harmful",
        source: `${benchmark.source}, adaptive attack ${PAIR} (attacker ${JSON.stringify(adaptive.attacker.identity)})`,
        n: samples.length,
        metrics: benchmarkMetrics({ ...benchmark, name }, samples, [judge.identity.name], state.bootstrap),
      },
      samples,
    });
  }
  return runs;
}

/** results.json's content: the settings that made the run, each benchmark's metrics, agreements, attacks. */
function runResults(
  options: EvalOptions,
  out: string,
  runs: readonly BenchmarkRun[],
  primaryJudge: string | undefined,
  state: RunState,
): EvalResults {
  const judgeNames = options.judges.map((j) => j.identity.name);
  const samples = runs.flatMap((r) => r.samples);
  const attacks =
    primaryJudge === undefined ? undefined : attackSummary(samples, primaryJudge, state.bootstrap);
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    safetuneVersion: SAFETUNE_VERSION,
    createdAt: new Date().toISOString(),
    name: options.name ?? basename(out),
    answerer: options.answerer.identity,
    generation: options.settings,
    judges: options.judges.map((j) => j.identity),
    ...(primaryJudge === undefined ? {} : { primaryJudge }),
    benchmarks: runs.map((r) => r.benchmark),
    agreements: judgeAgreements(runs, judgeNames),
    ...(attacks === undefined ? {} : { attacks }),
    timing: state.timing,
  };
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

/** Perplexity of scored answers: exp of the token-weighted mean negative log-likelihood, with its interval. */
export function perplexityEstimate(
  scored: readonly AnswerLogProb[],
  bootstrap: { resamples: number },
): MetricResult["estimate"] {
  const nll = Float64Array.from(scored, (s) => -s.sum);
  const tokens = Float64Array.from(scored, (s) => s.tokens);
  return bootstrapStatistic(
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
}

/**
 * A pairs benchmark: nothing is generated; the policy's log-prob margin of chosen over rejected (when the
 * answerer can score answers) and each scoring judge's margin.
 */
async function scorePairsBenchmark(benchmark: Benchmark, state: RunState): Promise<BenchmarkRun> {
  const { answerer, judges } = state.options;
  const pairs: JudgedPair[] = benchmark.items.map((item) => ({
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
  const record = (name: string, scores: PairScores[]) =>
    metrics.push(...recordMargins(name, scores, pairs, samples, state.bootstrap));
  const progress = (phase: "score" | "judge", done: number, total: number, judge?: string) =>
    state.progress({
      benchmark: benchmark.name,
      phase,
      done,
      total,
      ...(judge === undefined ? {} : { judge }),
    });
  if (answerer.scoreAnswers) {
    const flat = pairs.flatMap((p) => [
      { prompt: p.prompt, answer: p.chosen },
      { prompt: p.prompt, answer: p.rejected },
    ]);
    progress("score", 0, flat.length);
    // Prompts rendered as the answerer renders them (its template and system message), as for perplexity.
    const logps = answerer.scoreAnswers(flat, (done) => progress("score", done, flat.length));
    record("policy", pairMargins(logps));
  }
  for (const judge of judges) {
    if (!judge.scorePairs) continue;
    progress("judge", 0, pairs.length, judge.identity.name);
    record(judge.identity.name, await judge.scorePairs(pairs));
    progress("judge", pairs.length, pairs.length, judge.identity.name);
  }
  return {
    benchmark: { name: benchmark.name, kind: "pairs", source: benchmark.source, n: pairs.length, metrics },
    samples,
  };
}

/** A pair as the policy and the scoring judges see it, with its category for per-category metrics. */
interface JudgedPair extends PairInput {
  category?: string;
}

/**
 * One scorer's chosen-minus-rejected margins: each sample's verdict under `name` (its margin and which answer it
 * prefers), and the scorer's pair metrics with intervals.
 */
function recordMargins(
  name: string,
  scores: readonly PairScores[],
  pairs: readonly JudgedPair[],
  samples: SampleRecord[],
  bootstrap: RunState["bootstrap"],
): MetricResult[] {
  scores.forEach((s, i) => {
    const margin = s.chosen - s.rejected;
    (samples[i] as SampleRecord).verdicts[name] = {
      score: margin,
      label: margin > 0 ? "prefers_chosen" : margin < 0 ? "prefers_rejected" : "tie",
    };
  });
  return pairMetrics(
    scores.map((s, i) => ({
      ...s,
      ...(pairs[i]?.category === undefined ? {} : { category: pairs[i]?.category }),
    })),
    name,
    bootstrap,
  );
}

/** Scores of answers laid out chosen, rejected, chosen, rejected, ... as one {chosen, rejected} per pair. */
export function pairMargins(scored: readonly AnswerLogProb[]): { chosen: number; rejected: number }[] {
  if (scored.length % 2 !== 0)
    throw new EvaluationError(
      `pair scores: expected chosen and rejected for every pair, got ${scored.length} scores`,
    );
  const out: { chosen: number; rejected: number }[] = [];
  for (let i = 0; i < scored.length; i += 2)
    out.push({ chosen: (scored[i] as AnswerLogProb).sum, rejected: (scored[i + 1] as AnswerLogProb).sum });
  return out;
}
