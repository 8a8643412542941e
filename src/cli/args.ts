// Small typed readers over node:util parseArgs results: every bad value is a one-line UsageError naming the flag.
import { parseArgs } from "node:util";
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

export function parseCommandArgs<T extends OptionSpec>(
  argv: string[],
  options: T,
  command: string,
  extra: { positionals?: boolean } = {},
): { values: ParsedFlags<T>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, verbose: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: extra.positionals === true,
    });
    return { values: parsed.values as ParsedFlags<T>, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError(
      `${command}: ${(err as Error).message.split("\n")[0]} (see safetune ${command} --help)`,
    );
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
