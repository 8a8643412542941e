import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  CURVE_MARKS,
  type CurveRow,
  MAX_CURVE_ROWS,
  renderCurves,
  thinRows,
} from "../src/charts/trainingCurves.js";
import { createScratchModel } from "../src/model/scratchModel.js";
import { writeCurves } from "../src/train/reportTo.js";
import { RaftConfigSchema } from "../src/train/runConfig.js";
import { runRaft } from "../src/train/runRaft.js";
import { tmpDirWithCleanup } from "./helpers/fixtures.js";
import { decodeEvents } from "./helpers/tensorboardReader.js";

const { dir: ROOT, cleanup } = tmpDirWithCleanup("safetune-curves-");
process.on("exit", cleanup);

interface DrawnPoint {
  x: number;
  value: number;
  series: string;
}

/** The points vega drew, read back from the SVG's accessibility labels ("step: 3; value: 1.2; series: loss"). */
function drawnPoints(svg: string, axis: string): DrawnPoint[] {
  const groups = svg.split(`${CURVE_MARKS.points}_marks`).slice(1);
  const points: DrawnPoint[] = [];
  for (const group of groups) {
    const body = group.slice(0, group.indexOf("</g>"));
    for (const m of body.matchAll(/aria-label="([^"]*)"/g)) {
      const fields = new Map((m[1] ?? "").split("; ").map((kv) => kv.split(": ") as [string, string]));
      points.push({
        x: Number(fields.get(axis)),
        value: Number((fields.get("value") ?? "").replace(/,/g, "").replace("−", "-")),
        series: fields.get("series") ?? "",
      });
    }
  }
  return points;
}

/** Panel titles in the order drawn. */
function panelTitles(svg: string): string[] {
  return [...svg.matchAll(/font-size="12px"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1] ?? "");
}

function expectedPoints(rows: CurveRow[], axis: string, skip: string[]): DrawnPoint[] {
  return rows.flatMap((row) =>
    Object.entries(row)
      .filter(([k, v]) => k !== axis && !skip.includes(k) && typeof v === "number")
      .map(([series, value]) => ({ x: row[axis] as number, value: value as number, series })),
  );
}

function assertSamePoints(actual: DrawnPoint[], expected: DrawnPoint[]): void {
  const key = (p: DrawnPoint) => `${p.series}@${p.x}`;
  assert.deepEqual(actual.map(key).sort(), expected.map(key).sort());
  const byKey = new Map(actual.map((p) => [key(p), p.value]));
  for (const p of expected) {
    const drawn = byKey.get(key(p)) as number;
    assert.ok(
      Math.abs(drawn - p.value) <= 1e-3 * Math.max(1, Math.abs(p.value)),
      `${key(p)}: ${drawn} vs ${p.value}`,
    );
  }
}

test("an SFT run's curves: loss (with eval loss), learning rate, grad norm, a point per logged value", async () => {
  const rows: CurveRow[] = Array.from({ length: 7 }, (_, i) => ({
    step: i + 1,
    epoch: (i + 1) / 7,
    loss: 4 / (i + 2),
    lr: 1e-3 * (1 - i / 7),
    grad_norm: 0.5 + (i % 3),
    tokens_per_s: 900 + i,
  }));
  rows.push({ step: 7, eval_loss: 1.75 });
  const svg = await renderCurves(rows);
  assert.deepEqual(panelTitles(svg), ["loss", "learning rate", "grad norm"]);
  assertSamePoints(drawnPoints(svg, "step"), expectedPoints(rows, "step", ["epoch", "tokens_per_s"]));
});

test("a DPO run's curves add rewards, margins and accuracy panels", async () => {
  const rows: CurveRow[] = Array.from({ length: 4 }, (_, i) => ({
    step: i + 1,
    loss: 0.69 - i * 0.05,
    lr: 5e-4,
    grad_norm: 1.5,
    "rewards/chosen": 0.1 * i,
    "rewards/rejected": -0.2 * i,
    "rewards/margins": 0.3 * i,
    "rewards/accuracy": i / 4,
  }));
  const svg = await renderCurves(rows);
  assert.deepEqual(panelTitles(svg), [
    "loss",
    "learning rate",
    "grad norm",
    "rewards (DPO)",
    "reward margin (DPO)",
    "accuracy",
  ]);
  assertSamePoints(drawnPoints(svg, "step"), expectedPoints(rows, "step", []));
});

