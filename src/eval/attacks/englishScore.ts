// How much a text reads as English: the share of its words that are among the commonest English words.
// Decoders use it to choose between an answer as written and its decoding (a model may ignore the encoding).

const COMMON = new Set(
  (
    "the be to of and a in that have i it for not on with he as you do at this but his by from they we say her " +
    "she or an will my one all would there their what so up out if about who get which go me when make can like " +
    "time no just him know take people into year your good some could them see other than then now look only " +
    "come its over think also back after use two how our work first well way even new want because any these " +
    "give day most us is are was were has had here step steps sure first then need should must"
  ).split(" "),
);

/** Share of the words (letters only, lower-cased) in `text` that are common English words; 0 for no words. */
export function englishScore(text: string): number {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  if (words.length === 0) return 0;
  let hits = 0;
  for (const w of words) if (COMMON.has(w)) hits++;
  return hits / words.length;
}

/** `decoded` when it reads more like English than `raw`, else `raw`. */
export function moreEnglish(raw: string, decoded: string): string {
  return englishScore(decoded) > englishScore(raw) ? decoded : raw;
}
