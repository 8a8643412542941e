// Which ready stage starts first when several could: the one with the longest chain of work still behind it
// (critical-path first), so the long stages (the base, DPO) and the ones many others wait for (the reward and
// cost models every evaluation uses as judges) do not end up running alone at the end while cores sit idle.

/** Rough relative cost of a stage of each kind (the demo's proportions); unknown kinds count 1. */
const KIND_WEIGHT: Readonly<Record<string, number>> = {
  pretrain: 100,
  dpo: 30,
  raft: 15,
  reward: 15,
  sft: 8,
  eval: 5,
  report: 1,
  mix: 1,
  tokenizer: 2,
  world: 2,
};

export interface ScheduledStage {
  name: string;
  kind: string;
  needs: readonly string[];
}

/** Each stage's priority: its own weight plus the heaviest chain of stages that read it, directly or not. */
export function criticalPathPriorities(stages: readonly ScheduledStage[]): Map<string, number> {
  const dependants = new Map<string, string[]>();
  for (const s of stages)
    for (const need of s.needs) dependants.set(need, [...(dependants.get(need) ?? []), s.name]);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const priority = new Map<string, number>();
  // Stages come in file order and read only earlier ones, so walking backwards sees dependants first.
  for (const s of [...stages].reverse()) {
    const own = KIND_WEIGHT[s.kind] ?? 1;
    const after = Math.max(0, ...(dependants.get(s.name) ?? []).map((d) => priority.get(d) ?? 0));
    if (byName.has(s.name)) priority.set(s.name, own + after);
  }
  return priority;
}