test("writeCurves prefers raft.jsonl (rewards by iteration) and skips a torn last line", async () => {
  const dir = join(ROOT, "folder");
  mkdirSync(dir, { recursive: true });
  const rows = [
    {
      iteration: 1,
      mean_reward: 0.2,
      best_reward: 0.5,
      mean_selected_reward: 0.4,
      selected: 3,
      steps: 2,
      loss: 2,
    },
    {
      iteration: 2,
      mean_reward: 0.3,
      best_reward: 0.6,
      mean_selected_reward: 0.5,
      selected: 3,
      steps: 2,
      loss: 1.5,
    },
  ];
  writeFileSync(join(dir, "metrics.jsonl"), `${JSON.stringify({ step: 1, loss: 9 })}\n`);
  writeFileSync(
    join(dir, "raft.jsonl"),
    `${rows.map((r) => JSON.stringify(r)).join("\n")}\n{"iteration": 3, "mean_`,
  );
  const path = await writeCurves(dir);
  const svg = readFileSync(path as string, "utf8");
  assert.deepEqual(panelTitles(svg), ["loss", "reward per iteration (RAFT)"]);
  assertSamePoints(drawnPoints(svg, "iteration"), expectedPoints(rows, "iteration", ["selected", "steps"]));
});

test("a long run's chart is thinned to every k-th step, keeping the last step and every evaluation", async () => {
  const rows: CurveRow[] = Array.from({ length: 4321 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1) }));
  rows.splice(2000, 0, { step: 2000, eval_loss: 0.3 });
  const kept = thinRows(rows);
  assert.ok(kept.length <= MAX_CURVE_ROWS + 2, `${kept.length} rows kept`);
  assert.ok(kept.length >= MAX_CURVE_ROWS * 0.8, `${kept.length} rows kept`);
  assert.deepEqual(kept.at(-1), rows.at(-1));
  assert.ok(kept.some((r) => r.eval_loss === 0.3));
  const svg = await renderCurves(rows);
  assertSamePoints(drawnPoints(svg, "step"), expectedPoints(kept, "step", []));
  assert.deepEqual(thinRows(rows.slice(0, 10)), rows.slice(0, 10), "short logs are drawn whole");
});

test("a run with nothing logged yet still gets a chart that says so", async () => {
  const svg = await renderCurves([]);
  assert.match(svg, /no metrics logged yet/);
});

test("RAFT with --report_to tensorboard: curves.svg and raft/* scalars per iteration, inner runs' events too", async () => {
  const base = join(ROOT, "base");
  createScratchModel(base, { vocabSize: 500, seed: 0 }).dispose();
  const prompts = join(ROOT, "prompts.jsonl");
  writeFileSync(
    prompts,
    ["Say hello.", "Name a colour.", "Count to three."].map((p) => JSON.stringify({ prompt: p })).join("\n"),
  );
  const out = join(ROOT, "raft");
  const config = RaftConfigSchema.parse({
    model: base,
    out,
    data: { train: prompts },
    maxLength: 48,
    training: { saveEvery: 0, logEvery: 1000, lr: 1e-3, batchSize: 2, seed: 0, reportTo: "tensorboard" },
    raft: { iterations: 2, promptsPerIteration: 3, k: 2, maxNewTokens: 6, minChars: 1, stepsPerIteration: 2 },
  });
  const reward = (answer: string) => answer.length / 10;
  const result = await runRaft(config, { reward });
  result.model.dispose();
  const history = readFileSync(join(out, "raft.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number>);
  const svg = readFileSync(join(out, "curves.svg"), "utf8");
  assert.ok(panelTitles(svg).includes("reward per iteration (RAFT)"));
  const drawn = drawnPoints(svg, "iteration").filter((p) => p.series === "mean_reward");
  assert.deepEqual(
    drawn.map((p) => p.x),
    history.map((h) => h.iteration),
  );
  const [file] = readdirSync(join(out, "runs")).filter((f) => f.includes("tfevents"));
  const events = decodeEvents(join(out, "runs", file as string)).filter((e) => e.scalars.size > 0);
  assert.deepEqual(
    events.map((e) => [e.step, e.scalars.get("raft/mean_reward")]),
    history.map((h) => [h.iteration, Math.fround(h.mean_reward as number)]),
  );
  for (const iteration of ["iter-0001", "iter-0002"]) {
    const inner = join(out, "finetune", iteration);
    if (!existsSync(join(inner, "metrics.jsonl"))) continue; // nothing selected: nothing trained
    assert.ok(
      readdirSync(join(inner, "runs")).some((f) => f.includes("tfevents")),
      iteration,
    );
    assert.ok(existsSync(join(inner, "curves.svg")), iteration);
  }
});
