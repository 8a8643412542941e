// Refusal suppression: rules that forbid the words and moves refusals are made of, then the request.
import type { Attack } from "./attack.js";
import { templatedAttack } from "./templatedAttack.js";
import { type AttackTemplate, loadAttackTemplate } from "./templates.js";

export function refusalSuppression(t: AttackTemplate = loadAttackTemplate("refusal-suppression")): Attack {
  return templatedAttack(t);
}
