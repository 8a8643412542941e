// Learning-rate schedules: pure functions of the step, so a resumed run continues exactly.

export type ScheduleKind = "cosine" | "linear" | "constant";

export interface ScheduleOptions {
  kind: ScheduleKind;
  /** Peak learning rate, reached at the end of warm-up. */
  lr: number;
  /** Optimizer steps of linear warm-up from 0. */
  warmupSteps: number;
  totalSteps: number;
  /** Floor as a fraction of the peak (cosine and linear decay to it; 0 by default). */
  minRatio?: number;
}

/** The learning rate of optimizer step `step` (0-based), as transformers' get_*_schedule_with_warmup. */
export function learningRate(step: number, o: ScheduleOptions): number {
  if (step < o.warmupSteps) return (o.lr * step) / o.warmupSteps;
  if (o.kind === "constant") return o.lr;
  const decaySteps = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - o.warmupSteps) / decaySteps));
  const floor = o.minRatio ?? 0;
  const factor = o.kind === "cosine" ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return o.lr * (floor + (1 - floor) * factor);
}
