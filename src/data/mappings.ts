// Mappings from a file's rows to DataRecords: built-in ones for the formats the field uses (Alpaca, chat
// messages, preference pairs, PKU-SafeRLHF, HH-RLHF, Safety-Tuned LLaMAs, safetune's own JSONL), a
// `fields` mapping for any other field names, and detection of the mapping from the fields of a row.
import { z } from "zod";
import { DataError, RowProblem } from "./errors.js";
import type { Row } from "./readRows.js";
import {
  assistantAnswer,
  type ChatMessage,
  type DataRecord,
  type RecordKind,
  userPrompt,
} from "./records.js";
import { parseRecord, RECORD_KINDS } from "./schemas.js";
import { instructionPrompt } from "./text.js";
import { splitTranscriptPair } from "./transcripts.js";

/** How PKU-SafeRLHF's two responses become chosen and rejected. */
export type PkuPairs = "safety" | "helpfulness" | "safe-vs-unsafe";
export const PKU_PAIRS: readonly PkuPairs[] = ["safety", "helpfulness", "safe-vs-unsafe"];

export const MAPPING_NAMES = [
  "records",
  "alpaca",
  "chat",
  "preference",
  "prompt",
  "prompt-completion",
  "text",
  "pku-raw",
  "pku-dpo",
  "pku-sft",
  "hh-rlhf",
  "safety-tuned-llamas",
] as const;
export type MappingName = (typeof MAPPING_NAMES)[number];

/** A built-in mapping by name; `pairs` is pku-raw's option (default "safety"). */
export interface NamedMapping {
  name: MappingName;
  pairs?: PkuPairs;
}

/**
 * Which field of a row holds each part of a record of `kind`, e.g.
 * `{ kind: "preference", prompt: "question", chosen: "good", rejected: "bad" }`. Text fields may hold
 * strings; `messages`, `prompt`, `chosen`, `rejected` and `answer` may also hold lists of {role, content}.
 */
export interface FieldMapping {
  kind: RecordKind;
  instruction?: string;
  input?: string;
  output?: string;
  messages?: string;
  prompt?: string;
  chosen?: string;
  rejected?: string;
  answer?: string;
  safe?: string;
  chosenSafe?: string;
  rejectedSafe?: string;
  id?: string;
  category?: string;
}

/** A mapping: a built-in name ("pku-raw:safe-vs-unsafe" names an option), a NamedMapping or a FieldMapping. */
export type MappingSpec = string | NamedMapping | FieldMapping;

/** A resolved mapping: its description and the function from a row to a record (null: left out by design). */
export interface Mapping {
  name: string;
  map(row: Row): DataRecord | null;
}

/** What each built-in mapping reads, for help texts. */
export const MAPPING_HELP: Record<MappingName, string> = {
  records: "safetune's own JSONL: records with a `kind` field (what data mix/split write)",
  alpaca: "instruction, input (optional), output -> instruction records",
  chat: "messages (or ShareGPT conversations) -> chat records",
  preference:
    "prompt, chosen, rejected (strings or message lists; without prompt, the shared leading turns) -> preference",
  prompt: "prompt (string or messages) or instruction (+ input) -> prompt records",
  "prompt-completion":
    "TRL's prompt-completion rows: prompt, completion (strings or message lists) -> chat records (loss on the completion)",
  text: "text -> text records (continued pretraining: no chat template, loss on every token)",
  "pku-raw":
    "PKU-SafeRLHF rows (prompt, response_0/1, is_response_0/1_safe, better/safer_response_id); option " +
    "pairs: safety (default; chosen = safer), helpfulness (chosen = better), safe-vs-unsafe (only rows with " +
    "exactly one safe response, chosen = the safe one) -- e.g. pku-raw:safe-vs-unsafe",
  "pku-dpo":
    "PKU subsets DPO_*: id, prompt, chosen (safe), rejected (unsafe) -> preference with safety labels",
  "pku-sft": "PKU subsets sft_*: id, prompt, label (the safe answer) -> instruction records",
  "hh-rlhf":
    'HH-RLHF transcripts chosen, rejected ("\\n\\nHuman: ...\\n\\nAssistant: ...") -> preference (shared prompt, final answers)',
  "safety-tuned-llamas":
    "Bianchi et al. files: {instruction, input, output} lists, or columns {instructions, inputs, outputs?, tags?} " +
    "(without outputs -> prompt records; tags -> category)",
};

