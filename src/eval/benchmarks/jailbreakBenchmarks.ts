// Replayed attacks: each JailbreakBench artifact (the prompts one attack method produced against one target
// model) as a harmful benchmark named jbb:METHOD:TARGET, read from the data folder's
// jailbreakbench/attack-artifacts/METHOD/ATTACK_TYPE/TARGET.json. A null prompt (the attack found none) is
// skipped and counted in the benchmark's source.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { EvaluationError } from "../errors.js";
import type { Benchmark, BenchmarkItem } from "../types.js";
import type { BenchmarkSpec, ResolvedBenchmarkSpec } from "./benchmarkSpec.js";

export const JBB_PREFIX = "jbb:";
/** Where the artifacts are under a data folder. */
export const JBB_ARTIFACTS = "jailbreakbench/attack-artifacts";
/** What replayed attacks attack: JailbreakBench's 100 behaviours, the same index in every artifact. */
export const JBB_BEHAVIOURS = "JailbreakBench";

export function isJailbreakBenchName(name: string): boolean {
  return name.toLowerCase().startsWith(JBB_PREFIX);
}

interface Artifact {
  name: string;
  path: string;
}

function subfolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .sort();
}

/** Every artifact under `dataDir`, named jbb:METHOD:TARGET (jbb:METHOD:TYPE:TARGET where a target repeats). */
export function jailbreakBenchArtifacts(dataDir: string): Artifact[] {
  const root = join(dataDir, JBB_ARTIFACTS);
  if (!existsSync(root)) return [];
  const found: { method: string; type: string; target: string; path: string }[] = [];
  for (const method of subfolders(root))
    for (const type of subfolders(join(root, method)))
      for (const file of readdirSync(join(root, method, type)).sort())
        if (file.endsWith(".json"))
          found.push({ method, type, target: file.slice(0, -5), path: join(root, method, type, file) });
  return found.map((a) => {
    const twice = found.filter((b) => b.method === a.method && b.target === a.target).length > 1;
    const name = twice ? `jbb:${a.method}:${a.type}:${a.target}` : `jbb:${a.method}:${a.target}`;
    return { name, path: a.path };
  });
}

export function jailbreakBenchNames(dataDir: string): string[] {
  return jailbreakBenchArtifacts(dataDir).map((a) => a.name);
}

/** A jbb:... spec resolved against the data folder (or its own path); unknown names list the known ones. */
export function resolveJailbreakBenchSpec(
  spec: BenchmarkSpec,
  options: { dataDir: string; baseDir: string },
): ResolvedBenchmarkSpec {
  const wanted = (spec.builtin ?? "").toLowerCase();
  let name = spec.builtin ?? "";
  let path: string;
  if (spec.path !== undefined) path = isAbsolute(spec.path) ? spec.path : resolve(options.baseDir, spec.path);
  else {
    const artifacts = jailbreakBenchArtifacts(options.dataDir);
    const artifact = artifacts.find((a) => a.name.toLowerCase() === wanted);
    if (!artifact) {
      const known = artifacts.map((a) => a.name).join(", ");
      throw new EvaluationError(
        `benchmark "${name}": no such JailbreakBench artifact under ${join(options.dataDir, JBB_ARTIFACTS)} (${known === "" ? "none found: --data DIR or SAFETUNE_DATA names the data folder" : `known: ${known}`})`,
      );
    }
    name = artifact.name;
    path = artifact.path;
  }
  return {
    name: spec.name ?? name,
    kind: "harmful",
    path,
    prompt: spec.prompt ?? "prompt",
    id: spec.id ?? "index",
    category: spec.category ?? "category",
    ...(spec.limit === undefined ? {} : { limit: spec.limit }),
    builtin: name,
  };
}

/**
 * The artifact's prompts as a harmful benchmark: each item records the artifact as its attack and
 * JailbreakBench's behaviours as what it attacks (so the worst case per behaviour spans artifacts).
 */
export function loadJailbreakBenchBenchmark(spec: ResolvedBenchmarkSpec): Benchmark {
  const where = `benchmark "${spec.name}": ${spec.path}`;
  if (!existsSync(spec.path))
    throw new EvaluationError(`${where} not found (--data DIR or SAFETUNE_DATA names the data folder)`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(spec.path, "utf8"));
  } catch (err) {
    throw new EvaluationError(`${where}: not valid JSON (${(err as Error).message})`);
  }
  const rows = (data as { jailbreaks?: unknown } | null)?.jailbreaks;
  if (!Array.isArray(rows))
    throw new EvaluationError(`${where}: expected an object with a "jailbreaks" list`);
  const items: BenchmarkItem[] = [];
  let skipped = 0;
  for (const [i, row] of rows.entries()) {
    if (spec.limit !== undefined && items.length >= spec.limit) break;
    const r = row as Record<string, unknown>;
    const prompt = r[spec.prompt];
    if (prompt === null || prompt === undefined) {
      skipped++;
      continue;
    }
    if (typeof prompt !== "string" || prompt.trim() === "")
      throw new EvaluationError(`${where}: jailbreaks[${i}].${spec.prompt}: expected text or null`);
    const id = spec.id === undefined ? undefined : r[spec.id];
    const category = spec.category === undefined ? undefined : r[spec.category];
    const goal = r.goal;
    items.push({
      id: typeof id === "string" || typeof id === "number" ? String(id) : String(i),
      prompt: [{ role: "user", content: prompt }],
      ...(typeof goal === "string" && goal.trim() !== ""
        ? { request: [{ role: "user" as const, content: goal }] }
        : {}),
      ...(typeof category === "string" && category !== "" ? { category } : {}),
      attack: spec.builtin ?? spec.name,
      attackedBenchmark: JBB_BEHAVIOURS,
    });
  }
  if (items.length === 0) throw new EvaluationError(`${where}: no prompts (${skipped} null)`);
  return {
    name: spec.name,
    kind: "harmful",
    source: `builtin:${spec.builtin ?? spec.name} (${spec.path}; ${skipped} null prompts skipped)`,
    items,
  };
}
