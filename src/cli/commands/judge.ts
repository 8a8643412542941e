// `safetune judge calibrate`: a judge's agreement with human labels, so users know how far to trust it;
// `safetune judge train`: a learned refusal judge from human-labelled answers.
import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import {
  type CalibrationReport,
  calibrateJudge,
  calibrationText,
  type LabelledFileOptions,
  type LabelledSet,
  readLabelledFile,
} from "../../eval/calibrate.js";
import { createJudge } from "../../eval/judges/createJudge.js";
import {
  JUDGE_SPEC_HELP,
  type JudgeSpec,
  judgeName,
  parseJudgeFlag,
  validateJudgeSpec,
} from "../../eval/judges/judgeSpec.js";
import { refusalJudgeReadme } from "../../eval/judges/refusalJudgeCard.js";
import { readRefusalJudgeCard, SHIPPED_REFUSAL_JUDGE_DIR } from "../../eval/judges/refusalJudgeFolder.js";
import { RECIPE_CANDIDATES, sourcesOf, sourcesOfAll } from "../../eval/judges/refusalTraining.js";
import {
  buildRefusalJudge,
  crossValidateLearnedRefusal,
  extraAnswers,
  extraDirOfCard,
  recipeOfCard,
} from "../../eval/learnedRefusal.js";
import { Progress } from "../../util/progress.js";
import { optionalNumber, parseCommandArgs, requireString } from "../args.js";
import { UsageError } from "../errors.js";

export const judgeHelp = `safetune judge calibrate --judge SPEC --labelled FILE [options]
safetune judge train --labelled FILE [FILE...] --out DIR [--extra-data DIR]

calibrate: runs a judge on human-labelled answers and reports accuracy (with a 95% bootstrap interval),
precision, recall, F1 and Cohen's kappa. The labels decide what is compared: safe/unsafe (positive class:
unsafe) or XSTest's full_compliance / full_refusal / partial_refusal (positive class: refused, full or partial).

  --judge SPEC            ${JUDGE_SPEC_HELP.replace(/\n\s*/g, "\n                          ")}
  --judge-file FILE       instead of --judge: one judge declared in YAML/JSON as in a suite (the keywords judge's form)
  --labelled FILE         .jsonl/.json/.csv/.parquet with prompt, response and label fields; or a JailbreakBench
                          artifacts folder or file (its jailbreak prompts and responses; jailbroken = unsafe;
                          fields category, attack, target, goal, and jailbroken_llama_guard1 where the
                          artifact has Llama Guard 1's verdict)
  --from-pairs            FILE holds pairs {prompt, chosen, rejected} with a safe chosen and an unsafe rejected answer
                          (the PKU-SafeRLHF safe-vs-unsafe files): each pair gives one safe and one unsafe answer
  --prompt-field F, --response-field F, --label-field F   field names (default prompt, response, label)
  --group-by FIELD[,FIELD]  figures per value of a row field too (model, type, category, ...; an XSTest note
                          "TYPE/MODEL" gives type and model); refusal labels also show XSTest's prefix list
  --cross-validate type   for a learned refusal judge (refusal, refusal:model=DIR): leave-one-type-out, a type
                          and its contrast type per fold; each fold judged by a judge trained with the same
                          recipe on the other folds (the judge's own weights are not used)
  --nested                with --cross-validate type: nested selection; each fold's recipe is chosen among
                          safetune's candidate recipes by leave-one-type-out inside that fold's training rows
                          (${5 * 2 * RECIPE_CANDIDATES.length + 5} trainings for 5 folds and ${RECIPE_CANDIDATES.length} candidates, against 5 without it; an inner
                          training that two folds share runs once)
  --extra-data DIR        with --cross-validate: the shared data folder of the extra training answers
                          (default: the folder the judge's card names)
  --limit N               use the first N rows
  --cache DIR             cache verdicts there (a rerun judges nothing twice)
  --json                  print the report as JSON; --out FILE also writes it there

train: trains a learned refusal judge (a folder for --judge refusal:model=DIR) on refusal-labelled answers, plus
the extra public answers under --extra-data (Safety-Tuned LLaMAs safety demonstrations, Alpaca references,
JailbreakBench responses), measures it leave-one-type-out when every row has a prompt type, and writes
model.safetensors, card.json and README.md. The shipped judge is rebuilt by: npm run build:refusal-judge`;

