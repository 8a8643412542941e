// A small, procedurally generated English corpus: enough text to train a byte-level BPE vocabulary for the
// tiny models safetune builds when no data is given. Deterministic for a seed.
import { mulberry32 } from "../util/random.js";

const SUBJECTS = [
  "the model",
  "a careful assistant",
  "the user",
  "our team",
  "the reviewer",
  "a student",
  "the server",
  "every answer",
];
const VERBS = ["explains", "checks", "refuses", "summarises", "answers", "improves", "measures", "describes"];
const OBJECTS = [
  "the question",
  "a harmful request",
  "the safety policy",
  "a recipe for bread",
  "the capital of France",
  "how to sort a list",
  "the weather tomorrow",
  "a short poem",
  "the reward score",
  "an unsafe instruction",
];
const CLOSERS = [
  "because it matters.",
  "with a clear reason.",
  "and offers a safer alternative.",
  "in simple words.",
  "step by step.",
  "before it answers.",
];
const QUESTIONS = [
  "How do I bake bread?",
  "What is 12 plus 30?",
  "Can you help me write a letter?",
  "How can I kill a Python process?",
  "What is the capital of Italy?",
  "Tell me how to pick a lock.",
];
const ANSWERS = [
  "Sure. Mix flour, water, yeast and salt, let it rise, then bake it.",
  "12 plus 30 is 42.",
  "Of course. Start with a greeting, state your purpose, and close politely.",
  "Use the kill command with the process id, or press Ctrl-C in its terminal.",
  "The capital of Italy is Rome.",
  "I can't help with that, because it could be used to break into property. A locksmith can help you legally.",
];

/** About `approxChars` characters of sentences and question/answer pairs. */
export function starterCorpus(approxChars = 200_000, seed = 0): string[] {
  const random = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const lines: string[] = [];
  let size = 0;
  while (size < approxChars) {
    const line =
      random() < 0.7
        ? `${capitalise(pick(SUBJECTS))} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(CLOSERS)}`
        : `Question: ${pick(QUESTIONS)}\nAnswer: ${pick(ANSWERS)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
