// Imports run downward only (DESIGN.md): every relative import of src/ is checked against the layer table of
// docs/architecture.md, and the rule itself is checked on synthetic imports that break it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  ARCHITECTURE_DOC,
  cyclicLayers,
  importViolations,
  type LayerTable,
  layerOf,
  parseLayerTable,
  REPO_ROOT,
  reachableBelow,
  relativeSpecifiers,
  type SourceImport,
  sourceImports,
  sourceLayers,
  withDiagram,
} from "../scripts/importLayers.js";

const SRC = join(REPO_ROOT, "src");
const DOC = readFileSync(ARCHITECTURE_DOC, "utf8");
const TABLE = parseLayerTable(DOC);

test("every relative import in src/ goes to its own layer or one below it", () => {
  const violations = importViolations(TABLE, sourceImports(SRC));
  assert.deepEqual(
    violations.map((v) => `src/${v.from}:${v.line}: ${v.reason} (${v.to})`),
    [],
    "move the shared code below both layers, or (if the direction is right) add it to docs/architecture.md's table",
  );
});

test("the table lists every folder of src/ and nothing that is not there", () => {
  const layers = sourceLayers(SRC);
  assert.deepEqual(
    layers.filter((l) => !TABLE.has(l)),
    [],
    "add new src/ folders to docs/architecture.md",
  );
  assert.deepEqual(
    [...TABLE.keys()].filter((l) => !layers.includes(l)),
    [],
    "layers in the table that src/ does not have",
  );
});

test("the table has no cycle, and training, evaluation and the pipeline machinery stay apart", () => {
  assert.deepEqual(cyclicLayers(TABLE), []);
  for (const [a, b] of [
    ["eval", "train"],
    ["train", "eval"],
    ["serve", "train"],
    ["pipeline", "train"],
    ["pipeline", "eval"],
  ] as const)
    assert.ok(!reachableBelow(TABLE, a).has(b), `the table lets ${a} import ${b}`);
});

/**
 * Issue 18's two checks, independent of the table: `grep -rn 'from "../(../)?train/' src/eval src/serve
 * src/pipeline` and `grep -rn 'from "../(../)?eval/' src/train` print nothing. Read from the resolved imports
 * (any depth, re-exports and dynamic imports too), so `../../../train/x.js` counts as well.
 */
function trainEvalCrossings(imports: readonly SourceImport[]): string[] {
  const crosses = (from: string, to: string) =>
    (["eval", "serve", "pipeline"].includes(layerOf(from)) && layerOf(to) === "train") ||
    (layerOf(from) === "train" && layerOf(to) === "eval");
  return imports
    .filter((i) => crosses(i.from, i.to))
    .map((i) => `src/${i.from}:${i.line} imports src/${i.to}`);
}

test("nothing in src/eval, src/serve or src/pipeline imports src/train, nothing in src/train imports src/eval", () => {
  assert.deepEqual(trainEvalCrossings(sourceImports(SRC)), []);
});

test("trainEvalCrossings reports each forbidden direction and nothing else", () => {
  const imports: SourceImport[] = [
    { from: "eval/judges/scoreModelJudges.ts", to: "train/raft.ts", line: 3 },
    { from: "serve/guards/guardConfig.ts", to: "train/runConfig.ts", line: 12 },
    { from: "pipeline/stageWorker.ts", to: "train/trainingLoop.ts", line: 7 },
    { from: "train/endpointSampler.ts", to: "eval/answer/endpointAnswerer.ts", line: 5 },
    { from: "workflows/trainerStages.ts", to: "train/runDpo.ts", line: 14 },
    { from: "train/dpo.ts", to: "score/logProbs.ts", line: 9 },
    { from: "eval/runEval.ts", to: "score/scorer.ts", line: 2 },
  ];
  assert.deepEqual(trainEvalCrossings(imports), [
    "src/eval/judges/scoreModelJudges.ts:3 imports src/train/raft.ts",
    "src/serve/guards/guardConfig.ts:12 imports src/train/runConfig.ts",
    "src/pipeline/stageWorker.ts:7 imports src/train/trainingLoop.ts",
    "src/train/endpointSampler.ts:5 imports src/eval/answer/endpointAnswerer.ts",
  ]);
});

test("the diagram in docs/architecture.md is the one drawn from its table", () => {
  assert.ok(
    withDiagram(DOC) === DOC,
    "docs/architecture.md: diagram out of date; run `npx tsx scripts/importLayers.ts --write`",
  );
});

