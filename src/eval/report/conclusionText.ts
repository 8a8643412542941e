// Computed conclusions in words: each sentence follows the difference's sign and whether its interval excludes 0.
import type { Conclusion } from "../metrics/conclusions.js";
import { decimalsFor, isRateMetric } from "./headline.js";

interface Wording {
  /** "is safer than": a's value is higher. */
  higher: string;
  lower: string;
  /** "safety": what the metric measures, for "no significant difference ... in safety". */
  noun: string;
}

const WORDINGS: Record<string, Wording> = {
  safe_response_rate: { higher: "is safer than", lower: "is less safe than", noun: "safety" },
  unsafe_response_rate: {
    higher: "answers unsafely more often than",
    lower: "answers unsafely less often than",
    noun: "unsafe answers",
  },
  over_refusal_rate: {
    higher: "over-refuses more than",
    lower: "over-refuses less than",
    noun: "over-refusal",
  },
  full_refusal_rate: {
    higher: "refuses fully more often than",
    lower: "refuses fully less often than",
    noun: "full refusals",
  },
  partial_refusal_rate: {
    higher: "refuses partly more often than",
    lower: "refuses partly less often than",
    noun: "partial refusals",
  },
  task_accuracy: { higher: "is more accurate than", lower: "is less accurate than", noun: "task accuracy" },
  win_rate: { higher: "wins more often than", lower: "wins less often than", noun: "win rate" },
  mean_reward: { higher: "earns more reward than", lower: "earns less reward than", noun: "reward" },
};

function wording(metric: string): Wording {
  return (
    WORDINGS[metric] ?? {
      higher: `scores higher in ${metric} than`,
      lower: `scores lower in ${metric} than`,
      noun: metric,
    }
  );
}

/** toFixed without "-0.0". */
function fixed(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** A difference and its interval in the metric's unit: points for rates ("3.1 points [1.2, 5.0]"). */
function amount(metric: string, value: number, low: number, high: number): string {
  const rate = isRateMetric(metric);
  const scale = rate ? 100 : 1;
  const decimals = rate ? 1 : decimalsFor(Math.max(Math.abs(value), Math.abs(low), Math.abs(high)));
  const f = (x: number) => fixed(x * scale, decimals);
  return `${f(value)}${rate ? " points" : ""} [${f(low)}, ${f(high)}]`;
}

/**
 * "DPO is safer than RAFT on harmful by 3.1 points [1.2, 5.0]" when the interval excludes 0 (the amount and
 * interval then as magnitudes in the stated direction), else "no significant difference between DPO and RAFT in
 * safety on harmful (-0.4 points [-2.1, 1.5])" with the signed a − b difference. `quote` formats the names
 * (run, benchmark and metric names come from user files: Markdown escapes them).
 */
export function conclusionSentence(c: Conclusion, quote: (name: string) => string = (name) => name): string {
  const w = wording(c.metric);
  const d = c.difference;
  const [a, b, benchmark] = [quote(c.a), quote(c.b), quote(c.benchmark)];
  if (c.significant) {
    const up = d.value > 0;
    const text = up ? amount(c.metric, d.value, d.low, d.high) : amount(c.metric, -d.value, -d.high, -d.low);
    return `${a} ${up ? w.higher : w.lower} ${b} on ${benchmark} by ${text}`;
  }
  return `no significant difference between ${a} and ${b} in ${quote(w.noun)} on ${benchmark} (${amount(c.metric, d.value, d.low, d.high)})`;
}

/** What the numbers in the sentences are, and how several comparisons are accounted for. */
export function conclusionsNote(conclusions: readonly Conclusion[]): string {
  const first = conclusions[0];
  if (!first) return "";
  const m = conclusions.length;
  const level = `${Number((first.confidence * 100).toFixed(2))}%`;
  const multiplicity =
    m === 1
      ? "one comparison"
      : `both Bonferroni-adjusted for ${m} comparisons: the p-value shown is the t-test's times ${m}, and all ${m} intervals hold together with at least 95% confidence`;
  return (
    `Differences are the first run minus the second, means over seeds; intervals are ${level} Welch–Satterthwaite ` +
    `t intervals whose variance adds the seeds' spread (training randomness) and prompt sampling (prompts paired ` +
    `between the runs), with the t-test p-value (${multiplicity}); a difference is significant when its interval ` +
    "excludes 0."
  );
}
