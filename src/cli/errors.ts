import { SafetuneError } from "../util/safetuneError.js";

/** A command-line mistake (unknown flag, missing value): reported as one line with the command's usage hint. */
export class UsageError extends SafetuneError {
  override readonly name = "UsageError";
}
