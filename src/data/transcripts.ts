// Anthropic HH-RLHF transcripts: "\n\nHuman: ...\n\nAssistant: ..." as chat turns, and a chosen/rejected
// pair split into the shared conversation and the two final answers.
import { RowProblem } from "./errors.js";
import type { ChatMessage } from "./records.js";

const TURN = /\n\n(Human|Assistant):/g;
const ASSISTANT = "\n\nAssistant:";

/** The turns of a transcript; text before the first "\n\nHuman:" is an error. Contents are trimmed. */
export function parseTranscript(text: string, name = "transcript"): ChatMessage[] {
  const marks = [...text.matchAll(TURN)];
  const first = marks[0];
  if (!first) throw new RowProblem(`${name} has no "\\n\\nHuman:" or "\\n\\nAssistant:" turns`);
  if (text.slice(0, first.index).trim() !== "")
    throw new RowProblem(`${name} has text before its first "\\n\\nHuman:" turn`);
  return marks.map((mark, i) => {
    const start = mark.index + mark[0].length;
    const end = marks[i + 1]?.index ?? text.length;
    return { role: mark[1] === "Human" ? "user" : "assistant", content: text.slice(start, end).trim() };
  });
}

/**
 * Splits HH-RLHF's two transcripts at their last "\n\nAssistant:": the text before it must be the same in
 * both (the shared prompt, which becomes user/assistant turns); what follows is each one's final answer.
 */
export function splitTranscriptPair(
  chosen: string,
  rejected: string,
): { prompt: ChatMessage[]; chosen: string; rejected: string } {
  const c = chosen.lastIndexOf(ASSISTANT);
  const r = rejected.lastIndexOf(ASSISTANT);
  if (c < 0) throw new RowProblem('chosen has no "\\n\\nAssistant:" turn');
  if (r < 0) throw new RowProblem('rejected has no "\\n\\nAssistant:" turn');
  const prefix = chosen.slice(0, c);
  if (prefix !== rejected.slice(0, r)) {
    throw new RowProblem(
      `chosen and rejected differ before their last "\\n\\nAssistant:" turn (${firstDifference(prefix, rejected.slice(0, r))})`,
    );
  }
  const answers = {
    chosen: chosen.slice(c + ASSISTANT.length),
    rejected: rejected.slice(r + ASSISTANT.length),
  };
  for (const [name, answer] of Object.entries(answers)) {
    if (answer.includes("\n\nHuman:")) throw new RowProblem(`${name} ends with a Human turn, not an answer`);
  }
  return {
    prompt: parseTranscript(prefix, "the shared prompt"),
    chosen: answers.chosen.trim(),
    rejected: answers.rejected.trim(),
  };
}

function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `first difference at character ${i + 1}`;
}
