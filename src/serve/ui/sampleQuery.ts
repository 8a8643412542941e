// A run's samples, filtered and paged on the server: by benchmark, category, a judge's verdict and text, with
// the counts the filter menus show. Each verdict is reduced to filter keys and one line of text.

import { judgesDisagree, readingOf } from "../../eval/metrics/judgeDisagreements.js";
import type { SampleRecord } from "../../eval/results.js";
import type { BenchmarkKind, Verdict } from "../../eval/types.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** The key that matches samples whose judges read the answer differently (safe/unsafe or refused/answered). */
export const DISAGREE = "disagree";

export interface SampleFilter {
  benchmark?: string;
  category?: string;
  /** Restricts `verdict` to one judge; without it, any judge's verdict may match. */
  judge?: string;
  /** A verdict key (safe, unsafe, refused, answered, correct, incorrect, unparsed, label:X) or "disagree". */
  verdict?: string;
  /** Case-insensitive text in the prompt, response, reference, id or category. */
  text?: string;
  offset?: number;
  limit?: number;
}

/**
 * How the page colours a verdict: good, bad or neither for the benchmark's kind. A refusal is the good outcome of
 * a harmful prompt and the bad one of a benign prompt, so the same reading gets a different tone.
 */
export type VerdictTone = "unsafe" | "refused" | "safe" | "answered" | "error" | "neutral";

export interface VerdictView {
  judge: string;
  text: string;
  tone: VerdictTone;
  keys: string[];
  score: number | null;
  /** The judge's raw output or evidence (LLM replies, the matched refusal phrase). */
  raw: string | null;
}

export interface SampleView {
  benchmark: string;
  id: string;
  category: string | null;
  prompt: string;
  response: string;
  finishReason: string | null;
  reference: string | null;
  answer: string | null;
  verdicts: VerdictView[];
  disagree: boolean;
}

export interface Facet {
  value: string;
  count: number;
}

export interface SamplePage {
  /** Samples in the run. */
  total: number;
  /** Samples matching the filter. */
  matched: number;
  offset: number;
  limit: number;
  judges: string[];
  items: SampleView[];
  facets: {
    benchmarks: Facet[];
    /** Categories of the chosen benchmark (or of all, without one). */
    categories: Facet[];
    /** Per judge, how many samples carry each verdict key. */
    verdicts: { judge: string; keys: Facet[] }[];
    disagree: number;
  };
}

export function verdictKeys(v: Verdict): string[] {
  if (v.error !== undefined) return ["unparsed"];
  const keys: string[] = [];
  if (v.safe !== undefined) keys.push(v.safe ? "safe" : "unsafe");
  if (v.refused !== undefined) keys.push(v.refused ? "refused" : "answered");
  if (v.correct !== undefined) keys.push(v.correct ? "correct" : "incorrect");
  if (v.label !== undefined && !keys.includes(v.label)) keys.push(`label:${v.label}`);
  return keys;
}

function verdictTone(v: Verdict, kind: BenchmarkKind | undefined): VerdictTone {
  if (v.error !== undefined) return "error";
  if (kind === "harmful") {
    const safe = v.safe ?? (v.refused === undefined ? undefined : v.refused);
    return safe === undefined ? "neutral" : safe ? "safe" : "unsafe";
  }
  if (kind === "benign" && v.refused !== undefined) return v.refused ? "refused" : "answered";
  if (v.correct !== undefined) return v.correct ? "safe" : "unsafe";
  if (v.safe === false) return "unsafe";
  if (v.refused === true) return "refused";
  if (v.safe === true) return "safe";
  if (v.refused === false) return "answered";
  return "neutral";
}

function verdictText(v: Verdict): string {
  if (v.error !== undefined) return `unparsed: ${v.error}`;
  const parts = v.label !== undefined ? [v.label.replace(/_/g, " ")] : [];
  for (const key of verdictKeys(v)) if (!key.startsWith("label:") && !parts.includes(key)) parts.push(key);
  if (v.score !== undefined && Number.isFinite(v.score))
    parts.push(`score ${Number(v.score.toPrecision(3))}`);
  if (v.categories && v.categories.length > 0) parts.push(v.categories.join(", "));
  return parts.join(" · ");
}

export function verdictView(judge: string, v: Verdict, kind?: BenchmarkKind): VerdictView {
  return {
    judge,
    text: verdictText(v),
    tone: verdictTone(v, kind),
    keys: verdictKeys(v),
    score: v.score !== undefined && Number.isFinite(v.score) ? v.score : null,
    raw: v.raw ?? null,
  };
}

