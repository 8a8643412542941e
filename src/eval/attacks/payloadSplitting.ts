// Payload splitting: the request cut into word-aligned fragments held in variables, to be joined by the model.
import type { Attack } from "./attack.js";
import { fill, replaceRequest, requestOf } from "./attack.js";
import { type AttackTemplate, loadAttackTemplate, required } from "./templates.js";

/**
 * `text` cut into at most `pieces` consecutive fragments at word boundaries, as even in words as possible;
 * joining them gives `text` back exactly (each fragment keeps the whitespace that follows its words).
 */
export function splitPayload(text: string, pieces: number): string[] {
  const words = text.match(/\S+\s*/g) ?? [text];
  const lead = text.match(/^\s*/)?.[0] ?? "";
  const count = Math.max(1, Math.min(pieces, words.length));
  const out: string[] = [];
  for (let p = 0; p < count; p++) {
    const from = Math.round((p * words.length) / count);
    const to = Math.round(((p + 1) * words.length) / count);
    out.push(words.slice(from, to).join(""));
  }
  out[0] = lead + (out[0] ?? "");
  return out;
}

export function payloadSplitting(t: AttackTemplate = loadAttackTemplate("payload-splitting")): Attack {
  const template = required(t, "template");
  const pieces = required(t, "pieces");
  return {
    name: t.attack,
    about: t.about,
    apply(prompt) {
      const parts = splitPayload(requestOf(prompt, t.attack), pieces);
      const names = parts.map((_, i) => String.fromCharCode(97 + i));
      const assignments = parts.map((p, i) => `${names[i]} = ${JSON.stringify(p)}`).join("\n");
      const concatenation = names.join(" + ");
      return replaceRequest(prompt, [
        { role: "user", content: fill(template, { assignments, concatenation }, t.attack) },
      ]);
    },
  };
}
