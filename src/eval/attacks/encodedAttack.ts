// The shape shared by encoding attacks: the request encoded into a user-turn template's {encoded}, and the
// answer decoded before judging.
import type { Attack } from "./attack.js";
import { fill, replaceRequest, requestOf } from "./attack.js";
import { type AttackTemplate, required } from "./templates.js";

/** An attack whose user turn is `template.template` with {encoded} = encode(request); answers go through decode. */
export function encodedAttack(
  t: AttackTemplate,
  encode: (request: string) => string,
  decode: (answer: string) => string,
): Attack {
  const template = required(t, "template");
  return {
    name: t.attack,
    about: t.about,
    apply: (prompt) =>
      replaceRequest(prompt, [
        { role: "user", content: fill(template, { encoded: encode(requestOf(prompt, t.attack)) }, t.attack) },
      ]),
    decode,
  };
}
