// The shape shared by wrapper attacks: the request placed into one user-turn template.
import type { Attack } from "./attack.js";
import { fill, replaceRequest, requestOf } from "./attack.js";
import { type AttackTemplate, required } from "./templates.js";

/** An attack whose user turn is `template.template` with {request} filled in. */
export function templatedAttack(t: AttackTemplate): Attack {
  const template = required(t, "template");
  return {
    name: t.attack,
    about: t.about,
    apply: (prompt) =>
      replaceRequest(prompt, [
        { role: "user", content: fill(template, { request: requestOf(prompt, t.attack) }, t.attack) },
      ]),
  };
}
