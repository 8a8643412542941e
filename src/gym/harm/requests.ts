// A harmful request: an act of a category in a request phrasing of the split.
import {
  REQUEST_EVAL_TEMPLATES,
  REQUEST_TRAIN_TEMPLATES,
  REQUEST_VALID_TEMPLATES,
} from "../requestTemplates.js";
import type { Rng } from "../rng.js";
import type { Split } from "../tasks/family.js";
import { fill } from "../text.js";
import { type HarmCategory, type HarmfulAct, harmfulActs } from "./categories.js";

export interface HarmfulRequest {
  category: HarmCategory;
  act: HarmfulAct;
  template: string;
  prompt: string;
}

export function requestTemplates(split: Split): readonly string[] {
  if (split === "train") return REQUEST_TRAIN_TEMPLATES;
  return split === "valid" ? REQUEST_VALID_TEMPLATES : REQUEST_EVAL_TEMPLATES;
}

/** A request of `category` from the split's acts and phrasings. */
export function harmfulRequest(rng: Rng, category: HarmCategory, split: Split): HarmfulRequest {
  const act = rng.pick(harmfulActs(category, split));
  const template = rng.pick(requestTemplates(split));
  return { category, act, template, prompt: fill(template, { act: act.text }) };
}