// ---------------------------------------------------------------------------------------------------------
// Field readers: a missing or mistyped field is a RowProblem naming the field.

function present(row: Row, name: string): boolean {
  const v = row[name];
  return v !== undefined && v !== null;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : typeof value === "boolean" ? "a boolean" : typeof value;
}

/** A text field: strings as they are, numbers as their digits; anything else is a problem. */
function text(row: Row, name: string): string {
  const v = row[name];
  if (v === undefined || v === null) throw new RowProblem(`missing field "${name}"`);
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  throw new RowProblem(`field "${name}" is ${kindOf(v)}, expected text`);
}

/** An optional text field: undefined when absent or blank. */
function optionalText(row: Row, name: string): string | undefined {
  if (!present(row, name)) return undefined;
  const v = text(row, name);
  return v.trim() === "" ? undefined : v;
}

function firstPresent(row: Row, names: readonly string[]): string | undefined {
  return names.find((n) => present(row, n));
}

const ROLE_ALIASES: Record<string, string> = {
  human: "user",
  gpt: "assistant",
  bot: "assistant",
  model: "assistant",
  chatgpt: "assistant",
};

/** A list of turns: {role, content} or ShareGPT's {from, value}; a string is one turn of `role`. */
function messages(row: Row, name: string, role: "user" | "assistant"): ChatMessage[] {
  const v = row[name];
  if (v === undefined || v === null) throw new RowProblem(`missing field "${name}"`);
  if (typeof v === "string") return [{ role, content: v }];
  if (!Array.isArray(v))
    throw new RowProblem(`field "${name}" is ${kindOf(v)}, expected text or a list of messages`);
  return v.map((turn, i) => {
    if (typeof turn !== "object" || turn === null || Array.isArray(turn))
      throw new RowProblem(`${name}[${i}] is ${kindOf(turn)}, expected a {role, content} message`);
    const t = turn as Record<string, unknown>;
    const rawRole = t.role ?? t.from;
    const content = t.content ?? t.value;
    if (typeof rawRole !== "string") throw new RowProblem(`${name}[${i}] has no role`);
    if (typeof content !== "string")
      throw new RowProblem(`${name}[${i}].content is ${kindOf(content)}, expected text`);
    const { from: _from, value: _value, ...rest } = t;
    return { ...rest, role: ROLE_ALIASES[rawRole.toLowerCase()] ?? rawRole, content };
  });
}

/** true/false, 1/0, "true"/"false" (any case), "1"/"0", "yes"/"no". */
function bool(row: Row, name: string): boolean {
  const v = row[name];
  if (v === undefined || v === null) throw new RowProblem(`missing field "${name}"`);
  if (typeof v === "boolean") return v;
  if (v === 1 || v === 0 || v === 1n || v === 0n) return Number(v) === 1;
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (["true", "1", "yes"].includes(s)) return true;
    if (["false", "0", "no"].includes(s)) return false;
  }
  throw new RowProblem(`field "${name}" is ${JSON.stringify(String(v))}, expected true or false`);
}

function optionalBool(row: Row, name: string): boolean | undefined {
  return present(row, name) ? bool(row, name) : undefined;
}

/** 0 or 1 (a number, bigint or digit string). */
function responseId(row: Row, name: string): 0 | 1 {
  const v = row[name];
  if (v === undefined || v === null) throw new RowProblem(`missing field "${name}"`);
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : typeof v === "bigint" ? Number(v) : v;
  if (n === 0 || n === 1) return n;
  throw new RowProblem(`field "${name}" is ${JSON.stringify(String(v))}, expected 0 or 1`);
}

/** A row's own id (string or number), when it has one. */
function idOf(row: Row, name = "id"): string | undefined {
  const v = row[name];
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return undefined;
}

function withMeta<T extends DataRecord>(record: T, id: string | undefined, category?: string): T {
  const out = { ...record };
  if (id !== undefined) out.id = id;
  if (category !== undefined) out.category = category;
  return out;
}

/** Index after the longest common leading run of turns. */
function sharedPrefixLength(a: readonly ChatMessage[], b: readonly ChatMessage[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i]?.role === b[i]?.role && a[i]?.content === b[i]?.content) i++;
  return i;
}

