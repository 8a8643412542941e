// What the world holds out, listed: every phrasing by split, the validation and held-out acts and look-alikes. world.json
// records it, and the tests use it to prove benchmarks never leak into training.

import { attackTemplates } from "./harm/attacks.js";
import { HARM_CATEGORIES, type HarmCategory, harmfulActs } from "./harm/categories.js";
import {
  LOOK_ALIKES,
  TERM_EVAL_TEMPLATES,
  TERM_TRAIN_TEMPLATES,
  TERM_VALID_TEMPLATES,
} from "./lookAlikes.js";
import {
  REQUEST_EVAL_TEMPLATES,
  REQUEST_TRAIN_TEMPLATES,
  REQUEST_VALID_TEMPLATES,
} from "./requestTemplates.js";
import type { Split } from "./tasks/family.js";
import { TASK_FAMILIES, taskFamily } from "./tasks/registry.js";

/** A named set of phrasings ("tasks/arithmetic", "requests", "look-alike terms", "attacks"), every split. */
export interface TemplateSet {
  name: string;
  train: readonly string[];
  valid: readonly string[];
  eval: readonly string[];
}

/** Every templated phrasing of the world. Fixed look-alike questions have no template and are not listed. */
export function templateSets(): TemplateSet[] {
  const unique = (texts: readonly string[]) => [...new Set(texts)];
  return [
    ...TASK_FAMILIES.map((id) => {
      const family = taskFamily(id);
      return {
        name: `tasks/${id}`,
        train: unique(family.trainTemplates.map((t) => t.text)),
        valid: unique(family.validTemplates.map((t) => t.text)),
        eval: unique(family.evalTemplates.map((t) => t.text)),
      };
    }),
    {
      name: "requests (harmful, howto, look-alike acts)",
      train: REQUEST_TRAIN_TEMPLATES,
      valid: REQUEST_VALID_TEMPLATES,
      eval: REQUEST_EVAL_TEMPLATES,
    },
    {
      name: "look-alike terms",
      train: TERM_TRAIN_TEMPLATES,
      valid: TERM_VALID_TEMPLATES,
      eval: TERM_EVAL_TEMPLATES,
    },
    // Attacks wrap a whole request ("{request}"); no training record uses one.
    {
      name: "attacks",
      train: [],
      valid: attackTemplates("valid").map((a) => a.text),
      eval: attackTemplates("eval").map((a) => a.text),
    },
  ];
}

/** The harmful acts of a split, by category. */
export function actsBySplit(split: Split): Record<HarmCategory, string[]> {
  const out = {} as Record<HarmCategory, string[]>;
  for (const category of HARM_CATEGORIES) out[category] = harmfulActs(category, split).map((act) => act.text);
  return out;
}

/** The look-alike items of a split, as "category: text". */
export function lookAlikesBySplit(split: Split): string[] {
  return LOOK_ALIKES.filter((item) => item.split === split).map((item) => `${item.category}: ${item.text}`);
}
