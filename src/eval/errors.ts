// Evaluation errors: one line naming the benchmark, file, field, endpoint or judge at fault.
import { INTERRUPTED_EXIT_CODE, SafetuneError } from "../util/safetuneError.js";

/** A problem with a benchmark, suite, judge or run folder that the user can fix. */
export class EvaluationError extends SafetuneError {
  override readonly name = "EvaluationError";
  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, " ").trim());
  }
}

/** The run was stopped (Ctrl-C); what was generated and judged so far is cached, and a rerun resumes. */
export class EvalInterrupted extends SafetuneError {
  override readonly name = "EvalInterrupted";
  override readonly exitCode = INTERRUPTED_EXIT_CODE;
}
