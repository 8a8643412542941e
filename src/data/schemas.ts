// Zod schemas for mapped records: every record that leaves src/data has passed one of these. Problems are
// phrased for a person ("chosen is empty", "chosen and rejected are the same") so that loadRecords can
// prefix the file and line: "data.jsonl:17: chosen is empty".
import { z } from "zod";
import type { ChatMessage, DataRecord, RecordKind } from "./records.js";
import { normalizeText } from "./text.js";

export const RECORD_KINDS: readonly RecordKind[] = [
  "instruction",
  "chat",
  "preference",
  "prompt",
  "labelled",
  "text",
];

/** Roles a chat turn may have. */
export const ROLES = ["system", "user", "assistant", "tool"] as const;

const blank = (s: string) => s.trim() === "";

/** One chat turn: a known role and string content; extra fields (tool_calls, ...) are kept. */
export const chatMessageSchema = z.looseObject({
  role: z.string().refine((r) => (ROLES as readonly string[]).includes(r), {
    error: (issue) => `role '${String(issue.input)}' is not one of ${ROLES.join(", ")}`,
  }),
  content: z.string({ error: "content must be a string" }),
});

const messagesSchema = z.array(chatMessageSchema, { error: "must be a list of {role, content} messages" });

const base = {
  id: z.string().optional(),
  source: z.string().optional(),
  category: z.string().optional(),
};

type Ctx = z.RefinementCtx;

/** A turn with no text (a tool call may have empty content). */
function emptyTurn(m: ChatMessage): boolean {
  return blank(m.content) && m.tool_calls === undefined;
}

/** "X is empty" when a list has no turns or only blank ones; "X[i].content is empty" for one blank turn. */
function checkTurns(name: string, messages: readonly ChatMessage[], ctx: Ctx): boolean {
  if (messages.length === 0 || messages.every(emptyTurn)) {
    ctx.addIssue({ code: "custom", message: `${name} is empty`, path: [] });
    return false;
  }
  const i = messages.findIndex(emptyTurn);
  if (i >= 0) {
    ctx.addIssue({ code: "custom", message: `${name}[${i}].content is empty`, path: [] });
    return false;
  }
  return true;
}

function checkPrompt(name: string, prompt: readonly ChatMessage[], ctx: Ctx): void {
  if (!checkTurns(name, prompt, ctx)) return;
  const last = prompt[prompt.length - 1];
  if (last && last.role !== "user") {
    ctx.addIssue({
      code: "custom",
      message: `${name} must end with a user turn (ends with ${last.role})`,
      path: [],
    });
  }
}

function checkAnswer(name: string, answer: readonly ChatMessage[], ctx: Ctx): void {
  if (!checkTurns(name, answer, ctx)) return;
  const bad = answer.find((m) => m.role !== "assistant" && m.role !== "tool");
  if (bad) {
    ctx.addIssue({
      code: "custom",
      message: `${name} must be assistant (or tool) turns, not ${bad.role}`,
      path: [],
    });
  } else if (!answer.some((m) => m.role === "assistant")) {
    ctx.addIssue({ code: "custom", message: `${name} has no assistant turn`, path: [] });
  }
}

function sameTurns(a: readonly ChatMessage[], b: readonly ChatMessage[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (m, i) => m.role === b[i]?.role && normalizeText(m.content) === normalizeText(b[i]?.content ?? ""),
    )
  );
}

export const instructionRecordSchema = z
  .object({
    kind: z.literal("instruction"),
    ...base,
    instruction: z.string({ error: "instruction must be a string" }),
    input: z.string({ error: "input must be a string" }).optional(),
    output: z.string({ error: "output must be a string" }),
  })
  .superRefine((r, ctx) => {
    if (blank(r.instruction)) ctx.addIssue({ code: "custom", message: "instruction is empty", path: [] });
    else if (blank(r.output)) ctx.addIssue({ code: "custom", message: "output is empty", path: [] });
  });

export const chatRecordSchema = z
  .object({ kind: z.literal("chat"), ...base, messages: messagesSchema })
  .superRefine((r, ctx) => {
    if (!checkTurns("messages", r.messages, ctx)) return;
    if (!r.messages.some((m) => m.role === "assistant"))
      ctx.addIssue({ code: "custom", message: "messages has no assistant turn", path: [] });
    else if (!r.messages.some((m) => m.role === "user"))
      ctx.addIssue({ code: "custom", message: "messages has no user turn", path: [] });
  });

export const preferenceRecordSchema = z
  .object({
    kind: z.literal("preference"),
    ...base,
    prompt: messagesSchema,
    chosen: messagesSchema,
    rejected: messagesSchema,
    chosenSafe: z.boolean({ error: "chosenSafe must be true or false" }).optional(),
    rejectedSafe: z.boolean({ error: "rejectedSafe must be true or false" }).optional(),
  })
  .superRefine((r, ctx) => {
    checkPrompt("prompt", r.prompt, ctx);
    checkAnswer("chosen", r.chosen, ctx);
    checkAnswer("rejected", r.rejected, ctx);
    if (sameTurns(r.chosen, r.rejected) && r.chosen.some((m) => !blank(m.content)))
      ctx.addIssue({ code: "custom", message: "chosen and rejected are the same", path: [] });
  });

export const promptRecordSchema = z
  .object({ kind: z.literal("prompt"), ...base, prompt: messagesSchema })
  .superRefine((r, ctx) => checkPrompt("prompt", r.prompt, ctx));

export const labelledRecordSchema = z
  .object({
    kind: z.literal("labelled"),
    ...base,
    prompt: messagesSchema,
    answer: messagesSchema,
    safe: z.boolean({ error: "safe must be true or false" }),
  })
  .superRefine((r, ctx) => {
    checkPrompt("prompt", r.prompt, ctx);
    checkAnswer("answer", r.answer, ctx);
  });

export const textRecordSchema = z
  .object({ kind: z.literal("text"), ...base, text: z.string({ error: "text must be a string" }) })
  .superRefine((r, ctx) => {
    if (blank(r.text)) ctx.addIssue({ code: "custom", message: "text is empty", path: [] });
  });

export const dataRecordSchema = z.discriminatedUnion(
  "kind",
  [
    instructionRecordSchema,
    chatRecordSchema,
    preferenceRecordSchema,
    promptRecordSchema,
    labelledRecordSchema,
    textRecordSchema,
  ],
  { error: `kind must be one of ${RECORD_KINDS.join(", ")}` },
);

/** The first problem zod found, as one short line: "chosen is empty", "prompt[0].role: role 'bot' is ...". */
export function describeIssue(issues: readonly z.core.$ZodIssue[]): string {
  const issue = issues[0];
  if (!issue) return "invalid record";
  const path = issue.path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
  if (issue.code === "invalid_type" && issue.input === undefined && path) return `${path} is missing`;
  return path ? `${path}: ${issue.message}` : issue.message;
}

/** Parses a value as a DataRecord: the record (unknown keys dropped), or the first problem. */
export function parseRecord(value: unknown): { record: DataRecord } | { problem: string } {
  const result = dataRecordSchema.safeParse(value);
  if (result.success) return { record: result.data as DataRecord };
  return { problem: describeIssue(result.error.issues) };
}

/** The first problem with a record, or undefined when it is valid. */
export function validateRecord(record: DataRecord): string | undefined {
  const result = parseRecord(record);
  return "problem" in result ? result.problem : undefined;
}
