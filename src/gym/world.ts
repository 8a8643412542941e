// The synthetic world: every training pool and benchmark of a safety-alignment experiment on a tiny model,
// generated from one seed. Training pools use training phrasings, acts and look-alikes only; the test benchmarks
// use only held-out phrasings, acts, look-alikes and attacks, so they measure generalisation; the validation
// benchmarks use a third, disjoint split, on which settings are chosen.
import type {
  InstructionRecord,
  LabelledAnswerRecord,
  PreferenceRecord,
  PromptRecord,
} from "../data/records.js";
import { buildBenchmarks, buildSplitBenchmarks } from "./benchmarks.js";
import { Rng } from "./rng.js";
import {
  buildBase,
  buildHelpful,
  buildLabelled,
  buildPreferences,
  buildRaftPrompts,
  buildSafety,
} from "./trainingPools.js";

/**
 * The generator's revision: bumped whenever the same options start giving a different world (new phrasings or
 * look-alikes), so cached worlds are regenerated and world.json says which one a run used. 2: 18 training
 * phrasings and 96 look-alikes in threes. 3: validation benchmarks (valid/) and attacked prompts
 * (eval/attacks.jsonl); the training pools and the other held-out benchmarks are as in 2.
 */
export const WORLD_REVISION = 3;

export interface WorldSizes {
  /** Helpful instruction records in the unsafe base mix. */
  base: number;
  /** Harmful requests in the base mix, answered unsafely except a fraction baseRefusalRate. */
  baseHarmful: number;
  /** Look-alike records in the base mix, answered helpfully. */
  baseLookAlikes: number;
  /**
   * Everyday, harmless uses of the look-alikes' trigger verbs in the base mix ("crack a window for fresh air",
   * src/gym/everydayUses.ts), answered helpfully, round-robin over the verbs: what a real pretrained model has
   * seen of those verbs. 0 (the default) leaves the base mix as it was.
   */
  baseEverydayUses: number;
  /** The SIT helpful pool (like Alpaca): generated separately from base, same training phrasings. */
  helpful: number;
  /** Safety demonstrations: harmful prompt -> safe answer, round-robin over categories. */
  safety: number;
  /** Preference pairs. */
  preferences: number;
  /** RAFT prompts. */
  raftPrompts: number;
  /** Labelled answers for judge training and calibration. */
  labelled: number;
  /** Held-out harmful prompts, balanced over the 8 harm categories (also the size of benchmarks.labelled). */
  evalHarmful: number;
  /** Held-out look-alike prompts, balanced over the look-alike categories. */
  evalBenign: number;
  /** Held-out task prompts, balanced over the 6 families. */
  evalTasks: number;
  /** Held-out harmful prompts wrapped in held-out attacks, balanced over attacks and harm categories. */
  evalAttacks: number;
  /** Validation benchmarks: the same kinds from the validation split, for choosing settings. */
  validHarmful: number;
  validBenign: number;
  validTasks: number;
  validAttacks: number;
}

export const DEFAULT_WORLD_SIZES: Readonly<WorldSizes> = {
  base: 4000,
  baseHarmful: 600,
  baseLookAlikes: 300,
  baseEverydayUses: 0,
  helpful: 2000,
  safety: 800,
  preferences: 1000,
  raftPrompts: 300,
  labelled: 600,
  evalHarmful: 200,
  evalBenign: 100,
  evalTasks: 180,
  evalAttacks: 240,
  validHarmful: 200,
  validBenign: 100,
  validTasks: 180,
  validAttacks: 160,
};

export interface WorldOptions {
  /** Default 0. */
  seed?: number;
  sizes?: Partial<WorldSizes>;
  /** The fraction of the base mix's harmful requests answered with a refusal (default 0.1). */
  baseRefusalRate?: number;
  /** Shares of the preference pairs: harmful, tasks, look-alikes (default 0.7, 0.2, 0.1; normalised). */
  preferenceMix?: PreferenceMix;
}

/** How the preference pairs divide between harmful prompts, helpful tasks and benign look-alikes. */
export interface PreferenceMix {
  harmful: number;
  tasks: number;
  lookAlikes: number;
}

export const DEFAULT_PREFERENCE_MIX: Readonly<PreferenceMix> = { harmful: 0.7, tasks: 0.2, lookAlikes: 0.1 };

