// Pseudo-words: made-up words for the copy tasks and the fictional knowledge base. They carry no meaning a
// model could know beforehand, so a model can only learn them from this world. Generated from syllables by a
// fixed stream (not the world seed), so every world shares the same words and knowledge base.
import { Rng } from "./rng.js";

const ONSETS = "b bl d f g gr k l m n p pl r s st t tr v z".split(" ");
const MIDDLES = "b d g k l m n p r s t v z".split(" ");
const VOWELS = ["a", "e", "i", "o", "u"];
const CODAS = ["n", "r", "p", "k", "m", "t", "sh", "rp", "x"];

/** Generated words that are English (or too close to it): skipped, so a pseudo-word is never a real word. */
const EXCLUDED = new Set([
  ...["lemon", "melon", "bonus", "salad", "total", "robin", "panic", "tonic", "ramen", "rumor", "lemur"],
  ...["vapor", "visit", "tumor", "sober", "major", "minor", "timer", "motor", "lumen", "token", "women"],
  ...["metal", "petal", "rural", "solar", "polar", "tutor", "donut", "robot", "sonar", "tenor", "lotus"],
  ...["venom", "demon", "devil", "bison", "penush", "rapist", "nigak", "fagot", "sexit"],
]);

/** Two syllables and a closing consonant ("tavin", "blorap"): long enough never to be a common word. */
function makeWord(rng: Rng): string {
  return rng.pick(ONSETS) + rng.pick(VOWELS) + rng.pick(MIDDLES) + rng.pick(VOWELS) + rng.pick(CODAS);
}

/** `count` distinct pseudo-words from a fixed stream, 5 to 7 letters, none of them English. */
function generateWords(count: number, stream: string): string[] {
  const rng = Rng.derive(0, stream);
  const words = new Set<string>();
  while (words.size < count) {
    const word = makeWord(rng);
    if (word.length >= 5 && word.length <= 7 && !EXCLUDED.has(word)) words.add(word);
  }
  return [...words];
}

const ALL_WORDS = generateWords(140, "pseudo-words");

/** Words for the string and list tasks ("blorp", "tavin"). */
export const TASK_WORDS: readonly string[] = ALL_WORDS.slice(0, 40);

/** Words the knowledge base turns into names of countries, capitals and languages (disjoint from TASK_WORDS). */
export const NAME_WORDS: readonly string[] = ALL_WORDS.slice(40);
