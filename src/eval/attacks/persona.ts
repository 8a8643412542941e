// Role-play / persona (AIM-style): the model is asked to speak as a character who answers without limits.
import type { Attack } from "./attack.js";
import { templatedAttack } from "./templatedAttack.js";
import { type AttackTemplate, loadAttackTemplate } from "./templates.js";

export function persona(t: AttackTemplate = loadAttackTemplate("persona")): Attack {
  return templatedAttack(t);
}
