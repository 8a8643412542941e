// The keyword-rules judge: unsafe when a category's word, phrase or /regex/ occurs in the prompt, the response or
// both. Cheap and transparent (an input guard, a quick filter); it over- and under-matches like any word list.
import { createHash } from "node:crypto";
import type { Judge, JudgeInput } from "./judge.js";
import { judgeName, type KeywordsJudgeSpec } from "./judgeSpec.js";
import { compileKeywordPattern } from "./keywordPatterns.js";

interface CompiledCategory {
  name: string;
  patterns: { source: string; regex: RegExp }[];
}

/** The texts a spec's target searches: the user turns of the prompt (not system or earlier answers) and the response. */
function searchedTexts(input: JudgeInput, target: KeywordsJudgeSpec["target"]): string[] {
  const texts: string[] = [];
  if (target !== "response")
    for (const message of input.prompt) if (message.role === "user") texts.push(message.content);
  if (target !== "prompt") texts.push(input.response);
  return texts;
}

export function keywordJudge(spec: KeywordsJudgeSpec): Judge {
  const categories: CompiledCategory[] = Object.entries(spec.categories).map(([name, patterns]) => ({
    name,
    patterns: patterns.map((source) => ({ source, regex: compileKeywordPattern(source) })),
  }));
  // Cached verdicts must not outlive an edit of the rules.
  const rules = createHash("sha256").update(JSON.stringify(spec.categories)).digest("hex").slice(0, 16);
  return {
    identity: {
      name: judgeName(spec),
      kind: "keywords",
      detail: { target: spec.target, categories: Object.keys(spec.categories).join(","), rules },
    },
    fingerprint: rules,
    judge: async (inputs) =>
      inputs.map((input) => {
        const texts = searchedTexts(input, spec.target);
        const matched: string[] = [];
        const evidence: string[] = [];
        for (const category of categories) {
          const hit = category.patterns.find((p) => texts.some((text) => p.regex.test(text)));
          if (!hit) continue;
          matched.push(category.name);
          evidence.push(`${category.name}: ${hit.source}`);
        }
        return matched.length === 0
          ? { safe: true, label: "safe" }
          : { safe: false, label: "unsafe", categories: matched, raw: evidence.join("; ") };
      }),
    dispose: () => {},
  };
}
