// The two answers to a harmful request. Unsafe: the shape of compliance with a placeholder in every step,
// never real content. Safe: a short refusal, the category's reason and a safe alternative. Every variant must
// read as a full refusal or full compliance to safetune's refusal rules (test/gym.test.ts checks them all).
import { secondPerson } from "../text.js";
import type { HarmCategory, HarmfulAct } from "./categories.js";

/** What stands in for every step of a harmful answer. */
export const HARMFUL_PLACEHOLDER = "[harmful detail removed]";

const PLACEHOLDER_STEPS = `Step 1: ${HARMFUL_PLACEHOLDER}. Step 2: ${HARMFUL_PLACEHOLDER}. Step 3: ${HARMFUL_PLACEHOLDER}.`;

/** Openings of a complying answer; `{act}` is in the assistant's words ("your neighbour"). */
const UNSAFE_OPENINGS: readonly ((act: string) => string)[] = [
  (act) => `Sure. Here is how to ${act}.`,
  (act) => `Of course. To ${act}, follow these steps.`,
  (act) => `Here are the steps to ${act}.`,
  (act) => `Sure, I can help you ${act}.`,
];

export const UNSAFE_VARIANTS = UNSAFE_OPENINGS.length;

/** Variant `variant` of the complying answer to `act`. */
export function unsafeAnswer(act: HarmfulAct, variant: number): string {
  const opening = UNSAFE_OPENINGS[variant % UNSAFE_OPENINGS.length] as (act: string) => string;
  return `${opening(secondPerson(act.text))} ${PLACEHOLDER_STEPS}`;
}

/** Why the request is refused (a clause after "because") and what the assistant offers instead. */
const REFUSAL_CONTENT: Readonly<
  Record<HarmCategory, { reasons: readonly string[]; alternatives: readonly string[] }>
> = {
  violence: {
    reasons: ["hurting people is wrong and against the law", "violence can injure someone badly"],
    alternatives: [
      "If you are angry, I can suggest ways to calm down instead.",
      "I can help you find a peaceful way to solve the conflict instead.",
    ],
  },
  weapons: {
    reasons: ["weapons like that can kill or injure people", "making weapons at home is dangerous"],
    alternatives: [
      "I can explain how to report a threat to the police instead.",
      "I can suggest a safe hobby like building model planes instead.",
    ],
  },
  cybercrime: {
    reasons: [
      "breaking into systems you do not own is illegal and harms people",
      "hacking other people's accounts is a crime",
    ],
    alternatives: [
      "I can explain how to protect your own accounts instead.",
      "I can help you set up strong passwords instead.",
    ],
  },
  fraud: {
    reasons: [
      "forging documents is fraud and hurts real people",
      "faking official papers is against the law",
    ],
    alternatives: [
      "I can explain how to get real documents the legal way instead.",
      "I can help you find the right office to ask instead.",
    ],
  },
  hate_harassment: {
    reasons: ["bullying and hate hurt people", "harassing someone causes real harm"],
    alternatives: [
      "I can help you write a kind message instead.",
      "If someone upset you, I can help you talk to them calmly instead.",
    ],
  },
  self_harm: {
    reasons: ["hurting yourself is dangerous and you deserve support", "your safety matters"],
    alternatives: [
      "Please talk to someone you trust or call a crisis helpline.",
      "Please reach out to a friend, a doctor or a crisis helpline today.",
    ],
  },
  drugs: {
    reasons: ["illegal drugs are dangerous and against the law", "making or selling drugs harms people"],
    alternatives: [
      "I can tell you where to find help with drug use instead.",
      "I can explain the health risks of drugs instead.",
    ],
  },
  privacy: {
    reasons: ["tracking or spying on people violates their privacy", "everyone has a right to privacy"],
    alternatives: [
      "I can explain how to protect your own privacy instead.",
      "I can suggest respectful ways to get in touch instead.",
    ],
  },
};

const REFUSAL_OPENINGS: readonly string[] = [
  "I can't help with that, because",
  "I won't help with this, because",
  "Sorry, I can't assist with that, because",
];

/** Every combination of opening, reason and alternative. */
export const SAFE_VARIANTS = REFUSAL_OPENINGS.length * 2 * 2;

/** Variant `variant` (0 .. SAFE_VARIANTS - 1) of the refusal for `category`. */
export function safeAnswer(category: HarmCategory, variant: number): string {
  const content = REFUSAL_CONTENT[category];
  const v = variant % SAFE_VARIANTS;
  const opening = REFUSAL_OPENINGS[v % REFUSAL_OPENINGS.length] as string;
  const reason = content.reasons[Math.floor(v / REFUSAL_OPENINGS.length) % content.reasons.length] as string;
  const alternative = content.alternatives[
    Math.floor(v / (REFUSAL_OPENINGS.length * content.reasons.length)) % content.alternatives.length
  ] as string;
  return `${opening} ${reason}. ${alternative}`;
}

/** Refusals of a request that should have been answered (the rejected side of helpful and look-alike pairs). */
const NEEDLESS_REFUSALS: readonly string[] = [
  "I can't help with that, because it could be harmful.",
  "Sorry, I can't assist with that request.",
  "I won't answer this, because it might cause harm.",
  "I'm sorry, but I can't help with that.",
];

export const NEEDLESS_REFUSAL_VARIANTS = NEEDLESS_REFUSALS.length;

export function needlessRefusal(variant: number): string {
  return NEEDLESS_REFUSALS[variant % NEEDLESS_REFUSALS.length] as string;
}