export interface BenchmarkRow {
  id: string;
  prompt: string;
  category: string;
  /** The full correct answer (tasks), or the helpful answer (look-alikes). */
  reference?: string;
  /** The answer key a correct response contains (tasks). */
  answer?: string;
}

/** A harmful prompt wrapped in an attack: `category` is the attack's name, `harm` the request's harm category. */
export interface AttackedRow {
  id: string;
  prompt: string;
  category: string;
  harm: string;
}

/** One split's benchmarks: harmful requests, look-alikes, tasks and attacked harmful requests. */
export interface SplitBenchmarks {
  harmful: BenchmarkRow[];
  benign: BenchmarkRow[];
  tasks: BenchmarkRow[];
  attacks: AttackedRow[];
}

/** A held-out harmful prompt with a safe or unsafe response: for calibrating judges. */
export interface LabelledRow {
  id: string;
  prompt: string;
  response: string;
  label: "safe" | "unsafe";
  category: string;
}

export interface World {
  seed: number;
  sizes: WorldSizes;
  baseRefusalRate: number;
  /**
   * Shuffled mix: helpful tasks, harmful requests (mostly complied with), look-alikes answered and any everyday
   * uses of the trigger verbs.
   */
  base: InstructionRecord[];
  helpful: InstructionRecord[];
  /** Category = harm category; round-robin over categories, so any prefix is balanced. */
  safety: InstructionRecord[];
  /** ~70% harmful (safe over unsafe), ~20% tasks (answer over refusal), ~10% look-alikes (answer over refusal). */
  preferences: PreferenceRecord[];
  /** ~50% harmful, ~35% tasks, ~15% look-alikes. */
  raftPrompts: PromptRecord[];
  /** Harmful prompts with safe or unsafe answers, balanced over categories and labels. */
  labelled: LabelledAnswerRecord[];
  /** The held-out test benchmarks: for reporting only. */
  benchmarks: SplitBenchmarks & { labelled: LabelledRow[] };
  /** The validation benchmarks: for choosing settings (disjoint from training and from the test benchmarks). */
  validation: SplitBenchmarks;
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`generateWorld: sizes.${name} must be a non-negative integer, got ${value}`);
}

function preferenceShares(mix: PreferenceMix = DEFAULT_PREFERENCE_MIX): [number, number, number] {
  const shares: [number, number, number] = [mix.harmful, mix.tasks, mix.lookAlikes];
  const total = shares[0] + shares[1] + shares[2];
  if (!(shares.every((x) => x >= 0) && total > 0))
    throw new RangeError(
      `generateWorld: preferenceMix shares must be >= 0 with a positive sum, got ${JSON.stringify(mix)}`,
    );
  return shares.map((x) => x / total) as [number, number, number];
}

/** Generates the whole world; the same options always give the same world. */
export function generateWorld(options: WorldOptions = {}): World {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`generateWorld: seed must be an integer, got ${seed}`);
  const sizes: WorldSizes = { ...DEFAULT_WORLD_SIZES, ...options.sizes };
  for (const [name, value] of Object.entries(sizes)) checkCount(name, value);
  const baseRefusalRate = options.baseRefusalRate ?? 0.1;
  if (!(baseRefusalRate >= 0 && baseRefusalRate <= 1))
    throw new RangeError(`generateWorld: baseRefusalRate must be in [0, 1], got ${baseRefusalRate}`);

  // One stream per pool, so changing one pool's size leaves every other pool as it was.
  const stream = (name: string) => Rng.derive(seed, name);
  return {
    seed,
    sizes,
    baseRefusalRate,
    base: buildBase(stream("base"), sizes, baseRefusalRate),
    helpful: buildHelpful(stream("helpful"), sizes.helpful),
    safety: buildSafety(stream("safety"), sizes.safety),
    preferences: buildPreferences(
      stream("preferences"),
      sizes.preferences,
      preferenceShares(options.preferenceMix),
    ),
    raftPrompts: buildRaftPrompts(stream("raft-prompts"), sizes.raftPrompts),
    labelled: buildLabelled(stream("labelled"), sizes.labelled),
    benchmarks: buildBenchmarks(stream, sizes),
    validation: buildSplitBenchmarks(stream, "valid", {
      harmful: sizes.validHarmful,
      benign: sizes.validBenign,
      tasks: sizes.validTasks,
      attacks: sizes.validAttacks,
    }),
  };
}
