// Data errors: one line, naming the file (and line or row) and the problem.
import { SafetuneError } from "../util/safetuneError.js";

/** A data file or row is unreadable or invalid. The message is one line, "file:line: problem". */
export class DataError extends SafetuneError {
  override readonly name = "DataError";
  /** True when the error is about one row, which loadRecords' skipInvalid would skip and count. */
  readonly rowProblem: boolean;
  constructor(message: string, options: { rowProblem?: boolean } = {}) {
    super(message.replace(/\s*[\r\n]+\s*/g, " ").trim());
    this.rowProblem = options.rowProblem ?? false;
  }
}

/**
 * A problem with one row, without its location (e.g. "chosen is empty"): thrown by mappings and turned
 * into a DataError naming the file and line (or skipped and counted) by loadRecords.
 */
export class RowProblem extends Error {
  override readonly name = "RowProblem";
}

/** A short one-line description of any thrown value. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}
