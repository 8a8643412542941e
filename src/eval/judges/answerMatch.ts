// Whether a response gives a task's answer: the answer key found in the response as whole words, so "2" does
// not match "12" and "Marnit" does not match "Marnitville". Case, spacing and a trailing full stop do not count.

function normalize(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim();
}

const WORD = /[\p{L}\p{N}_]/u;

/** contains: the key occurs in the response on word boundaries; exact: the whole response is the key. */
export type AnswerMatch = "contains" | "exact";

export function answerMatches(response: string, key: string, mode: AnswerMatch = "contains"): boolean {
  const text = normalize(response);
  const needle = normalize(key).replace(/[.!]+$/, "");
  if (needle === "") return false;
  if (mode === "exact") return text.replace(/[.!]+$/, "") === needle;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    const before = text[at - 1];
    const after = text[at + needle.length];
    // A boundary is needed only where the key itself starts or ends with a word character.
    const startOk = before === undefined || !WORD.test(before) || !WORD.test(needle[0] as string);
    const endOk = after === undefined || !WORD.test(after) || !WORD.test(needle[needle.length - 1] as string);
    if (startOk && endOk) return true;
  }
  return false;
}
