// guard.yaml: which judge guards a served model's input and output, what each harm category leads to, and what
// happens when a guard itself fails. Errors are one line naming the file and the field.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import {
  ClassifierJudgeSpecSchema,
  KeywordsJudgeSpecSchema,
  LlmJudgeSpecSchema,
} from "../../eval/judges/judgeSpec.js";
import { ConfigError } from "../../util/configError.js";

/** A guard.yaml problem: one line naming the file and the field (a ConfigError, so the CLI prints it as is). */
export class GuardConfigError extends ConfigError {}

/** Short, and right for any category: it may stand in for an answer already half streamed. */
export const DEFAULT_REFUSAL =
  "I'm sorry, but I can't help with that request. I'm happy to help with something else.";

/**
 * The judges that can guard: the ones whose verdicts say safe or unsafe. (refusal reads whether an answer refuses,
 * reward and task score quality: none of them says whether text is harmful.)
 */
const GuardJudgeSchema = z.discriminatedUnion("kind", [
  KeywordsJudgeSpecSchema,
  ClassifierJudgeSpecSchema,
  LlmJudgeSpecSchema,
]);
export type GuardJudgeSpec = z.infer<typeof GuardJudgeSchema>;

const GUARD_JUDGE_KINDS = "keywords, classifier or llm";

/** What an unsafe verdict in a category leads to: refuse the request (or stop the stream), or answer and flag it. */
const ActionSchema = z.enum(["refuse", "flag"]);
export type PolicyAction = z.infer<typeof ActionSchema>;

const InputGuardSchema = z
  .object({
    /** The judge that reads the request's messages before anything is generated. */
    judge: GuardJudgeSchema,
    /**
     * conversation: the judge reads the messages as the prompt with no answer (Llama Guard classifies the user's
     * last turn). request (classifier only): a request classifier scores the last user message as the answer to
     * REQUEST_FRAME, the framing it was trained under (see requestClassifier.ts).
     */
    frame: z.enum(["conversation", "request"]).default("conversation"),
  })
  .strict()
  .superRefine((stage, ctx) => {
    if (stage.frame === "request" && stage.judge.kind !== "classifier")
      ctx.addIssue({
        code: "custom",
        path: ["frame"],
        message: `frame: request needs a classifier judge (a request classifier), not ${stage.judge.kind}`,
      });
    if (stage.judge.kind === "llm" && stage.judge.mode === "rubric")
      ctx.addIssue({
        code: "custom",
        path: ["judge", "mode"],
        message: "the rubric scores an answer, and an input guard has none: use mode llama-guard",
      });
  });

const OutputGuardSchema = z
  .object({
    /** The judge that reads the answer (with the request's messages as its prompt). */
    judge: GuardJudgeSchema,
    /** Streaming: check the answer so far every this many generated tokens, and once more at the end. */
    interval: z.number().int().positive().default(32),
  })
  .strict();

const PolicySchema = z
  .object({
    /** What an unsafe verdict leads to when its category is not listed below (and when the judge names none). */
    default: ActionSchema.default("refuse"),
    /**
     * Per category (a Llama Guard code such as S10, or a keywords judge's category name; case does not count).
     * An unsafe verdict is refused when any of its categories is, and flagged otherwise.
     */
    categories: z.record(z.string().min(1), ActionSchema).default({}),
  })
  .strict();

export const GuardFileSchema = z
  .object({
    /** The input guard; none when absent. */
    input: InputGuardSchema.optional(),
    /** The output guard; none when absent. */
    output: OutputGuardSchema.optional(),
    policy: PolicySchema.default({ default: "refuse", categories: {} }),
    /** The answer a refused request (or a stream stopped by the output guard) gets instead. */
    refusal: z.string().trim().min(1).default(DEFAULT_REFUSAL),
    /**
     * When a guard check itself fails (endpoint down, timeout, unusable verdict): closed refuses, open answers and
     * flags the decision with the error.
     */
    onError: z.enum(["closed", "open"]).default("closed"),
    /** The longest one guard check may take, in milliseconds; a slower check is a failure (see onError). */
    timeoutMs: z.number().int().positive().default(10_000),
    /**
     * llm judges: retries of a failed request within one check (each check is still bounded by timeoutMs). Few, so
     * that a judge endpoint that is down costs a request little latency.
     */
    retries: z.number().int().min(0).default(1),
  })
  .strict()
  .refine((file) => file.input !== undefined || file.output !== undefined, {
    message: "a guard file needs input, output or both",
  });

export type GuardConfig = z.infer<typeof GuardFileSchema>;
/** What a guard config may be written as in code: defaults filled in by parsing. */
export type GuardConfigInput = z.input<typeof GuardFileSchema>;

/** The zod issue as "field: message", with the judge kinds spelled out when the kind is wrong. */
function issueText(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "(top level): invalid";
  const field = issue.path.join(".") || "(top level)";
  const badKind =
    issue.code === "invalid_union" ||
    (issue.path.at(-1) === "kind" && issue.path.at(-2) === "judge" && issue.code !== "custom");
  return `${badKind && !field.endsWith(".kind") ? `${field}.kind` : field}: ${
    badKind ? `a guard's judge kind must be ${GUARD_JUDGE_KINDS}` : issue.message
  }`;
}

/** Validates a parsed guard document; `source` names it in errors. Paths stay as written. */
export function parseGuardConfig(raw: unknown, source: string): GuardConfig {
  const result = GuardFileSchema.safeParse(raw ?? {});
  if (!result.success) throw new GuardConfigError(`${source}: ${issueText(result.error.issues[0])}`);
  return result.data;
}

/** A config with its model paths resolved against `baseDir` (absolute paths stay as they are). */
export function resolveGuardPaths(config: GuardConfig, baseDir: string): GuardConfig {
  const judge = <J extends GuardJudgeSpec>(spec: J): J =>
    spec.kind === "classifier" ? { ...spec, model: resolve(baseDir, spec.model) } : spec;
  return {
    ...config,
    ...(config.input ? { input: { ...config.input, judge: judge(config.input.judge) } } : {}),
    ...(config.output ? { output: { ...config.output, judge: judge(config.output.judge) } } : {}),
  };
}

/** Reads and checks guard.yaml; relative paths in it (a classifier's model) are relative to its folder. */
export function loadGuardConfig(file: string): GuardConfig {
  if (!existsSync(file)) throw new GuardConfigError(`${file}: guard file not found`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new GuardConfigError(`${file}: not valid YAML (${(err as Error).message.split("\n")[0]})`);
  }
  return resolveGuardPaths(parseGuardConfig(raw, file), dirname(resolve(file)));
}
