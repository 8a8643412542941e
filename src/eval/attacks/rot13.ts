// ROT13: the request's letters rotated by 13; the answer is rotated back when that reads more like English.
import type { Attack } from "./attack.js";
import { encodedAttack } from "./encodedAttack.js";
import { moreEnglish } from "./englishScore.js";
import { type AttackTemplate, loadAttackTemplate } from "./templates.js";

/** ROT13 of the ASCII letters (its own inverse); everything else unchanged. */
export function rot13Text(text: string): string {
  return text.replace(/[A-Za-z]/g, (c) => {
    const base = c <= "Z" ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });
}

export function rot13(t: AttackTemplate = loadAttackTemplate("rot13")): Attack {
  return encodedAttack(t, rot13Text, (answer) => moreEnglish(answer, rot13Text(answer)));
}
