// How far to trust a judge: its verdicts on human-labelled answers against the labels (accuracy with an
// interval, precision, recall, F1, Cohen's kappa), on the reading the labels give: safe/unsafe or refused/answered.
import { join } from "node:path";
import { readRows } from "../data/readRows.js";
import { cacheKey, JsonlCache } from "./cache.js";
import { EvaluationError } from "./errors.js";
import type { Judge, JudgeInput } from "./judges/judge.js";
import { type BinaryReport, binaryReport } from "./metrics/classification.js";
import type { JudgeIdentity } from "./results.js";
import type { Verdict } from "./types.js";

export type LabelReading = "safe" | "refused";

export interface LabelledAnswer {
  prompt: string;
  response: string;
  /** The positive class: unsafe (for safe/unsafe labels) or refused. */
  positive: boolean;
  where: string;
}

export interface LabelledSet {
  on: LabelReading;
  items: LabelledAnswer[];
}

const SAFE_LABELS: Record<string, boolean> = { safe: false, unsafe: true, harmful: true, harmless: false };
const REFUSAL_LABELS: Record<string, boolean> = {
  full_compliance: false,
  full_refusal: true,
  partial_refusal: true,
  refused: true,
  refusal: true,
  complied: false,
  compliance: false,
  answered: false,
};

export interface LabelledFileOptions {
  promptField?: string;
  responseField?: string;
  labelField?: string;
  /**
   * Read preference pairs {prompt, chosen, rejected} whose chosen answer is safe and rejected unsafe (as the
   * PKU-SafeRLHF safe-vs-unsafe subsets): each pair gives one safe and one unsafe labelled answer.
   */
  fromPairs?: boolean;
  limit?: number;
}

/** Reads labelled answers; the label vocabulary (safe/unsafe, or XSTest's refusal classes) decides the reading. */
export async function readLabelledFile(
  path: string,
  options: LabelledFileOptions = {},
): Promise<LabelledSet> {
  const promptField = options.promptField ?? "prompt";
  const responseField = options.responseField ?? "response";
  const labelField = options.labelField ?? "label";
  const items: LabelledAnswer[] = [];
  let on: LabelReading | undefined = options.fromPairs ? "safe" : undefined;
  const text = (row: Record<string, unknown>, field: string, where: string): string => {
    const value = row[field];
    if (typeof value !== "string")
      throw new EvaluationError(
        `${where}: field "${field}" should be text (fields: ${Object.keys(row).join(", ")})`,
      );
    return value;
  };
  for await (const entry of readRows(path)) {
    if (options.limit !== undefined && items.length >= options.limit) break;
    const { row, where } = entry;
    const prompt = text(row, promptField, where);
    if (options.fromPairs) {
      items.push({ prompt, response: text(row, "chosen", where), positive: false, where });
      items.push({ prompt, response: text(row, "rejected", where), positive: true, where });
      continue;
    }
    const raw = row[labelField];
    const label =
      typeof raw === "boolean"
        ? raw
          ? "unsafe"
          : "safe"
        : String(raw ?? "")
            .trim()
            .toLowerCase();
    const reading: LabelReading | undefined =
      label in SAFE_LABELS ? "safe" : label in REFUSAL_LABELS ? "refused" : undefined;
    if (!reading)
      throw new EvaluationError(
        `${where}: field "${labelField}" should be safe/unsafe or full_compliance/full_refusal/partial_refusal, got ${JSON.stringify(raw ?? null)}`,
      );
    if (on && on !== reading)
      throw new EvaluationError(
        `${where}: mixes safe/unsafe labels with refusal labels; use one kind per file`,
      );
    on = reading;
    const positive = (reading === "safe" ? SAFE_LABELS[label] : REFUSAL_LABELS[label]) as boolean;
    items.push({ prompt, response: text(row, responseField, where), positive, where });
  }
  if (!on || items.length === 0) throw new EvaluationError(`${path}: no labelled answers`);
  return { on, items };
}

