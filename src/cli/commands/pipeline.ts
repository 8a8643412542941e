// `safetune pipeline run FILE.yaml` and `safetune demo`: stages run in order, each cached by the hash of its
// resolved config and inputs; --from/--only pick what reruns, --dry-run prints the plan.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { EvalInterrupted } from "../../eval/errors.js";
import type { Pipeline, PipelineOverrides } from "../../pipeline/pipelineFile.js";
import { planPipeline } from "../../pipeline/plan.js";
import { defaultJobs, describePlan, type PipelineReport, runPipeline } from "../../pipeline/runPipeline.js";
import { formatDuration } from "../../util/progress.js";
import { DEMO_SCALES, type DemoScale, demoPipeline } from "../../workflows/demoPipeline.js";
import { loadPipeline, parsePipeline } from "../../workflows/pipelines.js";
import { STAGE_KINDS } from "../../workflows/stageKinds.js";
import { parseCommandArgs } from "../args.js";
import { UsageError } from "../errors.js";

const RUN_OPTIONS = `  --dry-run               print the plan (what runs, what is cached, and why) and stop
  --from STAGE            rerun STAGE (every seed of it; dpo@1 for one) and every stage after it
  --only STAGE            run only STAGE, or every seed of it (the stages it reads from must have finished)
  --workdir DIR           where stage folders go (default runs/NAME)
  --jobs N                stages run at once, each in its own process (default: the CPU cores, as many as
                          free memory holds at 1.5 GB a stage; 1 runs them one by one in this process)
  --threads N             intra-op threads of each stage (default: the file's \`threads\`, else cores / jobs)
  --seeds N               stages with \`seeds: true\` run with seeds 0 .. N-1 (default: the file's \`seeds\`)`;

export const pipelineHelp = `safetune pipeline run FILE.yaml [options]

Runs the stages of FILE.yaml, each once the stages it reads have finished (--jobs of them at once). Each stage writes to WORKDIR/STAGE and is cached by a hash of its
resolved config, the stages it reads and its input files: a rerun skips finished stages, an edit reruns what
depends on it, and an interrupted stage resumes from its checkpoints and caches.

${RUN_OPTIONS}
  --var NAME=VALUE        set a variable (\${vars.NAME}); repeatable
  --set PATH=VALUE        set any field of the file, e.g. stages.dpo.dpo.beta=0.2 or defaults.training.maxSteps=2

Stage kinds:
${Object.values(STAGE_KINDS.byName)
  .map((k) => `  ${k.kind.padEnd(10)}${k.about}`)
  .join("\n")}
A stage names an earlier stage's output as \${STAGE} (\${world}/eval/harmful.jsonl); relative paths are relative to
the directory the command runs in. See docs/pipelines.md and examples/safe-to-serve.yaml.`;

export const demoHelp = `safetune demo [--scale small|medium|large] [options]

The paper's experiment on safetune's built-in synthetic world, with nothing downloaded: trains a tokenizer and an
unsafe base model, aligns it with SIT (a sweep over the number of safety demonstrations), RAFT (with a trained
reward and cost model) and DPO, evaluates every stage on held-out prompts, and prints the comparison table and
the paper's comparisons computed with intervals (the HTML report is in WORKDIR/report/report.html).

Seeds: every aligned run (each SIT mixture and its training, RAFT, DPO, and their evaluations) runs once per seed,
0 1 2 by default; its seed sets its training, data-order and sampling seeds. The table shows each run's mean over
seeds with an interval covering both training randomness and prompt sampling; a comparison is significant only
when its interval excludes 0. The base, reward and cost models are fixed instruments, trained once with seed 0
(so the intervals do not cover the base's own randomness; --vary-base trains them once per seed as well).
Every stage runs with one intra-op thread, whatever --jobs is, so the digits do not depend on it; other CPUs
round differently and give other digits within the intervals.

small (default) is sized for at most 15 minutes on 2 CPU cores (docs/pipelines.md has the measured times);
medium and large are bigger models and data, for a patient CPU or a GPU.

${RUN_OPTIONS}
  --vary-base             train the base, reward and cost models once per seed too (3x the longest stage)
  --print                 print the demo's pipeline file and stop`;

