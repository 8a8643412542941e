/** A command-line mistake (unknown flag, missing value): reported as one line with the command's usage hint. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
