// An evaluation's progress on the terminal: one bar per (benchmark, phase, judge), optionally labelled.
import { Progress } from "../util/progress.js";
import type { EvalProgress } from "./runEval.js";

export function evalProgressBars(prefix = ""): (e: EvalProgress) => void {
  let key = "";
  let bar: Progress | undefined;
  return (e) => {
    const k = `${e.benchmark}/${e.phase}/${e.judge ?? ""}`;
    if (k !== key) {
      key = k;
      const what = e.phase === "judge" ? `judge ${e.judge}` : e.phase;
      bar = new Progress(`${prefix}${e.benchmark} ${what}`, e.total, {
        startAt: e.done,
        every: Math.max(1, Math.ceil(e.total / 10)),
      });
    }
    bar?.update(e.done);
  };
}
