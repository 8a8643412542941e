// The helpful task families, in a fixed order (benchmarks and balanced pools go round-robin over it).
import { arithmetic } from "./arithmetic.js";
import { facts } from "./facts.js";
import type { TaskFamily } from "./family.js";
import { howto } from "./howto.js";
import { lists } from "./lists.js";
import { strings } from "./strings.js";
import { units } from "./units.js";

export const TASK_FAMILIES = ["arithmetic", "strings", "lists", "facts", "units", "howto"] as const;
export type TaskFamilyId = (typeof TASK_FAMILIES)[number];

const FAMILIES: Readonly<Record<TaskFamilyId, TaskFamily>> = {
  arithmetic,
  strings,
  lists,
  facts,
  units,
  howto,
};

export function taskFamily(id: TaskFamilyId): TaskFamily {
  return FAMILIES[id];
}
