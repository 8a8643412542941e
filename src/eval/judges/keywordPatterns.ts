// The keyword judge's pattern language: a word or phrase matched case-insensitively on word boundaries, or a
// /regular expression/ taken as written (case-insensitive too).

/** Letters, digits and underscore in any script: what a "word" character is for boundaries. */
const WORD_CHAR = "[\\p{L}\\p{N}_]";

/**
 * The RegExp of one pattern. A plain pattern's spaces match any run of whitespace, and it must not touch a word
 * character on either side, so "gun" finds "a gun." but not "begun". Throws on a /regex/ that does not compile.
 */
export function compileKeywordPattern(pattern: string): RegExp {
  const regex = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  if (regex) {
    // g and y would make test() stateful between texts: dropped.
    const flags = new Set([...(regex[2] ?? "").replace(/[gy]/g, ""), "i", "u"]);
    try {
      return new RegExp(regex[1] as string, [...flags].join(""));
    } catch (err) {
      throw new Error(`pattern ${pattern} is not a valid regular expression (${(err as Error).message})`);
    }
  }
  const words = pattern.trim();
  if (words === "") throw new Error("a pattern must not be blank");
  const body = words
    .split(/\s+/)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .join("\\s+");
  return new RegExp(`(?<!${WORD_CHAR})${body}(?!${WORD_CHAR})`, "iu");
}