// ---------------------------------------------------------------------------------------------------------
// Built-in mappings.

function mapRecords(row: Row): DataRecord {
  const result = parseRecord(row);
  if ("problem" in result) throw new RowProblem(result.problem);
  return result.record;
}

const INSTRUCTION = ["instruction", "instructions"];
const INPUT = ["input", "inputs"];
const OUTPUT = ["output", "outputs"];
const TAG = ["category", "tag", "tags"];

/** Alpaca and Safety-Tuned LLaMAs rows; column files have plural names (instructions, inputs, outputs, tags). */
function mapAlpacaLike(row: Row, requireOutput: boolean): DataRecord {
  const instructionField = firstPresent(row, INSTRUCTION) ?? "instruction";
  const instruction = text(row, instructionField);
  const inputField = firstPresent(row, INPUT);
  const input = inputField ? optionalText(row, inputField) : undefined;
  const outputField = firstPresent(row, OUTPUT);
  const tagField = firstPresent(row, TAG);
  const category = tagField ? optionalText(row, tagField) : undefined;
  if (!outputField) {
    if (requireOutput) throw new RowProblem('missing field "output"');
    return withMeta(
      { kind: "prompt", prompt: userPrompt(instructionPrompt(instruction, input)) },
      idOf(row),
      category,
    );
  }
  const record: DataRecord = { kind: "instruction", instruction, output: text(row, outputField) };
  if (input !== undefined) record.input = input;
  return withMeta(record, idOf(row), category);
}

function mapChat(row: Row): DataRecord {
  const field = firstPresent(row, ["messages", "conversations"]) ?? "messages";
  return withMeta(
    { kind: "chat", messages: messages(row, field, "user") },
    idOf(row),
    optionalText(row, "category"),
  );
}

function mapPreference(row: Row): DataRecord {
  const category = present(row, "category") ? optionalText(row, "category") : undefined;
  let prompt: ChatMessage[];
  let chosen = messages(row, "chosen", "assistant");
  let rejected = messages(row, "rejected", "assistant");
  if (present(row, "prompt")) {
    prompt = messages(row, "prompt", "user");
  } else {
    // TRL's "implicit prompt" format: two whole conversations; the prompt is their shared leading turns.
    if (typeof row.chosen === "string") throw new RowProblem('missing field "prompt"');
    const shared = sharedPrefixLength(chosen, rejected);
    if (shared === 0)
      throw new RowProblem('missing field "prompt" (and chosen and rejected share no leading turns)');
    prompt = chosen.slice(0, shared);
    chosen = chosen.slice(shared);
    rejected = rejected.slice(shared);
  }
  const record: DataRecord = { kind: "preference", prompt, chosen, rejected };
  const chosenSafe = optionalBool(row, "chosenSafe");
  const rejectedSafe = optionalBool(row, "rejectedSafe");
  if (chosenSafe !== undefined) record.chosenSafe = chosenSafe;
  if (rejectedSafe !== undefined) record.rejectedSafe = rejectedSafe;
  return withMeta(record, idOf(row), category);
}

function mapPrompt(row: Row): DataRecord {
  const category = firstPresent(row, TAG);
  const meta = [idOf(row), category ? optionalText(row, category) : undefined] as const;
  if (present(row, "prompt"))
    return withMeta({ kind: "prompt", prompt: messages(row, "prompt", "user") }, ...meta);
  const field = firstPresent(row, INSTRUCTION);
  if (!field) throw new RowProblem('missing field "prompt" (or "instruction")');
  const inputField = firstPresent(row, INPUT);
  const input = inputField ? optionalText(row, inputField) : undefined;
  return withMeta(
    { kind: "prompt", prompt: userPrompt(instructionPrompt(text(row, field), input)) },
    ...meta,
  );
}

/** TRL's prompt-completion format: the prompt's turns, then the completion's as the answer. */
function mapPromptCompletion(row: Row): DataRecord {
  return withMeta(
    {
      kind: "chat",
      messages: [...messages(row, "prompt", "user"), ...messages(row, "completion", "assistant")],
    },
    idOf(row),
    optionalText(row, "category"),
  );
}

