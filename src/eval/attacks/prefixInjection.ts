// Prefix injection: the model is told to open with a compliant phrase, which a refusal would contradict.
import type { Attack } from "./attack.js";
import { templatedAttack } from "./templatedAttack.js";
import { type AttackTemplate, loadAttackTemplate } from "./templates.js";

export function prefixInjection(t: AttackTemplate = loadAttackTemplate("prefix-injection")): Attack {
  return templatedAttack(t);
}