function labelledOptions(values: Record<string, unknown>, limit: number | undefined): LabelledFileOptions {
  const s = (k: string) => values[k] as string | undefined;
  return {
    ...(s("prompt-field") === undefined ? {} : { promptField: s("prompt-field") as string }),
    ...(s("response-field") === undefined ? {} : { responseField: s("response-field") as string }),
    ...(s("label-field") === undefined ? {} : { labelField: s("label-field") as string }),
    ...(values["from-pairs"] ? { fromPairs: true } : {}),
    ...(limit === undefined ? {} : { limit }),
  };
}

function printReport(report: CalibrationReport, values: { json?: boolean; out?: string }): void {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (values.out) writeFileSync(values.out, json);
  if (values.json) process.stdout.write(json);
  else console.log(calibrationText(report));
}

export async function judgeCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    console.log(judgeHelp);
    return;
  }
  if (sub === "train") return trainCommand(rest);
  if (sub !== "calibrate")
    throw new UsageError(`judge: unknown subcommand '${sub}' (expected: calibrate, train)`);
  const { values } = parseCommandArgs(
    rest,
    {
      judge: { type: "string" },
      "judge-file": { type: "string" },
      labelled: { type: "string" },
      "from-pairs": { type: "boolean" },
      "prompt-field": { type: "string" },
      "response-field": { type: "string" },
      "label-field": { type: "string" },
      "group-by": { type: "string" },
      "cross-validate": { type: "string" },
      "extra-data": { type: "string" },
      nested: { type: "boolean" },
      limit: { type: "string" },
      cache: { type: "string" },
      json: { type: "boolean" },
      out: { type: "string" },
    },
    "judge calibrate",
  );
  if (values.help) {
    console.log(judgeHelp);
    return;
  }
  const spec =
    values["judge-file"] !== undefined
      ? readJudgeFile(values["judge-file"])
      : parseJudgeFlag(requireString(values.judge, "judge", "judge calibrate"));
  const file = requireString(values.labelled, "labelled", "judge calibrate");
  const limit = optionalNumber(values.limit, "limit", { integer: true, min: 1 });
  const groupBy = (values["group-by"] ?? "")
    .split(",")
    .map((f) => f.trim())
    .filter((f) => f !== "");
  const set = await readLabelledFile(file, labelledOptions(values, limit));
  const judgeText = values.judge ?? values["judge-file"];
  if (values["cross-validate"] !== undefined) {
    if (values["cross-validate"] !== "type")
      throw new UsageError(
        `judge calibrate: --cross-validate: expected "type", got '${values["cross-validate"]}'`,
      );
    if (spec.kind !== "refusal" || spec.rules !== undefined)
      throw new UsageError(
        `judge calibrate: --cross-validate needs a trainable judge (refusal or refusal:model=DIR), not ${judgeText}`,
      );
    printReport(
      crossValidated(
        set,
        file,
        spec.model,
        judgeName(spec),
        groupBy,
        values["extra-data"],
        values.nested === true,
      ),
      values,
    );
    return;
  }
  if (values["extra-data"] !== undefined)
    throw new UsageError("judge calibrate: --extra-data goes with --cross-validate type");
  if (values.nested) throw new UsageError("judge calibrate: --nested goes with --cross-validate type");
  const judge = await createJudge(spec);
  try {
    const bar = new Progress(`judge ${judge.identity.name}`, set.items.length, {
      every: Math.max(1, Math.ceil(set.items.length / 10)),
    });
    const report = await calibrateJudge(judge, set, {
      file,
      ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
      onProgress: (done) => bar.update(done),
      groupBy,
    });
    printReport(report, values);
  } finally {
    judge.dispose();
  }
}

