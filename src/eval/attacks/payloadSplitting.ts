// Payload splitting: the request cut inside its longest words into fragments held in variables, joined by the model.
import type { Attack } from "./attack.js";
import { fill, replaceRequest, requestOf } from "./attack.js";
import { type AttackTemplate, loadAttackTemplate, required } from "./templates.js";

/**
 * `text` cut into at most `pieces` consecutive fragments, each cut in the middle of one of the longest words (the
 * content words a filter would look for: "sour|dough"), so no fragment holds those words whole; joining the
 * fragments gives `text` back exactly. Fewer fragments when the text has fewer words of two or more letters.
 */
export function splitPayload(text: string, pieces: number): string[] {
  const words = [...text.matchAll(/\p{L}{2,}/gu)].map((m) => ({ at: m.index, length: m[0].length }));
  const longest = words
    .map((w, order) => ({ ...w, order }))
    .sort((a, b) => b.length - a.length || a.order - b.order)
    .slice(0, Math.max(0, pieces - 1));
  const cuts = longest.map((w) => w.at + Math.floor(w.length / 2)).sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const cut of cuts) {
    out.push(text.slice(from, cut));
    from = cut;
  }
  out.push(text.slice(from));
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
