// Every kind of stage a safetune pipeline can have, by name, and the module their stage processes run.
import type { StageKinds } from "../pipeline/stageKind.js";
import { moduleBeside } from "../pipeline/stageProcess.js";
import { mixStage, tokenizerStage, worldStage } from "./dataStages.js";
import { evalStage, reportStage } from "./evalStages.js";
import { dpoStage, pretrainStage, raftStage, rewardStage, sftStage } from "./trainerStages.js";

export const STAGE_KINDS: StageKinds = {
  byName: Object.fromEntries(
    [
      worldStage,
      tokenizerStage,
      mixStage,
      pretrainStage,
      sftStage,
      rewardStage,
      raftStage,
      dpoStage,
      evalStage,
      reportStage,
    ].map((k) => [k.kind, k]),
  ),
  workerModule: moduleBeside(import.meta.url, "stageWorkerEntry"),
};
