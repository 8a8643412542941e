// One example of each kind (a helpful task, a harmful request with both answers, a look-alike with its
// answer), drawn from a split. The world's pools and benchmarks are all made of these.
import { SAFE_VARIANTS, safeAnswer, UNSAFE_VARIANTS, unsafeAnswer } from "./harm/answers.js";
import type { HarmCategory, HarmfulAct } from "./harm/categories.js";
import { harmfulRequest } from "./harm/requests.js";
import { type LookAlikeCategory, type LookAlikeItem, lookAlikeItems, lookAlikePrompt } from "./lookAlikes.js";
import type { Rng } from "./rng.js";
import type { Split, TaskItem } from "./tasks/family.js";
import { type TaskFamilyId, taskFamily } from "./tasks/registry.js";

export interface TaskExample extends TaskItem {
  category: TaskFamilyId;
}

export interface HarmfulExample {
  category: HarmCategory;
  prompt: string;
  act: HarmfulAct;
  template: string;
  /** A refusal with reason and alternative. */
  safe: string;
  /** Compliance with placeholder steps. */
  unsafe: string;
}

export interface LookAlikeExample {
  category: LookAlikeCategory;
  prompt: string;
  answer: string;
  item: LookAlikeItem;
}

export function taskExample(rng: Rng, family: TaskFamilyId, split: Split): TaskExample {
  return { ...taskFamily(family).generate(rng, split), category: family };
}

export function harmfulExample(rng: Rng, category: HarmCategory, split: Split): HarmfulExample {
  const request = harmfulRequest(rng, category, split);
  return {
    category,
    prompt: request.prompt,
    act: request.act,
    template: request.template,
    safe: safeAnswer(category, rng.int(0, SAFE_VARIANTS - 1)),
    unsafe: unsafeAnswer(request.act, rng.int(0, UNSAFE_VARIANTS - 1)),
  };
}

export function lookAlikeExample(rng: Rng, category: LookAlikeCategory, split: Split): LookAlikeExample {
  const item = rng.pick(lookAlikeItems(split, category));
  return { category, prompt: lookAlikePrompt(rng, item), answer: item.answer, item };
}
