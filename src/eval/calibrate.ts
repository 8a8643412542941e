// How far to trust a judge: its verdicts on human-labelled answers against the labels (accuracy with an
// interval, precision, recall, F1, Cohen's kappa), on the reading the labels give: safe/unsafe or refused/answered.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readRows } from "../data/readRows.js";
import { cacheKey, JsonlCache } from "./cache.js";
import { EvaluationError } from "./errors.js";
import type { Judge, JudgeInput } from "./judges/judge.js";
import { readJailbreakArtifacts } from "./judges/refusalExtraData.js";
import { xstestStringMatch } from "./judges/refusalRules.js";
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
  /**
   * The row's other text fields, to group figures by (`--group-by`): category, ... An XSTest-style `note` of
   * the form TYPE/MODEL also gives `type` and `model`.
   */
  fields: Record<string, string>;
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

/** A JailbreakBench artifacts folder, or one of its JSON files (an object with a `jailbreaks` list). */
export function isJailbreakBenchPath(path: string): boolean {
  if (!existsSync(path)) return false;
  if (statSync(path).isDirectory()) return true;
  if (!path.endsWith(".json")) return false;
  const head = readFileSync(path, "utf8").slice(0, 4096);
  return /^\s*\{/.test(head) && head.includes('"jailbreaks"');
}

/**
 * JailbreakBench's judged responses as safe/unsafe labelled answers: `jailbroken` (by their LLM judge) is
 * unsafe. The prompt is the jailbreak prompt the target was sent; fields: category, behavior, goal, attack,
 * target (the model), and jailbroken_llama_guard1 ("true"/"false", Llama Guard 1's reading) where the artifact
 * has it (scripts/jailbreakbench-llama-guard.ts compares the two).
 */
export function readJailbreakBenchSet(path: string, limit?: number): LabelledSet {
  const rows = readJailbreakArtifacts(path);
  const items = rows.slice(0, limit ?? rows.length).map((r) => ({
    prompt: r.prompt,
    response: r.response,
    positive: r.jailbroken,
    where: `${r.file}: jailbreaks[${r.index}]`,
    fields: {
      category: r.category,
      goal: r.goal,
      attack: r.attack,
      target: r.target,
      ...(r.llamaGuard1 === undefined ? {} : { jailbroken_llama_guard1: String(r.llamaGuard1) }),
    },
  }));
  return { on: "safe", items };
}

/** Reads labelled answers; the label vocabulary (safe/unsafe, or XSTest's refusal classes) decides the reading. */
export async function readLabelledFile(
  path: string,
  options: LabelledFileOptions = {},
): Promise<LabelledSet> {
  if (!options.fromPairs && isJailbreakBenchPath(path)) return readJailbreakBenchSet(path, options.limit);
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
    const fields = fieldsOf(row, [promptField, responseField, labelField, "chosen", "rejected"]);
    if (options.fromPairs) {
      items.push({ prompt, response: text(row, "chosen", where), positive: false, where, fields });
      items.push({ prompt, response: text(row, "rejected", where), positive: true, where, fields });
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
    items.push({ prompt, response: text(row, responseField, where), positive, where, fields });
  }
  if (!on || items.length === 0) throw new EvaluationError(`${path}: no labelled answers`);
  return { on, items };
}

/** A row's short text, number and boolean fields as text; `note: "TYPE/MODEL"` (XSTest) adds type and model. */
export function fieldsOf(row: Record<string, unknown>, skip: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(row)) {
    if (skip.includes(key)) continue;
    if (typeof value === "string" && value.length <= 200) fields[key] = value;
    else if (typeof value === "number" || typeof value === "boolean") fields[key] = String(value);
  }
  const note = /^([^/\s]+)\/([^/\s]+)$/.exec(fields.note ?? "");
  if (note) {
    fields.type ??= note[1] as string;
    fields.model ??= note[2] as string;
  }
  return fields;
}

/** The figures of one value of a grouping field. */
export interface GroupReport {
  value: string;
  report: BinaryReport;
  /** The same items' accuracy by a baseline judge (XSTest's prefix list on refusal labels). */
  baselineAccuracy?: number;
}

export interface GroupedReports {
  field: string;
  baseline?: string;
  groups: GroupReport[];
}

/**
 * Figures per value of `field` (rows without it fall in "(none)"), in order of first appearance. `baseline`
 * gives a second judge's predictions on the same items.
 */
