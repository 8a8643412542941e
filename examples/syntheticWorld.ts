// The synthetic world and the demo pipeline from code: generate the world, check a held-out task's answer key,
// and print the first lines of the demo's plan (what `safetune demo --dry-run` prints).
import {
  demoPipeline,
  describePlan,
  generateWorld,
  parsePipeline,
  planPipeline,
  taskAnswerCorrect,
} from "safetune";

const world = generateWorld({ seed: 0 });
const task = world.benchmarks.tasks[0];
if (!task?.answer || !task.reference) throw new Error("the world has no held-out task");
console.log(`${world.base.length} base records, ${world.benchmarks.harmful.length} held-out harmful prompts`);
console.log(
  `held-out task: "${task.prompt}" -> key "${task.answer}", reference correct: ${taskAnswerCorrect(task.reference, task.answer)}`,
);
const pipeline = parsePipeline(demoPipeline("small"), "builtin:demo", {
  workdir: process.argv[2] ?? "runs/demo",
});
console.log(describePlan(pipeline, planPipeline(pipeline)).split("\n").slice(1, 4).join("\n"));
