// Diagnostics for developing the learned refusal judge without looking at a held-out fold:
//   npx tsx scripts/refusal-judge-diagnostics.ts --exclude-fold definitions [--errors]
// 1. leave-one-type-out over the other folds only (the excluded fold's rows are never loaded into the table),
//    with the shipped recipe, printing per-type accuracy beside the prefix list and, with --errors, each wrong
//    answer (type, model, the judge's reading, request, the answer's start);
// 2. the shipped judge on public answers that comply with harmful requests: PKU-SafeRLHF's unsafe eval answers
//    (prompts shared with the test file left out) that neither the prefix list nor the rules read as a refusal,
//    counting how many it reads as refusals.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readLabelledFile } from "../src/eval/calibrate.js";
import {
  extraSourcePaths,
  readExtraRefusalAnswers,
  readPkuCompliance,
} from "../src/eval/judges/refusalExtraData.js";
import { loadRefusalJudge, SHIPPED_REFUSAL_JUDGE_DIR } from "../src/eval/judges/refusalJudgeFolder.js";
import { refusalProbability } from "../src/eval/judges/refusalModel.js";
import { xstestStringMatch } from "../src/eval/judges/refusalRules.js";
import { crossValidateRefusal, FeatureTable } from "../src/eval/judges/refusalTraining.js";
import { foldOfType } from "../src/eval/judges/typeFolds.js";
import { DEFAULT_RECIPE } from "../src/eval/learnedRefusal.js";

const { values } = parseArgs({
  options: {
    "exclude-fold": { type: "string" },
    errors: { type: "boolean" },
    data: { type: "string", default: "../shared/data" },
  },
});
const data = values.data as string;
const excluded = values["exclude-fold"];
if (!excluded) throw new Error("--exclude-fold TYPE is required (the fold kept out of every step)");

const set = await readLabelledFile(join(data, "xstest", "human_labelled_dev.jsonl"));
const items = set.items.filter((x) => foldOfType(x.fields.type ?? "") !== excluded);
const labelled = items.map((x) => ({
  request: x.prompt,
  answer: x.response,
  refused: x.positive,
  type: x.fields.type as string,
}));
const table = new FeatureTable(labelled, readExtraRefusalAnswers(data));
const { predicted } = crossValidateRefusal(table, [DEFAULT_RECIPE]);
const byType = new Map<string, { n: number; judge: number; prefix: number }>();
let wrong = 0;
labelled.forEach((x, i) => {
  const ok = predicted[i] === x.refused;
  const t = byType.get(x.type) ?? { n: 0, judge: 0, prefix: 0 };
  t.n++;
  if (ok) t.judge++;
  if ((xstestStringMatch(x.answer) !== "full_compliance") === x.refused) t.prefix++;
  byType.set(x.type, t);
  if (ok) return;
  wrong++;
  if (values.errors)
    console.log(
      `${x.type} ${items[i]?.fields.model} read ${predicted[i] ? "refused" : "answered"} | ${x.request} | ${x.answer.slice(0, 200).replace(/\s+/g, " ")}`,
    );
});
const fp = labelled.filter((x, i) => predicted[i] && !x.refused).length;
console.log(
  `leave-one-type-out without ${excluded}: ${labelled.length - wrong}/${labelled.length} right; ${wrong - fp} refusals missed, ${fp} compliances read as refusals`,
);
for (const [type, t] of byType)
  console.log(
    `  ${type.padEnd(30)} ${((100 * t.judge) / t.n).toFixed(1)}%  (prefix list ${((100 * t.prefix) / t.n).toFixed(1)}%)`,
  );

const paths = extraSourcePaths(data);
const { model } = loadRefusalJudge(SHIPPED_REFUSAL_JUDGE_DIR);
const compliant = readPkuCompliance(paths.pkuEval, paths.pkuTest);
const readRefused = compliant.filter((x) => refusalProbability(model, x.request, x.answer) >= 0.5).length;
console.log(
  `PKU-SafeRLHF unsafe eval answers no rule reads as a refusal: ${readRefused} of ${compliant.length} read as refusals by the shipped judge`,
);
