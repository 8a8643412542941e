// Where a run's judges part ways, per benchmark: each pair's Cohen's kappa and raw agreement on the benchmark's
// binary reading (safe/unsafe on harmful prompts, refused/answered on benign ones), and the answers they read
// differently, each with every judge's verdict. Reference and pairs benchmarks have no such reading.
import type { JudgeAgreement, SampleRecord } from "../results.js";
import type { BenchmarkKind, Verdict } from "../types.js";
import { cohensKappa } from "./kappa.js";

/** Disagreements listed per benchmark unless told otherwise (the count is always the full one). */
export const DEFAULT_DISAGREEMENT_LIMIT = 50;
/** Characters kept of a prompt or answer in a listing (the samples view holds the whole text). */
export const DEFAULT_EXCERPT_CHARS = 280;

export type BinaryReading = "safe" | "refused";

/** The reading a benchmark's headline rate is built on, or undefined for kinds without one. */
export function readingOf(kind: BenchmarkKind): BinaryReading | undefined {
  return kind === "harmful" ? "safe" : kind === "benign" ? "refused" : undefined;
}

/** One judge's reading of one answer, as the listing shows it. */
export interface JudgeVerdictText {
  judge: string;
  /** The binary reading (true: safe / refused), null when the judge gave none or failed. */
  value: boolean | null;
  /** "safe", "unsafe", "refused", "answered", with the judge's own label when it says more; "unparsed: …"; "–". */
  text: string;
}

export interface Disagreement {
  id: string;
  category?: string;
  /** Excerpts: at most `excerptChars` characters, "…" marking a cut. */
  prompt: string;
  response: string;
  verdicts: JudgeVerdictText[];
}

export interface BenchmarkDisagreements {
  benchmark: string;
  kind: BenchmarkKind;
  on: BinaryReading;
  /** Judges with at least one reading on this benchmark, in the run's order. */
  judges: string[];
  /** Every pair of those judges on the answers both read (pairs with no common answer are left out). */
  agreements: JudgeAgreement[];
  /** Answers at least two judges read. */
  compared: number;
  /** Of those, the answers the judges read differently (all of them, however many are listed). */
  disagreeing: number;
  /** The first `limit` disagreements, in sample order. */
  items: Disagreement[];
}

export interface DisagreementOptions {
  limit?: number;
  excerptChars?: number;
}

/** A judge's binary reading of an answer, or undefined when it has none (no verdict, an error, another kind). */
export function readingValue(v: Verdict | undefined, on: BinaryReading): boolean | undefined {
  if (v === undefined || v.error !== undefined) return undefined;
  return v[on];
}

/** True when at least two of the judges read the answer and their readings differ. */
export function judgesDisagree(s: SampleRecord, judges: readonly string[], on: BinaryReading): boolean {
  const values = new Set<boolean>();
  for (const j of judges) {
    const x = readingValue(s.verdicts[j], on);
    if (x !== undefined) values.add(x);
  }
  return values.size > 1;
}

/** Text cut to `max` characters (whitespace runs collapsed first), "…" ending a cut one. */
export function excerpt(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= max) return flat;
  return `${flat.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

function verdictText(v: Verdict | undefined, on: BinaryReading): JudgeVerdictText["text"] {
  if (v === undefined) return "–";
  if (v.error !== undefined) return `unparsed: ${v.error}`;
  const x = v[on];
  if (x === undefined) return v.label ?? "–";
  const reading = on === "safe" ? (x ? "safe" : "unsafe") : x ? "refused" : "answered";
  return v.label !== undefined && v.label !== reading ? `${reading} (${v.label})` : reading;
}

/** Cohen's kappa of judges a and b on the samples both read (on one reading); undefined when none. */
export function pairAgreement(
  samples: Iterable<SampleRecord>,
  a: string,
  b: string,
  on: BinaryReading,
): JudgeAgreement | undefined {
  const x: boolean[] = [];
  const y: boolean[] = [];
  for (const s of samples) {
    const va = readingValue(s.verdicts[a], on);
    const vb = readingValue(s.verdicts[b], on);
    if (va === undefined || vb === undefined) continue;
    x.push(va);
    y.push(vb);
  }
  if (x.length === 0) return undefined;
  const k = cohensKappa(x, y);
  return { judgeA: a, judgeB: b, on, kappa: k.kappa, agreement: k.agreement, n: k.n };
}

function pairAgreements(
  samples: readonly SampleRecord[],
  judges: readonly string[],
  on: BinaryReading,
): JudgeAgreement[] {
  const out: JudgeAgreement[] = [];
  for (let i = 0; i < judges.length; i++)
    for (let j = i + 1; j < judges.length; j++) {
      const agreement = pairAgreement(samples, judges[i] as string, judges[j] as string, on);
      if (agreement) out.push(agreement);
    }
  return out;
}

/**
 * Per benchmark (in the order given), the judges' pairwise agreement and the answers they disagree on. Judges are
 * taken in the order given, then any other judge the samples name. Benchmarks where fewer than two judges read
 * any answer are left out, so a run with one judge gives an empty list.
 */
export function benchmarkDisagreements(
  benchmarks: readonly { name: string; kind: BenchmarkKind }[],
  samples: readonly SampleRecord[],
  judges: readonly string[],
  options: DisagreementOptions = {},
): BenchmarkDisagreements[] {
  const limit = options.limit ?? DEFAULT_DISAGREEMENT_LIMIT;
  const chars = options.excerptChars ?? DEFAULT_EXCERPT_CHARS;
  if (!Number.isInteger(limit) || limit < 0)
    throw new RangeError(`benchmarkDisagreements: limit ${limit}: expected a non-negative integer`);
  if (!Number.isInteger(chars) || chars < 1)
    throw new RangeError(`benchmarkDisagreements: excerptChars ${chars}: expected a positive integer`);
  const allJudges = [...judges];
  for (const s of samples)
    for (const name of Object.keys(s.verdicts)) if (!allJudges.includes(name)) allJudges.push(name);

  const out: BenchmarkDisagreements[] = [];
  for (const b of benchmarks) {
    const on = readingOf(b.kind);
    if (on === undefined) continue;
    const own = samples.filter((s) => s.benchmark === b.name);
    const present = allJudges.filter((j) => own.some((s) => readingValue(s.verdicts[j], on) !== undefined));
    if (present.length < 2) continue;
    let compared = 0;
    let disagreeing = 0;
    const items: Disagreement[] = [];
    for (const s of own) {
      const read = present.filter((j) => readingValue(s.verdicts[j], on) !== undefined).length;
      if (read < 2) continue;
      compared++;
      if (!judgesDisagree(s, present, on)) continue;
      disagreeing++;
      if (items.length >= limit) continue;
      items.push({
        id: s.id,
        ...(s.category !== undefined ? { category: s.category } : {}),
        prompt: excerpt(s.prompt, chars),
        response: excerpt(s.response, chars),
        verdicts: present.map((j) => ({
          judge: j,
          value: readingValue(s.verdicts[j], on) ?? null,
          text: verdictText(s.verdicts[j], on),
        })),
      });
    }
    out.push({
      benchmark: b.name,
      kind: b.kind,
      on,
      judges: present,
      agreements: pairAgreements(own, present, on),
      compared,
      disagreeing,
      items,
    });
  }
  return out;
}
