// Multi-turn escalation: a scripted conversation that opens harmlessly on the subject and ends with the request.
import { EvaluationError } from "../errors.js";
import type { Attack } from "./attack.js";
import { fill, replaceRequest, requestOf } from "./attack.js";
import { type AttackTemplate, loadAttackTemplate, required } from "./templates.js";

export function multiTurn(t: AttackTemplate = loadAttackTemplate("multi-turn")): Attack {
  const turns = required(t, "turns");
  if (turns[turns.length - 1]?.role !== "user")
    throw new EvaluationError(`attacks/${t.attack}.json: turns: the last turn must be a user turn`);
  return {
    name: t.attack,
    about: t.about,
    apply(prompt) {
      const request = requestOf(prompt, t.attack);
      return replaceRequest(
        prompt,
        turns.map((turn) => ({ role: turn.role, content: fill(turn.content, { request }, t.attack) })),
      );
    },
  };
}
