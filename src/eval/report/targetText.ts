// Targets in words: each run's means against the targets, then which runs meet every one.
import type { TargetCheck, TargetReading } from "../metrics/targets.js";
import { isRateMetric, metricLabel } from "./headline.js";

/** A value in the metric's table unit: points for rates. */
function unit(metric: string, x: number): string {
  return isRateMetric(metric) ? (x * 100).toFixed(1) : x.toFixed(3);
}

/** "harmful safe % 97.3 (≥ 97.0)", "tasks task acc. % 39.0 (≥ 38.0 relative to base)". */
export function readingText(r: TargetReading): string {
  const bound = (sign: string, value: number) => `${sign} ${unit(r.metric, value)}`;
  const bounds = [
    ...(r.atLeast === undefined ? [] : [bound("≥", r.atLeast)]),
    ...(r.atMost === undefined ? [] : [bound("≤", r.atMost)]),
  ].join(", ");
  const relative = r.relativeTo === undefined ? "" : ` relative to ${r.relativeTo}`;
  return `${r.benchmark} ${metricLabel(r.metric)} ${unit(r.metric, r.mean)} (${bounds}${relative})`;
}

/** One line per run, then the verdict: which runs meet every target (means over seeds). */
export function targetLines(checks: readonly TargetCheck[]): string[] {
  const lines = checks.map((c) => {
    if (c.meetsAll) return `${c.run} meets every target: ${c.readings.map(readingText).join("; ")}`;
    const missed = c.readings.filter((r) => !r.met);
    return `${c.run} misses ${missed.length} of ${c.readings.length}: ${missed.map(readingText).join("; ")}`;
  });
  const meeting = checks.filter((c) => c.meetsAll).map((c) => c.run);
  lines.push(
    meeting.length === 0
      ? "No run meets every target."
      : `Meeting every target (means over seeds): ${meeting.join(", ")}.`,
  );
  return lines;
}