export interface CalibrationReport {
  judge: JudgeIdentity;
  file: string;
  /** Which reading was compared; the positive class is "unsafe" or "refused". */
  on: LabelReading;
  positive: "unsafe" | "refused";
  /** Verdicts the judge could not give (unparseable replies) or that lack this reading: excluded from the figures. */
  unparsed: number;
  report: BinaryReport;
}

/** Runs the judge on every labelled answer (verdicts cached in cacheDir when given) and scores it. */
export async function calibrateJudge(
  judge: Judge,
  set: LabelledSet,
  options: {
    file: string;
    cacheDir?: string;
    chunk?: number;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<CalibrationReport> {
  const cache = options.cacheDir
    ? new JsonlCache<Verdict>(join(options.cacheDir, "verdicts.jsonl"))
    : undefined;
  const inputs: JudgeInput[] = set.items.map((x) => ({
    kind: "harmful",
    prompt: [{ role: "user", content: x.prompt }],
    response: x.response,
  }));
  const keys = inputs.map((input) =>
    cacheKey({
      judge: judge.identity,
      fingerprint: judge.fingerprint,
      prompt: input.prompt,
      response: input.response,
      kind: input.kind,
    }),
  );
  const verdicts: (Verdict | undefined)[] = keys.map((k) => cache?.get(k));
  const todo = verdicts.flatMap((v, i) => (v === undefined ? [i] : []));
  const chunk = options.chunk ?? 32;
  for (let start = 0; start < todo.length; start += chunk) {
    const batch = todo.slice(start, start + chunk);
    const got = await judge.judge(batch.map((i) => inputs[i] as JudgeInput));
    batch.forEach((i, j) => {
      verdicts[i] = got[j];
      // Unparseable verdicts are not cached (as in runEval): a rerun asks the judge again.
      if (got[j]?.error === undefined) cache?.set(keys[i] as string, got[j] as Verdict);
    });
    options.onProgress?.(set.items.length - todo.length + start + batch.length, set.items.length);
  }
  const predicted: boolean[] = [];
  const actual: boolean[] = [];
  let unparsed = 0;
  verdicts.forEach((v, i) => {
    const reading =
      v && v.error === undefined
        ? set.on === "safe"
          ? v.safe === undefined
            ? undefined
            : !v.safe
          : v.refused
        : undefined;
    if (reading === undefined) {
      unparsed++;
      return;
    }
    predicted.push(reading);
    actual.push((set.items[i] as LabelledAnswer).positive);
  });
  if (predicted.length === 0)
    throw new EvaluationError(
      `judge ${judge.identity.name} gave no ${set.on === "safe" ? "safe/unsafe" : "refused/answered"} verdicts on ${options.file}`,
    );
  return {
    judge: judge.identity,
    file: options.file,
    on: set.on,
    positive: set.on === "safe" ? "unsafe" : "refused",
    unparsed,
    report: binaryReport(predicted, actual),
  };
}

/** The report as a few readable lines. */
export function calibrationText(c: CalibrationReport): string {
  const r = c.report;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return [
    `judge ${c.judge.name} (${c.judge.kind}) on ${c.file}: ${r.n} labelled answers, positive class "${c.positive}"${c.unparsed ? `, ${c.unparsed} without a verdict (excluded)` : ""}`,
    `  accuracy  ${pct(r.accuracy.value)} [${pct(r.accuracy.low)}, ${pct(r.accuracy.high)}]`,
    `  precision ${pct(r.precision)}   recall ${pct(r.recall)}   F1 ${pct(r.f1)}   Cohen's kappa ${r.kappa.toFixed(3)}`,
    `  confusion tp ${r.confusion.tp}  fp ${r.confusion.fp}  tn ${r.confusion.tn}  fn ${r.confusion.fn}`,
  ].join("\n");
}
