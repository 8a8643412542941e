// The text judges read for an answer: decoded when the prompt's attack has a decoder, else the answer itself.
import { findAttack } from "./registry.js";

export function judgedText(attack: string | undefined, answer: string): string {
  if (attack === undefined) return answer;
  const decode = findAttack(attack)?.decode;
  return decode ? decode(answer) : answer;
}
