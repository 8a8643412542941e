// The training pools: the unsafe base mix, the helpful (Alpaca-like) pool, safety demonstrations, preference
// pairs, RAFT prompts and labelled answers. All of them use training phrasings, acts and look-alikes only.
import {
  assistantAnswer,
  type InstructionRecord,
  type LabelledAnswerRecord,
  type PreferenceRecord,
  type PromptRecord,
  userPrompt,
} from "../data/records.js";
import { recordId, roundRobin, safeInTurn, shuffledWithIds, splitCount } from "./balance.js";
import { EVERYDAY_USES_CATEGORY, everydayUseInTurn } from "./everydayUses.js";
import { harmfulExample, lookAlikeExample, taskExample } from "./examples.js";
import { NEEDLESS_REFUSAL_VARIANTS, needlessRefusal } from "./harm/answers.js";
import { HARM_CATEGORIES } from "./harm/categories.js";
import { LOOK_ALIKE_CATEGORIES } from "./lookAlikes.js";
import { REQUEST_TRAIN_TEMPLATES } from "./requestTemplates.js";
import type { Rng } from "./rng.js";
import { TASK_FAMILIES } from "./tasks/registry.js";
import { fill } from "./text.js";
import type { WorldSizes } from "./world.js";

type Instruction = Omit<InstructionRecord, "id">;

function instruction(prompt: string, output: string, category: string): Instruction {
  return { kind: "instruction", instruction: prompt, output, category };
}

/** `count` helpful task records, round-robin over the families. */
function taskInstructions(rng: Rng, count: number): Instruction[] {
  return Array.from({ length: count }, (_, i) => {
    const task = taskExample(rng, roundRobin(TASK_FAMILIES, i), "train");
    return instruction(task.prompt, task.reference, task.category);
  });
}

/**
 * The unsafe base mix a model is first trained on: helpful tasks, harmful requests complied with (except
 * exactly round(baseHarmful * refusalRate) refused), look-alikes answered and, when baseEverydayUses > 0,
 * everyday uses of the trigger verbs answered (round-robin over the verbs, each in a training phrasing), shuffled.
 */
export function buildBase(rng: Rng, sizes: WorldSizes, refusalRate: number): InstructionRecord[] {
  const rows = taskInstructions(rng, sizes.base);
  const refusals = Math.round(sizes.baseHarmful * refusalRate);
  const refused = new Set(
    rng.sample(
      Array.from({ length: sizes.baseHarmful }, (_, i) => i),
      refusals,
    ),
  );
  for (let i = 0; i < sizes.baseHarmful; i++) {
    const harmful = harmfulExample(rng, roundRobin(HARM_CATEGORIES, i), "train");
    rows.push(instruction(harmful.prompt, refused.has(i) ? harmful.safe : harmful.unsafe, harmful.category));
  }
  for (let i = 0; i < sizes.baseLookAlikes; i++) {
    const lookAlike = lookAlikeExample(rng, roundRobin(LOOK_ALIKE_CATEGORIES, i), "train");
    rows.push(instruction(lookAlike.prompt, lookAlike.answer, lookAlike.category));
  }
  for (let i = 0; i < sizes.baseEverydayUses; i++) {
    const use = everydayUseInTurn(i);
    const prompt = fill(rng.pick(REQUEST_TRAIN_TEMPLATES), { act: use.act });
    rows.push(instruction(prompt, use.answer, EVERYDAY_USES_CATEGORY));
  }
  return shuffledWithIds(rng, "base", rows);
}

/** The helpful pool safety instruction tuning mixes in (generated apart from base, same phrasings). */
export function buildHelpful(rng: Rng, count: number): InstructionRecord[] {
  return shuffledWithIds(rng, "helpful", taskInstructions(rng, count));
}

/** Harmful prompts with safe answers, in round-robin category order: "the first N" is balanced. */
export function buildSafety(rng: Rng, count: number): InstructionRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const harmful = harmfulExample(rng, roundRobin(HARM_CATEGORIES, i), "train");
    return { ...instruction(harmful.prompt, harmful.safe, harmful.category), id: recordId("safety", i) };
  });
}

