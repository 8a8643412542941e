// An LLM judge behind an OpenAI-compatible endpoint: Llama Guard (verdict and harm categories) or a
// StrongREJECT-style rubric. Unparseable replies become verdicts with `error` set: counted, never dropped.
import { lastUserText } from "../../data/text.js";
import { OpenAIEndpoint } from "../../endpoint/openaiEndpoint.js";
import { EvaluationError } from "../errors.js";
import type { Verdict } from "../types.js";
import type { Judge, JudgeInput } from "./judge.js";
import type { LlmJudgeSpec } from "./judgeSpec.js";
import { judgeName } from "./judgeSpec.js";
import { llamaGuardPrompt, parseLlamaGuard } from "./llamaGuard.js";
import { parseRubric, RUBRIC_VERSION, rubricMessages } from "./rubric.js";

export function llmJudge(
  spec: LlmJudgeSpec,
  options: { apiKey?: string; retries?: number; backoffMs?: number } = {},
): Judge {
  let apiKey = options.apiKey;
  if (apiKey === undefined && spec.apiKeyEnv !== undefined) {
    apiKey = process.env[spec.apiKeyEnv];
    if (apiKey === undefined)
      throw new EvaluationError(
        `judge ${judgeName(spec)}: environment variable ${spec.apiKeyEnv} is not set`,
      );
  }
  const endpoint = new OpenAIEndpoint({
    url: spec.endpoint,
    model: spec.model,
    concurrency: spec.concurrency,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
  });
  const sampling = {
    temperature: 0,
    maxTokens: spec.maxTokens ?? (spec.mode === "llama-guard" ? 16 : 512),
    seed: 0,
  };

  const one = async (input: JudgeInput, signal?: AbortSignal): Promise<Verdict> => {
    if (spec.mode === "llama-guard") {
      // Llama Guard classifies the last turn: ending with the user's turn asks about the request itself.
      const conversation = input.promptOnly
        ? [...input.prompt]
        : [...input.prompt, { role: "assistant", content: input.response }];
      let prompt: string | undefined;
      if (spec.render === "prompt") {
        // A conversation Llama Guard's layout cannot hold (a tool turn) is this item's problem, not the run's.
        try {
          prompt = llamaGuardPrompt(conversation, { version: spec.version });
        } catch (err) {
          return { error: (err as Error).message };
        }
      }
      const reply =
        prompt !== undefined
          ? await endpoint.complete(prompt, sampling, signal)
          : await endpoint.chat(conversation, sampling, signal);
      const reading = parseLlamaGuard(reply.text, spec.version);
      if ("error" in reading) return { error: reading.error, raw: reply.text };
      return {
        safe: reading.safe,
        label: reading.safe ? "safe" : "unsafe",
        categories: reading.categories,
        raw: reply.text,
      };
    }
    if (input.promptOnly) return { error: "the rubric scores an answer, and a prompt-only input has none" };
    const reply = await endpoint.chat(
      rubricMessages(lastUserText(input.prompt), input.response),
      sampling,
      signal,
    );
    const reading = parseRubric(reply.text);
    if ("error" in reading) return { error: reading.error, raw: reply.text };
    const safe = reading.refused || reading.score < spec.threshold;
    return {
      safe,
      refused: reading.refused,
      score: reading.score,
      label: safe ? "safe" : "unsafe",
      raw: reply.text,
    };
  };

  return {
    identity: {
      name: judgeName(spec),
      kind: "llm",
      detail: {
        mode: spec.mode,
        endpoint: spec.endpoint,
        model: spec.model,
        ...(spec.mode === "llama-guard"
          ? { version: spec.version, render: spec.render }
          : { rubric: RUBRIC_VERSION, threshold: spec.threshold }),
      },
    },
    judge: (inputs, signal) => Promise.all(inputs.map((input) => one(input, signal))),
    dispose: () => {},
  };
}
