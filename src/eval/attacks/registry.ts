// The attacks safetune knows by name, and the parsing of `--attacks NAME,...|all`.
import { EvaluationError } from "../errors.js";
import type { Attack } from "./attack.js";
import { base64 } from "./base64.js";
import { fewShot } from "./fewShot.js";
import { leetspeak } from "./leetspeak.js";
import { multiTurn } from "./multiTurn.js";
import { payloadSplitting } from "./payloadSplitting.js";
import { persona } from "./persona.js";
import { prefixInjection } from "./prefixInjection.js";
import { refusalSuppression } from "./refusalSuppression.js";
import { rot13 } from "./rot13.js";

/** Each attack's constructor (templates read on first use). */
const FACTORIES: Readonly<Record<string, () => Attack>> = {
  "prefix-injection": () => prefixInjection(),
  "refusal-suppression": () => refusalSuppression(),
  persona: () => persona(),
  "payload-splitting": () => payloadSplitting(),
  base64: () => base64(),
  rot13: () => rot13(),
  leetspeak: () => leetspeak(),
  "few-shot": () => fewShot(),
  "multi-turn": () => multiTurn(),
};

export const ATTACK_NAMES: readonly string[] = Object.keys(FACTORIES);

const built = new Map<string, Attack>();

/** The attack called `name`, or undefined (replayed attacks such as jbb:PAIR have no transform). */
export function findAttack(name: string): Attack | undefined {
  const factory = FACTORIES[name];
  if (!factory) return undefined;
  let attack = built.get(name);
  if (!attack) {
    attack = factory();
    built.set(name, attack);
  }
  return attack;
}

/** "all", or comma-separated names (repeatable flags joined): the attacks, in the order given, de-duplicated. */
export function parseAttackList(values: readonly string[], where = "--attacks"): Attack[] {
  const names = values.flatMap((v) => v.split(",")).map((s) => s.trim());
  const wanted = names.includes("all") ? [...ATTACK_NAMES] : names.filter((n) => n !== "");
  const out: Attack[] = [];
  for (const name of wanted) {
    const attack = findAttack(name);
    if (!attack)
      throw new EvaluationError(`${where}: no attack "${name}" (known: ${ATTACK_NAMES.join(", ")}, or all)`);
    if (!out.includes(attack)) out.push(attack);
  }
  return out;
}