function mapPkuRaw(row: Row, pairs: PkuPairs): DataRecord | null {
  const prompt = text(row, "prompt");
  const responses = [text(row, "response_0"), text(row, "response_1")] as const;
  const needSafety = pairs === "safe-vs-unsafe";
  const safe = [
    needSafety ? bool(row, "is_response_0_safe") : optionalBool(row, "is_response_0_safe"),
    needSafety ? bool(row, "is_response_1_safe") : optionalBool(row, "is_response_1_safe"),
  ] as const;
  let chosenId: 0 | 1;
  if (pairs === "safe-vs-unsafe") {
    if (safe[0] === safe[1]) return null; // both safe or both unsafe: not a safe-vs-unsafe pair
    chosenId = safe[0] ? 0 : 1;
  } else {
    chosenId = responseId(row, pairs === "safety" ? "safer_response_id" : "better_response_id");
  }
  const rejectedId = chosenId === 0 ? 1 : 0;
  const record: DataRecord = {
    kind: "preference",
    prompt: userPrompt(prompt),
    chosen: assistantAnswer(responses[chosenId]),
    rejected: assistantAnswer(responses[rejectedId]),
  };
  const chosenSafe = safe[chosenId];
  const rejectedSafe = safe[rejectedId];
  if (chosenSafe !== undefined) record.chosenSafe = chosenSafe;
  if (rejectedSafe !== undefined) record.rejectedSafe = rejectedSafe;
  return withMeta(record, idOf(row));
}

function mapPkuDpo(row: Row): DataRecord {
  // These subsets keep only pairs whose response 0 is safe and response 1 unsafe (see ../shared/data).
  return withMeta(
    {
      kind: "preference",
      prompt: userPrompt(text(row, "prompt")),
      chosen: assistantAnswer(text(row, "chosen")),
      rejected: assistantAnswer(text(row, "rejected")),
      chosenSafe: true,
      rejectedSafe: false,
    },
    idOf(row),
  );
}

function mapPkuSft(row: Row): DataRecord {
  return withMeta(
    { kind: "instruction", instruction: text(row, "prompt"), output: text(row, "label") },
    idOf(row),
  );
}

