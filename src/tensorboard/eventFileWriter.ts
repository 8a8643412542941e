// A TensorBoard event file: scalars appended one record per write, so a live TensorBoard sees each step as it
// lands and a killed run leaves every record but possibly a torn last one (which readers stop at).
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileVersionEvent, scalarsEvent, sessionStartEvent } from "./eventProto.js";
import { tfRecord } from "./tfRecord.js";

export class EventFileWriter {
  /** The file written: `<dir>/events.out.tfevents.<seconds>.<host>.<pid>.<n>` (TensorBoard finds "tfevents"). */
  readonly path: string;
  private fd: number | undefined;

  constructor(dir: string, now: () => number = Date.now) {
    this.now = now;
    mkdirSync(dir, { recursive: true });
    const seconds = Math.floor(now() / 1000);
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "localhost";
    this.path = join(dir, `events.out.tfevents.${seconds}.${host}.${process.pid}.${EventFileWriter.count++}`);
    this.fd = openSync(this.path, "a");
    this.write(fileVersionEvent(this.wallTime()));
  }

  private static count = 0;
  private readonly now: () => number;

  private wallTime(): number {
    return this.now() / 1000;
  }

  private write(event: Buffer): void {
    if (this.fd === undefined) throw new Error(`${this.path}: the event file is closed`);
    writeSync(this.fd, tfRecord(event));
  }

  /** One event with a simple_value per scalar (non-finite values are written as they are: TensorBoard shows NaN). */
  scalars(step: number, scalars: [string, number][]): void {
    if (scalars.length > 0) this.write(scalarsEvent(this.wallTime(), step, scalars));
  }

  /** Marks a restart at `step`: TensorBoard discards this run's earlier events from that step on. */
  restartAt(step: number): void {
    this.write(sessionStartEvent(this.wallTime(), step));
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
