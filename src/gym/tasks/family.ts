// What every helpful task family provides: training and held-out phrasings, and a generator of items whose
// answers can be checked against a short key.
import type { Rng } from "../rng.js";

/** train: phrasings any training record may use; eval: phrasings only benchmarks use. */
export type Split = "train" | "eval";

/** A phrasing with "{name}" placeholders; `variant` says which kind of question it asks (an operation, an attribute). */
export interface TaskTemplate {
  text: string;
  variant: string;
}

export interface TaskItem {
  prompt: string;
  /** The full correct answer, in the family's fixed answer format. */
  reference: string;
  /** The answer key: a short string every correct answer contains (see taskAnswerCorrect). */
  answer: string;
  /** The template the prompt was made from. */
  template: string;
}

export interface TaskFamily {
  id: string;
  trainTemplates: readonly TaskTemplate[];
  evalTemplates: readonly TaskTemplate[];
  generate(rng: Rng, split: Split): TaskItem;
}

/** The templates of one split. */
export function templatesOf(family: TaskFamily, split: Split): readonly TaskTemplate[] {
  return split === "train" ? family.trainTemplates : family.evalTemplates;
}
