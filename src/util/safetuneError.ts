// The base of every error safetune means a user to read: a bad file, flag or field, a server that cannot start, a
// run stopped on purpose. Its message is the one line to print (naming the file, line or field and what was
// expected), and it carries the exit status the command line ends with; the CLI prints any of them the same way.

/** Exit status of a command stopped by Ctrl-C, as shells report it (128 + SIGINT). */
export const INTERRUPTED_EXIT_CODE = 130;

export class SafetuneError extends Error {
  /** The command line's exit status when this error ends a command: 1, unless a subclass says otherwise. */
  readonly exitCode: number = 1;
}
