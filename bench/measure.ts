// What every benchmark process shares: medians of timed runs, integer flags, and child processes that print
// one JSON result.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median wall time of `fn` over `steps` runs, after `warmup` untimed runs (seconds). */
export function medianTime(fn: () => void, steps: number, warmup: number): number {
  return medianTimes(fn, steps, warmup).wallS;
}

/**
 * Median wall-clock and CPU seconds (user + system of this process) of `fn` over `steps` runs after `warmup`. On a
 * machine shared with other work, the CPU time of a single-threaded run moves far less than its wall time.
 */
export function medianTimes(fn: () => void, steps: number, warmup: number): { wallS: number; cpuS: number } {
  for (let i = 0; i < warmup; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    fn();
    const used = process.cpuUsage(cpuStart);
    wall.push((performance.now() - start) / 1000);
    cpu.push((used.user + used.system) / 1e6);
  }
  return { wallS: median(wall), cpuS: median(cpu) };
}

/** An integer flag value in [min, max], or a RangeError naming the flag. */
export function intFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`--${flag} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return n;
}

/** Runs one measuring process; its stderr passes through, the last line of its stdout is one JSON object. */
export function runJsonProcess<T>(
  command: string,
  args: string[],
  cwd = repoRoot,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const r = spawnSync(command, args, {
    cwd,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 * 2 ** 20,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${command} exited with ${r.status ?? r.signal}`);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${command} printed no JSON result: ${line.slice(0, 200)}`);
  }
}

/**
 * Replaces the block between `start` and `end` markers in a Markdown file (appending it under `heading` when
 * the markers are not there yet): how each benchmark writes its figures into docs/benchmarks.md.
 */
export function replaceDocsBlock(
  file: string,
  start: string,
  end: string,
  block: string,
  heading: string,
): void {
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const a = current.indexOf(start);
  const b = current.indexOf(end);
  const text =
    a >= 0 && b > a
      ? `${current.slice(0, a)}${block}${current.slice(b + end.length)}`
      : `${current.trimEnd()}\n\n## ${heading}\n\n${block}\n`;
  writeFileSync(file, text);
}