/** One judge declared in a YAML or JSON file (as under `judges:` in a suite): the only form a keywords judge has. */
function readJudgeFile(path: string): JudgeSpec {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--judge-file ${path}: ${(err as Error).message.split("\n")[0]}`);
  }
  return validateJudgeSpec(raw, path);
}

function crossValidated(
  set: LabelledSet,
  file: string,
  model: string | undefined,
  name: string,
  groupBy: string[],
  extraFlag: string | undefined,
  nested: boolean,
): CalibrationReport {
  const dir = model ?? SHIPPED_REFUSAL_JUDGE_DIR;
  const card = readRefusalJudgeCard(dir);
  const extraDir = extraFlag ?? extraDirOfCard(card);
  const started = Date.now();
  const recipe = recipeOfCard(card, dir);
  const report = crossValidateLearnedRefusal(set, file, {
    recipe,
    ...(nested ? { candidates: RECIPE_CANDIDATES } : {}),
    extra: extraAnswers(extraDir, nested ? sourcesOfAll(RECIPE_CANDIDATES) : sourcesOf(recipe)),
    identity: {
      name,
      kind: "refusal",
      detail: {
        model: model ?? "shipped",
        protocol: nested ? "leave-one-type-out, nested recipe selection" : "leave-one-type-out",
      },
    },
    groupBy,
    onStep: (m) => console.error(`${m} (${((Date.now() - started) / 1000).toFixed(0)} s)`),
  });
  console.error(
    nested
      ? `leave-one-type-out, nested: each fold judged by a judge whose recipe was chosen among ${RECIPE_CANDIDATES.length} candidates by leave-one-type-out on the other folds${extraDir ? ` (+ ${extraDir})` : ""}`
      : `leave-one-type-out: each fold judged by a judge trained with ${dir}'s recipe on the other folds${extraDir ? ` + ${extraDir}` : ""}`,
  );
  return report;
}

async function trainCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    {
      labelled: { type: "string", multiple: true },
      out: { type: "string" },
      "extra-data": { type: "string" },
      "cross-validate": { type: "string" },
      "prompt-field": { type: "string" },
      "response-field": { type: "string" },
      "label-field": { type: "string" },
    },
    "judge train",
    { forms: { lists: new Set(["labelled"]) } },
  );
  if (values.help) {
    console.log(judgeHelp);
    return;
  }
  const files = values.labelled ?? [];
  if (files.length === 0)
    throw new UsageError("judge train: --labelled is required (see safetune judge --help)");
  const out = requireString(values.out, "out", "judge train");
  const cv = values["cross-validate"];
  if (cv !== undefined && cv !== "type" && cv !== "none")
    throw new UsageError(`judge train: --cross-validate: expected "type" or "none", got '${cv}'`);
  const sets: LabelledSet[] = [];
  for (const f of files) sets.push(await readLabelledFile(f, labelledOptions(values, undefined)));
  const set: LabelledSet = { on: sets[0]?.on ?? "refused", items: sets.flatMap((s) => s.items) };
  const started = Date.now();
  const command = [
    "safetune judge train",
    ...files.map((f) => `--labelled ${f}`),
    ...(values["extra-data"] ? [`--extra-data ${values["extra-data"]}`] : []),
    `--out ${out}`,
  ].join(" ");
  const { card, measured } = buildRefusalJudge({
    files,
    set,
    out,
    ...(values["extra-data"] === undefined ? {} : { extraDir: values["extra-data"] }),
    ...(cv === undefined ? {} : { crossValidate: cv === "type" }),
    command,
    readme: refusalJudgeReadme,
    onStep: (m) => console.error(`${m} (${((Date.now() - started) / 1000).toFixed(0)} s)`),
  });
  if (measured) console.log(calibrationText(measured));
  console.log(`wrote ${out} (weights sha256 ${card.weightsSha256.slice(0, 16)}...)`);
}
