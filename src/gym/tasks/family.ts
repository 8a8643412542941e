// What every helpful task family provides: training and held-out phrasings, and a generator of items whose
// answers can be checked against a short key.
import type { Rng } from "../rng.js";

/**
 * train: phrasings any training record may use; valid: phrasings only the validation benchmarks use (for choosing
 * settings); eval: phrasings only the held-out test benchmarks use (for reporting). The three are disjoint.
 */
export type Split = "train" | "valid" | "eval";

/** Every split, in the order the world lists them. */
export const SPLITS: readonly Split[] = ["train", "valid", "eval"];

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
  validTemplates: readonly TaskTemplate[];
  evalTemplates: readonly TaskTemplate[];
  generate(rng: Rng, split: Split): TaskItem;
}

/** The templates of one split. */
export function templatesOf(family: TaskFamily, split: Split): readonly TaskTemplate[] {
  if (split === "train") return family.trainTemplates;
  return split === "valid" ? family.validTemplates : family.evalTemplates;
}
