// A run config as its user wrote it (TRL's flat names, PEFT's lora keys, any case style) turned into safetune's
// canonical nesting and names, before the strict schema checks it. Names it does not know are left as they
// are, so that the schema reports them; a setting given twice under two names is an error.
import type { z } from "zod";
import { ConfigError } from "../util/configError.js";
import { type ConfigField, type ConfigNames, configNames, snakeCase } from "./optionNames.js";

export interface NormalizedConfig {
  config: Record<string, unknown>;
  /** How each canonical path was spelled where it differs ("training.lr" -> "learning_rate"). */
  spelling: Map<string, string>;
  /** The keys each canonical path was written under ("training.lr" -> ["learning_rate"]). */
  written: Map<string, string[]>;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** A value in another tool's vocabulary as this option's value ("constant_with_warmup" -> "constant"). */
export function translateValue(field: ConfigField | undefined, value: unknown): unknown {
  if (field?.values && typeof value === "string" && Object.hasOwn(field.values, value))
    return field.values[value];
  return value;
}

/** The canonical path of a path as written: "learning_rate" and "training.learning_rate" -> "training.lr". */
export function canonicalPath(path: string, schema: z.ZodType): string {
  const names = configNames(schema);
  const parts = path.split(".");
  const [first, second] = parts;
  if (first === undefined) return path;
  const section = names.sections.get(snakeCase(first));
  if (parts.length === 1) return section ?? names.flat.get(snakeCase(first))?.path ?? path;
  if (section === undefined || second === undefined) return path;
  // Deeper parts are inside an option's value (lora.rank_pattern.q_proj): only the option's name is translated.
  const option = names.inSection.get(section)?.get(snakeCase(second))?.path ?? `${section}.${second}`;
  return [option, ...parts.slice(2)].join(".");
}

/** The field at a canonical path, if it is one. */
export function fieldAt(names: ConfigNames, path: string): ConfigField | undefined {
  return names.fields.find((f) => f.path === path);
}

/** Writes canonical settings into a config, checking that no setting arrives twice and that sections stay coherent. */
class ConfigWriter {
  readonly config: Record<string, unknown> = {};
  readonly spelling = new Map<string, string>();
  readonly written = new Map<string, string[]>();
  private readonly given = new Map<string, string>();

  constructor(private readonly where: string) {}

  set(path: string, value: unknown, written: string): void {
    const previous = this.given.get(path);
    if (previous !== undefined)
      throw new ConfigError(`${this.where}: ${path} is set twice (as ${previous} and as ${written})`);
    this.given.set(path, written);
    this.written.set(path, written.split("."));
    if (written !== path) this.spelling.set(path, written);
    const dot = path.indexOf(".");
    if (dot < 0) {
      this.config[path] = value;
      return;
    }
    const section = path.slice(0, dot);
    const current = this.config[section];
    if (current !== undefined && !isPlainObject(current))
      throw new ConfigError(
        `${this.where}: ${written} is set, but ${this.given.get(section) ?? section} is ${JSON.stringify(current)}`,
      );
    const node = (current ?? {}) as Record<string, unknown>;
    node[path.slice(dot + 1)] = value;
    this.config[section] = node;
  }

  /** A section that may be switched off (lora): true turns it on with its defaults, false off. */
  setSwitch(section: string, value: unknown, written: string): void {
    const current = this.config[section];
    if (value === true) {
      this.given.set(section, written);
      this.written.set(section, [written]);
      this.config[section] = isPlainObject(current) ? current : {};
    } else if (value === false && isPlainObject(current) && Object.keys(current).length > 0) {
      const settings = Object.keys(current).map(
        (k) => this.spelling.get(`${section}.${k}`) ?? `${section}.${k}`,
      );
      throw new ConfigError(`${this.where}: ${written} is false, but ${settings.join(", ")} is set`);
    } else {
      this.set(section, value, written);
    }
  }
}

/**
 * `raw` (a parsed YAML mapping) in canonical form for `schema`: flat TRL names moved into their sections, every
 * key spelled as the schema spells it. `where` (the file) prefixes errors.
 */
export function normalizeConfig(
  raw: Record<string, unknown>,
  schema: z.ZodType,
  where: string,
): NormalizedConfig {
  const names = configNames(schema);
  const out = new ConfigWriter(where);
  const switches: [string, unknown, string][] = [];
  for (const [key, value] of Object.entries(raw)) {
    const section = names.sections.get(snakeCase(key));
    if (section !== undefined && isPlainObject(value)) {
      const known = names.inSection.get(section);
      if (Object.keys(value).length === 0 && out.config[section] === undefined) out.config[section] = {};
      for (const [innerKey, innerValue] of Object.entries(value)) {
        const field = known?.get(snakeCase(innerKey));
        out.set(
          field?.path ?? `${section}.${innerKey}`,
          translateValue(field, innerValue),
          `${key}.${innerKey}`,
        );
      }
      continue;
    }
    const valueSwitch = names.valueSwitches.get(snakeCase(key));
    if (valueSwitch) {
      if (typeof value !== "boolean")
        throw new ConfigError(`${where}: ${key}: expected true or false, got ${JSON.stringify(value)}`);
      if (value) out.set(valueSwitch.field.path, valueSwitch.value, key);
      continue;
    }
    const field = section === undefined ? names.flat.get(snakeCase(key)) : fieldAt(names, section);
    if (field?.kind === "switch") switches.push([field.path, value, key]);
    else out.set(field?.path ?? section ?? key, translateValue(field, value), key);
  }
  // use_peft: false next to lora_r is a contradiction whatever the order they were written in.
  for (const [section, value, written] of switches) out.setSwitch(section, value, written);
  return { config: out.config, spelling: out.spelling, written: out.written };
}