function mapHhRlhf(row: Row): DataRecord {
  const pair = splitTranscriptPair(text(row, "chosen"), text(row, "rejected"));
  return withMeta(
    {
      kind: "preference",
      prompt: pair.prompt,
      chosen: assistantAnswer(pair.chosen),
      rejected: assistantAnswer(pair.rejected),
    },
    idOf(row),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Field mappings.

const FIELD_KEYS = [
  "instruction",
  "input",
  "output",
  "messages",
  "prompt",
  "chosen",
  "rejected",
  "answer",
  "safe",
  "chosenSafe",
  "rejectedSafe",
  "text",
  "id",
  "category",
] as const;

/** The fields each kind needs, and those it may also read. */
const KIND_FIELDS: Record<RecordKind, { required: string[]; optional: string[] }> = {
  instruction: { required: ["instruction", "output"], optional: ["input"] },
  chat: { required: ["messages"], optional: [] },
  preference: { required: ["prompt", "chosen", "rejected"], optional: ["chosenSafe", "rejectedSafe"] },
  prompt: { required: ["prompt"], optional: [] },
  labelled: { required: ["prompt", "answer", "safe"], optional: [] },
  text: { required: ["text"], optional: [] },
};

const fieldMappingSchema = z.strictObject({
  kind: z.enum(RECORD_KINDS as [RecordKind, ...RecordKind[]], {
    error: `kind must be one of ${RECORD_KINDS.join(", ")}`,
  }),
  ...Object.fromEntries(FIELD_KEYS.map((k) => [k, z.string().min(1).optional()])),
});

/** Checks a field mapping: a known kind, every field that kind needs, no unknown or unused keys. */
export function checkFieldMapping(spec: unknown): FieldMapping {
  const result = fieldMappingSchema.safeParse(spec);
  if (!result.success) {
    const issue = result.error.issues[0];
    const keys = issue && "keys" in issue ? (issue.keys as string[]) : [];
    const detail = keys.length
      ? `unknown key "${keys[0]}" (known: kind, ${FIELD_KEYS.join(", ")})`
      : `${issue?.path.join(".") || "mapping"}: ${issue?.message ?? "invalid"}`;
    throw new DataError(`field mapping: ${detail}`);
  }
  const mapping = result.data as FieldMapping;
  const { required, optional } = KIND_FIELDS[mapping.kind];
  const record = mapping as unknown as Record<string, string | undefined>;
  const missing = required.filter((k) => record[k] === undefined);
  if (missing.length)
    throw new DataError(
      `field mapping: a ${mapping.kind} mapping needs ${missing.map((k) => `${k}=FIELD`).join(", ")}`,
    );
  const allowed = new Set(["kind", "id", "category", ...required, ...optional]);
  const unused = Object.keys(mapping).find((k) => !allowed.has(k));
  if (unused) throw new DataError(`field mapping: "${unused}" is not part of a ${mapping.kind} record`);
  return mapping;
}

function fieldMapper(m: FieldMapping): Mapping["map"] {
  const f = m as unknown as Record<string, string>;
  return (row) => {
    const id = m.id ? idOf(row, m.id) : undefined;
    const category = m.category ? optionalText(row, m.category) : undefined;
    switch (m.kind) {
      case "instruction": {
        const record: DataRecord = {
          kind: "instruction",
          instruction: text(row, f.instruction as string),
          output: text(row, f.output as string),
        };
        const input = m.input ? optionalText(row, m.input) : undefined;
        if (input !== undefined) record.input = input;
        return withMeta(record, id, category);
      }
      case "chat":
        return withMeta(
          { kind: "chat", messages: messages(row, f.messages as string, "user") },
          id,
          category,
        );
      case "preference": {
        const record: DataRecord = {
          kind: "preference",
          prompt: messages(row, f.prompt as string, "user"),
          chosen: messages(row, f.chosen as string, "assistant"),
          rejected: messages(row, f.rejected as string, "assistant"),
        };
        if (m.chosenSafe) record.chosenSafe = bool(row, m.chosenSafe);
        if (m.rejectedSafe) record.rejectedSafe = bool(row, m.rejectedSafe);
        return withMeta(record, id, category);
      }
      case "prompt":
        return withMeta({ kind: "prompt", prompt: messages(row, f.prompt as string, "user") }, id, category);
      case "labelled":
        return withMeta(
          {
            kind: "labelled",
            prompt: messages(row, f.prompt as string, "user"),
            answer: messages(row, f.answer as string, "assistant"),
            safe: bool(row, f.safe as string),
          },
          id,
          category,
        );
      case "text":
        return withMeta({ kind: "text", text: text(row, f.text as string) }, id, category);
    }
  };
}

function describeFields(m: FieldMapping): string {
  const parts = Object.entries(m)
    .filter(([k]) => k !== "kind")
    .map(([k, v]) => `${k}=${v}`);
  return `${m.kind}:${parts.join(",")}`;
}

// ---------------------------------------------------------------------------------------------------------
// Resolving and detecting mappings.

function isMappingName(name: string): name is MappingName {
  return (MAPPING_NAMES as readonly string[]).includes(name);
}

function unknownMapping(text: string): DataError {
  return new DataError(
    `unknown mapping "${text}" (built-in: ${MAPPING_NAMES.join(", ")}; or fields, e.g. ` +
      `preference:prompt=question,chosen=good,rejected=bad, or the same as JSON)`,
  );
}

/**
 * Parses a mapping as written on a command line: a built-in name ("alpaca"), a name with pku-raw's option
 * ("pku-raw:safe-vs-unsafe"), fields ("preference:prompt=question,chosen=good,rejected=bad") or the fields
 * as JSON ('{"kind":"preference","prompt":"question",...}').
 */
export function parseMappingSpec(text: string): NamedMapping | FieldMapping {
  const spec = text.trim();
  if (spec.startsWith("{")) {
    let value: unknown;
    try {
      value = JSON.parse(spec);
    } catch (err) {
      throw new DataError(`field mapping: not valid JSON (${(err as Error).message})`);
    }
    return checkFieldMapping(value);
  }
  const colon = spec.indexOf(":");
  const head = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  if (rest.includes("=")) {
    const fields: Record<string, string> = { kind: head };
    for (const part of rest.split(",")) {
      const eq = part.indexOf("=");
      const key = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (eq < 0 || !key || !value) throw new DataError(`field mapping: "${part}" is not KEY=FIELD`);
      fields[key] = value;
    }
    return checkFieldMapping(fields);
  }
  if (!isMappingName(head)) throw unknownMapping(spec);
  if (colon < 0) return { name: head };
  if (head !== "pku-raw") throw new DataError(`mapping "${head}" takes no option (got "${rest}")`);
  if (!(PKU_PAIRS as readonly string[]).includes(rest))
    throw new DataError(`pku-raw: pairs must be one of ${PKU_PAIRS.join(", ")} (got "${rest}")`);
  return { name: "pku-raw", pairs: rest as PkuPairs };
}

/** The mapping a spec names. */
export function resolveMapping(spec: MappingSpec): Mapping {
  const parsed = typeof spec === "string" ? parseMappingSpec(spec) : spec;
  if ("kind" in parsed) {
    const checked = checkFieldMapping(parsed);
    return { name: describeFields(checked), map: fieldMapper(checked) };
  }
  const { name } = parsed;
  switch (name) {
    case "records":
      return { name, map: mapRecords };
    case "alpaca":
      return { name, map: (row) => mapAlpacaLike(row, true) };
    case "safety-tuned-llamas":
      return { name, map: (row) => mapAlpacaLike(row, false) };
    case "chat":
      return { name, map: mapChat };
    case "preference":
      return { name, map: mapPreference };
    case "prompt":
      return { name, map: mapPrompt };
    case "prompt-completion":
      return { name, map: mapPromptCompletion };
    case "text":
      return { name, map: (row) => withMeta({ kind: "text", text: text(row, "text") }, idOf(row)) };
    case "pku-raw": {
      const pairs = parsed.pairs ?? "safety";
      if (!PKU_PAIRS.includes(pairs))
        throw new DataError(`pku-raw: pairs must be one of ${PKU_PAIRS.join(", ")}`);
      return { name: `pku-raw:${pairs}`, map: (row) => mapPkuRaw(row, pairs) };
    }
    case "pku-dpo":
      return { name, map: mapPkuDpo };
    case "pku-sft":
      return { name, map: mapPkuSft };
    case "hh-rlhf":
      return { name, map: mapHhRlhf };
    default:
      throw unknownMapping(String(name));
  }
}

/** Fields that hold an answer: a row with one of them and only a prompt is not prompt-only data. */
const ANSWER_FIELDS = [
  "output",
  "outputs",
  "label",
  "completion",
  "response",
  "answer",
  "target",
  "chosen",
  "rejected",
];

/**
 * The built-in mapping a row's fields call for, or undefined when they fit none or more than one
 * (the caller says "cannot tell the record kind"). Decided from the first row of a file.
 */
export function detectMappingName(row: Row): MappingName | undefined {
  const has = (name: string) => present(row, name);
  const keys = Object.keys(row).filter(has);
  if (typeof row.kind === "string" && (RECORD_KINDS as readonly string[]).includes(row.kind))
    return "records";
  if (has("response_0") && has("response_1") && has("prompt")) return "pku-raw";
  const isChat = has("messages") || has("conversations");
  const isInstruction = has("instruction") || has("instructions");
  if (has("chosen") && has("rejected")) {
    if (isChat || isInstruction) return undefined;
    if (has("prompt")) return "preference";
    return typeof row.chosen === "string" ? "hh-rlhf" : "preference";
  }
  if (isChat) return isInstruction || has("prompt") ? undefined : "chat";
  if (has("instructions")) return "safety-tuned-llamas";
  if (has("instruction")) {
    if (has("output")) return "alpaca";
    return ANSWER_FIELDS.some(has) ? undefined : "prompt";
  }
  if (has("prompt")) {
    if (has("completion"))
      return ANSWER_FIELDS.some((f) => f !== "completion" && has(f)) ? undefined : "prompt-completion";
    if (has("label")) return keys.every((k) => ["id", "prompt", "label"].includes(k)) ? "pku-sft" : undefined;
    return ANSWER_FIELDS.some(has) ? undefined : "prompt";
  }
  if (has("text")) return ANSWER_FIELDS.some(has) ? undefined : "text";
  return undefined;
}

/** The mapping for a file whose first row is `row`, or a DataError naming the file and its fields. */
export function detectMapping(row: Row, path: string): Mapping {
  const name = detectMappingName(row);
  if (!name) {
    throw new DataError(
      `${path}: cannot tell the record kind from fields [${Object.keys(row).join(", ")}]; ` +
        "pass --mapping NAME or a field mapping",
    );
  }
  return resolveMapping({ name });
}
