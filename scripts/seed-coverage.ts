// How often the two-level (seeds, then prompts) 95% interval of a group's mean covers the true mean, on simulated seeds × prompts
// data with known structure. Usage: npx tsx scripts/seed-coverage.ts [REPS] (default 300; about 1 s per 100 reps
// and scenario on one core). The figures in docs/evaluation.md come from this script.
import { seedGroupBootstrap } from "../src/eval/metrics/seedBootstrap.js";
import { mulberry32 } from "../src/util/random.js";

const random = mulberry32(2026);
/** A standard normal draw (Box–Muller). */
function normal(): number {
  const u = random() || 2 ** -32;
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

interface Scenario {
  label: string;
  seeds: number;
  prompts: number;
  /** Score of seed effect u and prompt effect v (one draw of the noise included), and the true mean. */
  score: (u: number, v: number) => number;
  seedSd: number;
  promptSd: number;
  truth: number;
}

/** The population mean of sigmoid(mu + u + v) over u ~ N(0, su), v ~ N(0, sv), by Monte Carlo. */
function logisticTruth(mu: number, su: number, sv: number): number {
  let total = 0;
  const m = 400_000;
  for (let i = 0; i < m; i++) total += sigmoid(mu + su * normal() + sv * normal());
  return total / m;
}

function scenarios(): Scenario[] {
  const continuous = (seeds: number, seedSd: number): Scenario => ({
    label: `continuous, ${seeds} seeds, seed sd ${seedSd}, prompt sd 0.2, noise sd 0.3`,
    seeds,
    prompts: 200,
    score: (u, v) => u + v + 0.3 * normal(),
    seedSd,
    promptSd: 0.2,
    truth: 0,
  });
  const binary = (seeds: number, seedSd: number): Scenario => ({
    label: `0/1 outcomes, logit 3 + u + v, ${seeds} seeds, seed sd ${seedSd} (logit), prompt sd 1.5`,
    seeds,
    prompts: 200,
    score: (u, v) => (random() < sigmoid(3 + u + v) ? 1 : 0),
    seedSd,
    promptSd: 1.5,
    truth: logisticTruth(3, seedSd, 1.5),
  });
  return [
    continuous(1, 0),
    continuous(3, 0),
    continuous(3, 0.02),
    continuous(3, 0.05),
    continuous(5, 0.05),
    continuous(10, 0.05),
    binary(1, 0),
    binary(3, 0.5),
    binary(3, 1),
    binary(5, 1),
  ];
}

function coverage(s: Scenario, reps: number): { coverage: number; width: number; seedSd: number } {
  let covered = 0;
  let width = 0;
  let seedSd = 0;
  for (let r = 0; r < reps; r++) {
    const v = Array.from({ length: s.prompts }, () => s.promptSd * normal());
    const rows = Array.from({ length: s.seeds }, () => {
      const u = s.seedSd * normal();
      return v.map((vi) => s.score(u, vi));
    });
    const e = seedGroupBootstrap(rows, { seed: r, resamples: 1000 });
    if (e.low <= s.truth && s.truth <= e.high) covered++;
    width += e.high - e.low;
    seedSd += e.sd;
  }
  return { coverage: covered / reps, width: width / reps, seedSd: seedSd / reps };
}

const reps = Number(process.argv[2] ?? 300);
if (!Number.isInteger(reps) || reps < 1)
  throw new Error(`REPS: expected a positive integer, got ${process.argv[2]}`);
console.log(`| scenario | coverage of 95% interval | mean width | mean between-seed sd |`);
console.log(`|---|---:|---:|---:|`);
for (const s of scenarios()) {
  const c = coverage(s, reps);
  console.log(
    `| ${s.label} | ${(100 * c.coverage).toFixed(1)}% | ${c.width.toFixed(4)} | ${c.seedSd.toFixed(4)} |`,
  );
}
