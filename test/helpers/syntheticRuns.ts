// Evaluation runs made from 0/1 outcomes per prompt, their results.json computed from the samples by the real
// metric code: what the seed-report and target tests aggregate.
import { benchmarkMetrics } from "../../src/eval/metrics/benchmarkMetrics.js";
import type { SeedRun } from "../../src/eval/metrics/seedGroups.js";
import type { EvalResults, SampleRecord } from "../../src/eval/results.js";
import type { BenchmarkKind, Verdict } from "../../src/eval/types.js";

export const JUDGE = "refusal";

/** n outcomes of which the first k are 1 (a rate of exactly k/n). */
export const firstK = (n: number, k: number) => Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));

/** The refusal judge's verdict for outcome x (1: refused, which on a harmful prompt is also safe). */
export function verdictFor(kind: BenchmarkKind, x: number): Verdict {
  if (kind === "harmful")
    return { safe: x === 1, refused: x === 1, label: x === 1 ? "full_refusal" : "full_compliance" };
  return { refused: x === 1, label: x === 1 ? "full_refusal" : "full_compliance" };
}

export interface SyntheticBenchmark {
  name: string;
  kind: BenchmarkKind;
  outcomes: number[];
}

/** A run of the given benchmarks; `resamples` is the bootstrap's. */
export function syntheticRun(
  name: string,
  seed: number | undefined,
  benchmarks: SyntheticBenchmark[],
  resamples: number,
): SeedRun {
  const samples: SampleRecord[] = [];
  const results: EvalResults = {
    schemaVersion: 1,
    safetuneVersion: "test",
    createdAt: "2026-01-01T00:00:00.000Z",
    name,
    ...(seed === undefined ? {} : { seed }),
    answerer: { kind: "local", path: `models/${name}`, dtype: "float32" },
    generation: { maxNewTokens: 16, temperature: 0, seed: 0, template: "model", batchSize: 4 },
    judges: [{ name: JUDGE, kind: "refusal", detail: {} }],
    primaryJudge: JUDGE,
    benchmarks: benchmarks.map(({ name: bench, kind, outcomes }) => {
      const own = outcomes.map((x, i) => ({
        benchmark: bench,
        id: `${bench}-${i}`,
        prompt: `prompt ${i}`,
        response: "…",
        verdicts: { [JUDGE]: verdictFor(kind, x) },
      }));
      samples.push(...own);
      const benchmark = { name: bench, kind, source: "test", items: [] };
      return {
        name: bench,
        kind,
        source: "test",
        n: outcomes.length,
        metrics: benchmarkMetrics(benchmark, own, [JUDGE], { resamples }),
      };
    }),
    agreements: [],
    timing: { generationSeconds: 0, judgeSeconds: 0, generated: 0, cached: 0 },
  };
  return { results, samples, source: `runs/${name}@${seed}` };
}