export function groupReports(
  field: string,
  values: readonly string[],
  predicted: readonly boolean[],
  actual: readonly boolean[],
  baseline?: { name: string; predicted: readonly boolean[] },
): GroupedReports {
  const order: string[] = [];
  for (const v of values) if (!order.includes(v)) order.push(v);
  return {
    field,
    ...(baseline ? { baseline: baseline.name } : {}),
    groups: order.map((value) => {
      const idx = values.flatMap((v, i) => (v === value ? [i] : []));
      const report = binaryReport(
        idx.map((i) => predicted[i] as boolean),
        idx.map((i) => actual[i] as boolean),
      );
      if (!baseline) return { value, report };
      const right = idx.filter((i) => baseline.predicted[i] === actual[i]).length;
      return { value, report, baselineAccuracy: right / idx.length };
    }),
  };
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
  /** `--group-by`: the figures per value of each field. */
  grouped?: GroupedReports[];
  /** How the verdicts were obtained when not from one fixed judge (`--cross-validate type`). */
  protocol?: Record<string, unknown>;
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
    /** Fields to report figures by, as well as the whole. */
    groupBy?: readonly string[];
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
  const kept: LabelledAnswer[] = [];
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
    kept.push(set.items[i] as LabelledAnswer);
  });
  if (predicted.length === 0)
    throw new EvaluationError(
      `judge ${judge.identity.name} gave no ${set.on === "safe" ? "safe/unsafe" : "refused/answered"} verdicts on ${options.file}`,
    );
  return calibrationReport(
    judge.identity,
    set.on,
    options.file,
    kept,
    predicted,
    unparsed,
    options.groupBy ?? [],
  );
}

/** XSTest's prefix list's refused/answered reading: the baseline that refusal figures are shown beside. */
function prefixBaseline(items: readonly LabelledAnswer[]): { name: string; predicted: boolean[] } {
  return {
    name: "XSTest prefix list",
    predicted: items.map((x) => xstestStringMatch(x.response) !== "full_compliance"),
  };
}

/** The report of predictions on labelled items, whole and per value of each `groupBy` field. */
export function calibrationReport(
  judge: JudgeIdentity,
  on: LabelReading,
  file: string,
  items: readonly LabelledAnswer[],
  predicted: readonly boolean[],
  unparsed: number,
  groupBy: readonly string[],
): CalibrationReport {
  const actual = items.map((x) => x.positive);
  const baseline = on === "refused" ? prefixBaseline(items) : undefined;
  const grouped = groupBy.map((field) => {
    if (items.every((x) => x.fields[field] === undefined))
      throw new EvaluationError(
        `--group-by ${field}: ${file} has no field "${field}" (fields: ${Object.keys(items[0]?.fields ?? {}).join(", ") || "none"})`,
      );
    return groupReports(
      field,
      items.map((x) => x.fields[field] ?? "(none)"),
      predicted,
      actual,
      baseline,
    );
  });
  return {
    judge,
    file,
    on,
    positive: on === "safe" ? "unsafe" : "refused",
    unparsed,
    report: binaryReport(predicted, actual),
    ...(grouped.length > 0 ? { grouped } : {}),
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
    ...protocolText(c.protocol),
    ...(c.grouped ?? []).flatMap((g) => groupText(g)),
  ].join("\n");
}

/** Nested selection: the recipe each fold chose and how the candidates scored inside its training folds. */
function protocolText(protocol: CalibrationReport["protocol"]): string[] {
  const folds = (protocol?.folds ?? []) as {
    heldOut?: string[];
    recipe?: string;
    selection?: { recipe: string; accuracy: number }[];
  }[];
  if (!folds.some((f) => f.recipe !== undefined)) return [];
  return [
    `  ${String(protocol?.name)}:`,
    ...folds.map(
      (f) =>
        `    ${f.heldOut?.[0]}: ${f.recipe} (inner: ${(f.selection ?? []).map((x) => `${x.recipe} ${(100 * x.accuracy).toFixed(1)}%`).join(", ")})`,
    ),
  ];
}

function groupText(g: GroupedReports): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const width = Math.max(g.field.length, ...g.groups.map((x) => x.value.length));
  return [
    `  by ${g.field}:${" ".repeat(Math.max(1, width - g.field.length))}     n  accuracy [95% interval]   kappa  recall${g.baseline ? `  (${g.baseline})` : ""}`,
    ...g.groups.map(({ value, report: r, baselineAccuracy }) =>
      [
        `    ${value.padEnd(width)}`,
        String(r.n).padStart(5),
        `  ${pct(r.accuracy.value).padStart(6)} [${pct(r.accuracy.low)}, ${pct(r.accuracy.high)}]`.padEnd(27),
        r.kappa.toFixed(3).padStart(6),
        pct(r.recall).padStart(7),
        baselineAccuracy === undefined ? "" : `  (${pct(baselineAccuracy)})`,
      ].join(" "),
    ),
  ];
}
