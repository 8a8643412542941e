// Quality targets checked, not asserted by hand: each run's mean over its seeds against fixed bounds ("at least
// 97% safe") or bounds relative to another run ("task accuracy within 2 points of the base"), and which runs meet
// every target. Targets are on means, as the targets themselves are stated; the intervals are in the table.
import { z } from "zod";
import { EvaluationError } from "../errors.js";
import { groupMetric, type SeedGroup } from "./seedGroups.js";

/**
 * One target: `{benchmark: "harmful", metric: "safe_response_rate", atLeast: 0.97}`; with `relativeTo: "base"` the
 * bounds are offsets from that run's mean (`{benchmark: "tasks", metric: "task_accuracy", relativeTo: "base",
 * atLeast: -0.02}`). Rates are fractions.
 */
export const TargetSpecSchema = z
  .object({
    benchmark: z.string().min(1),
    metric: z.string().min(1),
    atLeast: z.number().optional(),
    atMost: z.number().optional(),
    relativeTo: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => t.atLeast !== undefined || t.atMost !== undefined, {
    message: "a target needs atLeast or atMost",
  });
export type TargetSpec = z.infer<typeof TargetSpecSchema>;

/** One run against one target. */
export interface TargetReading {
  benchmark: string;
  metric: string;
  /** The run's mean over its seeds. */
  mean: number;
  /** The bounds in the metric's own terms (offsets already added to the reference run's mean). */
  atLeast?: number;
  atMost?: number;
  relativeTo?: string;
  met: boolean;
}

export interface TargetCheck {
  run: string;
  readings: TargetReading[];
  meetsAll: boolean;
}

/** Whether `mean` lies within the bounds (inclusive). */
export function withinBounds(mean: number, atLeast?: number, atMost?: number): boolean {
  return (atLeast === undefined || mean >= atLeast) && (atMost === undefined || mean <= atMost);
}

/**
 * Every group except the reference runs (those named by `relativeTo`) against every target. A group or metric that
 * is missing: EvaluationError naming the target.
 */
export function checkTargets(groups: readonly SeedGroup[], specs: readonly TargetSpec[]): TargetCheck[] {
  if (specs.length === 0) return [];
  const mean = (group: SeedGroup, spec: TargetSpec, i: number) => {
    const m = groupMetric(group, spec.benchmark, spec.metric, { resamples: 1 });
    if (!m)
      throw new EvaluationError(`targets.${i}: "${group.name}" has no ${spec.metric} on "${spec.benchmark}"`);
    return m.estimate.value;
  };
  const references = new Set(specs.flatMap((s) => (s.relativeTo === undefined ? [] : [s.relativeTo])));
  const offsets = specs.map((spec, i) => {
    if (spec.relativeTo === undefined) return 0;
    const reference = groups.find((g) => g.name === spec.relativeTo);
    if (!reference)
      throw new EvaluationError(
        `targets.${i}: no run named "${spec.relativeTo}" (runs: ${groups.map((g) => g.name).join(", ") || "none"})`,
      );
    return mean(reference, spec, i);
  });
  return groups
    .filter((g) => !references.has(g.name))
    .map((group) => {
      const readings = specs.map((spec, i): TargetReading => {
        const value = mean(group, spec, i);
        const offset = offsets[i] ?? 0;
        const atLeast = spec.atLeast === undefined ? undefined : spec.atLeast + offset;
        const atMost = spec.atMost === undefined ? undefined : spec.atMost + offset;
        return {
          benchmark: spec.benchmark,
          metric: spec.metric,
          mean: value,
          ...(atLeast === undefined ? {} : { atLeast }),
          ...(atMost === undefined ? {} : { atMost }),
          ...(spec.relativeTo === undefined ? {} : { relativeTo: spec.relativeTo }),
          met: withinBounds(value, atLeast, atMost),
        };
      });
      return { run: group.name, readings, meetsAll: readings.every((r) => r.met) };
    });
}
