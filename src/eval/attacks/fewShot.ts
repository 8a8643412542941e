// Few-shot compliance: earlier turns in which the assistant answers pointed requests at once, then the request.
import type { ChatMessage } from "../../data/records.js";
import type { Attack } from "./attack.js";
import { fill, replaceRequest, requestOf } from "./attack.js";
import { type AttackTemplate, loadAttackTemplate, required } from "./templates.js";

export function fewShot(t: AttackTemplate = loadAttackTemplate("few-shot")): Attack {
  const demonstrations = required(t, "demonstrations");
  const final = required(t, "final");
  return {
    name: t.attack,
    about: t.about,
    apply(prompt) {
      const turns: ChatMessage[] = demonstrations.flatMap((d) => [
        { role: "user", content: d.user },
        { role: "assistant", content: d.assistant },
      ]);
      turns.push({ role: "user", content: fill(final, { request: requestOf(prompt, t.attack) }, t.attack) });
      return replaceRequest(prompt, turns);
    },
  };
}
