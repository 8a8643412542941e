// `${...}` references in a pipeline file: `${vars.NAME}` reads a variable, `${STAGE}` (optionally followed by
// a sub-path: `${world}/eval/harmful.jsonl`) names an earlier stage's output. Substitution walks the stage's
// config and replaces references in every string.
import { PipelineError } from "./errors.js";

const REFERENCE = /\$\{([^}]*)\}/g;

/** The stage names a value refers to (every `${name}` that is not `${vars.…}`), in order of appearance. */
export function stageReferences(value: unknown): string[] {
  const out: string[] = [];
  walkStrings(value, (text) => {
    for (const match of text.matchAll(REFERENCE)) {
      const name = (match[1] ?? "").trim();
      if (!name.startsWith("vars.") && !out.includes(name)) out.push(name);
    }
  });
  return out;
}

function walkStrings(value: unknown, visit: (text: string) => void): void {
  if (typeof value === "string") visit(value);
  else if (Array.isArray(value)) for (const v of value) walkStrings(v, visit);
  else if (value !== null && typeof value === "object")
    for (const v of Object.values(value as Record<string, unknown>)) walkStrings(v, visit);
}

export interface Resolver {
  vars: Readonly<Record<string, string | number | boolean>>;
  /** The output path of a stage. */
  stage: (name: string) => string;
  /** Names the place in errors: "pipeline.yaml: stages.dpo". */
  where: string;
}

/**
 * A copy of `value` with every reference replaced. A string that is one `${vars.X}` reference and nothing else
 * takes the variable's own type (so `epochs: ${vars.epochs}` stays a number).
 */
export function substitute(value: unknown, resolver: Resolver, path = ""): unknown {
  if (typeof value === "string") return substituteText(value, resolver, path);
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, resolver, `${path}.${i}`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      out[k] = substitute(v, resolver, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

function substituteText(text: string, resolver: Resolver, path: string): unknown {
  const whole = /^\$\{\s*vars\.([^}\s]+)\s*\}$/.exec(text);
  if (whole) return variable(whole[1] as string, resolver, path);
  return text.replace(REFERENCE, (_, inner: string) => {
    const name = inner.trim();
    if (name.startsWith("vars.")) return String(variable(name.slice(5), resolver, path));
    if (name === "") throw new PipelineError(`${resolver.where}: ${path}: empty reference \${}`);
    return resolver.stage(name);
  });
}

function variable(name: string, resolver: Resolver, path: string): string | number | boolean {
  const value = resolver.vars[name];
  if (value === undefined) {
    const known = Object.keys(resolver.vars);
    throw new PipelineError(
      `${resolver.where}: ${path}: unknown variable \${vars.${name}} (${known.length ? `variables: ${known.join(", ")}` : "the file declares no vars"}; set one with --var ${name}=VALUE)`,
    );
  }
  return value;
}