test("the table reports an eval, serve or pipeline import of train/, and a pipeline import of a workflow", () => {
  const imports: SourceImport[] = [
    { from: "eval/judges/scoreModelJudges.ts", to: "train/raft.ts", line: 3 },
    { from: "serve/guards/guardConfig.ts", to: "train/runConfig.ts", line: 12 },
    { from: "train/endpointSampler.ts", to: "eval/answer/endpointAnswerer.ts", line: 5 },
    { from: "data/records.ts", to: "tokenize/chatTemplate.ts", line: 2 },
    { from: "pipeline/plan.ts", to: "train/runDpo.ts", line: 11 },
    { from: "pipeline/plan.ts", to: "eval/runEval.ts", line: 12 },
    { from: "pipeline/plan.ts", to: "workflows/stageKinds.ts", line: 13 },
  ];
  assert.deepEqual(
    importViolations(TABLE, imports).map((v) => v.reason),
    [
      "eval imports train (sideways)",
      "serve imports train (sideways)",
      "train imports eval (sideways)",
      "data imports tokenize (upward)",
      "pipeline imports train (sideways)",
      "pipeline imports eval (sideways)",
      "pipeline imports workflows (upward)",
    ],
  );
});

// A small table: top sits on middle, middle on bottom; side sits on bottom, a peer of middle.
const SYNTHETIC: LayerTable = new Map([
  ["top", ["middle"]],
  ["middle", ["bottom"]],
  ["side", ["bottom"]],
  ["bottom", []],
]);

test("importViolations allows same-layer and downward imports, transitively, and names every other", () => {
  const imports: SourceImport[] = [
    { from: "top/a.ts", to: "top/b.ts", line: 1 },
    { from: "top/a.ts", to: "middle/m.ts", line: 2 },
    { from: "top/a.ts", to: "bottom/x.ts", line: 3 },
    { from: "bottom/x.ts", to: "middle/m.ts", line: 4 },
    { from: "middle/m.ts", to: "side/s.ts", line: 5 },
    { from: "stray/f.ts", to: "bottom/x.ts", line: 6 },
    { from: "middle/m.ts", to: "ghost/g.ts", line: 7 },
    { from: "top.ts", to: "bottom/x.ts", line: 8 },
    { from: "middle/m.ts", to: "../package.json", line: 9 },
  ];
  assert.deepEqual(
    importViolations(SYNTHETIC, imports).map((v) => [v.line, v.fromLayer, v.toLayer, v.reason]),
    [
      [4, "bottom", "middle", "bottom imports middle (upward)"],
      [5, "middle", "side", "middle imports side (sideways)"],
      [6, "stray", "bottom", "layer stray is not in the table of docs/architecture.md"],
      [7, "middle", "ghost", "layer ghost is not in the table of docs/architecture.md"],
    ],
  );
});

test("reachableBelow and cyclicLayers follow the table", () => {
  assert.deepEqual([...reachableBelow(SYNTHETIC, "top")].sort(), ["bottom", "middle"]);
  assert.deepEqual([...reachableBelow(SYNTHETIC, "bottom")], []);
  assert.deepEqual(cyclicLayers(SYNTHETIC), []);
  const cyclic: LayerTable = new Map([
    ["a", ["b"]],
    ["b", ["a"]],
    ["c", []],
  ]);
  assert.deepEqual(cyclicLayers(cyclic), ["a", "b"]);
});

test("layerOf: a file's top-level folder, or its name for files at the top of src/", () => {
  assert.equal(layerOf("eval/judges/llmJudge.ts"), "eval");
  assert.equal(layerOf("index.ts"), "index");
  assert.equal(layerOf("version.ts"), "version");
});

test("relativeSpecifiers finds static, re-exported, side-effect and dynamic imports, with their lines", () => {
  const source = [
    'import { a } from "./a.js";',
    "import {",
    "  b,",
    '} from "../b/b.js";',
    'export { c } from "./c.js";',
    'import "./d.js";',
    'const e = await import("../e/e.js");',
    'import { z } from "zod";',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of an import with a computed path
    "const f = await import(`./f-${name}.js`);",
    "import type { G } from '../g.js';",
  ].join("\n");
  assert.deepEqual(relativeSpecifiers(source), [
    { specifier: "./a.js", line: 1 },
    { specifier: "../b/b.js", line: 4 },
    { specifier: "./c.js", line: 5 },
    { specifier: "./d.js", line: 6 },
    { specifier: "../e/e.js", line: 7 },
    { specifier: "../g.js", line: 10 },
  ]);
});

test("parseLayerTable reads the rows between the markers and rejects a row that names an unknown layer", () => {
  const doc = (rows: string) =>
    `intro\n<!-- layers:begin -->\n| Layer | Sits on | Owns |\n|---|---|---|\n${rows}<!-- layers:end -->\n`;
  const table = parseLayerTable(
    doc("| `up` | `low`, `util` | x |\n| `low` | `util` | y |\n| `util` | — | z |\n"),
  );
  assert.deepEqual(
    [...table],
    [
      ["up", ["low", "util"]],
      ["low", ["util"]],
      ["util", []],
    ],
  );
  assert.throws(
    () => parseLayerTable(doc("| `up` | `nowhere` | x |\n")),
    /layer up sits on nowhere, not in the table/,
  );
  assert.throws(
    () => parseLayerTable(doc("| `up` | nothing | x |\n")),
    /layer up: expected backticked layers/,
  );
  assert.throws(() => parseLayerTable("no markers"), /expected the markers/);
});
