// Values of dotted config options ("training.lr=3e-5" from a flag or a pipeline override), shared by the trainer
// configs, pipeline files and seeded stages.
import { parse as parseYaml } from "yaml";

/** Sets `path` ("training.lr") in a nested object, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}

/** Reads a flag's text as the value YAML would give it (numbers, booleans, lists). */
export function parseValue(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}
