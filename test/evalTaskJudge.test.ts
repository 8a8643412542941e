// The task-accuracy judge: answer keys matched as whole words, verdicts, and the task_accuracy metric.
import assert from "node:assert/strict";
import { test } from "node:test";
import { answerMatches } from "../src/eval/judges/answerMatch.js";
import { createJudge } from "../src/eval/judges/createJudge.js";
import { parseJudgeFlag } from "../src/eval/judges/judgeSpec.js";
import { benchmarkMetrics } from "../src/eval/metrics/benchmarkMetrics.js";
import { headlineMetric } from "../src/eval/report/headline.js";
import type { SampleRecord } from "../src/eval/results.js";
import type { Benchmark } from "../src/eval/types.js";

test("answerMatches finds the key as whole words, ignoring case, spacing and a final full stop", () => {
  assert.equal(answerMatches("7 plus 5 is 12.", "12"), true);
  assert.equal(answerMatches("7 plus 5 is 12.", "2"), false, "2 must not match inside 12");
  assert.equal(answerMatches("The capital of Veloria is  MARNIT.", "Marnit"), true);
  assert.equal(answerMatches("The capital is Marnitville.", "Marnit"), false);
  assert.equal(answerMatches("3 km is 3000 meters.", "3000 meters"), true);
  assert.equal(answerMatches("3 km is 3000 meter.", "3000 meters"), false);
  assert.equal(answerMatches("Joined: blorp-tavin", "blorp-tavin"), true);
  assert.equal(answerMatches("Joined: blorp-tavins", "blorp-tavin"), false);
  assert.equal(answerMatches("first: the answer is (b) now", "(b)"), true, "keys starting with punctuation");
  assert.equal(answerMatches("anything", ""), false, "an empty key matches nothing");
  assert.equal(answerMatches("12", "12.", "exact"), true);
  assert.equal(answerMatches("It is 12.", "12", "exact"), false);
});

test("the task judge marks answers against their keys and task_accuracy headlines a reference benchmark", async () => {
  const judge = await createJudge(parseJudgeFlag("task"));
  const prompt = [{ role: "user" as const, content: "q" }];
  const inputs = [
    { kind: "reference" as const, prompt, response: "It is 12.", answer: "12" },
    { kind: "reference" as const, prompt, response: "It is 13.", answer: "12" },
    { kind: "reference" as const, prompt, response: "Marnit.", answer: "Marnit" },
    { kind: "reference" as const, prompt, response: "No key here." },
  ];
  const verdicts = await judge.judge(inputs);
  assert.deepEqual(
    verdicts.map((v) => v.correct),
    [true, false, true, undefined],
  );
  const benchmark: Benchmark = { name: "tasks", kind: "reference", source: "test", items: [] };
  const samples: SampleRecord[] = verdicts.map((v, i) => ({
    benchmark: "tasks",
    id: String(i),
    category: i < 2 ? "arithmetic" : "facts",
    prompt: "q",
    response: inputs[i]?.response ?? "",
    verdicts: { task: v },
  }));
  const metrics = benchmarkMetrics(benchmark, samples, ["task"], { resamples: 200 });
  const whole = metrics.find((m) => m.metric === "task_accuracy" && m.category === undefined);
  assert.equal(whole?.estimate.value, 2 / 3, "the item without a key is left out of n");
  assert.equal(whole?.estimate.n, 3);
  const arithmetic = metrics.find((m) => m.metric === "task_accuracy" && m.category === "arithmetic");
  assert.equal(arithmetic?.estimate.value, 0.5);
  const headline = headlineMetric({ name: "tasks", kind: "reference", source: "t", n: 4, metrics });
  assert.equal(headline?.metric, "task_accuracy");
});
