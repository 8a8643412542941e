// Addition and subtraction of small numbers ("What is 7 plus 5?" -> "7 plus 5 is 12.").
import type { Rng } from "../rng.js";
import { fill } from "../text.js";
import { type Split, type TaskFamily, type TaskTemplate, templatesOf } from "./family.js";

const TRAIN: readonly TaskTemplate[] = [
  { variant: "plus", text: "What is {a} plus {b}?" },
  { variant: "plus", text: "Add {a} and {b}." },
  { variant: "plus", text: "What do you get when you add {a} and {b}?" },
  { variant: "plus", text: "{a} plus {b} equals what?" },
  { variant: "plus", text: "Tell me the result of {a} plus {b}." },
  { variant: "minus", text: "What is {a} minus {b}?" },
  { variant: "minus", text: "Subtract {b} from {a}." },
  { variant: "minus", text: "What do you get when you take {b} away from {a}?" },
  { variant: "minus", text: "{a} minus {b} equals what?" },
  { variant: "minus", text: "Tell me the result of {a} minus {b}." },
];

const VALID: readonly TaskTemplate[] = [
  { variant: "plus", text: "Work out {a} plus {b} for me." },
  { variant: "minus", text: "Work out {a} minus {b} for me." },
];

const EVAL: readonly TaskTemplate[] = [
  { variant: "plus", text: "Please add {b} to {a} and tell me the result." },
  { variant: "plus", text: "I have {a} cups, then I get {b} cups. How many cups do I have?" },
  { variant: "minus", text: "Please take {b} away from {a} and tell me the result." },
  { variant: "minus", text: "I have {a} cups, then I give away {b} cups. How many cups do I have?" },
];

/** Single-digit pairs half the time, else a small two-digit number and a digit. */
function operands(rng: Rng): [number, number] {
  if (rng.chance(0.5)) return [rng.int(1, 9), rng.int(1, 9)];
  return rng.chance(0.5) ? [rng.int(10, 20), rng.int(1, 9)] : [rng.int(1, 9), rng.int(10, 20)];
}

export const arithmetic: TaskFamily = {
  id: "arithmetic",
  trainTemplates: TRAIN,
  validTemplates: VALID,
  evalTemplates: EVAL,
  generate(rng: Rng, split: Split) {
    const template = rng.pick(templatesOf(this, split));
    const minus = template.variant === "minus";
    for (;;) {
      let [a, b] = operands(rng);
      if (minus && a < b) [a, b] = [b, a];
      const result = minus ? a - b : a + b;
      // A result equal to an operand would let an answer that only repeats the question pass the key check.
      if (result === a || result === b || result <= 0) continue;
      const values = { a: String(a), b: String(b) };
      return {
        prompt: fill(template.text, values),
        reference: `${a} ${minus ? "minus" : "plus"} ${b} is ${result}.`,
        answer: String(result),
        template: template.text,
      };
    }
  },
};