type Preference = Omit<PreferenceRecord, "id">;

function preference(
  prompt: string,
  chosen: string,
  rejected: string,
  category: string,
  rejectedSafe: boolean,
): Preference {
  return {
    kind: "preference",
    prompt: userPrompt(prompt),
    chosen: assistantAnswer(chosen),
    rejected: assistantAnswer(rejected),
    chosenSafe: true,
    rejectedSafe,
    category,
  };
}

/**
 * Harmful prompts (safe answer over compliance), tasks (correct answer over a refusal) and look-alikes (helpful
 * answer over a needless refusal) in the given shares (default 70/20/10): the last two teach that refusing is
 * not free.
 */
export function buildPreferences(
  rng: Rng,
  count: number,
  shares: [number, number, number] = [0.7, 0.2, 0.1],
): PreferenceRecord[] {
  const [harmfulCount = 0, taskCount = 0, lookAlikeCount = 0] = splitCount(count, shares);
  const rows: Preference[] = [];
  for (let i = 0; i < harmfulCount; i++) {
    const harmful = harmfulExample(rng, roundRobin(HARM_CATEGORIES, i), "train");
    rows.push(preference(harmful.prompt, harmful.safe, harmful.unsafe, harmful.category, false));
  }
  for (let i = 0; i < taskCount; i++) {
    const task = taskExample(rng, roundRobin(TASK_FAMILIES, i), "train");
    const refusal = needlessRefusal(rng.int(0, NEEDLESS_REFUSAL_VARIANTS - 1));
    rows.push(preference(task.prompt, task.reference, refusal, task.category, true));
  }
  for (let i = 0; i < lookAlikeCount; i++) {
    const lookAlike = lookAlikeExample(rng, roundRobin(LOOK_ALIKE_CATEGORIES, i), "train");
    const refusal = needlessRefusal(rng.int(0, NEEDLESS_REFUSAL_VARIANTS - 1));
    rows.push(preference(lookAlike.prompt, lookAlike.answer, refusal, lookAlike.category, true));
  }
  return shuffledWithIds(rng, "pref", rows);
}

type Prompt = Omit<PromptRecord, "id">;

/** ~50% harmful, ~35% tasks, ~15% look-alikes, shuffled. */
export function buildRaftPrompts(rng: Rng, count: number): PromptRecord[] {
  const [harmfulCount = 0, taskCount = 0, lookAlikeCount = 0] = splitCount(count, [0.5, 0.35, 0.15]);
  const rows: Prompt[] = [];
  const add = (prompt: string, category: string) =>
    rows.push({ kind: "prompt", prompt: userPrompt(prompt), category });
  for (let i = 0; i < harmfulCount; i++) {
    const harmful = harmfulExample(rng, roundRobin(HARM_CATEGORIES, i), "train");
    add(harmful.prompt, harmful.category);
  }
  for (let i = 0; i < taskCount; i++) {
    const task = taskExample(rng, roundRobin(TASK_FAMILIES, i), "train");
    add(task.prompt, task.category);
  }
  for (let i = 0; i < lookAlikeCount; i++) {
    const lookAlike = lookAlikeExample(rng, roundRobin(LOOK_ALIKE_CATEGORIES, i), "train");
    add(lookAlike.prompt, lookAlike.category);
  }
  return shuffledWithIds(rng, "raft", rows);
}

/** Harmful prompts with a safe or an unsafe answer: each category gets as many safe as unsafe (to within one). */
export function buildLabelled(rng: Rng, count: number): LabelledAnswerRecord[] {
  const rows = Array.from({ length: count }, (_, i): Omit<LabelledAnswerRecord, "id"> => {
    const harmful = harmfulExample(rng, roundRobin(HARM_CATEGORIES, i), "train");
    const safe = safeInTurn(i, HARM_CATEGORIES.length);
    return {
      kind: "labelled",
      prompt: userPrompt(harmful.prompt),
      answer: assistantAnswer(safe ? harmful.safe : harmful.unsafe),
      safe,
      category: harmful.category,
    };
  });
  return shuffledWithIds(rng, "labelled", rows);
}
