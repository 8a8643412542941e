// The layers of src/ and the directions imports may take between them. The table lives in docs/architecture.md
// (the rows between the `layers:begin` and `layers:end` markers): each layer lists the layers it sits on, and may
// import those and, transitively, what they sit on; never a peer, never one above. test/importDirections.test.ts
// checks every relative import of src/ against it; `npx tsx scripts/importLayers.ts --write` redraws the doc's layer
// diagram from it (the test fails while the drawn diagram differs from the table).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ARCHITECTURE_DOC = join(REPO_ROOT, "docs", "architecture.md");

/** Each layer and the layers it sits on (may import directly). */
export type LayerTable = ReadonlyMap<string, readonly string[]>;

/** One relative import of a source file: the importing file and the file it names (both relative to src/). */
export interface SourceImport {
  from: string;
  to: string;
  /** 1-based line of the import in `from`. */
  line: number;
}

export interface ImportViolation extends SourceImport {
  fromLayer: string;
  toLayer: string;
  /** Why the import breaks the table, in one line. */
  reason: string;
}

const TABLE_BEGIN = "<!-- layers:begin -->";
const TABLE_END = "<!-- layers:end -->";
const DIAGRAM_BEGIN = "<!-- diagram:begin -->";
const DIAGRAM_END = "<!-- diagram:end -->";

/** The text between two marker lines of `doc`, or an Error naming the missing marker. */
function between(doc: string, begin: string, end: string): { start: number; stop: number; text: string } {
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  if (start < 0 || stop < start)
    throw new Error(`docs/architecture.md: expected the markers ${begin} ... ${end}`);
  return { start: start + begin.length, stop, text: doc.slice(start + begin.length, stop) };
}

/**
 * Reads the layer table out of the doc's markdown table: rows "| `layer` | `below`, `below` | what it owns |",
 * a dash ("—" or "-") when a layer sits on nothing. Throws naming the row when a row is malformed, a layer is
 * listed twice, or a layer sits on one the table does not list.
 */
