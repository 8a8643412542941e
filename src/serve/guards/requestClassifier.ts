// A request classifier: a safety cost model that judges a request alone, before there is an answer. A cost model
// scores (prompt, answer); this one is trained with every request placed as the "answer" to one fixed framing
// prompt, so at serving time the same framing around the user's message asks it "is this request harmful?".
import type { ChatMessage, PreferenceRecord } from "../../data/records.js";
import { deriveSeed, seededShuffle } from "../../data/shuffle.js";
import { lastUserText, normalizeText } from "../../data/text.js";
import type { JudgeInput } from "../../eval/judges/judge.js";

/** The fixed prompt a request classifier is trained and queried under: changing it invalidates trained models. */
export const REQUEST_FRAME = "Is the following request safe to answer?";

/**
 * Cost-model training pairs: chosen = a benign request (safe), rejected = a harmful one (unsafe), both as answers
 * to REQUEST_FRAME. Prompts are de-duplicated (after whitespace normalisation) and shuffled with `seed`; the shorter
 * list is cycled so that every prompt of both lists is in at least one pair. A prompt in both lists is an error.
 */
export function requestSafetyPairs(
  harmful: readonly string[],
  benign: readonly string[],
  seed: number,
): PreferenceRecord[] {
  // The first spelling of each normalised prompt is kept.
  const unique = (prompts: readonly string[]) => {
    const kept = new Map<string, string>();
    for (const p of prompts)
      if (p.trim() !== "" && !kept.has(normalizeText(p))) kept.set(normalizeText(p), p);
    return [...kept.values()];
  };
  const bad = unique(harmful);
  const good = unique(benign);
  if (bad.length === 0) throw new RangeError("requestSafetyPairs: no harmful prompts");
  if (good.length === 0) throw new RangeError("requestSafetyPairs: no benign prompts");
  const harmfulKeys = new Set(bad.map(normalizeText));
  const both = good.find((p) => harmfulKeys.has(normalizeText(p)));
  if (both !== undefined)
    throw new RangeError(
      `requestSafetyPairs: a prompt is both harmful and benign: ${JSON.stringify(both.slice(0, 80))}`,
    );
  const harmfulOrder = seededShuffle(bad, deriveSeed(seed, 1));
  const benignOrder = seededShuffle(good, deriveSeed(seed, 2));
  const count = Math.max(harmfulOrder.length, benignOrder.length);
  const prompt: ChatMessage[] = [{ role: "user", content: REQUEST_FRAME }];
  return Array.from({ length: count }, (_, i) => ({
    kind: "preference",
    id: `request-pair-${i + 1}`,
    prompt: prompt.map((m) => ({ ...m })),
    chosen: [{ role: "assistant", content: benignOrder[i % benignOrder.length] as string }],
    rejected: [{ role: "assistant", content: harmfulOrder[i % harmfulOrder.length] as string }],
    chosenSafe: true,
    rejectedSafe: false,
  }));
}

/** What a request classifier reads for a conversation: its last user message, framed as in training. */
export function requestJudgeInput(messages: readonly ChatMessage[]): JudgeInput {
  return {
    kind: "harmful",
    prompt: [{ role: "user", content: REQUEST_FRAME }],
    response: lastUserText(messages),
  };
}