const FLAGS = {
  "dry-run": { type: "boolean" },
  jobs: { type: "string" },
  threads: { type: "string" },
  seeds: { type: "string" },
  from: { type: "string" },
  only: { type: "string" },
  workdir: { type: "string" },
} as const;

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${flag}: expected a positive integer, got '${value}'`);
  return n;
}

/** --workdir, --seeds and --threads as overrides of the pipeline file. */
function fileOverrides(values: { workdir?: string; seeds?: string; threads?: string }): PipelineOverrides {
  const seeds = positive(values.seeds, "seeds");
  const threads = positive(values.threads, "threads");
  return {
    ...(values.workdir === undefined ? {} : { workdir: values.workdir }),
    ...(seeds === undefined ? {} : { seeds }),
    ...(threads === undefined ? {} : { threads }),
  };
}

function pairs(values: string[] | undefined, flag: string): [string, string][] {
  return (values ?? []).map((v) => {
    const eq = v.indexOf("=");
    if (eq < 1) throw new UsageError(`--${flag} ${v}: expected NAME=VALUE`);
    return [v.slice(0, eq), v.slice(eq + 1)];
  });
}

export async function pipelineCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") return void console.log(pipelineHelp);
  if (sub !== "run") throw new UsageError(`pipeline: unknown subcommand '${sub}' (expected: run)`);
  const { values, positionals } = parseCommandArgs(
    rest,
    { ...FLAGS, var: { type: "string", multiple: true }, set: { type: "string", multiple: true } },
    "pipeline run",
    { positionals: true },
  );
  if (values.help) return void console.log(pipelineHelp);
  if (positionals.length !== 1)
    throw new UsageError("pipeline run: name one pipeline file (safetune pipeline run FILE.yaml)");
  const overrides: PipelineOverrides = {
    vars: pairs(values.var, "var"),
    set: pairs(values.set, "set"),
    ...fileOverrides(values),
  };
  await execute(loadPipeline(positionals[0] as string, overrides), values);
}

export async function demoCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs(
    argv,
    { ...FLAGS, scale: { type: "string" }, print: { type: "boolean" }, "vary-base": { type: "boolean" } },
    "demo",
  );
  if (values.help) return void console.log(demoHelp);
  const scale = (values.scale ?? "small") as DemoScale;
  if (!DEMO_SCALES.includes(scale))
    throw new UsageError(`--scale: expected ${DEMO_SCALES.join(", ")}, got '${values.scale}'`);
  const doc = demoPipeline(scale, { varyBase: values["vary-base"] === true });
  if (values.print) return void process.stdout.write(toYaml(doc));
  const pipeline = parsePipeline(doc, `builtin:demo --scale ${scale}`, fileOverrides(values));
  await execute(pipeline, values);
}

async function execute(
  pipeline: Pipeline,
  values: { "dry-run"?: boolean; from?: string; only?: string; jobs?: string },
): Promise<void> {
  const jobs = positive(values.jobs, "jobs") ?? defaultJobs();
  const planOptions = {
    ...(values.from === undefined ? {} : { from: values.from }),
    ...(values.only === undefined ? {} : { only: values.only }),
  };
  if (values.from !== undefined && values.only !== undefined)
    throw new UsageError("give --from or --only, not both");
  if (values["dry-run"]) {
    console.log(describePlan(pipeline, planPipeline(pipeline, planOptions)));
    return;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  try {
    const report = await runPipeline(pipeline, { ...planOptions, jobs, signal: controller.signal });
    console.log(finalReport(pipeline, report));
  } catch (err) {
    // Exit 130 as for Ctrl-C in every command; stage.json keeps what finished and marks what resumes.
    if (controller.signal.aborted)
      throw new EvalInterrupted(
        "pipeline interrupted: finished stages are kept and the stopped one resumes; rerun the same command",
      );
    throw err;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

/** The stages with what each did and took, then the last report stage's table. */
export function finalReport(pipeline: Pipeline, report: PipelineReport): string {
  const width = Math.max(...report.stages.map((s) => s.name.length));
  const how = `${report.jobs} stage${report.jobs === 1 ? "" : "s"} at a time${report.threads === undefined ? "" : `, ${report.threads} intra-op thread${report.threads === 1 ? "" : "s"} each`}`;
  const lines = [`\npipeline ${pipeline.name} finished in ${formatDuration(report.seconds)} (${how})`];
  for (const s of report.stages) {
    const took = s.action === "cached" || s.action === "skip" ? s.action : formatDuration(s.seconds);
    lines.push(`  ${s.name.padEnd(width)}  ${took.padEnd(7)} ${s.summary ?? ""}`);
  }
  const reportStage = [...report.stages].reverse().find((s) => s.kind === "report" && s.action !== "skip");
  if (reportStage) {
    const table = join(reportStage.output, "table.md");
    if (existsSync(table)) lines.push("", readFileSync(table, "utf8").trimEnd());
    lines.push("", `HTML report: ${join(reportStage.output, "report.html")}`);
  }
  return lines.join("\n");
}
