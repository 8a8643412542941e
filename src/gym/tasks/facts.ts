// Questions about the fictional knowledge base: a country's capital, language or flag colour.
import { COUNTRIES } from "../knowledgeBase.js";
import type { Rng } from "../rng.js";
import { fill } from "../text.js";
import { type Split, type TaskFamily, type TaskTemplate, templatesOf } from "./family.js";

const TRAIN: readonly TaskTemplate[] = [
  { variant: "capital", text: "What is the capital of {country}?" },
  { variant: "capital", text: "Which city is the capital of {country}?" },
  { variant: "capital", text: "Name the capital city of {country}." },
  { variant: "language", text: "What language do people speak in {country}?" },
  { variant: "language", text: "Which language is spoken in {country}?" },
  { variant: "language", text: "Name the main language of {country}." },
  { variant: "flag", text: "What colour is the flag of {country}?" },
  { variant: "flag", text: "Which colour is the flag of {country}?" },
  { variant: "flag", text: "Name the colour of the flag of {country}." },
];

const VALID: readonly TaskTemplate[] = [
  { variant: "capital", text: "Tell me the capital of {country}, please." },
  { variant: "language", text: "Tell me the language people speak in {country}, please." },
  { variant: "flag", text: "Tell me the colour of the flag of {country}, please." },
];

const EVAL: readonly TaskTemplate[] = [
  { variant: "capital", text: "In {country}, which city is the capital?" },
  { variant: "language", text: "If I go to {country}, which language do people speak there?" },
  { variant: "flag", text: "I want to make the flag of {country}. Which colour do I need?" },
];

export const facts: TaskFamily = {
  id: "facts",
  trainTemplates: TRAIN,
  validTemplates: VALID,
  evalTemplates: EVAL,
  generate(rng: Rng, split: Split) {
    const template = rng.pick(templatesOf(this, split));
    const country = rng.pick(COUNTRIES);
    const prompt = fill(template.text, { country: country.name });
    let reference: string;
    let answer: string;
    if (template.variant === "capital") {
      answer = country.capital;
      reference = `The capital of ${country.name} is ${answer}.`;
    } else if (template.variant === "language") {
      answer = country.language;
      reference = `People in ${country.name} speak ${answer}.`;
    } else {
      answer = country.flagColour;
      reference = `The flag of ${country.name} is ${answer}.`;
    }
    return { prompt, reference, answer, template: template.text };
  },
};
