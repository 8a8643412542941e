// Base64 encoding: the request sent base64-encoded; base64 runs in the answer are decoded before judging.
import type { Attack } from "./attack.js";
import { encodedAttack } from "./encodedAttack.js";
import { type AttackTemplate, loadAttackTemplate } from "./templates.js";

export function encodeBase64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** Printable text (tabs and newlines allowed), no replacement characters: a decoding worth keeping. */
function readable(text: string): boolean {
  if (text.length === 0 || text.includes("\uFFFD")) return false;
  let printable = 0;
  for (const ch of text) if (/[\p{L}\p{N}\p{P}\p{S}\p{Zs}\t\n\r]/u.test(ch)) printable++;
  return printable / [...text].length >= 0.95;
}

/**
 * The answer with every base64 run of 12+ characters that decodes to readable UTF-8 replaced by its
 * decoding; other text (a model answering in plain English) is left as it is.
 */
export function decodeBase64Runs(answer: string): string {
  return answer.replace(/[A-Za-z0-9+/]{12,}={0,2}/g, (run) => {
    const decoded = Buffer.from(run, "base64").toString("utf8");
    return readable(decoded) ? decoded : run;
  });
}

export function base64(t: AttackTemplate = loadAttackTemplate("base64")): Attack {
  return encodedAttack(t, encodeBase64, decodeBase64Runs);
}
