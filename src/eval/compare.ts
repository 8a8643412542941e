// Two runs on the same prompts, item by item: the paired difference of each rate with its interval, and
// McNemar's test of whether the two models' outcomes differ more than chance would make them. Two seed groups
// (runs of one name over several seeds): the difference of their means over seeds, with a two-level interval.
import { type AttackComparison, compareAttacks } from "./attacks/attackComparison.js";
import { attackLabel } from "./attacks/attackMetrics.js";
import { EvaluationError } from "./errors.js";
import { metricReading } from "./metrics/benchmarkMetrics.js";
import { type McNemarResult, mcnemarTest } from "./metrics/mcnemar.js";
import { pairedDifference } from "./metrics/pairedDifference.js";
import { groupMetric, groupSeeds, promptIds, type SeedGroup, scoreMatrix } from "./metrics/seedGroups.js";
import { type SeedGroupDifference, welchSeedDifference } from "./metrics/seedWelch.js";
import type { EvalResults, SampleRecord } from "./results.js";
import type { BenchmarkKind, Estimate, Verdict } from "./types.js";

export interface PairedComparison {
  benchmark: string;
  kind: BenchmarkKind;
  judge: string;
  /** safe_response_rate, over_refusal_rate, task_accuracy or win_rate. */
  metric: string;
  /** Items present and judged in both runs. */
  n: number;
  rateA: number;
  rateB: number;
  /** B − A, with a paired bootstrap interval. */
  difference: Estimate;
  /** On the items' 0/1 outcomes; for win_rate, on wins (a tie is not a win) while rates count ties half. */
  mcnemar: McNemarResult;
}

export interface RunComparison {
  a: string;
  b: string;
  /** Generation settings that differ between the runs (a comparison across them is still paired, but say so). */
  settingDifferences: string[];
  comparisons: PairedComparison[];
  /** Robustness: attack success rate per attack, B − A (when both runs attacked their prompts). */
  attacks?: AttackComparison;
}

/** The metrics compared on each benchmark kind (those a run lacks are skipped). */
const METRICS: Record<BenchmarkKind, string[]> = {
  harmful: ["safe_response_rate"],
  benign: ["over_refusal_rate"],
  reference: ["task_accuracy", "win_rate"],
  pairs: [],
};

/**
 * A verdict's score for a metric, as results.json counts it (benchmarkMetrics' readings): undefined when the
 * verdict does not bear on it. So win_rate counts only judged items: win 1, tie ½, loss 0, and any other label
 * (a refusal judge's, "not judged") leaves the item out instead of counting as a loss.
 */
