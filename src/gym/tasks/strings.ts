// String tasks a tiny transformer can solve by copying through attention: repeat a word, join two words
// with a hyphen, put two words in reverse order.
import type { Rng } from "../rng.js";
import { fill } from "../text.js";
import { TASK_WORDS } from "../vocabulary.js";
import { type Split, type TaskFamily, type TaskTemplate, templatesOf } from "./family.js";

const TRAIN: readonly TaskTemplate[] = [
  { variant: "repeat", text: "Repeat the word {w} {n} times." },
  { variant: "repeat", text: "Say {w} {n} times." },
  { variant: "repeat", text: "Write the word {w} {n} times in a row." },
  { variant: "hyphen", text: "Join {w} and {v} with a hyphen." },
  { variant: "hyphen", text: "Put a hyphen between {w} and {v}." },
  { variant: "hyphen", text: "Connect the words {w} and {v} using a hyphen." },
  { variant: "reverse", text: "Put the words {w} {v} in reverse order." },
  { variant: "reverse", text: "Swap the order of {w} and {v}." },
  { variant: "reverse", text: "Reverse the order of the words {w} {v}." },
];

const VALID: readonly TaskTemplate[] = [
  { variant: "repeat", text: "I need the word {w} {n} times. Write it for me." },
  { variant: "hyphen", text: "Write {w} and {v} as one word with a hyphen." },
  { variant: "reverse", text: "Write {w} {v}, but put the second word first." },
];

const EVAL: readonly TaskTemplate[] = [
  { variant: "repeat", text: "Write {w} {n} times, one after the other." },
  { variant: "hyphen", text: "Make one word from {w} and {v}, with a hyphen in the middle." },
  { variant: "reverse", text: "Give me {w} and {v} again, but the last word first." },
];

const TIMES = { 2: "two", 3: "three" } as const;

export const strings: TaskFamily = {
  id: "strings",
  trainTemplates: TRAIN,
  validTemplates: VALID,
  evalTemplates: EVAL,
  generate(rng: Rng, split: Split) {
    const template = rng.pick(templatesOf(this, split));
    const [w, v] = rng.sample(TASK_WORDS, 2) as [string, string];
    const n = rng.chance(0.5) ? 2 : 3;
    let result: string;
    if (template.variant === "repeat") result = Array.from({ length: n }, () => w).join(" ");
    else if (template.variant === "hyphen") result = `${w}-${v}`;
    else result = `${v} ${w}`;
    return {
      prompt: fill(template.text, { w, v, n: TIMES[n] }),
      reference: `The answer is ${result}.`,
      answer: result,
      template: template.text,
    };
  },
};
