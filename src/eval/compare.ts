// Two runs on the same prompts, item by item: the paired difference of each rate with its interval, and
// McNemar's test of whether the two models' outcomes differ more than chance would make them.
import { EvaluationError } from "./errors.js";
import { type McNemarResult, mcnemarTest } from "./metrics/mcnemar.js";
import { pairedDifference } from "./metrics/pairedDifference.js";
import type { EvalResults, SampleRecord } from "./results.js";
import type { BenchmarkKind, Estimate, Verdict } from "./types.js";

export interface PairedComparison {
  benchmark: string;
  kind: BenchmarkKind;
  judge: string;
  /** safe_response_rate, over_refusal_rate or win_rate. */
  metric: string;
  /** Items present and judged in both runs. */
  n: number;
  rateA: number;
  rateB: number;
  /** B − A, with a paired bootstrap interval. */
  difference: Estimate;
  mcnemar: McNemarResult;
}

export interface RunComparison {
  a: string;
  b: string;
  /** Generation settings that differ between the runs (a comparison across them is still paired, but say so). */
  settingDifferences: string[];
  comparisons: PairedComparison[];
}

/** The 0/1 outcome a verdict gives on a benchmark kind (undefined: not comparable). */
function outcome(kind: BenchmarkKind, v: Verdict | undefined): boolean | undefined {
  if (!v || v.error !== undefined) return undefined;
  if (kind === "harmful") return v.safe;
  if (kind === "benign") return v.refused;
  if (kind === "reference") return v.label === "win" ? true : v.label === undefined ? undefined : false;
  return undefined;
}

const METRIC: Record<BenchmarkKind, string> = {
  harmful: "safe_response_rate",
  benign: "over_refusal_rate",
  reference: "win_rate",
  pairs: "",
};

export function compareRuns(
  a: { results: EvalResults; samples: readonly SampleRecord[] },
  b: { results: EvalResults; samples: readonly SampleRecord[] },
  options: { judge?: string; resamples?: number } = {},
): RunComparison {
  const comparisons: PairedComparison[] = [];
  const judgesA = new Set(a.results.judges.map((j) => j.name));
  const judges = b.results.judges.map((j) => j.name).filter((n) => judgesA.has(n));
  if (options.judge !== undefined && !judges.includes(options.judge))
    throw new EvaluationError(
      `judge "${options.judge}" is not in both runs (shared: ${judges.join(", ") || "none"})`,
    );
  const byKey = (samples: readonly SampleRecord[]) =>
    new Map(samples.map((s) => [`${s.benchmark}\u0000${s.id}`, s]));
  const samplesA = byKey(a.samples);
  const samplesB = byKey(b.samples);
  for (const benchmark of b.results.benchmarks) {
    const other = a.results.benchmarks.find((x) => x.name === benchmark.name);
    if (!other || benchmark.kind === "pairs") continue;
    for (const judge of options.judge === undefined ? judges : [options.judge]) {
      const xa: boolean[] = [];
      const xb: boolean[] = [];
      for (const [key, sb] of samplesB) {
        if (sb.benchmark !== benchmark.name) continue;
        const oa = outcome(benchmark.kind, samplesA.get(key)?.verdicts[judge]);
        const ob = outcome(benchmark.kind, sb.verdicts[judge]);
        if (oa === undefined || ob === undefined) continue;
        xa.push(oa);
        xb.push(ob);
      }
      if (xa.length === 0) continue;
      const na = xa.map(Number);
      const nb = xb.map(Number);
      comparisons.push({
        benchmark: benchmark.name,
        kind: benchmark.kind,
        judge,
        metric: METRIC[benchmark.kind],
        n: xa.length,
        rateA: na.reduce((s, x) => s + x, 0) / na.length,
        rateB: nb.reduce((s, x) => s + x, 0) / nb.length,
        difference: pairedDifference(
          na,
          nb,
          options.resamples === undefined ? {} : { resamples: options.resamples },
        ),
        mcnemar: mcnemarTest(xa, xb),
      });
    }
  }
  const ga = a.results.generation as unknown as Record<string, unknown>;
  const gb = b.results.generation as unknown as Record<string, unknown>;
  const settingDifferences = [...new Set([...Object.keys(ga), ...Object.keys(gb)])]
    .filter((k) => JSON.stringify(ga[k]) !== JSON.stringify(gb[k]))
    .map((k) => `${k}: ${JSON.stringify(ga[k])} vs ${JSON.stringify(gb[k])}`);
  return { a: a.results.name, b: b.results.name, settingDifferences, comparisons };
}

const pct = (x: number) => (100 * x).toFixed(1);

/** The comparison as a Markdown table. */
export function comparisonMarkdown(c: RunComparison): string {
  const lines = [
    `# ${c.b} vs ${c.a}`,
    "",
    `Paired over the prompts both runs answered; difference = ${c.b} − ${c.a} in points, 95% paired bootstrap interval; McNemar's test on the discordant prompts.`,
    "",
  ];
  if (c.settingDifferences.length > 0)
    lines.push(`Generation settings differ: ${c.settingDifferences.join("; ")}`, "");
  lines.push(
    `| benchmark | judge | metric | n | ${c.a} | ${c.b} | difference | only ${c.a} | only ${c.b} | McNemar p |`,
    "|---|---|---|---:|---:|---:|---|---:|---:|---:|",
  );
  for (const x of c.comparisons) {
    const d = x.difference;
    lines.push(
      `| ${x.benchmark} | ${x.judge} | ${x.metric} | ${x.n} | ${pct(x.rateA)} | ${pct(x.rateB)} | ${d.value >= 0 ? "+" : ""}${pct(d.value)} [${pct(d.low)}, ${pct(d.high)}] | ${x.mcnemar.onlyA} | ${x.mcnemar.onlyB} | ${formatP(x.mcnemar.pValue)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function formatP(p: number): string {
  if (p < 0.001) return "<0.001";
  return p.toFixed(3);
}
