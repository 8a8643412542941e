// The benchmarks safetune knows by name: the public sets of "Safe to Serve" and its neighbours, as laid out
// by their authors (paths relative to a data folder holding the original files).
import type { BenchmarkKind } from "../types.js";
import type { BenchmarkFields } from "./benchmarkSpec.js";

export interface BuiltinBenchmark extends BenchmarkFields {
  name: string;
  kind: BenchmarkKind;
  /** Path under the data folder. */
  path: string;
  where?: Record<string, string>;
  /** One line for --list-benchmarks: what it is and where it comes from. */
  about: string;
}

const STL = "safety-tuned-llamas/evaluation";
const stl = (name: string, kind: BenchmarkKind, about: string, category?: string): BuiltinBenchmark => ({
  name,
  kind,
  path: `${STL}/${name}.json`,
  prompt: "instructions",
  ...(category ? { category } : {}),
  about: `${about} (Safety-Tuned LLaMAs, Bianchi et al. 2023)`,
});

export const BUILTIN_BENCHMARKS: readonly BuiltinBenchmark[] = [
  stl("I-MaliciousInstructions", "harmful", "100 malicious instructions, tagged hate or crime", "tags"),
  stl("I-CoNa", "harmful", "178 hateful-speech instructions from the CoNa counter-narrative set"),
  stl("I-Controversial", "harmful", "40 instructions on controversial topics (stereotypes, discrimination)"),
  stl("I-PhysicalSafetyUnsafe", "harmful", "100 instructions whose literal answer endangers physical safety"),
  stl("Q-Harm", "harmful", "100 harmful questions from Anthropic's red-teaming data"),
  stl("I-PhysicalSafetySafe", "benign", "100 physical-safety instructions that should be answered"),
  stl("I-Alpaca", "benign", "50 ordinary Alpaca instructions (a control for over-refusal)"),
  {
    name: "XSTest-safe",
    kind: "benign",
    path: "xstest/xstest_prompts.csv",
    prompt: "prompt",
    id: "id",
    category: "type",
    where: { label: "safe" },
    about: "250 safe prompts that look unsafe, 10 types (XSTest, Röttger et al. 2024)",
  },
  {
    name: "XSTest-unsafe",
    kind: "harmful",
    path: "xstest/xstest_prompts.csv",
    prompt: "prompt",
    id: "id",
    category: "type",
    where: { label: "unsafe" },
    about: "200 unsafe contrast prompts of XSTest",
  },
  {
    name: "AdvBench",
    kind: "harmful",
    path: "advbench/harmful_behaviors.csv",
    prompt: "goal",
    about: "520 harmful behaviours (Zou et al. 2023)",
  },
  {
    name: "PKU-SafeRLHF-test",
    kind: "pairs",
    path: "pku-saferlhf/DPO_safe_rlhf_test_data.jsonl",
    prompt: "prompt",
    id: "id",
    chosen: "chosen",
    rejected: "rejected",
    about: "1,235 safe-vs-unsafe answer pairs, the held-out split of Safe to Serve (PKU-SafeRLHF)",
  },
  {
    name: "Alpaca-952",
    kind: "reference",
    path: "alpaca/alpaca_test_952_safe_to_serve.json",
    prompt: "instructions",
    input: "inputs",
    reference: "outputs",
    about: "952 held-out Alpaca instructions with reference answers (helpfulness in Safe to Serve)",
  },
];

/** The paper's evaluation: the Safety-Tuned LLaMAs sets, XSTest, and Alpaca helpfulness. */
export const PAPER_SUITE: readonly string[] = [
  "I-MaliciousInstructions",
  "I-CoNa",
  "I-Controversial",
  "I-PhysicalSafetyUnsafe",
  "Q-Harm",
  "I-PhysicalSafetySafe",
  "I-Alpaca",
  "XSTest-safe",
  "XSTest-unsafe",
  "Alpaca-952",
];

export function builtinBenchmark(name: string): BuiltinBenchmark | undefined {
  const lower = name.toLowerCase();
  return BUILTIN_BENCHMARKS.find((b) => b.name.toLowerCase() === lower);
}
