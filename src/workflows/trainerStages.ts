// The training stages: sft, reward, dpo and raft take the trainer's own config (docs/training.md) without
// `out` (the stage's folder); pretrain builds a model from a preset for a tokenizer stage's tokenizer first.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { PRESET_NAMES, type PresetName } from "../model/presets.js";
import { createModelForTokenizer } from "../model/scratchModel.js";
import { type StageOutcome, stageKind } from "../pipeline/stageKind.js";
import {
  DpoConfigSchema,
  RaftConfigSchema,
  RewardConfigSchema,
  SftConfigSchema,
} from "../train/runConfig.js";
import { runDpo } from "../train/runDpo.js";
import { runRaft } from "../train/runRaft.js";
import { runReward } from "../train/runReward.js";
import { runSft } from "../train/runSft.js";
import type { TrainingSummary } from "../train/trainingLoop.js";

const commonInputs = (c: { model: string; data: { train: string; eval?: string | undefined } }) => [
  c.model,
  c.data.train,
  c.data.eval,
];

function outcome(summary: TrainingSummary, what: string): StageOutcome {
  const loss = summary.final.loss;
  const evalFigures = Object.fromEntries(Object.entries(summary.eval).map(([k, v]) => [`eval_${k}`, v]));
  return {
    summary: `${what}: ${summary.steps} steps in ${summary.seconds.toFixed(0)} s${loss === undefined ? "" : `, final loss ${loss.toFixed(4)}`}`,
    figures: { steps: summary.steps, seconds: summary.seconds, ...summary.final, ...evalFigures },
  };
}

export const sftStage = stageKind({
  kind: "sft",
  about: "supervised fine-tuning (SIT: on a mixture with safety demonstrations)",
  schema: SftConfigSchema.omit({ out: true }),
  output: "model",
  takesDefaults: true,
  seedField: "training.seed",
  inputs: commonInputs,
  run: async ({ config, dir, resume, label }) => {
    const result = await runSft({ ...config, out: dir }, { resume, label: `${label} SFT` });
    result.model.dispose();
    return outcome(result.summary, `SFT on ${result.examples} examples`);
  },
});

const PretrainSchema = SftConfigSchema.omit({ out: true, model: true }).extend({
  /** A tokenizer folder (a tokenizer stage's output). */
  tokenizer: z.string().min(1),
  /** The model's shape (random weights). */
  preset: z.enum(PRESET_NAMES as [PresetName, ...PresetName[]]).default("llama-tiny"),
});

export const pretrainStage = stageKind({
  kind: "pretrain",
  about: "a model with random weights for a tokenizer, trained from scratch on instruction data",
  schema: PretrainSchema,
  output: "model",
  takesDefaults: true,
  seedField: "training.seed",
  inputs: (c) => [c.tokenizer, c.data.train, c.data.eval],
  run: async ({ config, dir, resume, label }) => {
    const { tokenizer, preset, ...sft } = config;
    const init = join(dir, "init");
    if (!existsSync(join(init, "model.safetensors")))
      createModelForTokenizer(init, tokenizer, { preset, seed: sft.training.seed }).dispose();
    const result = await runSft({ ...sft, model: init, out: dir }, { resume, label: `${label} pretrain` });
    result.model.dispose();
    return outcome(result.summary, `${preset} trained on ${result.examples} examples`);
  },
});

export const rewardStage = stageKind({
  kind: "reward",
  about: "a reward model (Bradley-Terry) or a cost model (objective: cost) on preference pairs",
  schema: RewardConfigSchema.omit({ out: true }),
  output: "model",
  takesDefaults: true,
  seedField: "training.seed",
  inputs: commonInputs,
  run: async ({ config, dir, resume, label, log }) => {
    const result = await runReward({ ...config, out: dir }, { resume, log, label: `${label} reward` });
    result.model.dispose();
    return outcome(result.summary, `${config.reward.objective} model on ${result.pairs} pairs`);
  },
});

export const dpoStage = stageKind({
  kind: "dpo",
  about: "direct preference optimisation (and its variants) on chosen/rejected pairs",
  schema: DpoConfigSchema.omit({ out: true }),
  output: "model",
  takesDefaults: true,
  seedField: "training.seed",
  inputs: commonInputs,
  run: async ({ config, dir, resume, label, log }) => {
    const result = await runDpo({ ...config, out: dir }, { resume, log, label: `${label} DPO` });
    result.model.dispose();
    return outcome(result.summary, `DPO (${config.dpo.loss}) on ${result.pairs} pairs`);
  },
});

export const raftStage = stageKind({
  kind: "raft",
  about: "reward-ranked fine-tuning: sample K answers, score them, fine-tune on the best",
  schema: RaftConfigSchema.omit({ out: true }),
  output: "model",
  takesDefaults: true,
  seedField: "training.seed",
  inputs: (c) => [...commonInputs(c), c.raft.rewardModel, c.raft.costModel],
  run: async ({ config, dir, resume, label, log }) => {
    const result = await runRaft({ ...config, out: dir }, { resume, log, label: `${label} RAFT` });
    result.model.dispose();
    const first = result.history[0];
    const last = result.history[result.history.length - 1];
    const rewards =
      first && last ? `, mean reward ${first.mean_reward.toFixed(3)} -> ${last.mean_reward.toFixed(3)}` : "";
    return {
      summary: `RAFT: ${result.history.length} iterations, ${result.summary.steps} steps${rewards}`,
      figures: {
        steps: result.summary.steps,
        ...(last ? { mean_reward: last.mean_reward, mean_selected_reward: last.mean_selected_reward } : {}),
      },
    };
  },
});
