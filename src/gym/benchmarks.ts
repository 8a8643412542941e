// The benchmarks: held-out phrasings with held-out acts and look-alikes, held-out task phrasings and held-out
// attacks, each in round-robin category order (so a prefix stays balanced) and free of repeated prompts while
// enough distinct ones exist; and the validation benchmarks, made the same way from the validation split.
import { balancedDraw, distinctRows, recordId, roundRobin, safeInTurn } from "./balance.js";
import { harmfulExample, taskExample } from "./examples.js";
import { attackedPrompt, attackTemplates } from "./harm/attacks.js";
import { HARM_CATEGORIES, harmfulActs } from "./harm/categories.js";
import { requestTemplates } from "./harm/requests.js";
import { LOOK_ALIKE_CATEGORIES, lookAlikeItems, lookAlikePrompts } from "./lookAlikes.js";
import type { Rng } from "./rng.js";
import type { Split } from "./tasks/family.js";
import { TASK_FAMILIES } from "./tasks/registry.js";
import { fill } from "./text.js";
import type { AttackedRow, BenchmarkRow, LabelledRow, SplitBenchmarks, World, WorldSizes } from "./world.js";

/** The sizes of one split's benchmarks. */
export interface SplitBenchmarkSizes {
  harmful: number;
  benign: number;
  tasks: number;
  attacks: number;
}

/**
 * The harmful, look-alike, task and attacked benchmarks of one split (valid or eval), from that split's acts,
 * phrasings, look-alikes and attacks only. Streams are named after the split ("eval-harmful"), so each split's
 * benchmarks do not move when another split changes.
 */
export function buildSplitBenchmarks(
  stream: (name: string) => Rng,
  split: Exclude<Split, "train">,
  sizes: SplitBenchmarkSizes,
): SplitBenchmarks {
  // Every act of the split in every phrasing of the split, drawn without repeats while they last.
  const harmfulPools = HARM_CATEGORIES.map((category) =>
    harmfulActs(category, split).flatMap((act) =>
      requestTemplates(split).map((template) => ({ prompt: fill(template, { act: act.text }), category })),
    ),
  );
  const harmful = balancedDraw(stream(`${split}-harmful`), harmfulPools, sizes.harmful).map(
    (row, i): BenchmarkRow => ({ id: recordId("harmful", i), ...row }),
  );

  const benignPools = LOOK_ALIKE_CATEGORIES.map((category) =>
    lookAlikeItems(split, category).flatMap((item) =>
      lookAlikePrompts(item, split).map((prompt) => ({ prompt, category, reference: item.answer })),
    ),
  );
  const benign = balancedDraw(stream(`${split}-benign`), benignPools, sizes.benign).map(
    (row, i): BenchmarkRow => ({ id: recordId("benign", i), ...row }),
  );

  const tasksRng = stream(`${split}-tasks`);
  const tasks = distinctRows(
    sizes.tasks,
    (i): BenchmarkRow => {
      const task = taskExample(tasksRng, roundRobin(TASK_FAMILIES, i), split);
      return {
        id: recordId("task", i),
        prompt: task.prompt,
        category: task.category,
        reference: task.reference,
        answer: task.answer,
      };
    },
    (row) => row.prompt,
  );

  // One pool per attack and harm category, so the rows are balanced over both; the row's category is the attack.
  const attackPools = attackTemplates(split).flatMap((attack) =>
    harmfulPools.map((pool) =>
      pool.map(
        (row): Omit<AttackedRow, "id"> => ({
          prompt: attackedPrompt(attack, row.prompt),
          category: attack.name,
          harm: row.category,
        }),
      ),
    ),
  );
  const attacks = balancedDraw(stream(`${split}-attacks`), attackPools, sizes.attacks).map(
    (row, i): AttackedRow => ({ id: recordId("attack", i), ...row }),
  );

  return { harmful, benign, tasks, attacks };
}

export function buildBenchmarks(stream: (name: string) => Rng, sizes: WorldSizes): World["benchmarks"] {
  const { harmful, benign, tasks, attacks } = buildSplitBenchmarks(stream, "eval", {
    harmful: sizes.evalHarmful,
    benign: sizes.evalBenign,
    tasks: sizes.evalTasks,
    attacks: sizes.evalAttacks,
  });

  // As many rows as the harmful benchmark; within each category safe and unsafe answers alternate.
  const labelledRng = stream("eval-labelled");
  const labelled = distinctRows(
    sizes.evalHarmful,
    (i): LabelledRow => {
      const example = harmfulExample(labelledRng, roundRobin(HARM_CATEGORIES, i), "eval");
      const safe = safeInTurn(i, HARM_CATEGORIES.length);
      return {
        id: recordId("labelled", i),
        prompt: example.prompt,
        response: safe ? example.safe : example.unsafe,
        label: safe ? "safe" : "unsafe",
        category: example.category,
      };
    },
    (row) => `${row.prompt}\n${row.response}`,
  );

  return { harmful, benign, tasks, attacks, labelled };
}
