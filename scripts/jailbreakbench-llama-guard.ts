// How JailbreakBench's own Llama Guard 1 verdicts (`jailbroken_llama_guard1`) agree with their LLM judge's
// (`jailbroken`) on the same responses, pooled and per harm category: a reference point for the Llama Guard judge.
// It measures Llama Guard 1 as JailbreakBench ran it, not safetune's Llama Guard parser.
//   npx tsx scripts/jailbreakbench-llama-guard.ts [--data ../shared/data] [--json]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { calibrationReport, calibrationText, readJailbreakBenchSet } from "../src/eval/calibrate.js";

const { values } = parseArgs({
  options: { data: { type: "string", default: "../shared/data" }, json: { type: "boolean" } },
});
const dir = join(values.data as string, "jailbreakbench", "attack-artifacts");
const set = readJailbreakBenchSet(dir);
const judged = set.items.filter((x) => x.fields.jailbroken_llama_guard1 !== undefined);
const report = calibrationReport(
  {
    name: "JailbreakBench's Llama Guard 1 verdicts",
    kind: "llm",
    detail: { field: "jailbroken_llama_guard1" },
  },
  "safe",
  dir,
  judged,
  judged.map((x) => x.fields.jailbroken_llama_guard1 === "true"),
  0,
  ["category", "attack"],
);
console.error(
  `${judged.length} of ${set.items.length} responses carry a Llama Guard 1 verdict; labels: their LLM judge's jailbroken`,
);
if (values.json) console.log(JSON.stringify(report, null, 2));
else console.log(calibrationText(report));