export function parseLayerTable(doc: string): LayerTable {
  const { text } = between(doc, TABLE_BEGIN, TABLE_END);
  const table = new Map<string, string[]>();
  for (const row of text.split("\n")) {
    const cells = row.split("|").map((c) => c.trim());
    // "| a | b | c |" splits into ["", a, b, c, ""]; the header and the separator row have no backticked layer.
    const layer = /^`([^`]+)`$/.exec(cells[1] ?? "")?.[1];
    if (layer === undefined) continue;
    if (table.has(layer)) throw new Error(`docs/architecture.md: layer ${layer} is listed twice`);
    const below = cells[2] ?? "";
    const names = [...below.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
    if (names.length === 0 && !/^[—-]$/.test(below))
      throw new Error(
        `docs/architecture.md: layer ${layer}: expected backticked layers or "—", got "${below}"`,
      );
    table.set(layer, names);
  }
  for (const [layer, below] of table)
    for (const name of below)
      if (!table.has(name))
        throw new Error(`docs/architecture.md: layer ${layer} sits on ${name}, not in the table`);
  return table;
}

/** The layers `layer` may import: those it sits on and everything they sit on, transitively. */
export function reachableBelow(table: LayerTable, layer: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(table.get(layer) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(table.get(next) ?? []));
  }
  return seen;
}

/** Layers that reach themselves through the table (a cycle makes "downward" meaningless); empty when none. */
export function cyclicLayers(table: LayerTable): string[] {
  return [...table.keys()].filter((layer) => reachableBelow(table, layer).has(layer));
}

/** The layer of a path relative to src/: its top-level folder, or the file's name for files at the top. */
export function layerOf(srcPath: string): string {
  const [first = "", ...rest] = srcPath.split("/");
  return rest.length === 0 ? first.replace(/\.ts$/, "") : first;
}

/**
 * The relative import specifiers of a TypeScript source and their lines: `import ... from`, `export ... from`,
 * `import "x"` and `import("x")` with a literal string. Comments are not skipped (a commented-out import is
 * checked too, which errs on the strict side).
 */
export function relativeSpecifiers(source: string): { specifier: string; line: number }[] {
  const found: { specifier: string; line: number }[] = [];
  const pattern = /\b(?:from|import)\s*\(?\s*(["'])(\.{1,2}\/[^"'\n]+)\1/g;
  for (const match of source.matchAll(pattern)) {
    const line = source.slice(0, match.index).split("\n").length;
    found.push({ specifier: match[2] as string, line });
  }
  return found;
}

/**
 * Checks imports against the table: every file's layer must be in the table, and each import must stay in its
 * layer or go to one the layer may import. Imports that leave src/ are not between layers and are not checked.
 */
export function importViolations(table: LayerTable, imports: readonly SourceImport[]): ImportViolation[] {
  const violations: ImportViolation[] = [];
  const allowed = new Map<string, Set<string>>();
  for (const imp of imports) {
    const fromLayer = layerOf(imp.from);
    const toLayer = layerOf(imp.to);
    const base = { ...imp, fromLayer, toLayer };
    if (imp.to.startsWith("../")) continue;
    if (!table.has(fromLayer)) {
      violations.push({ ...base, reason: `layer ${fromLayer} is not in the table of docs/architecture.md` });
      continue;
    }
    if (fromLayer === toLayer) continue;
    if (!table.has(toLayer)) {
      violations.push({ ...base, reason: `layer ${toLayer} is not in the table of docs/architecture.md` });
      continue;
    }
    let below = allowed.get(fromLayer);
    if (!below) {
      below = reachableBelow(table, fromLayer);
      allowed.set(fromLayer, below);
    }
    if (!below.has(toLayer)) {
      const direction = reachableBelow(table, toLayer).has(fromLayer) ? "upward" : "sideways";
      violations.push({ ...base, reason: `${fromLayer} imports ${toLayer} (${direction})` });
    }
  }
  return violations;
}

/** Every relative import of every .ts file under `srcDir`, with paths relative to it ("/" separated). */
export function sourceImports(srcDir: string): SourceImport[] {
  const imports: SourceImport[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const from = relative(srcDir, path).split(sep).join("/");
        for (const { specifier, line } of relativeSpecifiers(readFileSync(path, "utf8"))) {
          const target = relative(srcDir, resolve(dirname(path), specifier))
            .split(sep)
            .join("/");
          imports.push({ from, to: target.replace(/\.js$/, ".ts"), line });
        }
      }
    }
  };
  walk(srcDir);
  return imports;
}

/** The top-level folders and files of src/ as layers (index.ts is `index`, version.ts is `version`). */
export function sourceLayers(srcDir: string): string[] {
  return readdirSync(srcDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || e.name.endsWith(".ts"))
    .map((e) => layerOf(e.name))
    .sort();
}

/** Each layer's height: 0 when it sits on nothing, else one more than the highest layer it sits on. */
export function layerLevels(table: LayerTable): Map<string, number> {
  const levels = new Map<string, number>();
  const level = (layer: string, path: readonly string[]): number => {
    const known = levels.get(layer);
    if (known !== undefined) return known;
    if (path.includes(layer)) throw new Error(`layers form a cycle: ${[...path, layer].join(" -> ")}`);
    const below = table.get(layer) ?? [];
    const value = below.length === 0 ? 0 : 1 + Math.max(...below.map((b) => level(b, [...path, layer])));
    levels.set(layer, value);
    return value;
  };
  for (const layer of table.keys()) level(layer, []);
  return levels;
}

/**
 * The layer diagram as text: one band per height, the top first; within a band the layers are peers (neither
 * imports the other), and each names the layers it sits on.
 */
export function layerDiagram(table: LayerTable): string {
  const levels = layerLevels(table);
  const top = Math.max(...levels.values());
  const width = Math.max(...[...table.keys()].map((l) => l.length));
  const lines: string[] = [];
  for (let h = top; h >= 0; h--) {
    const band = [...table.keys()].filter((l) => levels.get(l) === h).sort();
    for (const layer of band) {
      const below = table.get(layer) ?? [];
      lines.push(`${layer.padEnd(width)}  ${below.length ? `──► ${below.join(", ")}` : "(sits on nothing)"}`);
    }
    if (h > 0) lines.push(`${" ".repeat(Math.floor(width / 2))}▼`);
  }
  return lines.join("\n");
}

/** The doc with its diagram block replaced by the one drawn from its table. */
export function withDiagram(doc: string): string {
  const { start, stop } = between(doc, DIAGRAM_BEGIN, DIAGRAM_END);
  return `${doc.slice(0, start)}\n\`\`\`text\n${layerDiagram(parseLayerTable(doc))}\n\`\`\`\n${doc.slice(stop)}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(ARCHITECTURE_DOC, "utf8");
  const drawn = withDiagram(doc);
  if (process.argv.includes("--write")) {
    writeFileSync(ARCHITECTURE_DOC, drawn);
    console.log(`${relative(REPO_ROOT, ARCHITECTURE_DOC)}: diagram redrawn from the table`);
  } else {
    const table = parseLayerTable(doc);
    const violations = importViolations(table, sourceImports(join(REPO_ROOT, "src")));
    for (const v of violations) console.log(`src/${v.from}:${v.line}: ${v.reason} (${v.to})`);
    if (drawn !== doc)
      console.log("docs/architecture.md: the diagram differs from the table (run with --write)");
    process.exitCode = violations.length > 0 || drawn !== doc ? 1 : 0;
  }
}
