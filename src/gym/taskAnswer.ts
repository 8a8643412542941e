// Whether a response gives a task's answer key. The same rule as the evaluation's task judge (whole words,
// any case and spacing), so that the world's reference answers pass exactly the check models are scored by.
import { answerMatches } from "../eval/judges/answerMatch.js";

/** The key occurs in the response on word boundaries, ignoring case and spacing ("2" does not match "12"). */
export function taskAnswerCorrect(response: string, answer: string): boolean {
  return answerMatches(response, answer, "contains");
}
