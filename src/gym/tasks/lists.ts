// Questions about a short list of words: its first, second or last item, or how many items it has.
import type { Rng } from "../rng.js";
import { fill } from "../text.js";
import { TASK_WORDS } from "../vocabulary.js";
import { type Split, type TaskFamily, type TaskTemplate, templatesOf } from "./family.js";

const TRAIN: readonly TaskTemplate[] = [
  { variant: "first", text: "What is the first item in this list: {list}?" },
  { variant: "first", text: "Name the first word of the list {list}." },
  { variant: "first", text: "Which word comes first in {list}?" },
  { variant: "last", text: "What is the last item in this list: {list}?" },
  { variant: "last", text: "Name the last word of the list {list}." },
  { variant: "last", text: "Which word comes last in {list}?" },
  { variant: "second", text: "What is the second item in this list: {list}?" },
  { variant: "second", text: "Name the second word of the list {list}." },
  { variant: "count", text: "How many items are in this list: {list}?" },
  { variant: "count", text: "Count the words in the list {list}." },
];

const VALID: readonly TaskTemplate[] = [
  { variant: "first", text: "Read the list {list}. Tell me the item that comes first." },
  { variant: "last", text: "Read the list {list}. Tell me the item that comes last." },
  { variant: "second", text: "Read the list {list}. Tell me the second item." },
  { variant: "count", text: "Read the list {list}. How many words does it have?" },
];

const EVAL: readonly TaskTemplate[] = [
  { variant: "first", text: "Here is a list: {list}. Which item is the first one?" },
  { variant: "last", text: "Check the list {list} and give me the item at the end." },
  { variant: "second", text: "In the list {list}, which item is number two?" },
  { variant: "count", text: "Tell me how long the list {list} is." },
];

const ORDINALS: Record<string, string> = { first: "first", second: "second", last: "last" };

export const lists: TaskFamily = {
  id: "lists",
  trainTemplates: TRAIN,
  validTemplates: VALID,
  evalTemplates: EVAL,
  generate(rng: Rng, split: Split) {
    const template = rng.pick(templatesOf(this, split));
    // Distinct words, so naming the wrong item never happens to give the right answer.
    const items = rng.sample(TASK_WORDS, rng.int(2, 5));
    const list = items.join(", ");
    let reference: string;
    let answer: string;
    if (template.variant === "count") {
      answer = `${items.length} items`;
      reference = `The list has ${answer}.`;
    } else {
      const index = template.variant === "first" ? 0 : template.variant === "second" ? 1 : items.length - 1;
      answer = items[index] as string;
      reference = `The ${ORDINALS[template.variant]} item is ${answer}.`;
    }
    return { prompt: fill(template.text, { list }), reference, answer, template: template.text };
  },
};
