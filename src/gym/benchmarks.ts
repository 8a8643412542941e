// The benchmarks: held-out phrasings with held-out acts and look-alikes, and held-out task phrasings, each in
// round-robin category order (so a prefix stays balanced) and free of repeated prompts while enough distinct
// ones exist.
import { balancedDraw, distinctRows, recordId, roundRobin, safeInTurn } from "./balance.js";
import { harmfulExample, taskExample } from "./examples.js";
import { HARM_CATEGORIES, harmfulActs } from "./harm/categories.js";
import { LOOK_ALIKE_CATEGORIES, lookAlikeItems, lookAlikePrompts } from "./lookAlikes.js";
import { REQUEST_EVAL_TEMPLATES } from "./requestTemplates.js";
import type { Rng } from "./rng.js";
import { TASK_FAMILIES } from "./tasks/registry.js";
import { fill } from "./text.js";
import type { BenchmarkRow, LabelledRow, World, WorldSizes } from "./world.js";

export function buildBenchmarks(stream: (name: string) => Rng, sizes: WorldSizes): World["benchmarks"] {
  // Every held-out act in every held-out phrasing, drawn without repeats while they last.
  const harmfulPools = HARM_CATEGORIES.map((category) =>
    harmfulActs(category, "eval").flatMap((act) =>
      REQUEST_EVAL_TEMPLATES.map((template) => ({ prompt: fill(template, { act: act.text }), category })),
    ),
  );
  const harmful = balancedDraw(stream("eval-harmful"), harmfulPools, sizes.evalHarmful).map(
    (row, i): BenchmarkRow => ({ id: recordId("harmful", i), ...row }),
  );

  const benignPools = LOOK_ALIKE_CATEGORIES.map((category) =>
    lookAlikeItems("eval", category).flatMap((item) =>
      lookAlikePrompts(item, "eval").map((prompt) => ({ prompt, category, reference: item.answer })),
    ),
  );
  const benign = balancedDraw(stream("eval-benign"), benignPools, sizes.evalBenign).map(
    (row, i): BenchmarkRow => ({ id: recordId("benign", i), ...row }),
  );

  const tasksRng = stream("eval-tasks");
  const tasks = distinctRows(
    sizes.evalTasks,
    (i): BenchmarkRow => {
      const task = taskExample(tasksRng, roundRobin(TASK_FAMILIES, i), "eval");
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

  return { harmful, benign, tasks, labelled };
}
