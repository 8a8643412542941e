// The demo's robustness check (issue 15, item 4): runs the demo's alignment stages (everything after the base)
// with 1 and then with 2 intra-op threads per stage, a stand-in for another CPU's rounding, and checks that the
// significant orderings of the paper's comparisons agree. Slow (up to two demos' worth of alignment); not in CI.
//   npx tsx scripts/demo-threads-check.ts [--workdir runs/demo] [--seeds 3] [--jobs N]
// The 1-thread half is the demo itself: pointed at the workdir of a finished `safetune demo`, it is all cached and
// only the 2-thread half runs. That half reruns the stages after the base in WORKDIR, so WORKDIR is first copied
// aside and put back afterwards; the 2-thread stages are kept in WORKDIR-2threads for inspection (as results only:
// their cache hashes name WORKDIR's paths). Writes WORKDIR/threads-check.json and prints one line per comparison;
// exits 1 when an ordering disagrees.
import { cpSync, existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { computeConclusions } from "../src/eval/metrics/conclusions.js";
import { groupBySeed } from "../src/eval/metrics/seedGroups.js";
import { readSeedRun } from "../src/eval/seedRuns.js";
import { compareOrderings } from "../src/pipeline/orderingCheck.js";
import { planPipeline } from "../src/pipeline/plan.js";
import { runPipeline } from "../src/pipeline/runPipeline.js";
import { demoComparisons, demoPipeline } from "../src/workflows/demoPipeline.js";
import { parsePipeline } from "../src/workflows/pipelines.js";

const { values } = parseArgs({
  options: {
    workdir: { type: "string", default: "runs/demo" },
    seeds: { type: "string", default: "3" },
    jobs: { type: "string" },
  },
});
const workdir = values.workdir as string;
const seeds = Number(values.seeds);
const doc = demoPipeline("small");
const comparisons = demoComparisons([25, 100, 400]);

async function conclusionsWith(threads: number, rerunAlignment: boolean) {
  const pipeline = parsePipeline(doc, "builtin:demo (threads check)", { workdir, seeds, threads });
  // The stages after the base rerun with this thread count; the world, tokenizer and base are shared.
  const first = pipeline.stages[pipeline.stages.findIndex((s) => s.name === "base") + 1]?.group as string;
  const jobs = Number(values.jobs ?? Math.max(1, Math.floor(availableParallelism() / threads)));
  const started = performance.now();
  await runPipeline(pipeline, rerunAlignment ? { jobs, from: first } : { jobs });
  const seconds = (performance.now() - started) / 1000;
  const evals = planPipeline(pipeline).filter((p) => p.kind.kind === "eval");
  const groups = groupBySeed(evals.map((p) => readSeedRun(p.output)));
  return { threads, jobs, seconds, conclusions: computeConclusions(groups, comparisons) };
}

// Stages cached from a 1-thread run (the demo's own) are reused: the stage hashes do not include the thread count.
const one = await conclusionsWith(1, false);
const saved = `${workdir}-1thread`;
const twoThreadDir = `${workdir}-2threads`;
for (const dir of [saved, twoThreadDir]) if (existsSync(dir)) rmSync(dir, { recursive: true });
cpSync(workdir, saved, { recursive: true });
let two: Awaited<ReturnType<typeof conclusionsWith>>;
try {
  two = await conclusionsWith(2, true);
} finally {
  renameSync(workdir, twoThreadDir);
  renameSync(saved, workdir);
}
const verdicts = compareOrderings(one.conclusions, two.conclusions);
const pct = (c: (typeof one.conclusions)[number]) =>
  `${(c.difference.value * 100).toFixed(1)} [${(c.difference.low * 100).toFixed(1)}, ${(c.difference.high * 100).toFixed(1)}]`;
for (const [i, v] of verdicts.entries()) {
  const [a, b] = [one.conclusions[i], two.conclusions[i]];
  console.log(
    `${v.agree ? "agree   " : "DISAGREE"} ${v.comparison}: 1 thread ${v.first} ${a ? pct(a) : ""}; 2 threads ${v.second} ${b ? pct(b) : ""}`,
  );
}
const disagreements = verdicts.filter((v) => !v.agree).length;
writeFileSync(join(workdir, "threads-check.json"), `${JSON.stringify({ one, two, verdicts }, null, 2)}\n`);
console.log(
  `${verdicts.length - disagreements} of ${verdicts.length} comparisons agree (1 thread: ${one.seconds.toFixed(0)} s, 2 threads: ${two.seconds.toFixed(0)} s); ${join(workdir, "threads-check.json")}`,
);
process.exitCode = disagreements === 0 ? 0 : 1;