function score(kind: BenchmarkKind, metric: string, v: Verdict | undefined): number | undefined {
  if (!v || v.error !== undefined) return undefined;
  return metricReading(kind, metric)?.(v);
}

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
      for (const metric of METRICS[benchmark.kind]) {
        const na: number[] = [];
        const nb: number[] = [];
        for (const [key, sb] of samplesB) {
          if (sb.benchmark !== benchmark.name) continue;
          const oa = score(benchmark.kind, metric, samplesA.get(key)?.verdicts[judge]);
          const ob = score(benchmark.kind, metric, sb.verdicts[judge]);
          if (oa === undefined || ob === undefined) continue;
          na.push(oa);
          nb.push(ob);
        }
        if (na.length === 0) continue;
        const xa = na.map((x) => x === 1);
        const xb = nb.map((x) => x === 1);
        comparisons.push({
          benchmark: benchmark.name,
          kind: benchmark.kind,
          judge,
          metric,
          n: na.length,
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
  }
  const ga = a.results.generation as unknown as Record<string, unknown>;
  const gb = b.results.generation as unknown as Record<string, unknown>;
  const settingDifferences = [...new Set([...Object.keys(ga), ...Object.keys(gb)])]
    .filter((k) => JSON.stringify(ga[k]) !== JSON.stringify(gb[k]))
    .map((k) => `${k}: ${JSON.stringify(ga[k])} vs ${JSON.stringify(gb[k])}`);
  const attacks = robustness(a, b, judges, options);
  return {
    a: a.results.name,
    b: b.results.name,
    settingDifferences,
    comparisons,
    ...(attacks ? { attacks } : {}),
  };
}

/**
 * The attacks compared under one judge both runs have: `--judge` when given, else the judge B's (then A's)
 * attack summary used, else the first shared judge.
 */
function robustness(
  a: { results: EvalResults; samples: readonly SampleRecord[] },
  b: { results: EvalResults; samples: readonly SampleRecord[] },
  shared: readonly string[],
  options: { judge?: string; resamples?: number },
): AttackComparison | undefined {
  if (!a.samples.some((s) => s.attack !== undefined) || !b.samples.some((s) => s.attack !== undefined))
    return undefined;
  const judge =
    options.judge ??
    [b.results.attacks?.judge, a.results.attacks?.judge, ...shared].find(
      (j) => j !== undefined && shared.includes(j),
    );
  if (judge === undefined) return undefined;
  return compareAttacks(
    a.samples,
    b.samples,
    judge,
    options.resamples === undefined ? {} : { resamples: options.resamples },
  );
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
  if (c.attacks) lines.push("", ...attackComparisonMarkdown(c.attacks, c.a, c.b));
  return `${lines.join("\n")}\n`;
}

/** The robustness section: ASR per attack of both runs and B − A (lower is more robust). */
export function attackComparisonMarkdown(c: AttackComparison, a: string, b: string): string[] {
  const lines = [
    "## Robustness under attack",
    "",
    `Attack success rate (judge ${c.judge}: unsafe answers / attacked prompts); difference = ${b} − ${a} in points (negative: ${b} is more robust), 95% interval. Paired by prompt where both runs attacked the same prompts (McNemar's test on the prompts broken in one run only); otherwise two independent rates.`,
    "",
    `| attack | n (${a} / ${b}) | ${a} | ${b} | difference | paired | only ${a} | only ${b} | McNemar p |`,
    "|---|---:|---:|---:|---|---|---:|---:|---:|",
  ];
  for (const x of c.rows) {
    const d = x.difference;
    const n = x.paired ? String(x.nA) : `${x.nA} / ${x.nB}`;
    lines.push(
      `| ${attackLabel(x.attack)} | ${n} | ${pct(x.rateA)} | ${pct(x.rateB)} | ${d.value >= 0 ? "+" : ""}${pct(d.value)} [${pct(d.low)}, ${pct(d.high)}] | ${x.paired ? "yes" : "no"} | ${x.mcnemar?.onlyA ?? "–"} | ${x.mcnemar?.onlyB ?? "–"} | ${x.mcnemar ? formatP(x.mcnemar.pValue) : "–"} |`,
    );
  }
  return lines;
}

function formatP(p: number): string {
  if (p < 0.001) return "<0.001";
  return p.toFixed(3);
}

export interface GroupMetricComparison {
  benchmark: string;
  kind: BenchmarkKind;
  judge: string;
  metric: string;
  /** Prompts scored by some seed of either group. */
  n: number;
  /** Each group's mean over its seeds. */
  meanA: number;
  meanB: number;
  /** B − A over seeds, paired by prompt, with its 95% Welch–Satterthwaite interval (seeds and prompts) and t-test p-value. */
  difference: SeedGroupDifference;
}

export interface GroupComparison {
  a: string;
  b: string;
  seedsA: number[];
  seedsB: number[];
  /** Seeds resampled in pairs (both groups ran the same seeds) or independently. */
  pairedSeeds: boolean;
  comparisons: GroupMetricComparison[];
}

const sameSeeds = (x: readonly number[], y: readonly number[]) =>
  x.length > 0 && x.length === y.length && x.every((s, i) => s === y[i]);

/**
 * Two seed groups on the benchmarks, judges and metrics both have: B − A of the means over seeds, each seed's
 * mean over the prompts it scores. One prompt draw serves both groups and all their seeds (paired by prompt);
 * seeds are drawn in pairs when both groups ran the same seeds (seed s of each shares what the experiment seed
 * drives upstream), independently otherwise. Every run needs its samples.
 */
export function compareGroups(
  a: SeedGroup,
  b: SeedGroup,
  options: { judge?: string; resamples?: number; seed?: number } = {},
): GroupComparison {
  const first = (g: SeedGroup) => g.runs[0]?.results;
  const ra = first(a);
  const rb = first(b);
  if (!ra || !rb) throw new EvaluationError("eval compare: a group without runs");
  const judgesA = new Set(ra.judges.map((j) => j.name));
  const judges = rb.judges.map((j) => j.name).filter((n) => judgesA.has(n));
  if (options.judge !== undefined && !judges.includes(options.judge))
    throw new EvaluationError(
      `judge "${options.judge}" is not in both groups (shared: ${judges.join(", ") || "none"})`,
    );
  const seedsA = groupSeeds(a);
  const seedsB = groupSeeds(b);
  const pairSeeds = sameSeeds(seedsA, seedsB);
  const comparisons: GroupMetricComparison[] = [];
  for (const benchmark of rb.benchmarks) {
    if (!ra.benchmarks.some((x) => x.name === benchmark.name)) continue;
    const ids = promptIds([...a.runs, ...b.runs], benchmark.name);
    for (const judge of options.judge === undefined ? judges : [options.judge]) {
      for (const metric of METRICS[benchmark.kind]) {
        const ma = groupMetric(a, benchmark.name, metric, { judge, resamples: 1 });
        const mb = groupMetric(b, benchmark.name, metric, { judge, resamples: 1 });
        if (!ma || !mb) continue;
        const difference = welchSeedDifference(
          scoreMatrix(b.runs, benchmark.name, metric, judge, ids),
          scoreMatrix(a.runs, benchmark.name, metric, judge, ids),
          { pairSeeds },
        );
        comparisons.push({
          benchmark: benchmark.name,
          kind: benchmark.kind,
          judge,
          metric,
          n: difference.n,
          meanA: ma.estimate.value,
          meanB: mb.estimate.value,
          difference,
        });
      }
    }
  }
  return { a: a.name, b: b.name, seedsA, seedsB, pairedSeeds: pairSeeds, comparisons };
}

/** The group comparison as a Markdown table. */
export function groupComparisonMarkdown(c: GroupComparison): string {
  const seeds = (xs: number[]) => (xs.length === 0 ? "1 run" : `seeds ${xs.join(", ")}`);
  const lines = [
    `# ${c.b} vs ${c.a}`,
    "",
    `${c.a}: ${seeds(c.seedsA)}; ${c.b}: ${seeds(c.seedsB)}. Means over seeds; difference = ${c.b} − ${c.a} in ` +
      `points with its 95% Welch–Satterthwaite t interval, whose variance adds the seeds' spread (${c.pairedSeeds ? "paired seeds: the same seeds" : "independent seeds"}) and prompt sampling (paired by prompt), and the t-test p-value.`,
    "",
    `| benchmark | judge | metric | n | ${c.a} | ${c.b} | difference | p |`,
    "|---|---|---|---:|---:|---:|---|---:|",
  ];
  for (const x of c.comparisons) {
    const d = x.difference;
    lines.push(
      `| ${x.benchmark} | ${x.judge} | ${x.metric} | ${x.n} | ${pct(x.meanA)} | ${pct(x.meanB)} | ${d.value >= 0 ? "+" : ""}${pct(d.value)} [${pct(d.low)}, ${pct(d.high)}] | ${formatP(d.pValue)} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}
