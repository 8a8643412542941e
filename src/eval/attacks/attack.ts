// What an attack is: a pure transform of a prompt's messages (and, for encodings, a decoder of the answer).
import type { ChatMessage } from "../../data/records.js";

export interface Attack {
  /** The name used on the command line, in suite files and in results (kebab-case). */
  name: string;
  /** One line: what it does. */
  about: string;
  /** The attacked conversation: ends with a user turn; the original's earlier turns are kept in front. */
  apply(prompt: readonly ChatMessage[]): ChatMessage[];
  /** Turns the model's answer back into plain text before judging (encoding attacks). */
  decode?(answer: string): string;
}

/** The request an attack works on: the last user turn's content. */
export function requestOf(prompt: readonly ChatMessage[], attack: string): string {
  for (let i = prompt.length - 1; i >= 0; i--) {
    const m = prompt[i];
    if (m?.role === "user") return m.content;
  }
  throw new RangeError(`attack ${attack}: the prompt has no user turn to attack`);
}

/** The prompt with its last user turn replaced by `turns` (the earlier turns kept before them). */
export function replaceRequest(prompt: readonly ChatMessage[], turns: readonly ChatMessage[]): ChatMessage[] {
  let last = -1;
  for (let i = prompt.length - 1; i >= 0; i--) {
    if (prompt[i]?.role === "user") {
      last = i;
      break;
    }
  }
  return [...prompt.slice(0, Math.max(0, last)), ...turns.map((t) => ({ role: t.role, content: t.content }))];
}

/** `template` with every `{request}` (and other named slots) filled; unknown slots are an error. */
export function fill(template: string, slots: Record<string, string>, where: string): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = slots[key];
    if (value === undefined) throw new RangeError(`${where}: unknown slot {${key}} in the template`);
    return value;
  });
}
