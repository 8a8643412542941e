// Leetspeak: letters of the request replaced by look-alike digits; digits inside words are mapped back.
import type { Attack } from "./attack.js";
import { encodedAttack } from "./encodedAttack.js";
import { type AttackTemplate, loadAttackTemplate } from "./templates.js";

const TO_LEET: Record<string, string> = { a: "4", e: "3", i: "1", o: "0", s: "5", t: "7" };
const FROM_LEET: Record<string, string> = { "4": "a", "3": "e", "1": "i", "0": "o", "5": "s", "7": "t" };

/**
 * Replaces a, e, i, o, s, t (either case) by 4, 3, 1, 0, 5, 7, except a word's first letter where every letter
 * of the word would become a digit ("to" -> "t0", "a" stays): such words could not be read back.
 */
export function toLeetspeak(text: string): string {
  return text.replace(/[A-Za-z]+/g, (word) => {
    const leet = word.replace(/[aeiostAEIOST]/g, (c) => TO_LEET[c.toLowerCase()] ?? c);
    return /[A-Za-z]/.test(leet) ? leet : word.slice(0, 1) + leet.slice(1);
  });
}

/**
 * Leet digits mapped back to letters inside words that also hold a letter ("h4ck3r" -> "hacker"); numbers
 * standing alone ("7 steps", "2024") are left as they are.
 */
export function fromLeetspeak(text: string): string {
  return text.replace(/[A-Za-z0-9]+/g, (word) =>
    /[A-Za-z]/.test(word) ? word.replace(/[013457]/g, (d) => FROM_LEET[d] ?? d) : word,
  );
}

export function leetspeak(t: AttackTemplate = loadAttackTemplate("leetspeak")): Attack {
  return encodedAttack(t, toLeetspeak, fromLeetspeak);
}
