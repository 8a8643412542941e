// Progress of a long run: a redrawn bar with ETA on a terminal, plain lines otherwise (logs, CI).

export interface ProgressFields {
  [name: string]: number | string | undefined;
}

export class Progress {
  readonly #total: number;
  readonly #label: string;
  readonly #tty: boolean;
  readonly #every: number;
  readonly #started = performance.now();
  readonly #startDone: number;
  #lastDraw = 0;

  constructor(
    label: string,
    total: number,
    options: { startAt?: number; every?: number; stream?: NodeJS.WriteStream } = {},
  ) {
    this.#label = label;
    this.#total = total;
    this.#startDone = options.startAt ?? 0;
    this.#every = options.every ?? 10;
    this.#tty = (options.stream ?? process.stderr).isTTY === true && process.env.CI === undefined;
  }

  /** Reports `done` of the total with the latest figures. */
  update(done: number, fields: ProgressFields = {}): void {
    const now = performance.now();
    const finished = done >= this.#total;
    if (this.#tty) {
      if (!finished && now - this.#lastDraw < 100) return;
      this.#lastDraw = now;
      process.stderr.write(`\r\x1b[2K${this.#line(done, fields, now, 24)}${finished ? "\n" : ""}`);
    } else if (finished || done % this.#every === 0) {
      process.stderr.write(`${this.#line(done, fields, now, 0)}\n`);
    }
  }

  #line(done: number, fields: ProgressFields, now: number, width: number): string {
    const fraction = this.#total > 0 ? Math.min(1, done / this.#total) : 1;
    const bar = width > 0 ? `[${"#".repeat(Math.round(fraction * width)).padEnd(width, "-")}] ` : "";
    const rate = (done - this.#startDone) / ((now - this.#started) / 1000);
    const eta = rate > 0 ? formatDuration((this.#total - done) / rate) : "?";
    const extra = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k} ${typeof v === "number" ? formatNumber(v) : v}`)
      .join("  ");
    return `${this.#label} ${bar}${done}/${this.#total} ${(fraction * 100).toFixed(0)}%  ${extra}  ETA ${eta}`;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3);
}
