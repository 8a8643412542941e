// The data stages: the built-in synthetic world, a byte-level BPE tokenizer trained on record files, and SIT
// mixtures (instruction records plus N safety demonstrations).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { loadRecords } from "../data/loadRecords.js";
import { mixRecords } from "../data/mix.js";
import { answerTexts, promptText } from "../data/text.js";
import { writeRecordsJsonl } from "../data/writeRecords.js";
import { DEFAULT_PREFERENCE_MIX, generateWorld, WORLD_REVISION } from "../gym/world.js";
import { writeWorld } from "../gym/writeWorld.js";
import { saveScratchTokenizer } from "../model/scratchModel.js";
import { stageKind } from "../pipeline/stageKind.js";

const count = z.number().int().nonnegative();

export const worldStage = stageKind({
  kind: "world",
  about: "the built-in synthetic world: training mixes, preference pairs and held-out benchmarks",
  schema: z
    .object({
      /** The world's seed: the same seed gives the same files. */
      seed: z.number().int().nonnegative().default(0),
      /** Record counts per file (see src/gym/world.ts for each one's default). */
      sizes: z
        .object({
          base: count,
          baseHarmful: count,
          baseLookAlikes: count,
          baseEverydayUses: count,
          helpful: count,
          safety: count,
          preferences: count,
          raftPrompts: count,
          labelled: count,
          evalHarmful: count,
          evalBenign: count,
          evalTasks: count,
          evalAttacks: count,
          validHarmful: count,
          validBenign: count,
          validTasks: count,
          validAttacks: count,
        })
        .partial()
        .strict()
        .default({}),
      /** Share of the base mix's harmful requests answered with a refusal (the rest comply). */
      baseRefusalRate: z.number().min(0).max(1).default(0.1),
      /** Shares of the preference pairs (normalised): harmful, tasks, look-alikes. */
      preferenceMix: z
        .object({ harmful: z.number().min(0), tasks: z.number().min(0), lookAlikes: z.number().min(0) })
        .strict()
        .default(DEFAULT_PREFERENCE_MIX),
    })
    .strict(),
  output: ".",
  takesDefaults: false,
  inputs: () => [],
  revision: WORLD_REVISION,
  seedField: "seed",
  run: async ({ config, dir }) => {
    const world = generateWorld({
      seed: config.seed,
      sizes: config.sizes,
      baseRefusalRate: config.baseRefusalRate,
      preferenceMix: config.preferenceMix,
    });
    writeWorld(dir, world);
    const n = (xs: readonly unknown[]) => xs.length;
    return {
      summary: `${n(world.base)} base, ${n(world.safety)} safety demonstrations, ${n(world.preferences)} pairs; held out: ${n(world.benchmarks.harmful)} harmful, ${n(world.benchmarks.benign)} benign, ${n(world.benchmarks.tasks)} tasks`,
    };
  },
});

export const tokenizerStage = stageKind({
  kind: "tokenizer",
  about: "a byte-level BPE tokenizer (ChatML template) trained on the texts of record files",
  schema: z
    .object({
      /** Record files (any format `safetune data` reads) or .txt files whose texts train the tokenizer. */
      corpus: z.array(z.string().min(1)).min(1),
      vocabSize: z.number().int().min(300).default(4096),
    })
    .strict(),
  output: ".",
  takesDefaults: false,
  inputs: (c) => c.corpus,
  run: async ({ config, dir }) => {
    const texts: string[] = [];
    for (const path of config.corpus) {
      if (path.endsWith(".txt")) {
        texts.push(...readFileSync(path, "utf8").split("\n"));
        continue;
      }
      const { records } = await loadRecords(path);
      for (const r of records) texts.push(promptText(r), ...Object.values(answerTexts(r)));
    }
    const json = saveScratchTokenizer(dir, texts, config.vocabSize);
    const size = Object.keys(json.model.vocab).length + json.added_tokens.length;
    return { summary: `${size} tokens from ${texts.length} texts`, figures: { vocab: size } };
  },
});

const SourceSchema = z
  .object({
    /** A record file. */
    path: z.string().min(1),
    /** Its mapping (auto-detected when absent). */
    mapping: z.string().optional(),
    /** Read at most this many records. */
    limit: z.number().int().positive().optional(),
  })
  .strict();

export const mixStage = stageKind({
  kind: "mix",
  about: "an SIT mixture: instruction records plus N extra (safety) records, de-duplicated and shuffled",
  schema: z
    .object({
      base: SourceSchema,
      extra: SourceSchema,
      /** How many extra records to add (or `fraction` of the base). */
      count: count.optional(),
      fraction: z.number().min(0).optional(),
      seed: z.number().int().nonnegative().default(0),
    })
    .strict(),
  output: "data.jsonl",
  takesDefaults: false,
  inputs: (c) => [c.base.path, c.extra.path],
  seedField: "seed",
  run: async ({ config, dir }) => {
    const read = (s: z.infer<typeof SourceSchema>) =>
      loadRecords(s.path, {
        ...(s.mapping === undefined ? {} : { mapping: s.mapping }),
        ...(s.limit === undefined ? {} : { limit: s.limit }),
      });
    const [base, extra] = [await read(config.base), await read(config.extra)];
    const mix = mixRecords(base.records, extra.records, {
      ...(config.count === undefined ? {} : { count: config.count }),
      ...(config.fraction === undefined ? {} : { fraction: config.fraction }),
      ...(config.count === undefined && config.fraction === undefined ? { count: 0 } : {}),
      seed: config.seed,
    });
    writeRecordsJsonl(join(dir, "data.jsonl"), mix.records);
    return {
      summary: `${mix.base.used} base + ${mix.extra.used} extra records`,
      figures: { base: mix.base.used, extra: mix.extra.used },
    };
  },
});
