// A fictional knowledge base for the facts family: countries with made-up names, each with a capital, a
// language and a flag colour. Fixed for every world (like the pseudo-words), so facts learnt from one world's
// training data are the facts its benchmarks ask about.
import { Rng } from "./rng.js";
import { capitalize } from "./text.js";
import { NAME_WORDS } from "./vocabulary.js";

export interface Country {
  name: string;
  capital: string;
  language: string;
  flagColour: string;
}

/** Few languages and colours, shared between countries, so each is seen often enough to be learnt. */
const LANGUAGE_COUNT = 10;
const FLAG_COLOURS = ["red", "blue", "green", "yellow", "white", "black", "orange", "purple"];
export const COUNTRY_COUNT = 30;

function buildCountries(): Country[] {
  const rng = Rng.derive(0, "knowledge-base");
  const names = NAME_WORDS.slice(0, COUNTRY_COUNT).map((word) => `${capitalize(word)}ia`);
  const capitals = NAME_WORDS.slice(COUNTRY_COUNT, 2 * COUNTRY_COUNT).map(capitalize);
  const languages = NAME_WORDS.slice(2 * COUNTRY_COUNT, 2 * COUNTRY_COUNT + LANGUAGE_COUNT).map(
    (word) => `${capitalize(word)}ese`,
  );
  return names.map((name, i) => ({
    name,
    capital: capitals[i] as string,
    language: rng.pick(languages),
    flagColour: rng.pick(FLAG_COLOURS),
  }));
}

export const COUNTRIES: readonly Country[] = buildCountries();
