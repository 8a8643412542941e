// A judge from its spec.
import { EvaluationError } from "../errors.js";
import type { Judge } from "./judge.js";
import { type JudgeSpec, judgeName } from "./judgeSpec.js";
import { keywordJudge } from "./keywordJudge.js";
import { llmJudge } from "./llmJudge.js";
import { refusalJudge } from "./refusalJudge.js";
import { classifierJudge, rewardJudge } from "./scoreModelJudges.js";
import { taskJudge } from "./taskJudge.js";

export async function createJudge(spec: JudgeSpec): Promise<Judge> {
  try {
    switch (spec.kind) {
      case "refusal":
        return refusalJudge(spec);
      case "classifier":
        return await classifierJudge(spec);
      case "reward":
        return await rewardJudge(spec);
      case "llm":
        return llmJudge(spec);
      case "task":
        return taskJudge(spec);
      case "keywords":
        return keywordJudge(spec);
    }
  } catch (err) {
    if (err instanceof EvaluationError) throw err;
    throw new EvaluationError(`judge ${judgeName(spec)}: ${(err as Error).message}`);
  }
}

/** Builds every judge, disposing the ones already built if a later one fails; names must be unique. */
export async function createJudges(specs: readonly JudgeSpec[]): Promise<Judge[]> {
  const names = specs.map(judgeName);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new EvaluationError(`two judges are named "${duplicate}": give one a name (name=...)`);
  const judges: Judge[] = [];
  try {
    for (const spec of specs) judges.push(await createJudge(spec));
  } catch (err) {
    for (const j of judges) j.dispose();
    throw err;
  }
  return judges;
}
