// The task-accuracy judge: a response is correct when it gives the item's answer key (tasks with checkable
// answers: arithmetic, facts, conversions). Items without a key get no verdict on correctness.
import { type AnswerMatch, answerMatches } from "./answerMatch.js";
import type { Judge } from "./judge.js";
import { judgeName, type TaskJudgeSpec } from "./judgeSpec.js";

export function taskJudge(spec: TaskJudgeSpec): Judge {
  const match: AnswerMatch = spec.match;
  return {
    identity: { name: judgeName(spec), kind: "task", detail: { match } },
    judge: async (inputs) =>
      inputs.map(({ response, answer }) => {
        if (answer === undefined) return {};
        const correct = answerMatches(response, answer, match);
        return { correct, label: correct ? "correct" : "incorrect", score: correct ? 1 : 0 };
      }),
    dispose: () => {},
  };
}
