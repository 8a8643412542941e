// The request texts of a data file: a named field, or the detected mapping's prompt (its last user turn), with an
// optional FIELD=VALUE row filter. `data request-pairs` reads its harmful and benign files with it.
import { resolve } from "node:path";
import { convertRecord } from "./convert.js";
import { DataError } from "./errors.js";
import { detectMapping, type Mapping } from "./mappings.js";
import { readRows } from "./readRows.js";
import type { DataRecord } from "./records.js";
import { lastUserText } from "./text.js";
import type { ManifestSource } from "./writeRecords.js";

/** Keep rows whose `field` is `value` (in files that have the field). */
export interface RowFilter {
  field: string;
  value: string;
}

/** "FIELD=VALUE" as a row filter, or undefined when the text is not of that form. */
export function parseRowFilter(text: string): RowFilter | undefined {
  const eq = text.indexOf("=");
  if (eq < 1) return undefined;
  return { field: text.slice(0, eq).trim(), value: text.slice(eq + 1).trim() };
}

export interface PromptFile {
  prompts: string[];
  source: ManifestSource;
  /** Whether the file has the filter's field (a filter no file has is a typo, not a no-op). */
  hadFilterField: boolean;
}

/**
 * The request texts of one file: the first of `fields` the rows have, else the detected mapping's prompt (its last
 * user turn: what a request classifier judges). Rows the filter leaves out are counted as filtered.
 */
export async function readPromptFile(
  path: string,
  role: string,
  fields: readonly string[],
  filter: RowFilter | undefined,
  skipInvalid: boolean,
): Promise<PromptFile> {
  const prompts: string[] = [];
  let rows = 0;
  let skipped = 0;
  let filtered = 0;
  let field: string | undefined;
  let mapping: Mapping | undefined;
  let hadFilterField = false;
  const problem = (where: string, text: string) => {
    if (!skipInvalid) throw new DataError(`${where}: ${text} (--skip-invalid skips and counts such rows)`);
    skipped++;
  };
  for await (const entry of readRows(path, { badRows: skipInvalid ? "yield" : "throw" })) {
    rows++;
    if (entry.problem !== undefined) {
      skipped++;
      continue;
    }
    const { row, where } = entry;
    if (rows === 1) {
      field = fields.find((f) => f in row);
      if (field === undefined) {
        try {
          mapping = detectMapping(row, path);
        } catch {
          throw new DataError(
            `${path}: no prompt field found in [${Object.keys(row).join(", ")}]; name it with --field NAME`,
          );
        }
      }
      hadFilterField = filter !== undefined && filter.field in row;
    }
    if (filter && hadFilterField && String(row[filter.field] ?? "").trim() !== filter.value) {
      filtered++;
      continue;
    }
    if (field !== undefined) {
      const value = row[field];
      if (typeof value === "string" && value.trim() !== "") prompts.push(value);
      else problem(where, `field "${field}" is not a non-empty text`);
      continue;
    }
    let record: DataRecord | null;
    try {
      record = (mapping as Mapping).map(row);
    } catch (err) {
      problem(where, (err as Error).message);
      continue;
    }
    if (record === null) {
      filtered++;
      continue;
    }
    const converted = convertRecord(record, "prompt");
    if (typeof converted === "string") problem(where, converted);
    else if (converted.kind === "prompt" && lastUserText(converted.prompt).trim() !== "")
      prompts.push(lastUserText(converted.prompt));
    else problem(where, "no user prompt");
  }
  return {
    prompts,
    hadFilterField,
    source: {
      role,
      path: resolve(path),
      mapping: field !== undefined ? `field:${field}` : (mapping?.name ?? "none"),
      rows,
      records: prompts.length,
      skipped,
      filtered,
    },
  };
}
