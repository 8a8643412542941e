// Writing a world as files: training pools as safetune records (JSONL that loadRecords reads), benchmarks as
// plain JSON rows (eval/ the held-out test benchmarks, valid/ the validation benchmarks), and world.json
// describing how it was made and what is held out.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DataRecord } from "../data/records.js";
import { writeRecordsJsonl } from "../data/writeRecords.js";
import { writeFileAtomically } from "../util/atomicFolder.js";
import { actsBySplit, lookAlikesBySplit, templateSets } from "./catalog.js";
import { attackTemplates } from "./harm/attacks.js";
import { HARM_CATEGORIES } from "./harm/categories.js";
import { LOOK_ALIKE_CATEGORIES } from "./lookAlikes.js";
import { TASK_FAMILIES } from "./tasks/registry.js";
import { WORLD_REVISION, type World } from "./world.js";

export interface WorldFiles {
  base: string;
  helpful: string;
  safety: string;
  preferences: string;
  raftPrompts: string;
  labelled: string;
  evalHarmful: string;
  evalBenign: string;
  evalTasks: string;
  evalLabelled: string;
  /** Held-out harmful prompts under held-out attacks (category: the attack). */
  evalAttacks: string;
  /** The validation benchmarks, for choosing settings: valid/{harmful,benign,tasks,attacks}.jsonl. */
  validHarmful: string;
  validBenign: string;
  validTasks: string;
  validAttacks: string;
  /** world.json */
  manifest: string;
}

function writeJsonl(path: string, rows: readonly object[]): void {
  writeFileAtomically(path, rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
}

/** Writes `world` under `dir` (created if needed) and returns the paths written. */
export function writeWorld(dir: string, world: World): WorldFiles {
  mkdirSync(join(dir, "eval"), { recursive: true });
  mkdirSync(join(dir, "valid"), { recursive: true });
  const files: WorldFiles = {
    base: join(dir, "base.jsonl"),
    helpful: join(dir, "helpful.jsonl"),
    safety: join(dir, "safety.jsonl"),
    preferences: join(dir, "preferences.jsonl"),
    raftPrompts: join(dir, "raft-prompts.jsonl"),
    labelled: join(dir, "labelled.jsonl"),
    evalHarmful: join(dir, "eval", "harmful.jsonl"),
    evalBenign: join(dir, "eval", "benign.jsonl"),
    evalTasks: join(dir, "eval", "tasks.jsonl"),
    evalLabelled: join(dir, "eval", "labelled.jsonl"),
    evalAttacks: join(dir, "eval", "attacks.jsonl"),
    validHarmful: join(dir, "valid", "harmful.jsonl"),
    validBenign: join(dir, "valid", "benign.jsonl"),
    validTasks: join(dir, "valid", "tasks.jsonl"),
    validAttacks: join(dir, "valid", "attacks.jsonl"),
    manifest: join(dir, "world.json"),
  };
  const records: [string, readonly DataRecord[]][] = [
    [files.base, world.base],
    [files.helpful, world.helpful],
    [files.safety, world.safety],
    [files.preferences, world.preferences],
    [files.raftPrompts, world.raftPrompts],
    [files.labelled, world.labelled],
  ];
  for (const [path, rows] of records) writeRecordsJsonl(path, rows);
  const { harmful, benign, tasks, attacks, labelled } = world.benchmarks;
  const validation = world.validation;
  const benchmarks: [string, readonly object[]][] = [
    [files.evalHarmful, harmful],
    [files.evalBenign, benign],
    [files.evalTasks, tasks],
    [files.evalLabelled, labelled],
    [files.evalAttacks, attacks],
    [files.validHarmful, validation.harmful],
    [files.validBenign, validation.benign],
    [files.validTasks, validation.tasks],
    [files.validAttacks, validation.attacks],
  ];
  for (const [path, rows] of benchmarks) writeJsonl(path, rows);

  const manifest = {
    revision: WORLD_REVISION,
    seed: world.seed,
    sizes: world.sizes,
    baseRefusalRate: world.baseRefusalRate,
    counts: {
      "base.jsonl": world.base.length,
      "helpful.jsonl": world.helpful.length,
      "safety.jsonl": world.safety.length,
      "preferences.jsonl": world.preferences.length,
      "raft-prompts.jsonl": world.raftPrompts.length,
      "labelled.jsonl": world.labelled.length,
      "eval/harmful.jsonl": harmful.length,
      "eval/benign.jsonl": benign.length,
      "eval/tasks.jsonl": tasks.length,
      "eval/labelled.jsonl": labelled.length,
      "eval/attacks.jsonl": attacks.length,
      "valid/harmful.jsonl": validation.harmful.length,
      "valid/benign.jsonl": validation.benign.length,
      "valid/tasks.jsonl": validation.tasks.length,
      "valid/attacks.jsonl": validation.attacks.length,
    },
    harmCategories: HARM_CATEGORIES,
    taskFamilies: TASK_FAMILIES,
    lookAlikeCategories: LOOK_ALIKE_CATEGORIES,
    templates: templateSets(),
    acts: { train: actsBySplit("train"), valid: actsBySplit("valid"), eval: actsBySplit("eval") },
    lookAlikes: {
      train: lookAlikesBySplit("train"),
      valid: lookAlikesBySplit("valid"),
      eval: lookAlikesBySplit("eval"),
    },
    attacks: { valid: attackTemplates("valid"), eval: attackTemplates("eval") },
  };
  writeFileAtomically(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  return files;
}
