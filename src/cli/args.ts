// Small typed readers over node:util parseArgs results: every bad value is a one-line UsageError naming the flag.
// Flags may be spelled with `-` or `_` (--max-length, --max_length, as Hugging Face's scripts spell them).
import { parseArgs } from "node:util";
import { closestName } from "../util/suggest.js";
import { UsageError } from "./errors.js";

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

/** The parsed flags: strings, booleans, or string lists for `multiple` options; plus --verbose and --help. */
export type ParsedFlags<T extends OptionSpec> = {
  [K in keyof T]?: T[K]["type"] extends "boolean"
    ? boolean
    : T[K]["multiple"] extends true
      ? string[]
      : string;
} & { verbose?: boolean; help?: boolean };

/** How flags beyond their declared name are read (see {@link canonicalArgv}). */
export interface FlagForms {
  /** Other names of a flag -> its declared name ("learning-rate" -> "lr"), kebab-case. */
  aliases?: ReadonlyMap<string, string>;
  /** String flags that may stand alone as `true` (`--packing`), or take true/false (`--packing false`). */
  switches?: ReadonlySet<string>;
  /** `multiple` flags whose values may follow as several words (`--lora-target-modules q_proj v_proj`). */
  lists?: ReadonlySet<string>;
}

const BOOLEAN_WORDS = /^(true|false|yes|no|on|off|1|0)$/i;

/**
 * The arguments with every flag under its declared name: `_` read as `-`, aliases replaced, a lone switch given
 * the value true, and each word after a list flag made a value of its own. Stops at `--`.
 */
export function canonicalArgv(argv: readonly string[], forms: FlagForms): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const match = /^--([^=]+)(=.*)?$/s.exec(arg);
    if (!match) {
      out.push(arg);
      continue;
    }
    const written = (match[1] as string).replace(/_/g, "-");
    const name = forms.aliases?.get(written) ?? written;
    const inline = match[2];
    if (inline !== undefined) {
      out.push(`--${name}${inline}`);
    } else if (forms.switches?.has(name)) {
      const next = argv[i + 1];
      out.push(`--${name}`, next !== undefined && BOOLEAN_WORDS.test(next) ? next : "true");
      if (next !== undefined && BOOLEAN_WORDS.test(next)) i++;
    } else if (forms.lists?.has(name)) {
      out.push(`--${name}`);
      const values: string[] = [];
      while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith("-"))
        values.push(argv[++i] as string);
      if (values.length === 0) continue; // parseArgs reports the missing value
      out.push(values[0] as string, ...values.slice(1).flatMap((v) => [`--${name}`, v]));
    } else {
      out.push(`--${name}`);
    }
  }
  return out;
}

export function parseCommandArgs<T extends OptionSpec>(
  argv: string[],
  options: T,
  command: string,
  extra: { positionals?: boolean; forms?: FlagForms } = {},
): { values: ParsedFlags<T>; positionals: string[] } {
  const all: OptionSpec = { ...options, verbose: { type: "boolean" }, help: { type: "boolean", short: "h" } };
  try {
    const parsed = parseArgs({
      args: canonicalArgv(argv, extra.forms ?? {}),
      options: all,
      strict: true,
      allowPositionals: extra.positionals === true,
    });
    return { values: parsed.values as ParsedFlags<T>, positionals: parsed.positionals };
  } catch (err) {
    const message = (err as Error).message.split("\n")[0] ?? "";
    const unknown = /^Unknown option '--([^']+)'/.exec(message)?.[1];
    const guess = unknown
      ? closestName(unknown, [...Object.keys(all), ...(extra.forms?.aliases?.keys() ?? [])])
      : undefined;
    const detail = guess ? `unknown option --${unknown}; did you mean --${guess}?` : message;
    throw new UsageError(`${command}: ${detail} (see safetune ${command} --help)`);
  }
}

export function requireString(value: unknown, flag: string, command: string): string {
  if (typeof value !== "string" || value === "")
    throw new UsageError(`${command}: --${flag} is required (see safetune ${command} --help)`);
  return value;
}

export function optionalNumber(
  value: unknown,
  flag: string,
  check: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok =
    typeof value === "string" &&
    value.trim() !== "" &&
    Number.isFinite(n) &&
    (!check.integer || Number.isInteger(n));
  if (!ok || (check.min !== undefined && n < check.min) || (check.max !== undefined && n > check.max)) {
    const kind = check.integer ? "an integer" : "a number";
    const range =
      check.min !== undefined
        ? check.max !== undefined
          ? ` in [${check.min}, ${check.max}]`
          : ` >= ${check.min}`
        : "";
    throw new UsageError(`--${flag}: expected ${kind}${range}, got '${String(value)}'`);
  }
  return n;
}

/** "1,2,3" -> [1, 2, 3] */
export function parseIdList(value: string, flag: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const ids = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === "" || !Number.isInteger(ids[i]) || (ids[i] as number) < 0);
  if (bad >= 0)
    throw new UsageError(
      `--${flag}: '${parts[bad]}' is not a token id (expected comma-separated non-negative integers, e.g. 1,2,3)`,
    );
  return ids;
}