/** Judges in the order results.json lists them, then any only the samples name. */
export function sampleJudges(listed: readonly string[], samples: readonly SampleRecord[]): string[] {
  const names = [...listed];
  for (const s of samples)
    for (const name of Object.keys(s.verdicts)) if (!names.includes(name)) names.push(name);
  return names;
}

/**
 * Whether the judges read the answer differently: on the benchmark's own reading (safe/unsafe for harmful prompts,
 * refused/answered for benign ones, as the agreement section counts), else on either.
 */
function disagrees(s: SampleRecord, kind: BenchmarkKind | undefined): boolean {
  const judges = Object.keys(s.verdicts);
  const on = kind === undefined ? undefined : readingOf(kind);
  if (on !== undefined) return judgesDisagree(s, judges, on);
  return judgesDisagree(s, judges, "safe") || judgesDisagree(s, judges, "refused");
}

function sampleView(s: SampleRecord, judges: readonly string[], kind: BenchmarkKind | undefined): SampleView {
  return {
    benchmark: s.benchmark,
    id: s.id,
    category: s.category ?? null,
    prompt: s.prompt,
    response: s.response,
    finishReason: s.finishReason ?? null,
    reference: s.reference ?? null,
    answer: s.answer ?? null,
    verdicts: judges.flatMap((j) => {
      const v = s.verdicts[j];
      return v ? [verdictView(j, v, kind)] : [];
    }),
    disagree: disagrees(s, kind),
  };
}

function counts(values: Iterable<string>): Facet[] {
  const map = new Map<string, number>();
  for (const v of values) map.set(v, (map.get(v) ?? 0) + 1);
  return [...map].map(([value, count]) => ({ value, count }));
}

function matchesVerdict(
  s: SampleRecord,
  judges: readonly string[],
  kinds: SampleContext["kinds"],
  f: SampleFilter,
): boolean {
  if (!f.verdict) return true;
  if (f.verdict === DISAGREE) return disagrees(s, kinds.get(s.benchmark));
  const key = f.verdict;
  const names = f.judge ? [f.judge] : judges;
  return names.some((j) => {
    const v = s.verdicts[j];
    return v !== undefined && verdictKeys(v).includes(key);
  });
}

function matchesText(s: SampleRecord, needle: string): boolean {
  if (needle === "") return true;
  return [s.prompt, s.response, s.reference ?? "", s.id, s.category ?? ""].some((t) =>
    t.toLowerCase().includes(needle),
  );
}

/** What querySamples needs of results.json: the judges in their order, and each benchmark's kind. */
export interface SampleContext {
  judges: readonly string[];
  kinds: ReadonlyMap<string, BenchmarkKind>;
}

export function querySamples(
  samples: readonly SampleRecord[],
  context: SampleContext,
  filter: SampleFilter,
): SamplePage {
  const judges = sampleJudges(context.judges, samples);
  const needle = (filter.text ?? "").trim().toLowerCase();
  const matched = samples.filter(
    (s) =>
      (!filter.benchmark || s.benchmark === filter.benchmark) &&
      (!filter.category || (s.category ?? "") === filter.category) &&
      matchesVerdict(s, judges, context.kinds, filter) &&
      matchesText(s, needle),
  );
  const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(filter.limit ?? DEFAULT_PAGE_SIZE)));
  const offset = Math.max(0, Math.floor(filter.offset ?? 0));
  const inBenchmark = filter.benchmark ? samples.filter((s) => s.benchmark === filter.benchmark) : samples;
  return {
    total: samples.length,
    matched: matched.length,
    offset,
    limit,
    judges,
    items: matched
      .slice(offset, offset + limit)
      .map((s) => sampleView(s, judges, context.kinds.get(s.benchmark))),
    facets: {
      benchmarks: counts(samples.map((s) => s.benchmark)),
      categories: counts(inBenchmark.flatMap((s) => (s.category === undefined ? [] : [s.category]))),
      verdicts: judges.map((judge) => ({
        judge,
        keys: counts(
          samples.flatMap((s) => {
            const v = s.verdicts[judge];
            return v ? verdictKeys(v) : [];
          }),
        ).sort((a, b) => a.value.localeCompare(b.value)),
      })),
      disagree: samples.filter((s) => disagrees(s, context.kinds.get(s.benchmark))).length,
    },
  };
}
