// The safety guards of `safetune serve`: an input guard on the request's messages before generation and an output
// guard on the answer (the text so far, while streaming). Each check asks an evaluation judge, maps an unsafe
// verdict's categories to refuse or flag by the policy, bounds the judge by a timeout, and logs its decision.
import type { ChatMessage } from "../../data/records.js";
import { createJudge } from "../../eval/judges/createJudge.js";
import type { Judge, JudgeInput } from "../../eval/judges/judge.js";
import { judgeName } from "../../eval/judges/judgeSpec.js";
import { llmJudge } from "../../eval/judges/llmJudge.js";
import type { Verdict } from "../../eval/types.js";
import {
  type GuardConfig,
  GuardConfigError,
  type GuardConfigInput,
  type GuardJudgeSpec,
  loadGuardConfig,
  type PolicyAction,
  parseGuardConfig,
  resolveGuardPaths,
} from "./guardConfig.js";
import { requestJudgeInput } from "./requestClassifier.js";

export type GuardStage = "input" | "output";

export interface GuardDecision {
  stage: GuardStage;
  action: "allow" | "refuse" | "flag";
  /** The category that decided (judge's first category, or "unsafe" when the judge names none); absent on allow. */
  category?: string;
  /** The judge's score when it has one (a classifier's cost, ...). */
  score?: number;
  /** Judge name. */
  judge: string;
  /** The configured refusal message, on refuse. */
  message?: string;
  /** Set when the judge itself failed and onError decided. */
  error?: string;
  /** Milliseconds the check took. */
  ms: number;
}

export type GuardLog = (decision: GuardDecision & { requestId?: string }) => void;

export interface GuardOptions {
  /** Where relative paths in the config (a classifier's model) start (default: the working directory). */
  baseDir?: string;
  /** Receives every decision (the server writes them as JSON lines). */
  log?: GuardLog;
}

export interface Guard {
  readonly hasInput: boolean;
  readonly hasOutput: boolean;
  /** Tokens between output checks while streaming. */
  readonly streamInterval: number;
  /**
   * Judges the request before generation. Without an input guard: allow (not logged). Rejects only when `signal`
   * aborts (the client went away); every judge failure is a decision by onError.
   */
  checkInput(messages: ChatMessage[], signal?: AbortSignal, requestId?: string): Promise<GuardDecision>;
  /** Judges the answer (or the text so far) to `messages`; as checkInput otherwise. */
  checkOutput(
    messages: ChatMessage[],
    answer: string,
    signal?: AbortSignal,
    requestId?: string,
  ): Promise<GuardDecision>;
  dispose(): void;
}

/** One stage's judge, built the way a guard needs it (llm judges with the config's few retries). */
async function buildJudge(spec: GuardJudgeSpec, config: GuardConfig): Promise<Judge> {
  return spec.kind === "llm" ? llmJudge(spec, { retries: config.retries }) : createJudge(spec);
}

/** Whether `signal` aborted; read through a function so that TypeScript does not narrow it across awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** The judge's verdict on one input within `timeoutMs`; the judge sees an abort signal for either limit. */
async function verdictWithin(
  judge: Judge,
  input: JudgeInput,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Verdict> {
  signal?.throwIfAborted();
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", onCallerAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    const fail = () => reject(controller.signal.reason);
    controller.signal.addEventListener("abort", fail, { once: true });
    timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const verdicts = await Promise.race([judge.judge([input], controller.signal), limit]);
    const verdict = verdicts[0];
    if (verdict === undefined) throw new Error("the judge returned no verdict");
    return verdict;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onCallerAbort);
  }
}

function messageOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** A guard from a parsed (or literal) config. Judges are built now: a missing model fails here, not per request. */
export async function createGuard(
  config: GuardConfig | GuardConfigInput,
  options: GuardOptions = {},
  source = "guard config",
): Promise<Guard> {
  const parsed = resolveGuardPaths(parseGuardConfig(config, source), options.baseDir ?? process.cwd());
  const policy = new Map(Object.entries(parsed.policy.categories).map(([k, v]) => [k.toLowerCase(), v]));
  const actionFor = (category: string): PolicyAction =>
    policy.get(category.toLowerCase()) ?? parsed.policy.default;

  const judges: Partial<Record<GuardStage, { judge: Judge; name: string }>> = {};
  try {
    for (const stage of ["input", "output"] as const) {
      const spec = parsed[stage]?.judge;
      if (!spec) continue;
      try {
        judges[stage] = { judge: await buildJudge(spec, parsed), name: judgeName(spec) };
      } catch (err) {
        throw new GuardConfigError(`${source}: ${stage}.judge: ${messageOf(err)}`);
      }
    }
  } catch (err) {
    for (const built of Object.values(judges)) built?.judge.dispose();
    throw err;
  }

  /** The decision an unsafe verdict leads to: refused when any of its categories is, else flagged. */
  const unsafeDecision = (stage: GuardStage, verdict: Verdict, judge: string): Omit<GuardDecision, "ms"> => {
    const categories = verdict.categories?.length ? verdict.categories : ["unsafe"];
    const refusing = categories.find((c) => actionFor(c) === "refuse");
    const score = typeof verdict.score === "number" ? { score: verdict.score } : {};
    return refusing !== undefined
      ? { stage, action: "refuse", category: refusing, ...score, judge, message: parsed.refusal }
      : { stage, action: "flag", category: categories[0] as string, ...score, judge };
  };

  /** What onError makes of a failed check. */
  const failureDecision = (stage: GuardStage, judge: string, error: string): Omit<GuardDecision, "ms"> =>
    parsed.onError === "closed"
      ? { stage, action: "refuse", judge, message: parsed.refusal, error }
      : { stage, action: "flag", judge, error };

  const check = async (
    stage: GuardStage,
    input: JudgeInput,
    signal: AbortSignal | undefined,
    requestId: string | undefined,
  ): Promise<GuardDecision> => {
    const built = judges[stage];
    if (!built) return { stage, action: "allow", judge: "none", ms: 0 };
    const started = performance.now();
    let decision: Omit<GuardDecision, "ms">;
    try {
      const verdict = await verdictWithin(built.judge, input, parsed.timeoutMs, signal);
      if (verdict.error !== undefined) decision = failureDecision(stage, built.name, verdict.error);
      else if (verdict.safe === undefined)
        decision = failureDecision(stage, built.name, "the judge gave no safe/unsafe verdict");
      else if (verdict.safe)
        decision = {
          stage,
          action: "allow",
          ...(typeof verdict.score === "number" ? { score: verdict.score } : {}),
          judge: built.name,
        };
      else decision = unsafeDecision(stage, verdict, built.name);
    } catch (err) {
      // The client went away: there is nothing left to decide for.
      if (aborted(signal)) throw signal?.reason;
      decision = failureDecision(stage, built.name, messageOf(err));
    }
    const done: GuardDecision = { ...decision, ms: Math.round((performance.now() - started) * 10) / 10 };
    options.log?.(requestId === undefined ? done : { ...done, requestId });
    return done;
  };

  return {
    hasInput: judges.input !== undefined,
    hasOutput: judges.output !== undefined,
    streamInterval: parsed.output?.interval ?? 32,
    checkInput: (messages, signal, requestId) =>
      check(
        "input",
        parsed.input?.frame === "request"
          ? requestJudgeInput(messages)
          : { kind: "harmful", prompt: messages, response: "", promptOnly: true },
        signal,
        requestId,
      ),
    checkOutput: (messages, answer, signal, requestId) =>
      check("output", { kind: "harmful", prompt: messages, response: answer }, signal, requestId),
    dispose: () => {
      for (const built of Object.values(judges)) built?.judge.dispose();
    },
  };
}

/** A guard from guard.yaml: paths in it are relative to its folder, and errors name it. */
export async function loadGuard(file: string, options: Omit<GuardOptions, "baseDir"> = {}): Promise<Guard> {
  return createGuard(loadGuardConfig(file), options, file);
}
