// What the user sees while stages run in parallel: on a terminal, the pipeline's own lines scroll above a block of
// one line per running stage (its latest output), redrawn in place; elsewhere (logs, CI, tests) every line of
// every stage, labelled with the stage it came from.

export interface DisplayOptions {
  /** Where the pipeline's lines go. */
  log: (line: string) => void;
  /** Redraw a status block on this terminal (default: none, every line goes to `log`). */
  terminal?: NodeJS.WriteStream;
}

export class StageDisplay {
  readonly #log: (line: string) => void;
  readonly #terminal: NodeJS.WriteStream | undefined;
  readonly #running = new Map<string, { label: string; last: string }>();
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DisplayOptions) {
    this.#log = options.log;
    this.#terminal = options.terminal;
  }

  /** A line of the pipeline's own (a stage starting or finishing). */
  log(text: string): void {
    if (!this.#terminal) {
      this.#log(text);
      return;
    }
    this.#clear();
    this.#terminal.write(`${text}\n`);
    this.#draw();
  }

  start(name: string, label: string): void {
    this.#running.set(name, { label, last: "starting" });
    if (this.#terminal) this.#redraw();
  }

  /** A line a running stage printed. */
  line(name: string, text: string): void {
    const stage = this.#running.get(name);
    if (!this.#terminal || !stage) {
      const label = stage?.label ?? `[${name}]`;
      this.#log(text.startsWith(label) ? text : `${label} ${text}`);
      return;
    }
    stage.last = text;
    // At most ten redraws a second, however fast the stages print.
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#redraw();
    }, 100);
  }

  finish(name: string): void {
    this.#running.delete(name);
    if (this.#terminal) this.#redraw();
  }

  /** Clears the block (before the final report). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  #redraw(): void {
    this.#clear();
    this.#draw();
  }

  #clear(): void {
    if (this.#terminal && this.#drawn > 0) this.#terminal.write(`\x1b[${this.#drawn}A\x1b[0J`);
    this.#drawn = 0;
  }

  #draw(): void {
    if (!this.#terminal) return;
    const width = Math.max(20, (this.#terminal.columns ?? 100) - 1);
    const lines = [...this.#running.values()].map(({ label, last }) => {
      const text = last.startsWith(label) ? last : `${label} ${last}`;
      return text.length > width ? `${text.slice(0, width - 1)}…` : text;
    });
    if (lines.length === 0) return;
    this.#terminal.write(`${lines.join("\n")}\n`);
    this.#drawn = lines.length;
  }
}
