// What the dashboard shows of a run's judge agreement, as JSON: the pooled pairs from results.json, then per
// benchmark each pair's kappa, raw agreement and n and the answers the judges read differently, with numbers and
// sentences already written the way the reports write them (the browser never re-implements them).
import {
  type BenchmarkDisagreements,
  benchmarkDisagreements,
  type JudgeVerdictText,
} from "../../eval/metrics/judgeDisagreements.js";
import { agreementCells, disagreementCount, readingName } from "../../eval/report/markdown.js";
import type { EvalResults, JudgeAgreement, SampleRecord } from "../../eval/results.js";
import type { VerdictTone } from "./sampleQuery.js";

export interface PairView extends JudgeAgreement {
  kappaText: string;
  agreementText: string;
}

export interface DisagreementView {
  id: string;
  category: string | null;
  prompt: string;
  response: string;
  verdicts: (JudgeVerdictText & { tone: VerdictTone })[];
}

export interface BenchmarkAgreementView {
  benchmark: string;
  kind: BenchmarkDisagreements["kind"];
  on: BenchmarkDisagreements["on"];
  /** "safe/unsafe" or "refused/answered". */
  reading: string;
  judges: string[];
  pairs: PairView[];
  compared: number;
  disagreeing: number;
  /** "3 of 120 answers read differently (the first 50 listed)." */
  summary: string;
  items: DisagreementView[];
}

export interface AgreementView {
  pooled: PairView[];
  limit: number;
  benchmarks: BenchmarkAgreementView[];
}

function pairView(a: JudgeAgreement): PairView {
  const [kappaText, agreementText] = agreementCells(a);
  return { ...a, kappaText, agreementText };
}

function tone(on: BenchmarkDisagreements["on"], v: JudgeVerdictText): VerdictTone {
  if (v.value === null) return v.text.startsWith("unparsed") ? "error" : "neutral";
  return on === "safe" ? (v.value ? "safe" : "unsafe") : v.value ? "refused" : "answered";
}

export function agreementView(
  results: EvalResults,
  samples: readonly SampleRecord[],
  limit: number,
): AgreementView {
  const judges = results.judges.map((j) => j.name);
  return {
    pooled: results.agreements.map(pairView),
    limit,
    benchmarks: benchmarkDisagreements(results.benchmarks, samples, judges, { limit }).map((d) => ({
      benchmark: d.benchmark,
      kind: d.kind,
      on: d.on,
      reading: readingName(d.on),
      judges: d.judges,
      pairs: d.agreements.map(pairView),
      compared: d.compared,
      disagreeing: d.disagreeing,
      summary: disagreementCount(d),
      items: d.items.map((item) => ({
        id: item.id,
        category: item.category ?? null,
        prompt: item.prompt,
        response: item.response,
        verdicts: item.verdicts.map((v) => ({ ...v, tone: tone(d.on, v) })),
      })),
    })),
  };
}
