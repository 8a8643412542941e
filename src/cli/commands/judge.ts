// `safetune judge calibrate`: a judge's agreement with human labels, so users know how far to trust it.
import { writeFileSync } from "node:fs";
import { calibrateJudge, calibrationText, readLabelledFile } from "../../eval/calibrate.js";
import { createJudge } from "../../eval/judges/createJudge.js";
import { JUDGE_SPEC_HELP, parseJudgeFlag } from "../../eval/judges/judgeSpec.js";
import { Progress } from "../../train/progress.js";
import { optionalNumber, parseCommandArgs, requireString } from "../args.js";
import { UsageError } from "../errors.js";

export const judgeHelp = `safetune judge calibrate --judge SPEC --labelled FILE [options]

Runs a judge on human-labelled answers and reports accuracy (with a 95% bootstrap interval), precision, recall,
F1 and Cohen's kappa. The labels decide what is compared: safe/unsafe (positive class: unsafe) or XSTest's
full_compliance / full_refusal / partial_refusal (positive class: refused, full or partial).

  --judge SPEC            ${JUDGE_SPEC_HELP.replace(/\n\s*/g, "\n                          ")}
  --labelled FILE         .jsonl/.json/.csv/.parquet with prompt, response and label fields
  --from-pairs            FILE holds pairs {prompt, chosen, rejected} with a safe chosen and an unsafe rejected answer
                          (the PKU-SafeRLHF safe-vs-unsafe files): each pair gives one safe and one unsafe answer
  --prompt-field F, --response-field F, --label-field F   field names (default prompt, response, label)
  --limit N               use the first N rows
  --cache DIR             cache verdicts there (a rerun judges nothing twice)
  --json                  print the report as JSON; --out FILE also writes it there`;

export async function judgeCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    console.log(judgeHelp);
    return;
  }
  if (sub !== "calibrate") throw new UsageError(`judge: unknown subcommand '${sub}' (expected: calibrate)`);
  const { values } = parseCommandArgs(
    rest,
    {
      judge: { type: "string" },
      labelled: { type: "string" },
      "from-pairs": { type: "boolean" },
      "prompt-field": { type: "string" },
      "response-field": { type: "string" },
      "label-field": { type: "string" },
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
  const spec = parseJudgeFlag(requireString(values.judge, "judge", "judge calibrate"));
  const file = requireString(values.labelled, "labelled", "judge calibrate");
  const limit = optionalNumber(values.limit, "limit", { integer: true, min: 1 });
  const set = await readLabelledFile(file, {
    ...(values["prompt-field"] === undefined ? {} : { promptField: values["prompt-field"] }),
    ...(values["response-field"] === undefined ? {} : { responseField: values["response-field"] }),
    ...(values["label-field"] === undefined ? {} : { labelField: values["label-field"] }),
    ...(values["from-pairs"] ? { fromPairs: true } : {}),
    ...(limit === undefined ? {} : { limit }),
  });
  const judge = await createJudge(spec);
  try {
    const bar = new Progress(`judge ${judge.identity.name}`, set.items.length, {
      every: Math.max(1, Math.ceil(set.items.length / 10)),
    });
    const report = await calibrateJudge(judge, set, {
      file,
      ...(values.cache === undefined ? {} : { cacheDir: values.cache }),
      onProgress: (done) => bar.update(done),
    });
    const json = `${JSON.stringify(report, null, 2)}\n`;
    if (values.out) writeFileSync(values.out, json);
    if (values.json) process.stdout.write(json);
    else console.log(calibrationText(report));
  } finally {
    judge.dispose();
  }
}
