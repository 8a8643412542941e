// `safetune reward`: a Bradley-Terry reward model or a safe-rlhf cost model on preference pairs.
import { RewardConfigSchema } from "../../train/runConfig.js";
import { runReward } from "../../train/runReward.js";
import { trainCommand, trainerHelp } from "./train.js";

const DESCRIPTION = `A reward model (Bradley-Terry on preference pairs; --margin, --centre) or, with --objective cost, a
safe-rlhf-style cost model from safety labels (cost > 0: unsafe). Saved as a *ForSequenceClassification folder.`;

export const rewardHelp = trainerHelp("reward", DESCRIPTION, RewardConfigSchema);

export async function rewardCommand(argv: string[]): Promise<void> {
  await trainCommand(argv, "reward", DESCRIPTION, RewardConfigSchema, (config, o) => runReward(config, o));
}
