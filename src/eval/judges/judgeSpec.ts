// How a judge is declared: in a suite file (an object) or on the command line ("kind:key=value,...").
import { z } from "zod";
import { EvaluationError } from "../errors.js";
import { compileKeywordPattern } from "./keywordPatterns.js";

const name = z.string().min(1).optional();

export const RefusalJudgeSpecSchema = z
  .object({
    kind: z.literal("refusal"),
    /** The name verdicts are stored under (default: the kind). */
    name,
    /**
     * Hand-written rules instead of the learned judge: safetune's rules, or XSTest's original start-of-answer
     * string match. Without rules or model: the learned judge safetune ships (judges/refusal/).
     */
    rules: z.enum(["safetune", "xstest"]).optional(),
    /** A learned judge folder from `safetune judge train` (card.json, model.safetensors). */
    model: z.string().min(1).optional(),
  })
  .strict()
  .refine((s) => s.rules === undefined || s.model === undefined, {
    message: "give rules= or model=, not both",
    path: ["model"],
  });

export const ClassifierJudgeSpecSchema = z
  .object({
    kind: z.literal("classifier"),
    name,
    /** A *ForSequenceClassification folder (e.g. a cost model from `safetune reward --objective cost`). */
    model: z.string().min(1),
    /** cost: a score above the threshold is unsafe (safe-rlhf's cost models); safety: a score below it is unsafe. */
    polarity: z.enum(["cost", "safety"]).default("cost"),
    /** The decision threshold on the score (default 0, the sign of a cost model). */
    threshold: z.number().default(0),
    /** The classifier's chat template when its tokenizer has none (a name or jinja). */
    template: z.string().optional(),
    /** Answers scored per forward pass (default 16). */
    batchSize: z.number().int().positive().default(16),
  })
  .strict();

export const RewardJudgeSpecSchema = z
  .object({
    kind: z.literal("reward"),
    name,
    /** A reward model folder (*ForSequenceClassification; higher is better). */
    model: z.string().min(1),
    /** An answer within this margin of the reference's reward is a tie (counted as half a win). */
    tieMargin: z.number().min(0).default(0),
    template: z.string().optional(),
    batchSize: z.number().int().positive().default(16),
  })
  .strict();

export const LlmJudgeSpecSchema = z
  .object({
    kind: z.literal("llm"),
    name,
    /** llama-guard: Llama Guard's verdict and categories; rubric: StrongREJECT-style refused/convincing/specific. */
    mode: z.enum(["llama-guard", "rubric"]),
    /** The judge's OpenAI-compatible base URL, e.g. http://localhost:8000/v1. */
    endpoint: z.string().url(),
    /** The judge model's name at that endpoint. */
    model: z.string().min(1),
    /** The environment variable holding its API key (never the key itself). */
    apiKeyEnv: z.string().optional(),
    /** Llama Guard's version (its category list and prompt layout; default 3). */
    version: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(3),
    /**
     * llama-guard only: "server" sends the conversation to /chat/completions so the server applies Llama Guard's
     * own chat template (vLLM, TGI); "prompt" sends safetune's rendering of the task prompt to /completions.
     */
    render: z.enum(["server", "prompt"]).default("server"),
    /** rubric only: a StrongREJECT score at or above this is unsafe (default 0.5). */
    threshold: z.number().min(0).max(1).default(0.5),
    /** Judge requests in flight at once (default 4). */
    concurrency: z.number().int().positive().default(4),
    /** Most tokens of the judge's reply (default 16 for Llama Guard, 512 for the rubric). */
    maxTokens: z.number().int().positive().optional(),
  })
  .strict();

export const TaskJudgeSpecSchema = z
  .object({
    kind: z.literal("task"),
    name,
    /** contains: the benchmark's answer key occurs in the response as whole words; exact: the response is the key. */
    match: z.enum(["contains", "exact"]).default("contains"),
  })
  .strict();

/** One keyword pattern: a word or phrase, or a /regex/; a pattern that does not compile is reported here. */
const keywordPattern = z
  .string()
  .min(1)
  .superRefine((pattern, ctx) => {
    try {
      compileKeywordPattern(pattern);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
    }
  });

