// Robustness of two runs compared attack by attack: the attack success rate (ASR) of each run and the
// difference B − A with its interval, paired by prompt where both runs attacked the same prompts (McNemar's
// test on the prompts only one run was broken on), otherwise two independent rates. Rows: each attack both
// runs made, the direct requests, and the worst case per prompt ("any attack").

import type { BootstrapOptions } from "../metrics/bootstrap.js";
import { type McNemarResult, mcnemarTest } from "../metrics/mcnemar.js";
import { pairedDifference } from "../metrics/pairedDifference.js";
import { independentRateDifference } from "../metrics/rateDifference.js";
import type { Estimate } from "../types.js";
import { ANY_ATTACK, type AttackSample, DIRECT, worstCaseSamples } from "./attackMetrics.js";

export interface AttackDifference {
  /** An attack's name, DIRECT or ANY_ATTACK. */
  attack: string;
  /** true: over the prompts both runs attacked (and the judge read in both); false: the runs share none. */
  paired: boolean;
  /** Prompts compared: the shared ones when paired, else each run's own. */
  nA: number;
  nB: number;
  /** Each run's ASR over those prompts. */
  rateA: number;
  rateB: number;
  /** rateB − rateA: paired bootstrap interval when paired, independent resampling otherwise. */
  difference: Estimate;
  /** Paired only: prompts broken in only one run, and McNemar's test on them. */
  mcnemar?: McNemarResult;
}

export interface AttackComparison {
  metric: "attack_success_rate";
  /** The judge whose safe/unsafe reading decides success in both runs. */
  judge: string;
  rows: AttackDifference[];
}

/** Success (unsafe) per prompt of a set of samples, keyed by (attacked benchmark, id); unread ones left out. */
function outcomesByPrompt(samples: readonly AttackSample[], judge: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const s of samples) {
    const v = s.verdicts[judge];
    if (!v || v.error !== undefined || v.safe === undefined) continue;
    out.set(JSON.stringify([s.attackedBenchmark ?? s.benchmark, s.id]), !v.safe);
  }
  return out;
}

/** The samples behind each row of a run: every attack's, the direct requests of attacked benchmarks, the worst case. */
function rowSamples(samples: readonly AttackSample[], judge: string): Map<string, AttackSample[]> {
  const attacked = samples.filter((s) => s.attack !== undefined);
  const rows = new Map<string, AttackSample[]>();
  for (const s of attacked) {
    const list = rows.get(s.attack as string) ?? [];
    list.push(s);
    rows.set(s.attack as string, list);
  }
  const targets = new Set(attacked.map((s) => s.attackedBenchmark));
  rows.set(
    DIRECT,
    samples.filter((s) => s.attack === undefined && targets.has(s.benchmark)),
  );
  rows.set(ANY_ATTACK, worstCaseSamples(attacked, judge));
  return rows;
}

/** One row: paired over the shared prompts when there are any, else two independent rates. */
export function attackDifference(
  attack: string,
  a: ReadonlyMap<string, boolean>,
  b: ReadonlyMap<string, boolean>,
  options: BootstrapOptions = {},
): AttackDifference | undefined {
  if (a.size === 0 || b.size === 0) return undefined;
  const shared = [...b.keys()].filter((k) => a.has(k));
  const rate = (xs: readonly boolean[]) => xs.filter(Boolean).length / xs.length;
  if (shared.length > 0) {
    const xa = shared.map((k) => a.get(k) as boolean);
    const xb = shared.map((k) => b.get(k) as boolean);
    return {
      attack,
      paired: true,
      nA: shared.length,
      nB: shared.length,
      rateA: rate(xa),
      rateB: rate(xb),
      difference: pairedDifference(
        xa.map((x) => (x ? 1 : 0)),
        xb.map((x) => (x ? 1 : 0)),
        options,
      ),
      mcnemar: mcnemarTest(xa, xb),
    };
  }
  const xa = [...a.values()];
  const xb = [...b.values()];
  return {
    attack,
    paired: false,
    nA: xa.length,
    nB: xb.length,
    rateA: rate(xa),
    rateB: rate(xb),
    difference: independentRateDifference(xa, xb, options),
  };
}

/**
 * The two runs' robustness compared under `judge` (which both runs must have judged with): one row per attack
 * both runs made (in B's order), then the direct requests, and the worst case when both runs made the same
 * attacks (over different sets it would measure different things). Undefined
 * when either run attacked nothing the judge read.
 */
export function compareAttacks(
  a: readonly AttackSample[],
  b: readonly AttackSample[],
  judge: string,
  options: BootstrapOptions = {},
): AttackComparison | undefined {
  const rowsA = rowSamples(a, judge);
  const rowsB = rowSamples(b, judge);
  const attacksOf = (rows: Map<string, AttackSample[]>) =>
    [...rows.keys()]
      .filter((k) => k !== DIRECT && k !== ANY_ATTACK)
      .sort()
      .join("\u0000");
  // The worst case over different sets of attacks measures different things: compared only over the same set.
  const sameAttacks = attacksOf(rowsA) === attacksOf(rowsB);
  const rows: AttackDifference[] = [];
  for (const [attack, samplesB] of rowsB) {
    const samplesA = rowsA.get(attack);
    if (!samplesA || (attack === ANY_ATTACK && !sameAttacks)) continue;
    const row = attackDifference(
      attack,
      outcomesByPrompt(samplesA, judge),
      outcomesByPrompt(samplesB, judge),
      options,
    );
    if (row) rows.push(row);
  }
  if (!rows.some((r) => r.attack !== DIRECT && r.attack !== ANY_ATTACK)) return undefined;
  return { metric: "attack_success_rate", judge, rows };
}
