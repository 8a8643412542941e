// Using a record where another kind is needed: any record gives a prompt (what it asks), an instruction
// record gives a two-turn chat; other conversions would invent or drop answers, so they are problems.
import { type DataRecord, type RecordKind, userPrompt } from "./records.js";
import { chatPrompt, instructionPrompt } from "./text.js";

/** `record` as a record of `kind`, or a problem ("a preference record cannot be used as instruction"). */
export function convertRecord(record: DataRecord, kind: RecordKind): DataRecord | string {
  if (record.kind === kind) return record;
  const meta: Pick<DataRecord, "id" | "source" | "category"> = {};
  if (record.id !== undefined) meta.id = record.id;
  if (record.source !== undefined) meta.source = record.source;
  if (record.category !== undefined) meta.category = record.category;
  if (kind === "prompt") {
    switch (record.kind) {
      case "instruction":
        return { kind, ...meta, prompt: userPrompt(instructionPrompt(record.instruction, record.input)) };
      case "chat":
        return { kind, ...meta, prompt: chatPrompt(record.messages) };
      case "preference":
      case "labelled":
        return { kind, ...meta, prompt: record.prompt };
    }
  }
  if (kind === "chat" && record.kind === "instruction") {
    return {
      kind,
      ...meta,
      messages: [
        { role: "user", content: instructionPrompt(record.instruction, record.input) },
        { role: "assistant", content: record.output },
      ],
    };
  }
  return `a${record.kind === "instruction" ? "n" : ""} ${record.kind} record cannot be used as ${kind} data`;
}