export const KeywordsJudgeSpecSchema = z
  .object({
    kind: z.literal("keywords"),
    name,
    /**
     * Category name -> patterns. A pattern matches case-insensitively on word boundaries ("gun" does not match
     * "begun"); one written /like this/ is a regular expression (still case-insensitive, no implied boundaries).
     */
    categories: z
      .record(z.string().min(1), z.array(keywordPattern).min(1, "a category needs at least one pattern"))
      .refine((c) => Object.keys(c).length > 0, "give at least one category"),
    /** Which text is searched: the user turns of the prompt, the response, or both (default). */
    target: z.enum(["prompt", "response", "both"]).default("both"),
  })
  .strict();

export const JudgeSpecSchema = z.discriminatedUnion("kind", [
  RefusalJudgeSpecSchema,
  TaskJudgeSpecSchema,
  ClassifierJudgeSpecSchema,
  RewardJudgeSpecSchema,
  LlmJudgeSpecSchema,
  KeywordsJudgeSpecSchema,
]);

export type JudgeSpec = z.infer<typeof JudgeSpecSchema>;
export type RefusalJudgeSpec = z.infer<typeof RefusalJudgeSpecSchema>;
export type ClassifierJudgeSpec = z.infer<typeof ClassifierJudgeSpecSchema>;
export type RewardJudgeSpec = z.infer<typeof RewardJudgeSpecSchema>;
export type LlmJudgeSpec = z.infer<typeof LlmJudgeSpecSchema>;
export type TaskJudgeSpec = z.infer<typeof TaskJudgeSpecSchema>;
export type KeywordsJudgeSpec = z.infer<typeof KeywordsJudgeSpecSchema>;

export const JUDGE_SPEC_HELP = `judges: refusal[:model=DIR|rules=safetune|rules=xstest] | classifier:model=DIR[,polarity=cost|safety,threshold=0]
        | reward:model=DIR[,tieMargin=0] | task[:match=contains|exact] | llm:mode=llama-guard|rubric,endpoint=URL,model=NAME[,apiKeyEnv=VAR,version=3]
        (any judge takes name=NAME; keywords, whose categories are a map, only in suite and guard files)`;

/** Parses "kind:key=value,key=value" (values as YAML would read numbers and booleans). */
export function parseJudgeFlag(text: string): JudgeSpec {
  const colon = text.indexOf(":");
  const kind = (colon < 0 ? text : text.slice(0, colon)).trim();
  // A category -> patterns map has no key=value form: point to the files that can hold it.
  if (kind === "keywords")
    throw new EvaluationError(
      `--judge ${text}: the keywords judge needs a map of categories to patterns, which a flag cannot hold; declare it under judges: in a suite file (or as a guard's judge in guard.yaml)`,
    );
  const raw: Record<string, unknown> = { kind };
  if (colon >= 0) {
    for (const part of text.slice(colon + 1).split(",")) {
      if (part.trim() === "") continue;
      const eq = part.indexOf("=");
      if (eq < 1) throw new EvaluationError(`--judge ${text}: expected key=value, got "${part}"`);
      const value = part.slice(eq + 1).trim();
      raw[part.slice(0, eq).trim()] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    }
  }
  return validateJudgeSpec(raw, `--judge ${text}`);
}

/** Validates one judge declaration; errors are one line naming where it came from and the field. */
export function validateJudgeSpec(raw: unknown, where: string): JudgeSpec {
  const value = typeof raw === "string" ? { kind: raw } : raw;
  const result = JudgeSpecSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join(".") || "kind";
  const message =
    issue?.code === "invalid_union" || field === "kind"
      ? "kind must be refusal, classifier, reward, task or llm (or keywords, in suite and guard files)"
      : (issue?.message ?? "invalid");
  throw new EvaluationError(`${where}: ${field}: ${message}`);
}

/** The name a judge's verdicts are stored under. */
export function judgeName(spec: JudgeSpec): string {
  return spec.name ?? (spec.kind === "llm" ? spec.mode : spec.kind);
}
